/*
 * net.c — see net.h.
 */
#include "net.h"

#include <stdio.h>
#include <string.h>

#include "lwip/def.h"
#include "lwip/errno.h"

#include "FreeRTOS.h"
#include "task.h"

#include "app_config.h"

bool net_set_rcv_timeout(int sock, uint32_t ms)
{
#if LWIP_SO_SNDRCVTIMEO_NONSTANDARD
    int tv = (int)ms;
#else
    struct timeval tv;
    tv.tv_sec = (long)(ms / 1000u);
    tv.tv_usec = (long)(ms % 1000u) * 1000L;
#endif
    return lwip_setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0;
}

bool net_send_all(int sock, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = lwip_send(sock, p, len, 0);
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void net_close_gracefully(int sock)
{
    (void)lwip_shutdown(sock, SHUT_WR);
    /* Drain for at most APP_CLOSE_DRAIN_MS in all, however the peer sends. */
    TickType_t start = xTaskGetTickCount();
    uint8_t sink[64];
    for (;;) {
        TickType_t spent = xTaskGetTickCount() - start;
        if (spent >= pdMS_TO_TICKS(APP_CLOSE_DRAIN_MS)) {
            break;
        }
        (void)net_set_rcv_timeout(sock, (uint32_t)(pdMS_TO_TICKS(APP_CLOSE_DRAIN_MS) - spent));
        if (lwip_recv(sock, sink, sizeof sink, 0) <= 0) {
            break;
        }
    }
    (void)lwip_close(sock);
}

void net_sockaddr(struct sockaddr_in *sa, const uint8_t ip[4], uint16_t port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = lwip_htons(port);
    memcpy(&sa->sin_addr.s_addr, ip, 4);
}

void net_format_peer(const struct sockaddr_in *sa, char *out, size_t cap)
{
    uint8_t ip[4];
    memcpy(ip, &sa->sin_addr.s_addr, 4);
    (void)snprintf(out, cap, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3],
                   (unsigned)lwip_ntohs(sa->sin_port));
}

const char *net_strerror(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "connection refused";
    case ETIMEDOUT:
        return "timed out";
    case EHOSTUNREACH:
        return "host unreachable";
    case ECONNRESET:
        return "connection reset";
    default:
        return "socket error"; /* the errno printed next to it says which */
    }
}

bool net_is_timeout(int err)
{
    return err == EWOULDBLOCK || err == EAGAIN;
}
