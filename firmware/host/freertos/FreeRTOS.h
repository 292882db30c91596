/*
 * FreeRTOS.h — host shim: the types and constants of the FreeRTOS API subset
 * app/ uses, with FreeRTOS's own names and signatures, implemented on
 * pthreads by host/freertos_shim.c. (The ARM compile check of app/ also
 * uses these declarations: FreeRTOS is not packaged by Debian; on the board
 * the CubeMX project's real FreeRTOS headers take their place.)
 */
#ifndef SHIM_FREERTOS_H
#define SHIM_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t TickType_t;
typedef long BaseType_t;
typedef unsigned long UBaseType_t;

#define configTICK_RATE_HZ ((TickType_t)1000)
#define configMINIMAL_STACK_SIZE ((uint16_t)128)
#define configSTACK_DEPTH_TYPE uint16_t

#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define pdMS_TO_TICKS(xTimeInMs) \
    ((TickType_t)(((TickType_t)(xTimeInMs) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000U))
#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define pdPASS (pdTRUE)
#define pdFAIL (pdFALSE)
#define tskIDLE_PRIORITY ((UBaseType_t)0U)

#endif /* SHIM_FREERTOS_H */
