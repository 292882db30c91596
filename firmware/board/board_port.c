/*
 * board_port.c — app/ports.h on the NUCLEO-F767ZI (STM32CubeF7 HAL, the
 * CubeMX project described in firmware/README.md):
 *  - LED: LD1 (green, PB0); LD2 (blue, PB7) and LD3 (red, PB14) are kept off;
 *  - UART: USART3 on PD8/PD9, the ST-LINK virtual COM port, 115200 8N1,
 *    received byte by byte under interrupt into a ring buffer;
 *  - logs: SWO (ITM port 0), so the UART carries only commands and replies;
 *  - network: the static IP of app_config.h applied to CubeMX's gnetif.
 * Add this file and the app/ sources to the CubeMX project; nothing generated is
 * edited outside its USER CODE blocks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "main.h" /* CubeMX: HAL, LD1_Pin/LD1_GPIO_Port, ... */

#include "FreeRTOS.h"
#include "task.h"

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"

#include "app_config.h"
#include "ports.h"

extern UART_HandleTypeDef huart3; /* CubeMX, main.c */
extern struct netif gnetif;       /* CubeMX, LWIP/App/lwip.c */

#define RX_RING_SIZE 256u

static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint16_t rx_head; /* written by the ISR */
static volatile uint16_t rx_tail; /* written by the UART task */
static uint8_t rx_byte;
static TaskHandle_t volatile uart_reader;

void port_init(void)
{
    HAL_GPIO_WritePin(LD1_GPIO_Port, LD1_Pin, GPIO_PIN_RESET);
    HAL_GPIO_WritePin(LD2_GPIO_Port, LD2_Pin, GPIO_PIN_RESET);
    HAL_GPIO_WritePin(LD3_GPIO_Port, LD3_Pin, GPIO_PIN_RESET);

    /* One source of truth for the address: app_config.h, not the .ioc. */
    ip4_addr_t ip, mask, gw;
    if (ip4addr_aton(APP_LOCAL_IP, &ip) && ip4addr_aton(APP_NETMASK, &mask) &&
        ip4addr_aton(APP_GATEWAY, &gw)) {
        LOCK_TCPIP_CORE();
        netif_set_addr(&gnetif, &ip, &mask, &gw);
        UNLOCK_TCPIP_CORE();
    } else {
        HAL_GPIO_WritePin(LD3_GPIO_Port, LD3_Pin, GPIO_PIN_SET); /* red: bad app_config.h */
    }

    (void)HAL_UART_Receive_IT(&huart3, &rx_byte, 1);
}

void port_led_write(bool on)
{
    HAL_GPIO_WritePin(LD1_GPIO_Port, LD1_Pin, on ? GPIO_PIN_SET : GPIO_PIN_RESET);
}

void port_log(const char *line)
{
    /* Whole lines: no task switch mid-line (interrupts stay enabled). */
    vTaskSuspendAll();
    for (const char *p = line; *p != '\0'; p++) {
        (void)ITM_SendChar((uint32_t)(uint8_t)*p);
    }
    (void)ITM_SendChar('\n');
    (void)xTaskResumeAll();
}

/* USART3 receive-complete interrupt (HAL weak callback): queue the byte,
 * re-arm, wake the UART task. A full ring drops the byte; the protocol's
 * line checks then report the damaged line. */
void HAL_UART_RxCpltCallback(UART_HandleTypeDef *huart)
{
    if (huart != &huart3) {
        return;
    }
    uint16_t next = (uint16_t)((rx_head + 1u) % RX_RING_SIZE);
    if (next != rx_tail) {
        rx_ring[rx_head] = rx_byte;
        rx_head = next;
    }
    (void)HAL_UART_Receive_IT(&huart3, &rx_byte, 1);
    TaskHandle_t reader = uart_reader;
    if (reader != NULL) {
        BaseType_t woken = pdFALSE;
        vTaskNotifyGiveFromISR(reader, &woken);
        portYIELD_FROM_ISR(woken);
    }
}

/* Overrun, noise, framing: re-arm reception. */
void HAL_UART_ErrorCallback(UART_HandleTypeDef *huart)
{
    if (huart == &huart3) {
        (void)HAL_UART_Receive_IT(&huart3, &rx_byte, 1);
    }
}

int port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    uart_reader = xTaskGetCurrentTaskHandle();
    TickType_t start = xTaskGetTickCount();
    for (;;) {
        size_t n = 0;
        while (n < cap && rx_tail != rx_head) {
            buf[n++] = rx_ring[rx_tail];
            rx_tail = (uint16_t)((rx_tail + 1u) % RX_RING_SIZE);
        }
        if (n > 0) {
            return (int)n;
        }
        TickType_t wait = portMAX_DELAY;
        if (timeout_ms != UINT32_MAX) {
            TickType_t waited = xTaskGetTickCount() - start;
            if (waited >= pdMS_TO_TICKS(timeout_ms)) {
                return 0;
            }
            wait = pdMS_TO_TICKS(timeout_ms) - waited;
        }
        (void)ulTaskNotifyTake(pdTRUE, wait);
    }
}

bool port_uart_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        uint16_t chunk = len > 0xFFFFu ? 0xFFFFu : (uint16_t)len;
        if (HAL_UART_Transmit(&huart3, (uint8_t *)(uintptr_t)buf, chunk, 1000) != HAL_OK) {
            return false;
        }
        buf += chunk;
        len -= chunk;
    }
    return true;
}
