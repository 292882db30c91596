/*
 * app.h — the firmware application: the seed's client tasks, the LED task,
 * the TCP LED listener and the UART command task.
 *
 * Board: call app_start() once from the CubeMX default task (USER CODE
 * block), after MX_LWIP_Init(). Host: host/main.c fills an app_config_t
 * and calls app_run().
 */
#ifndef APP_H
#define APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app_config.h"
#include "protocol.h"

typedef struct {
    char server_ip[16];        /* dotted quad of the ledctl server */
    uint16_t server_port;
    uint8_t clients;           /* "Client 1" .. "Client N": hello, reply, close */
    uint8_t silent_clients;    /* further clients that connect and say nothing */
    uint16_t listen_port;      /* LED listener; 0 = none */
    uint8_t max_clients;       /* listener sessions, 1..APP_MAX_CLIENTS */
    uint32_t idle_timeout_ms;  /* 0 = never */
    uint32_t frame_timeout_ms;
    bool uart;                 /* run the UART command task */
    bool network;              /* false: no lwIP at all (UART-only host run) */
} app_config_t;

/* The defaults of app_config.h. */
void app_config_defaults(app_config_t *cfg);

/* Board entry point: port_init(), then app_run() with the defaults. */
void app_start(void);

/* Starts the tasks (all allocation happens here); returns 0, or -1 when a
 * task could not be created (logged). */
int app_run(const app_config_t *cfg);

/* The running configuration (valid after app_run). */
const app_config_t *app_config(void);

/* Parses "a.b.c.d" into 4 bytes (network order); false if malformed. */
bool app_parse_ipv4(const char *s, uint8_t out[4]);

/* One log line through port_log, printf-style (no floating point). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void app_logf(const char *fmt, ...);

/* The shared LED: read the state, apply a new one (logged as "LED ..."). */
void led_control_get(led_state_t *out);
void led_control_set(const led_state_t *st);

/* Runs one request line against the shared LED (the session callback). */
proto_action_t app_command(void *ctx, const uint8_t *line, size_t len, char reply[PROTO_REPLY_MAX]);

/* Milliseconds from the FreeRTOS tick (the session clock). */
uint32_t app_now_ms(void *ctx);

/* Task bodies, created by app_run(). */
void led_task(void *arg);
void client_task(void *arg);        /* arg: the client number, as in seed 000 */
void client_silent_task(void *arg); /* arg: the client number; APP_WITH_SILENT_CLIENT only */
void listener_task(void *arg);
void uart_task(void *arg);

/* Creates the listener's session pool (called by app_run before listener_task). */
int listener_init(void);

#endif /* APP_H */
