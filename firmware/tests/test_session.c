/*
 * test_session.c — line framing and timeouts of a command session, on a
 * scripted fake link and a fake millisecond clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "session.h"

typedef struct {
    uint32_t at;      /* when the bytes arrive (ms) */
    const char *data; /* NULL: end of stream */
    size_t len;       /* 0: strlen(data) */
} event_t;

typedef struct {
    const event_t *events;
    size_t n, next;
    uint32_t now;
    char out[8192];
    size_t out_len;
    uint32_t reply_at[16]; /* time of each reply */
    size_t replies;
    bool fail_send;
    led_state_t led;
} fake_t;

static int fake_recv(void *ctx, uint8_t *buf, size_t cap, uint32_t timeout)
{
    fake_t *f = ctx;
    if (f->next == f->n) {
        if (timeout == SESSION_WAIT_FOREVER) return 0; /* nothing more will come */
        f->now += timeout;
        return SESSION_TIMEOUT;
    }
    const event_t *e = &f->events[f->next];
    if (timeout != SESSION_WAIT_FOREVER && e->at > f->now + timeout) {
        f->now += timeout;
        return SESSION_TIMEOUT;
    }
    if (e->at > f->now) f->now = e->at;
    f->next++;
    if (e->data == NULL) return 0;
    size_t len = e->len ? e->len : strlen(e->data);
    assert_true(len <= cap); /* scripts stay under the chunk size */
    memcpy(buf, e->data, len);
    return (int)len;
}

static bool fake_send(void *ctx, const char *buf, size_t len)
{
    fake_t *f = ctx;
    if (f->fail_send) return false;
    assert_true(f->out_len + len < sizeof f->out);
    memcpy(f->out + f->out_len, buf, len);
    f->out_len += len;
    f->out[f->out_len] = '\0';
    if (f->replies < 16) f->reply_at[f->replies] = f->now;
    f->replies++;
    return true;
}

static uint32_t fake_now(void *ctx)
{
    return ((fake_t *)ctx)->now;
}

static proto_action_t fake_command(void *ctx, const uint8_t *line, size_t len, char reply[PROTO_REPLY_MAX])
{
    fake_t *f = ctx;
    led_state_t next;
    proto_action_t act = proto_handle(line, len, &f->led, &next, reply);
    if (act == PROTO_SET_LED) f->led = next;
    return act;
}

static session_end_t run(fake_t *f, const event_t *ev, size_t n, uint32_t idle, bool serial)
{
    memset(f, 0, sizeof *f);
    f->events = ev;
    f->n = n;
    session_io_t io = {fake_recv, fake_send, fake_now, fake_command, f, idle, 100, serial};
    static session_buf_t sb;
    return session_run(&io, &sb);
}

#define RUN(f, ev, idle, serial) run((f), (ev), sizeof(ev) / sizeof((ev)[0]), (idle), (serial))

static fake_t f;

