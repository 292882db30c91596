/*
 * net.h — small helpers over lwIP's socket API shared by the client tasks
 * and the listener.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/sockets.h"

/* Receive timeout for lwip_recv; 0 = block forever. */
bool net_set_rcv_timeout(int sock, uint32_t ms);

/* Sends all bytes; false on a failed send. */
bool net_send_all(int sock, const void *buf, size_t len);

/* Closes politely: FIN first, then reads and drops what the peer still
 * sends for up to APP_CLOSE_DRAIN_MS (so unread input does not turn the
 * close into a reset that could destroy our last reply), then closes. */
void net_close_gracefully(int sock);

/* Fills an IPv4 address from 4 bytes (network order) and a port. */
void net_sockaddr(struct sockaddr_in *sa, const uint8_t ip[4], uint16_t port);

/* "192.168.77.1:40000" */
void net_format_peer(const struct sockaddr_in *sa, char *out, size_t cap);

/* A short text for an errno value ("connection refused"). */
const char *net_strerror(int err);

/* True when errno from lwip_recv means "timed out". */
bool net_is_timeout(int err);

#endif /* NET_H */
