/*
 * ports.h — what app/ needs from the board (board/board_port.c) or from the
 * host build (host/host_port.c). Everything else is FreeRTOS and lwIP.
 */
#ifndef PORTS_H
#define PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Board start-up called by app_start(): LED pins, UART reception, and the
 * static IP of app_config.h applied to the network interface. */
void port_init(void);

/* Drives the user LED. Called only from the LED task. */
void port_led_write(bool on);

/* Writes one log line (no LF) somewhere a human can read it. Any task. */
void port_log(const char *line);

/* Command UART, used only by the UART task. port_uart_read waits up to
 * timeout_ms (UINT32_MAX: forever) and returns the number of bytes read,
 * 0 on timeout, or -1 when the port failed. port_uart_write sends all. */
int port_uart_read(uint8_t *buf, size_t cap, uint32_t timeout_ms);
bool port_uart_write(const uint8_t *buf, size_t len);

#endif /* PORTS_H */
