/*
 * uart_task.c — LED commands over the UART (the stm32 HAL's serial link):
 * the same parser and line rules as TCP, but a serial line never closes:
 * no idle timeout, and a too-long line is reported and skipped.
 */
#include <stdint.h>

#include "FreeRTOS.h"
#include "task.h"

#include "app.h"
#include "ports.h"
#include "session.h"

static int uart_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    (void)ctx;
    int n = port_uart_read(buf, cap, timeout_ms);
    if (n > 0) {
        return n;
    }
    return n == 0 ? SESSION_TIMEOUT : SESSION_IO_ERROR;
}

static bool uart_send(void *ctx, const char *buf, size_t len)
{
    (void)ctx;
    return port_uart_write((const uint8_t *)buf, len);
}

void uart_task(void *arg)
{
    (void)arg;
    static session_buf_t buf;
    const app_config_t *cfg = app_config();
    session_io_t io = {uart_recv, uart_send, app_now_ms, app_command, NULL, 0, cfg->frame_timeout_ms, true};
    app_logf("uart ready");
    for (;;) {
        session_end_t end = session_run(&io, &buf);
        app_logf("uart: %s; restarting in 1 s", session_end_name(end));
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}
