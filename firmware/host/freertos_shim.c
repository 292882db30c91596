/*
 * freertos_shim.c — the FreeRTOS task calls app/ uses, on pthreads.
 * Ticks are milliseconds of CLOCK_MONOTONIC since shim start-up.
 * Tasks are created at start-up (one malloc each); vTaskDelete(NULL) frees
 * the caller's record and ends its thread. Priorities and stack depths are
 * ignored (the threads are preemptive anyway).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "FreeRTOS.h"
#include "task.h"

struct shim_task {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t notified;
    TaskFunction_t fn;
    void *arg;
};

static _Thread_local struct shim_task *current;
static pthread_mutex_t critical = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct timespec t0;
static pthread_once_t t0_once = PTHREAD_ONCE_INIT;

static void init_t0(void)
{
    clock_gettime(CLOCK_MONOTONIC, &t0);
}

TickType_t xTaskGetTickCount(void)
{
    pthread_once(&t0_once, init_t0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
    return (TickType_t)ms;
}

static void *trampoline(void *p)
{
    current = p;
    current->fn(current->arg);
    vTaskDelete(NULL); /* a task function must not return; be lenient */
    return NULL;
}

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName,
                       const configSTACK_DEPTH_TYPE usStackDepth, void *const pvParameters,
                       UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask)
{
    (void)usStackDepth;
    (void)uxPriority;
    pthread_once(&t0_once, init_t0);
    struct shim_task *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return pdFAIL;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    t->fn = pxTaskCode;
    t->arg = pvParameters;
    if (pxCreatedTask != NULL) {
        *pxCreatedTask = t;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t->thread, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "shim: cannot start task %s: error %d\n", pcName, rc);
        free(t);
        return pdFAIL;
    }
    pthread_setname_np(t->thread, pcName);
    return pdPASS;
}

void vTaskDelete(TaskHandle_t xTaskToDelete)
{
    if (xTaskToDelete != NULL && xTaskToDelete != current) {
        fprintf(stderr, "shim: vTaskDelete of another task is not supported\n");
        abort();
    }
    struct shim_task *t = current;
    current = NULL;
    if (t != NULL) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    pthread_exit(NULL);
}

static void deadline_after(struct timespec *ts, TickType_t ticks)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ticks / 1000u;
    ts->tv_nsec += (long)(ticks % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

void vTaskDelay(const TickType_t xTicksToDelay)
{
    struct timespec ts;
    deadline_after(&ts, xTicksToDelay);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

TaskHandle_t xTaskGetCurrentTaskHandle(void)
{
    return current;
}

uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait)
{
    struct shim_task *t = current;
    if (t == NULL) {
        fprintf(stderr, "shim: ulTaskNotifyTake outside a task\n");
        abort();
    }
    struct timespec ts;
    if (xTicksToWait != portMAX_DELAY) {
        deadline_after(&ts, xTicksToWait);
    }
    pthread_mutex_lock(&t->lock);
    while (t->notified == 0 && xTicksToWait != 0) {
        if (xTicksToWait == portMAX_DELAY) {
            pthread_cond_wait(&t->cond, &t->lock);
        } else if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    uint32_t value = t->notified;
    if (value != 0) {
        t->notified = xClearCountOnExit ? 0 : value - 1;
    }
    pthread_mutex_unlock(&t->lock);
    return value;
}

BaseType_t xTaskNotifyGive(TaskHandle_t xTaskToNotify)
{
    struct shim_task *t = xTaskToNotify;
    pthread_mutex_lock(&t->lock);
    t->notified++;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return pdPASS;
}

void shim_enter_critical(void)
{
    pthread_mutex_lock(&critical);
}

void shim_exit_critical(void)
{
    pthread_mutex_unlock(&critical);
}
