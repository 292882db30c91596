/*
 * fuzz_protocol.c — libFuzzer target: the request parser on arbitrary
 * bytes, and a whole session (framing, frame and idle timeouts) on an
 * arbitrary byte stream cut into arbitrary reads.
 *
 * Checks, besides the sanitizers: every reply is one "OK ..." or "ERR ..."
 * line shorter than PROTO_REPLY_MAX without CR/LF; an accepted blink is in
 * range and its printed frequency parses back to the same value; a session
 * ends and answers at most one reply per line it could have seen.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *reply)
{
    size_t n = strnlen(reply, PROTO_REPLY_MAX);
    if (n >= PROTO_REPLY_MAX || (strncmp(reply, "OK ", 3) != 0 && strncmp(reply, "ERR ", 4) != 0) ||
        memchr(reply, '\n', n) != NULL || memchr(reply, '\r', n) != NULL) {
        fprintf(stderr, "bad reply: \"%s\"\n", reply);
        abort();
    }
}

static void check_line(const uint8_t *data, size_t size)
{
    led_state_t cur = {(led_mode_t)(size % 3), {25, -1}};
    led_state_t next;
    char reply[PROTO_REPLY_MAX];
    proto_action_t act = proto_handle(data, size, &cur, &next, reply);
    check_reply(reply);
    if (act == PROTO_SET_LED && next.mode == LED_MODE_BLINK) {
        uint32_t uhz = led_hz_to_uhz(next.hz);
        if (uhz < 50000u || uhz > 500000000u || next.hz.sig == 0 || next.hz.sig > 999999u) {
            fprintf(stderr, "blink out of range: %u uHz\n", (unsigned)uhz);
            abort();
        }
        /* "OK blink <hz> Hz" parses back to the same frequency. */
        char again[PROTO_REPLY_MAX + 8];
        int n = snprintf(again, sizeof again, "%s", reply + 3);
        again[n - 3] = '\0'; /* drop " Hz" */
        led_state_t round;
        char reply2[PROTO_REPLY_MAX];
        if (proto_handle((const uint8_t *)again, strlen(again), &cur, &round, reply2) != PROTO_SET_LED ||
            strcmp(reply, reply2) != 0 || round.hz.sig != next.hz.sig || round.hz.exp10 != next.hz.exp10) {
            fprintf(stderr, "round trip: \"%s\" -> \"%s\"\n", reply, reply2);
            abort();
        }
    }
}

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    uint32_t now;
    unsigned replies, lines_max;
} feed_t;

static int feed_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout)
{
    feed_t *f = ctx;
    if (f->pos >= f->size) {
        return 0;
    }
    /* The byte at pos picks this read's shape: a pause, or a chunk size. */
    uint8_t ctl = f->data[f->pos];
    if ((ctl & 0xE0u) == 0xE0u) {
        uint32_t pause = (uint32_t)(ctl & 0x1Fu) * 20u;
        f->pos++;
        if (timeout != SESSION_WAIT_FOREVER && pause > timeout) {
            f->now += timeout;
            return SESSION_TIMEOUT;
        }
        f->now += pause;
    }
    size_t want = 1u + (size_t)(ctl % 97u);
    size_t left = f->size - f->pos;
    size_t n = want < left ? want : left;
    if (n > cap) {
        n = cap;
    }
    if (n == 0) {
        return 0;
    }
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    f->now += 1;
    return (int)n;
}

static bool feed_send(void *ctx, const char *buf, size_t len)
{
    feed_t *f = ctx;
    if (len == 0 || buf[len - 1] != '\n') {
        abort();
    }
    f->replies++;
    return true;
}

static uint32_t feed_now(void *ctx)
{
    return ((feed_t *)ctx)->now;
}

static proto_action_t feed_command(void *ctx, const uint8_t *line, size_t len, char reply[PROTO_REPLY_MAX])
{
    (void)ctx;
    led_state_t cur = {LED_MODE_OFF, {0, 0}};
    led_state_t next;
    proto_action_t act = proto_handle(line, len, &cur, &next, reply);
    check_reply(reply);
    return act;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size <= 2 * APP_LINE_MAX) {
        check_line(data, size);
    }
    static session_buf_t sb;
    for (int serial = 0; serial <= 1; serial++) {
        feed_t f = {data, size, 0, 0, 0, 0};
        session_io_t io = {feed_recv, feed_send, feed_now, feed_command, &f, 500, 100, serial != 0};
        (void)session_run(&io, &sb);
        /* At most one reply per byte, plus the idle or too-long notice. */
        if (f.replies > size + 1) {
            abort();
        }
    }
    return 0;
}
