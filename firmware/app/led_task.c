/*
 * led_task.c — the shared LED: commands set the wanted state, the LED task
 * turns it into pin levels with the tick-driven state machine, sleeping
 * until the next edge or until a new command arrives.
 */
#include <stdbool.h>

#include "FreeRTOS.h"
#include "task.h"

#include "app.h"
#include "led_sm.h"
#include "ports.h"

static led_state_t wanted;
static bool changed;
static TaskHandle_t led_handle;

void led_control_get(led_state_t *out)
{
    taskENTER_CRITICAL();
    *out = wanted;
    taskEXIT_CRITICAL();
}

void led_control_set(const led_state_t *st)
{
    char text[32];
    taskENTER_CRITICAL();
    wanted = *st;
    changed = true;
    TaskHandle_t h = led_handle;
    taskEXIT_CRITICAL();
    (void)led_state_format(st, text, sizeof text);
    app_logf("LED %s", text);
    if (h != NULL) {
        (void)xTaskNotifyGive(h);
    }
}

void led_task(void *arg)
{
    (void)arg;
    static led_sm_t sm;
    led_sm_init(&sm, configTICK_RATE_HZ);
    bool shown = false;
    port_led_write(false);
    app_logf("LED off");
    taskENTER_CRITICAL();
    led_handle = xTaskGetCurrentTaskHandle();
    taskEXIT_CRITICAL();
    for (;;) {
        TickType_t now = xTaskGetTickCount();
        led_state_t st;
        taskENTER_CRITICAL();
        bool apply = changed;
        st = wanted;
        changed = false;
        taskEXIT_CRITICAL();
        if (apply) {
            (void)led_sm_set(&sm, &st, (uint32_t)now);
        }
        bool level = led_sm_update(&sm, (uint32_t)now);
        if (level != shown) {
            port_led_write(level);
            shown = level;
        }
        uint32_t wait = led_sm_ticks_to_next(&sm, (uint32_t)now);
        (void)ulTaskNotifyTake(pdTRUE, wait == LED_SM_NEVER ? portMAX_DELAY : (TickType_t)wait);
    }
}
