/*
 * session.h — one command connection (a TCP client of the listener, or the
 * UART): cuts the byte stream into lines of at most APP_LINE_MAX bytes (plus
 * one final CR), answers each line in order, and handles the timeouts:
 *  - a partial line (no LF) counts as complete when the peer half-closes or
 *    after frame_timeout_ms without a byte;
 *  - a stream silent for idle_timeout_ms gets "ERR idle-timeout ..." and ends;
 *  - a line too long gets "ERR line-too-long ..."; a stream session ends, a
 *    serial one discards the rest of that line and carries on.
 * Pure code: all I/O and the clock come through session_io_t.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app_config.h"
#include "protocol.h"

#define SESSION_TIMEOUT (-1)  /* recv: nothing arrived in time */
#define SESSION_IO_ERROR (-2) /* recv: the link failed */
#define SESSION_WAIT_FOREVER UINT32_MAX

typedef struct {
    /* Waits up to timeout_ms (SESSION_WAIT_FOREVER: no limit) for bytes.
     * Returns their number, 0 at end of stream, SESSION_TIMEOUT or
     * SESSION_IO_ERROR. */
    int (*recv)(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout_ms);
    /* Sends all bytes; false when the link failed. */
    bool (*send)(void *ctx, const char *buf, size_t len);
    /* A millisecond clock (wraps). */
    uint32_t (*now_ms)(void *ctx);
    /* Handles one complete line; writes the reply (no LF). Returns the
     * protocol action (PROTO_QUIT ends a stream session). */
    proto_action_t (*command)(void *ctx, const uint8_t *line, size_t len, char reply[PROTO_REPLY_MAX]);
    void *ctx;
    uint32_t idle_timeout_ms;  /* 0 = never */
    uint32_t frame_timeout_ms; /* at least 1 */
    bool serial;               /* UART: never closes, survives long lines */
} session_io_t;

typedef enum {
    SESSION_END_EOF = 0,  /* the peer closed (its partial line answered) */
    SESSION_END_QUIT,     /* "quit" answered with "OK bye" */
    SESSION_END_IDLE,     /* idle timeout, "ERR idle-timeout" sent */
    SESSION_END_TOO_LONG, /* "ERR line-too-long" sent */
    SESSION_END_ERROR     /* the link failed */
} session_end_t;

typedef struct {
    uint8_t line[APP_LINE_MAX + 1]; /* a line may end with one CR more */
    uint8_t rx[256];
    size_t len;
    bool discarding; /* serial: skipping the rest of a too-long line */
} session_buf_t;

/* Runs the session until it ends; the caller closes the link. */
session_end_t session_run(const session_io_t *io, session_buf_t *sb);

/* "10 s", "300 ms", "1.5 s": durations as the server prints them. */
size_t session_format_duration(uint32_t ms, char *out, size_t cap);

/* Names a session end for logs ("peer closed", "idle timeout", ...). */
const char *session_end_name(session_end_t end);

#endif /* SESSION_H */