static void test_lines_in_order_crlf(void **state)
{
    (void)state;
    const event_t ev[] = {{5, "on\r\nblink 2,5\nstatus\r\n", 0}, {10, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out, "OK on\nOK blink 2.5 Hz\nOK blink 2.5 Hz\n");
}

static void test_partial_line_after_frame_timeout(void **state)
{
    (void)state;
    const event_t ev[] = {{20, "clignote 3", 0}, {5000, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out, "OK blink 3 Hz\n");
    assert_int_equal(f.reply_at[0], 120); /* 100 ms after the last byte */
}

static void test_partial_line_split_across_reads(void **state)
{
    (void)state;
    const event_t ev[] = {{0, "bli", 0}, {60, "nk 4", 0}, {150, "\n", 0}, {200, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out, "OK blink 4 Hz\n");
    assert_int_equal(f.reply_at[0], 150);
}

static void test_partial_line_at_half_close(void **state)
{
    (void)state;
    const event_t ev[] = {{0, "Hello, server! from Client 1", 0}, {30, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out, "ERR unknown-command \"hello\" (try: help)\n");
    assert_int_equal(f.reply_at[0], 30);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    const event_t none[] = {{0, NULL, 0}};
    assert_int_equal(run(&f, none, 0, 10000, false), SESSION_END_IDLE);
    assert_string_equal(f.out, "ERR idle-timeout no data for 10 s; closing\n");
    assert_int_equal(f.reply_at[0], 10000);

    const event_t ev[] = {{200, "on\n", 0}, {450, "o", 0}, {60000, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 300, false), SESSION_END_IDLE);
    /* "o" at 450 is activity: answered at 550, idle from 450 on. */
    assert_string_equal(f.out, "OK on\nERR unknown-command \"o\" (try: help)\n"
                               "ERR idle-timeout no data for 300 ms; closing\n");
    assert_int_equal(f.reply_at[1], 550);
    assert_int_equal(f.reply_at[2], 750);
}

static void test_activity_restarts_idle(void **state)
{
    (void)state;
    const event_t ev[] = {{9000, "on\n", 0}, {18000, "of", 0}, {18050, "f", 0}, {60000, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_IDLE);
    assert_string_equal(f.out, "OK on\nOK off\nERR idle-timeout no data for 10 s; closing\n");
    assert_int_equal(f.reply_at[1], 18150);
    assert_int_equal(f.reply_at[2], 28050);
}

static void test_idle_never(void **state)
{
    (void)state;
    const event_t ev[] = {{1000000, "on\n", 0}};
    assert_int_equal(RUN(&f, ev, 0, false), SESSION_END_EOF);
    assert_string_equal(f.out, "OK on\n");
}

static char big[1100];

static void test_line_too_long_closes(void **state)
{
    (void)state;
    memset(big, 'a', 1025);
    event_t ev[] = {{0, big, 200}, {1, big, 200}, {2, big, 200}, {3, big, 200}, {4, big, 200}, {5, big, 25}, {6, "\n", 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_TOO_LONG);
    assert_string_equal(f.out, "ERR line-too-long line exceeds 1024 bytes; closing\n");
}

static void test_line_of_1024_bytes_with_crlf_fits(void **state)
{
    (void)state;
    memset(big, ' ', 1024);
    memcpy(big, "status", 6);
    big[1024] = '\r';
    big[1025] = '\n';
    event_t ev[] = {{0, big, 200}, {0, big + 200, 200}, {0, big + 400, 200}, {0, big + 600, 200}, {0, big + 800, 200}, {0, big + 1000, 26}, {1, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out, "OK off\n");
    /* One byte more than CR at 1025 is too long. */
    big[1025] = 'x';
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_TOO_LONG);
}

static void test_serial_survives_long_line_and_quit(void **state)
{
    (void)state;
    memset(big, 'z', 1100);
    event_t ev[] = {{0, big, 250}, {1, big, 250}, {2, big, 250}, {3, big, 250}, {4, big, 250}, {5, "\non\n", 0}, {6, "quit\nstatus\n", 0}, {7, "xx", 0}, {500, "blink 9", 0}};
    assert_int_equal(RUN(&f, ev, 0, true), SESSION_END_EOF);
    assert_string_equal(f.out,
                        "ERR line-too-long line exceeds 1024 bytes; ignoring it\n"
                        "OK on\nOK bye\nOK on\n"
                        "ERR unknown-command \"xx\" (try: help)\n"
                        "OK blink 9 Hz\n");
}

static void test_quit_ends_stream(void **state)
{
    (void)state;
    const event_t ev[] = {{0, "bye\nstatus\n", 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_QUIT);
    assert_string_equal(f.out, "OK bye\n");
}

static void test_bad_lines_keep_serving(void **state)
{
    (void)state;
    const event_t ev[] = {{0, "\n   \n\xff\nblink 0\nblink\non\n", 0}, {1, NULL, 0}};
    assert_int_equal(RUN(&f, ev, 10000, false), SESSION_END_EOF);
    assert_string_equal(f.out,
                        "ERR unknown-command empty line (try: help)\n"
                        "ERR unknown-command empty line (try: help)\n"
                        "ERR bad-encoding line is not valid UTF-8: send UTF-8 text\n"
                        "ERR bad-argument 0 Hz is out of range: use 0.05 to 500 Hz\n"
                        "ERR bad-argument blink needs a frequency in Hz, e.g. \"blink 2.5\"\n"
                        "OK on\n");
}

static void test_send_failure_ends(void **state)
{
    (void)state;
    const event_t ev[] = {{0, "on\n", 0}, {1, "off\n", 0}};
    memset(&f, 0, sizeof f);
    f.events = ev;
    f.n = 2;
    f.fail_send = true;
    session_io_t io = {fake_recv, fake_send, fake_now, fake_command, &f, 10000, 100, false};
    static session_buf_t sb;
    assert_int_equal(session_run(&io, &sb), SESSION_END_ERROR);
}

static void test_format_duration(void **state)
{
    (void)state;
    char buf[24];
    static const struct {
        uint32_t ms;
        const char *s;
    } cases[] = {{10000, "10 s"}, {300, "300 ms"}, {1500, "1.5 s"}, {0, "0 ms"}, {1001, "1.001 s"}, {999, "999 ms"}, {60000, "60 s"}, {1230, "1.23 s"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        session_format_duration(cases[i].ms, buf, sizeof buf);
        assert_string_equal(buf, cases[i].s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_in_order_crlf),
        cmocka_unit_test(test_partial_line_after_frame_timeout),
        cmocka_unit_test(test_partial_line_split_across_reads),
        cmocka_unit_test(test_partial_line_at_half_close),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_activity_restarts_idle),
        cmocka_unit_test(test_idle_never),
        cmocka_unit_test(test_line_too_long_closes),
        cmocka_unit_test(test_line_of_1024_bytes_with_crlf_fits),
        cmocka_unit_test(test_serial_survives_long_line_and_quit),
        cmocka_unit_test(test_quit_ends_stream),
        cmocka_unit_test(test_bad_lines_keep_serving),
        cmocka_unit_test(test_send_failure_ends),
        cmocka_unit_test(test_format_duration),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
