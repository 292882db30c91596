/*
 * task.h — host shim of the FreeRTOS task API subset app/ uses (same names
 * and signatures as FreeRTOS; see FreeRTOS.h).
 */
#ifndef SHIM_TASK_H
#define SHIM_TASK_H

#include "FreeRTOS.h"

typedef struct shim_task *TaskHandle_t;
typedef void (*TaskFunction_t)(void *);

BaseType_t xTaskCreate(TaskFunction_t pxTaskCode, const char *const pcName,
                       const configSTACK_DEPTH_TYPE usStackDepth, void *const pvParameters,
                       UBaseType_t uxPriority, TaskHandle_t *const pxCreatedTask);
void vTaskDelete(TaskHandle_t xTaskToDelete);
void vTaskDelay(const TickType_t xTicksToDelay);
TickType_t xTaskGetTickCount(void);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait);
BaseType_t xTaskNotifyGive(TaskHandle_t xTaskToNotify);

/* For the board port's UART interrupt (declared so `make arm` can compile
 * board/board_port.c; the host never calls them). */
void vTaskNotifyGiveFromISR(TaskHandle_t xTaskToNotify, BaseType_t *pxHigherPriorityTaskWoken);
void shim_yield_from_isr(BaseType_t xSwitchRequired);
void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);
#define portYIELD_FROM_ISR(x) shim_yield_from_isr(x)

/* Critical sections: one process-wide recursive lock on the host. */
void shim_enter_critical(void);
void shim_exit_critical(void);
#define taskENTER_CRITICAL() shim_enter_critical()
#define taskEXIT_CRITICAL() shim_exit_critical()

#endif /* SHIM_TASK_H */
