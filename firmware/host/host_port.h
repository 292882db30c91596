/*
 * host_port.h — host-only set-up of the port (host/host_port.c).
 */
#ifndef HOST_PORT_H
#define HOST_PORT_H

#include <stdbool.h>

/* Opens the trace file (time_ms,level per edge); false on error. */
bool host_trace_open(const char *path);

/* Opens the UART: a serial device or pty path, or "pty" to create a
 * pseudo-terminal (its path is printed as "uart on /dev/pts/N"). */
bool host_uart_open(const char *spec);

/* Turns the LED off for good (at exit). */
void host_led_final_off(void);

/* Milliseconds since start-up, with fractions (the trace's clock). */
double host_now_ms(void);

#endif /* HOST_PORT_H */
