/*
 * client_task.c — seed 000's client tasks: "Client N" (N from the task
 * argument) connects to the PC server, sends "Hello, server! from Client N"
 * (no newline, as the seed does), prints the reply, closes and deletes
 * itself. On any failure it closes the socket, says why, and deletes itself.
 *
 * client_silent_task connects and sends nothing: the server's idle timeout
 * must close it (it prints what the server said and when it closed).
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

#define CLIENT_NAME_MAX 16

static void finish(int sock)
{
    if (sock >= 0) {
        (void)lwip_close(sock);
    }
    vTaskDelete(NULL);
}

/* Socket + connect; logs why and returns -1 on failure. */
static int connect_to_server(const char *name)
{
    const app_config_t *cfg = app_config();
    uint8_t ip[4];
    if (!app_parse_ipv4(cfg->server_ip, ip)) {
        app_logf("%s failed: bad server address \"%s\"", name, cfg->server_ip);
        return -1;
    }
    int sock = lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) {
        app_logf("%s failed: socket: %s (errno %d)", name, net_strerror(errno), errno);
        return -1;
    }
    struct sockaddr_in server_address;
    net_sockaddr(&server_address, ip, cfg->server_port);
    if (lwip_connect(sock, (struct sockaddr *)&server_address, sizeof server_address) < 0) {
        int err = errno;
        app_logf("%s failed: connect to %s:%u: %s (errno %d)", name, cfg->server_ip,
                 (unsigned)cfg->server_port, net_strerror(err), err);
        (void)lwip_close(sock);
        return -1;
    }
    app_logf("%s connected to %s:%u", name, cfg->server_ip, (unsigned)cfg->server_port);
    return sock;
}

/* Reads one reply line (up to LF, end of stream or a full buffer). Returns
 * its length without CR LF, -1 on timeout, -2 on error; *eof set at EOF. */
static int read_line(int sock, char *buf, size_t cap, bool *eof)
{
    size_t len = 0;
    *eof = false;
    while (len + 1 < cap) {
        ssize_t n = lwip_recv(sock, buf + len, cap - 1 - len, 0);
        if (n == 0) {
            *eof = true;
            break;
        }
        if (n < 0) {
            if (len > 0) {
                break;
            }
            return net_is_timeout(errno) ? -1 : -2;
        }
        len += (size_t)n;
        if (memchr(buf, '\n', len) != NULL) {
            break;
        }
    }
    buf[len] = '\0';
    char *lf = memchr(buf, '\n', len);
    if (lf != NULL) {
        *lf = '\0';
        len = (size_t)(lf - buf);
    }
    if (len > 0 && buf[len - 1] == '\r') {
        buf[--len] = '\0';
    }
    return (int)len;
}

void client_task(void *arg)
{
    char client_name[CLIENT_NAME_MAX];
    snprintf(client_name, sizeof client_name, "Client %d", (int)(intptr_t)arg);

    int sock = connect_to_server(client_name);
    if (sock < 0) {
        finish(-1);
        return;
    }
    char message[48];
    snprintf(message, sizeof message, "Hello, server! from %s", client_name);
    if (!net_send_all(sock, message, strlen(message))) {
        int err = errno;
        app_logf("%s failed: send: %s (errno %d)", client_name, net_strerror(err), err);
        finish(sock);
        return;
    }
    (void)net_set_rcv_timeout(sock, APP_CLIENT_REPLY_TIMEOUT_MS);
    char reply[256];
    bool eof;
    int n = read_line(sock, reply, sizeof reply, &eof);
    if (n == -1) {
        app_logf("%s failed: no reply within %u ms", client_name, (unsigned)APP_CLIENT_REPLY_TIMEOUT_MS);
    } else if (n == -2) {
        int err = errno;
        app_logf("%s failed: recv: %s (errno %d)", client_name, net_strerror(err), err);
    } else if (n == 0 && eof) {
        app_logf("%s failed: server closed the connection without a reply", client_name);
    } else {
        app_logf("%s received: %s", client_name, reply);
    }
    (void)lwip_close(sock);
    app_logf("%s closed", client_name);
    vTaskDelete(NULL);
}

#if APP_WITH_SILENT_CLIENT
void client_silent_task(void *arg)
{
    char client_name[CLIENT_NAME_MAX];
    snprintf(client_name, sizeof client_name, "Client %d", (int)(intptr_t)arg);

    int sock = connect_to_server(client_name);
    if (sock < 0) {
        finish(-1);
        return;
    }
    app_logf("%s stays silent", client_name);
    TickType_t t0 = xTaskGetTickCount();
    (void)net_set_rcv_timeout(sock, 0); /* wait as long as the server lets us */
    for (;;) {
        char line[256];
        bool eof;
        int n = read_line(sock, line, sizeof line, &eof);
        if (n > 0) {
            app_logf("%s received: %s", client_name, line);
        }
        if (n < 0) {
            int err = errno;
            app_logf("%s failed: recv: %s (errno %d)", client_name, net_strerror(err), err);
            break;
        }
        if (eof) {
            app_logf("%s closed by the server after %lu ms", client_name,
                     (unsigned long)(xTaskGetTickCount() - t0));
            break;
        }
    }
    (void)lwip_close(sock);
    vTaskDelete(NULL);
}
#endif /* APP_WITH_SILENT_CLIENT */
