/*
 * app.c — configuration, start-up and the glue shared by the tasks.
 */
#include "app.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "ports.h"

_Static_assert(configTICK_RATE_HZ == 1000, "app/ expects a 1 ms FreeRTOS tick (configTICK_RATE_HZ 1000)");

static app_config_t running;

void app_config_defaults(app_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strncpy(cfg->server_ip, APP_SERVER_IP, sizeof cfg->server_ip - 1);
    cfg->server_port = APP_SERVER_PORT;
    cfg->clients = APP_CLIENT_TASKS;
    cfg->silent_clients = 0;
    cfg->listen_port = APP_LISTEN_PORT;
    cfg->max_clients = APP_MAX_CLIENTS;
    cfg->idle_timeout_ms = APP_IDLE_TIMEOUT_MS;
    cfg->frame_timeout_ms = APP_FRAME_TIMEOUT_MS;
    cfg->uart = true;
    cfg->network = true;
}

const app_config_t *app_config(void)
{
    return &running;
}

bool app_parse_ipv4(const char *s, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10u + (unsigned)(*s++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255u) {
            return false;
        }
        out[i] = (uint8_t)v;
        if (i < 3 && *s++ != '.') {
            return false;
        }
    }
    return *s == '\0';
}

void app_logf(const char *fmt, ...)
{
    char line[192];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    port_log(line);
}

uint32_t app_now_ms(void *ctx)
{
    (void)ctx;
    return (uint32_t)xTaskGetTickCount(); /* 1 tick = 1 ms, checked above */
}

proto_action_t app_command(void *ctx, const uint8_t *line, size_t len, char reply[PROTO_REPLY_MAX])
{
    (void)ctx;
    led_state_t cur;
    led_state_t next;
    led_control_get(&cur);
    proto_action_t act = proto_handle(line, len, &cur, &next, reply);
    if (act == PROTO_SET_LED) {
        led_control_set(&next);
    }
    return act;
}

static int start(TaskFunction_t fn, const char *name, uint16_t stack_words, void *arg, UBaseType_t prio)
{
    if (xTaskCreate(fn, name, stack_words, arg, prio, NULL) != pdPASS) {
        app_logf("app: cannot create task %s (out of FreeRTOS heap?)", name);
        return -1;
    }
    return 0;
}

int app_run(const app_config_t *cfg)
{
    running = *cfg;
    if (running.max_clients == 0 || running.max_clients > APP_MAX_CLIENTS) {
        running.max_clients = APP_MAX_CLIENTS;
    }
    if (running.frame_timeout_ms == 0) {
        running.frame_timeout_ms = 1;
    }
    int rc = start(led_task, "led", APP_LED_STACK_WORDS, NULL, APP_LED_TASK_PRIORITY);
    if (running.uart) {
        rc |= start(uart_task, "uart", APP_SESSION_STACK_WORDS, NULL, APP_TASK_PRIORITY);
    }
    if (running.network) {
        if (running.listen_port != 0) {
            rc |= listener_init();
            rc |= start(listener_task, "listener", APP_LISTENER_STACK_WORDS, NULL, APP_TASK_PRIORITY);
        }
        for (unsigned i = 1; i <= running.clients; i++) {
            rc |= start(client_task, "client", APP_CLIENT_STACK_WORDS, (void *)(intptr_t)i, APP_TASK_PRIORITY);
        }
#if APP_WITH_SILENT_CLIENT
        for (unsigned i = 1; i <= running.silent_clients; i++) {
            unsigned n = running.clients + i;
            rc |= start(client_silent_task, "silent", APP_CLIENT_STACK_WORDS, (void *)(intptr_t)n,
                        APP_TASK_PRIORITY);
        }
#else
        if (running.silent_clients != 0) {
            app_logf("app: silent clients need APP_WITH_SILENT_CLIENT");
            rc = -1;
        }
#endif
    }
    return rc == 0 ? 0 : -1;
}

void app_start(void)
{
    static app_config_t cfg;
    port_init();
    app_config_defaults(&cfg);
    (void)app_run(&cfg);
}
