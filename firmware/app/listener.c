/*
 * listener.c — the LED command listener on TCP (port APP_LISTEN_PORT).
 *
 * No select/poll: one accepting task hands each connection to a free
 * session task of a static pool (created at start-up), which blocks in
 * lwip_recv with SO_RCVTIMEO for the frame and idle timeouts. Above the
 * pool's size a newcomer gets "ERR busy ..." and a FIN.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"

#include "lwip/errno.h"
#include "lwip/sockets.h"

#include "app.h"
#include "net.h"
#include "session.h"

typedef struct {
    TaskHandle_t task;
    int sock; /* -1: free; written under a critical section */
    char peer[24];
    session_buf_t buf;
} slot_t;

static slot_t slots[APP_MAX_CLIENTS];

typedef struct {
    int sock;
} tcp_link_t;

static int tcp_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms)
{
    tcp_link_t *link = ctx;
    if (!net_set_rcv_timeout(link->sock, timeout_ms == SESSION_WAIT_FOREVER ? 0u : timeout_ms)) {
        return SESSION_IO_ERROR;
    }
    ssize_t n = lwip_recv(link->sock, buf, cap, 0);
    if (n > 0) {
        return (int)n;
    }
    if (n == 0) {
        return 0;
    }
    return net_is_timeout(errno) ? SESSION_TIMEOUT : SESSION_IO_ERROR;
}

static bool tcp_send(void *ctx, const char *buf, size_t len)
{
    tcp_link_t *link = ctx;
    return net_send_all(link->sock, buf, len);
}

static void session_task(void *arg)
{
    slot_t *slot = arg;
    const app_config_t *cfg = app_config();
    for (;;) {
        (void)ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
        taskENTER_CRITICAL();
        int sock = slot->sock;
        taskEXIT_CRITICAL();
        if (sock < 0) {
            continue;
        }
        tcp_link_t link = {sock};
        session_io_t io = {tcp_recv, tcp_send, app_now_ms, app_command, &link,
                           cfg->idle_timeout_ms, cfg->frame_timeout_ms, false};
        session_end_t end = session_run(&io, &slot->buf);
        net_close_gracefully(sock);
        app_logf("listener: %s closed (%s)", slot->peer, session_end_name(end));
        taskENTER_CRITICAL();
        slot->sock = -1;
        taskEXIT_CRITICAL();
    }
}

int listener_init(void)
{
    const app_config_t *cfg = app_config();
    for (unsigned i = 0; i < cfg->max_clients; i++) {
        slots[i].sock = -1;
        if (xTaskCreate(session_task, "session", APP_SESSION_STACK_WORDS, &slots[i], APP_TASK_PRIORITY,
                        &slots[i].task) != pdPASS) {
            app_logf("listener: cannot create session task %u", i);
            return -1;
        }
    }
    return 0;
}

static void refuse_busy(int sock, const char *peer, unsigned limit)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg, "ERR busy board has %u clients (its limit); try again later\n", limit);
    if (n > 0) {
        (void)net_send_all(sock, msg, (size_t)n);
    }
    net_close_gracefully(sock);
    app_logf("listener: %s refused (busy)", peer);
}

void listener_task(void *arg)
{
    (void)arg;
    const app_config_t *cfg = app_config();
    int ls = lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        app_logf("listener failed: socket: %s (errno %d)", net_strerror(errno), errno);
        vTaskDelete(NULL);
        return;
    }
    int one = 1;
    (void)lwip_setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    static const uint8_t any[4] = {0, 0, 0, 0};
    struct sockaddr_in addr;
    net_sockaddr(&addr, any, cfg->listen_port);
    if (lwip_bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || lwip_listen(ls, (int)cfg->max_clients) < 0) {
        int err = errno;
        app_logf("listener failed: port %u: %s (errno %d)", (unsigned)cfg->listen_port, net_strerror(err), err);
        (void)lwip_close(ls);
        vTaskDelete(NULL);
        return;
    }
    app_logf("listener on port %u", (unsigned)cfg->listen_port);
    for (;;) {
        struct sockaddr_in peer_addr;
        socklen_t peer_len = sizeof peer_addr;
        int c = lwip_accept(ls, (struct sockaddr *)&peer_addr, &peer_len);
        if (c < 0) {
            int err = errno;
            app_logf("listener: accept: %s (errno %d)", net_strerror(err), err);
            vTaskDelay(pdMS_TO_TICKS(100));
            continue;
        }
        char peer[24];
        net_format_peer(&peer_addr, peer, sizeof peer);
        slot_t *free_slot = NULL;
        taskENTER_CRITICAL();
        for (unsigned i = 0; i < cfg->max_clients; i++) {
            if (slots[i].sock < 0) {
                free_slot = &slots[i];
                free_slot->sock = c;
                break;
            }
        }
        taskEXIT_CRITICAL();
        if (free_slot == NULL) {
            refuse_busy(c, peer, cfg->max_clients);
            continue;
        }
        memcpy(free_slot->peer, peer, sizeof peer);
        app_logf("listener: %s connected", peer);
        (void)xTaskNotifyGive(free_slot->task);
    }
}
