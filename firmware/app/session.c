/*
 * session.c — see session.h.
 */
#include "session.h"

#include <stdio.h>
#include <string.h>

static bool send_line(const session_io_t *io, const char *text)
{
    char buf[PROTO_REPLY_MAX + 1];
    size_t n = strlen(text);
    if (n > PROTO_REPLY_MAX - 1) {
        n = PROTO_REPLY_MAX - 1;
    }
    memcpy(buf, text, n);
    buf[n++] = '\n';
    return io->send(io->ctx, buf, n);
}

/* Answers one complete line; false when the session must end (*end set). */
static bool answer(const session_io_t *io, session_buf_t *sb, session_end_t *end)
{
    char reply[PROTO_REPLY_MAX];
    proto_action_t act = io->command(io->ctx, sb->line, sb->len, reply);
    sb->len = 0;
    if (!send_line(io, reply)) {
        *end = SESSION_END_ERROR;
        return false;
    }
    if (act == PROTO_QUIT && !io->serial) {
        *end = SESSION_END_QUIT;
        return false;
    }
    return true;
}

size_t session_format_duration(uint32_t ms, char *out, size_t cap)
{
    unsigned long whole = ms / 1000u;
    unsigned long frac = ms % 1000u;
    int digits = 3;
    if (ms < 1000u) {
        return (size_t)snprintf(out, cap, "%lu ms", (unsigned long)ms);
    }
    if (frac == 0u) {
        return (size_t)snprintf(out, cap, "%lu s", whole);
    }
    while (frac % 10u == 0u) {
        frac /= 10u;
        digits--;
    }
    return (size_t)snprintf(out, cap, "%lu.%0*lu s", whole, digits, frac);
}

const char *session_end_name(session_end_t end)
{
    switch (end) {
    case SESSION_END_EOF:
        return "peer closed";
    case SESSION_END_QUIT:
        return "quit";
    case SESSION_END_IDLE:
        return "idle timeout";
    case SESSION_END_TOO_LONG:
        return "line too long";
    case SESSION_END_ERROR:
    default:
        return "link error";
    }
}

#define STR_(x) #x
#define STR(x) STR_(x)

static void too_long(const session_io_t *io)
{
    (void)send_line(io, io->serial ? "ERR line-too-long line exceeds " STR(APP_LINE_MAX) " bytes; ignoring it"
                                   : "ERR line-too-long line exceeds " STR(APP_LINE_MAX) " bytes; closing");
}

session_end_t session_run(const session_io_t *io, session_buf_t *sb)
{
    session_end_t end = SESSION_END_EOF;
    sb->len = 0;
    sb->discarding = false;
    uint32_t last_rx = io->now_ms(io->ctx);

    for (;;) {
        uint32_t now = io->now_ms(io->ctx);
        uint32_t silent = now - last_rx;
        uint32_t timeout = SESSION_WAIT_FOREVER;
        bool pending = sb->len > 0 || sb->discarding;
        if (pending) {
            timeout = silent >= io->frame_timeout_ms ? 0u : io->frame_timeout_ms - silent;
        } else if (io->idle_timeout_ms != 0u) {
            timeout = silent >= io->idle_timeout_ms ? 0u : io->idle_timeout_ms - silent;
        }

        int n = timeout == 0u ? SESSION_TIMEOUT : io->recv(io->ctx, sb->rx, sizeof sb->rx, timeout);

        if (n == SESSION_IO_ERROR) {
            return SESSION_END_ERROR;
        }
        if (n == 0) { /* end of stream: a pending partial line is complete */
            if (sb->len > 0 && !sb->discarding) {
                (void)answer(io, sb, &end);
            }
            return end == SESSION_END_ERROR ? end : SESSION_END_EOF;
        }
        if (n == SESSION_TIMEOUT) {
            now = io->now_ms(io->ctx);
            silent = now - last_rx;
            if (pending && silent >= io->frame_timeout_ms) {
                bool was_discarding = sb->discarding;
                sb->discarding = false;
                if (was_discarding) {
                    sb->len = 0;
                } else if (!answer(io, sb, &end)) {
                    return end;
                }
            } else if (!pending && io->idle_timeout_ms != 0u && silent >= io->idle_timeout_ms) {
                char msg[80] = "ERR idle-timeout no data for ";
                size_t len = strlen(msg);
                len += session_format_duration(io->idle_timeout_ms, msg + len, sizeof msg - len);
                memcpy(msg + len, "; closing", 10);
                (void)send_line(io, msg);
                return SESSION_END_IDLE;
            }
            continue;
        }

        last_rx = io->now_ms(io->ctx);
        for (int i = 0; i < n; i++) {
            uint8_t c = sb->rx[i];
            if (c == '\n') {
                if (sb->discarding) {
                    sb->discarding = false;
                    sb->len = 0;
                } else if (!answer(io, sb, &end)) {
                    return end;
                }
                continue;
            }
            if (sb->discarding) {
                continue;
            }
            /* Room for APP_LINE_MAX bytes, plus one CR when it ends them. */
            bool fits = sb->len < APP_LINE_MAX || (sb->len == APP_LINE_MAX && c == '\r');
            if (!fits) {
                too_long(io);
                if (!io->serial) {
                    return SESSION_END_TOO_LONG;
                }
                sb->len = 0;
                sb->discarding = true;
                continue;
            }
            sb->line[sb->len++] = c;
        }
    }
}
