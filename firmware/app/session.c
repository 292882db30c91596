/*
 * session.c — see session.h.
 */
#include "session.h"

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
    char tmp[24];
    size_t n = 0;
    char digits[12];
    int nd = 0;
    uint32_t whole = ms < 1000u ? ms : ms / 1000u;
    do {
        digits[nd++] = (char)('0' + whole % 10u);
        whole /= 10u;
    } while (whole != 0u);
    while (nd > 0) {
        tmp[n++] = digits[--nd];
    }
    if (ms < 1000u) {
        memcpy(tmp + n, " ms", 3);
        n += 3;
    } else {
        uint32_t frac = ms % 1000u;
        if (frac != 0u) {
            tmp[n++] = '.';
            tmp[n++] = (char)('0' + frac / 100u);
            frac %= 100u;
            if (frac != 0u) {
                tmp[n++] = (char)('0' + frac / 10u);
                frac %= 10u;
                if (frac != 0u) {
                    tmp[n++] = (char)('0' + frac);
                }
            }
        }
        memcpy(tmp + n, " s", 2);
        n += 2;
    }
    if (cap > 0) {
        size_t c = n < cap - 1 ? n : cap - 1;
        memcpy(out, tmp, c);
        out[c] = '\0';
    }
    return n;
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

static void too_long(const session_io_t *io)
{
    char msg[96];
    size_t n = 0;
    static const char head[] = "ERR line-too-long line exceeds ";
    memcpy(msg, head, sizeof head - 1);
    n = sizeof head - 1;
    /* APP_LINE_MAX in decimal */
    char digits[12];
    int nd = 0;
    uint32_t v = APP_LINE_MAX;
    do {
        digits[nd++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (nd > 0) {
        msg[n++] = digits[--nd];
    }
    const char *tail = io->serial ? " bytes; ignoring it" : " bytes; closing";
    size_t tl = strlen(tail);
    memcpy(msg + n, tail, tl);
    n += tl;
    msg[n] = '\0';
    (void)send_line(io, msg);
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
