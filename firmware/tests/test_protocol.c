/*
 * test_protocol.c — the C parser against every `led` vector of
 * protocol/testdata/vectors.tsv (read at test time, escapes decoded), plus
 * bad lines the vectors do not spell out. One cmocka test per vector.
 *
 * Usage: test_protocol [path/to/vectors.tsv]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol.h"

typedef struct {
    char name[96];
    uint8_t req[2048];
    size_t req_len;
    char reply[512];
    int lineno;
} vector_t;

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes \t \r \\ \xHH; returns the length or -1 on a bad escape. */
static long unescape(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o >= cap) return -1;
        if (s[i] != '\\') {
            out[o++] = (uint8_t)s[i];
            continue;
        }
        if (++i >= n) return -1;
        switch (s[i]) {
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case '\\': out[o++] = '\\'; break;
        case 'x': {
            if (i + 2 >= n + 0 && i + 2 > n) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            out[o++] = (uint8_t)(h * 16 + l);
            i += 2;
            break;
        }
        default: return -1;
        }
    }
    return (long)o;
}

static void test_vector(void **state)
{
    const vector_t *v = *state;
    led_state_t cur = {LED_MODE_OFF, {0, 0}};
    led_state_t next = cur;
    char reply[PROTO_REPLY_MAX];
    proto_action_t act = proto_handle(v->req, v->req_len, &cur, &next, reply);
    if (strcmp(reply, v->reply) != 0) {
        print_error("vectors.tsv line %d: got \"%s\", want \"%s\"\n", v->lineno, reply, v->reply);
        fail();
    }
    /* The action must agree with the reply. */
    if (strncmp(v->reply, "OK bye", 6) == 0) {
        assert_int_equal(act, PROTO_QUIT);
    } else if (strncmp(v->reply, "ERR", 3) == 0) {
        assert_int_equal(act, PROTO_REPLY_ONLY);
    }
}

/* ---- bad lines beyond the vectors ---------------------------------------- */

static proto_action_t run(const char *line, char reply[PROTO_REPLY_MAX], led_state_t *next)
{
    led_state_t cur = {LED_MODE_BLINK, {25, -1}};
    return proto_handle((const uint8_t *)line, strlen(line), &cur, next, reply);
}

static void test_status_reports_current(void **state)
{
    (void)state;
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    assert_int_equal(run("status", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "OK blink 2.5 Hz");
}

static void test_long_line_and_long_words(void **state)
{
    (void)state;
    static char line[1100];
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    run(line, reply, &next);
    assert_string_equal(reply, "ERR unknown-command \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" (try: help)");
    memcpy(line, "blink ", 6);
    run(line, reply, &next);
    assert_string_equal(reply,
                        "ERR bad-argument \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is not a frequency: "
                        "write digits, e.g. 2.5 or 2,5");
    memset(line + 6, '1', sizeof line - 7);
    run(line, reply, &next);
    assert_string_equal(reply,
                        "ERR bad-argument 11111111111111111111111111111111... Hz is out of range: "
                        "use 0.05 to 500 Hz");
    /* 1000 zeros then 2: still 2 Hz. */
    memset(line + 6, '0', sizeof line - 8);
    line[sizeof line - 2] = '2';
    assert_int_equal(run(line, reply, &next), PROTO_SET_LED);
    assert_string_equal(reply, "OK blink 2 Hz");
}

static void test_echo_cuts_at_character_boundary(void **state)
{
    (void)state;
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    /* 31 ASCII letters then é (2 bytes): the cut at 32 falls inside é. */
    run("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9zz", reply, &next);
    assert_string_equal(reply, "ERR unknown-command \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" (try: help)");
}

static void test_empty_and_blank(void **state)
{
    (void)state;
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    run("", reply, &next);
    assert_string_equal(reply, "ERR unknown-command empty line (try: help)");
    run("\t \t\r", reply, &next);
    assert_string_equal(reply, "ERR unknown-command empty line (try: help)");
    run("\r\r", reply, &next);
    assert_string_equal(reply, "ERR bad-encoding line contains control characters: send plain text");
}

static void test_bad_numbers(void **state)
{
    (void)state;
    static const char *const not_numbers[] = {".", "..5", "2..", "1.2,3", "2 .5x", "--1", "٣", "1_000", "0x1p3", "5e-1"};
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "blink %s", not_numbers[i]);
        assert_int_equal(run(line, reply, &next), PROTO_REPLY_ONLY);
        assert_true(strncmp(reply, "ERR bad-argument", 16) == 0);
    }
}

static void test_frequency_rounding_and_edges(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        uint32_t uhz;
    } cases[] = {
        {"0.05", "OK blink 0.05 Hz", 50000},
        {"0.0512345", "OK blink 0.0512345 Hz", 51235},
        {"0.05123456", "OK blink 0.0512346 Hz", 51235},
        {"499.9999", "OK blink 500 Hz", 500000000},
        {"499.999", "OK blink 499.999 Hz", 499999000},
        {"499.99999", "OK blink 500 Hz", 500000000},
        {"500,000", "OK blink 500 Hz", 500000000},
        {"000000.5", "OK blink 0.5 Hz", 500000},
        /* A 7th digit 5 then zeros rounds the way the nearest double lies,
         * as the Deno server's toPrecision(6) does: */
        {"99.99995", "OK blink 99.9999 Hz", 99999900},   /* double below the tie */
        {"123.4565", "OK blink 123.457 Hz", 123457000},  /* double above */
        {"100.0625", "OK blink 100.063 Hz", 100063000},  /* exact double: up */
        {"0.1234565", "OK blink 0.123456 Hz", 123456},
        {"1.2345650000", "OK blink 1.23456 Hz", 1234560},
        {"0.05000005", "OK blink 0.05 Hz", 50000},
        {"9.999995", "OK blink 10 Hz", 10000000},   /* up, carrying into a new digit */
        {"0.9999995", "OK blink 1 Hz", 1000000},
        {"0.09999995", "OK blink 0.1 Hz", 100000},
        {"1.999995", "OK blink 1.99999 Hz", 1999990},
        /* Over 15 significant digits: rounded half-up to 15 first, so this
         * is the tie 99.99995 again, whose double lies below it. */
        {"99.999950000000000000000001", "OK blink 99.9999 Hz", 99999900},
        {"499.99949999999999999", "OK blink 500 Hz", 500000000}, /* -> 499.9995: above */
        {"9.99999999999999999", "OK blink 10 Hz", 10000000},     /* carry through 15 nines */
        {"0.0500000000000000000001", "OK blink 0.05 Hz", 50000},
        {"499.999999999999999999999", "OK blink 500 Hz", 500000000},
        {"1,", "OK blink 1 Hz", 1000000},
        {",25", "OK blink 0.25 Hz", 250000},
        {"333.3333333", "OK blink 333.333 Hz", 333333000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[64], reply[PROTO_REPLY_MAX];
        led_state_t next;
        snprintf(line, sizeof line, "blink %s", cases[i].in);
        assert_int_equal(run(line, reply, &next), PROTO_SET_LED);
        assert_string_equal(reply, cases[i].out);
        assert_int_equal(next.mode, LED_MODE_BLINK);
        assert_int_equal(led_hz_to_uhz(next.hz), cases[i].uhz);
    }
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    run("blink 0.0499999", reply, &next);
    assert_string_equal(reply, "ERR bad-argument 0.0499999 Hz is out of range: use 0.05 to 500 Hz");
    run("blink 500.000001", reply, &next);
    assert_string_equal(reply, "ERR bad-argument 500.000001 Hz is out of range: use 0.05 to 500 Hz");
    run("blink 0000", reply, &next);
    assert_string_equal(reply, "ERR bad-argument 0000 Hz is out of range: use 0.05 to 500 Hz");
    /* The range check is on the exact value, however many digits. */
    run("blink 0.04999999999999999999", reply, &next);
    assert_string_equal(reply, "ERR bad-argument 0.04999999999999999999 Hz is out of range: use 0.05 to 500 Hz");
    run("blink 500.00000000000001", reply, &next);
    assert_string_equal(reply, "ERR bad-argument 500.00000000000001 Hz is out of range: use 0.05 to 500 Hz");
}

/* Digit runs as long as a line allows: exact range check, no overflow. */
static void test_long_digit_runs(void **state)
{
    (void)state;
    static char line[1030];
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    const size_t end = sizeof line - 1;
    line[end] = '\0';
    /* 500.000...0001: out of range by one in the 1000th decimal. */
    memcpy(line, "blink 500.", 10);
    memset(line + 10, '0', end - 10);
    line[end - 1] = '1';
    assert_int_equal(run(line, reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "ERR bad-argument 500.0000000000000000000000000000... Hz is out of range: "
                               "use 0.05 to 500 Hz");
    line[end - 1] = '0';
    assert_int_equal(run(line, reply, &next), PROTO_SET_LED);
    assert_string_equal(reply, "OK blink 500 Hz");
    /* 0.0499...9 with a thousand 9s: out of range; 0.0500...01: in. */
    memcpy(line, "blink 0.04", 10);
    memset(line + 10, '9', end - 10);
    run(line, reply, &next);
    assert_string_equal(reply, "ERR bad-argument 0.049999999999999999999999999999... Hz is out of range: "
                               "use 0.05 to 500 Hz");
    memcpy(line, "blink 0,05", 10);
    memset(line + 10, '0', end - 10);
    line[end - 1] = '1';
    assert_int_equal(run(line, reply, &next), PROTO_SET_LED);
    assert_string_equal(reply, "OK blink 0.05 Hz");
    assert_int_equal(led_hz_to_uhz(next.hz), 50000);
    /* 499.999...9: rounds up to 500 through every carry. */
    memcpy(line, "blink 499.", 10);
    memset(line + 10, '9', end - 10);
    assert_int_equal(run(line, reply, &next), PROTO_SET_LED);
    assert_string_equal(reply, "OK blink 500 Hz");
    assert_int_equal(led_hz_to_uhz(next.hz), 500000000);
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    char reply[PROTO_REPLY_MAX];
    led_state_t next;
    static const char *const refused[] = {
        "\xef\xbb\xbf\xef\xbb\xbfoff", " \xef\xbb\xbfoff", "off \xef\xbb\xbf", "blink 2\xef\xbb\xbf\r",
        "\xef\xbb\xbf\xef\xbb\xbf\r",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(run(refused[i], reply, &next), PROTO_REPLY_ONLY);
        assert_string_equal(reply, "ERR bad-encoding line has a byte order mark (U+FEFF) after its start: remove it");
    }
    assert_int_equal(run("\xef\xbb\xbf" "blink 2,5\r", reply, &next), PROTO_SET_LED);
    assert_string_equal(reply, "OK blink 2.5 Hz");
    assert_int_equal(run("\xef\xbb\xbfquit", reply, &next), PROTO_QUIT);
    run("\xef\xbb\xbf", reply, &next);
    assert_string_equal(reply, "ERR unknown-command empty line (try: help)");
    /* Not a BOM: the same bytes cut short, or U+FEFF's neighbours. */
    run("\xef\xbb", reply, &next);
    assert_string_equal(reply, "ERR bad-encoding line is not valid UTF-8: send UTF-8 text");
    run("\xef\xbb\xbeoff", reply, &next);
    assert_string_equal(reply, "ERR unknown-command \"\xef\xbb\xbeoff\" (try: help)");
}

static void test_on_off_help_quit(void **state)
{
    (void)state;
    char reply[PROTO_REPLY_MAX];
    led_state_t next = {LED_MODE_BLINK, {3, 0}};
    assert_int_equal(run("OFF", reply, &next), PROTO_SET_LED);
    assert_int_equal(next.mode, LED_MODE_OFF);
    assert_int_equal(run("Allume", reply, &next), PROTO_SET_LED);
    assert_int_equal(next.mode, LED_MODE_ON);
    assert_int_equal(run("help", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, proto_help_reply);
    assert_int_equal(run("help me", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "ERR bad-argument help takes no argument");
    assert_int_equal(run("bye!", reply, &next), PROTO_QUIT);
    assert_int_equal(run("quit now", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "ERR bad-argument quit takes no argument");
    assert_int_equal(run("\xc3\x89TAT", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "OK blink 2.5 Hz");
    assert_int_equal(run("hello", reply, &next), PROTO_REPLY_ONLY);
    assert_string_equal(reply, "ERR unknown-command \"hello\" (try: help)");
}

#define MAX_VECTORS 512

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../protocol/testdata/vectors.tsv";
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "test_protocol: cannot open %s (pass the path of vectors.tsv)\n", path);
        return 2;
    }
    static vector_t vectors[MAX_VECTORS];
    static struct CMUnitTest tests[MAX_VECTORS + 16];
    size_t nv = 0, nt = 0;
    static char buf[8192];
    int lineno = 0;
    int bad = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        lineno++;
        size_t n = strlen(buf);
        if (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
        if (n == 0 || buf[0] == '#') continue;
        char *t1 = strchr(buf, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t1 == NULL || t2 == NULL || strchr(t2 + 1, '\t') != NULL) {
            fprintf(stderr, "%s:%d: not three TAB-separated fields\n", path, lineno);
            bad++;
            continue;
        }
        if ((size_t)(t1 - buf) != 3 || strncmp(buf, "led", 3) != 0) continue; /* server scope */
        if (nv == MAX_VECTORS) {
            fprintf(stderr, "%s: more than %d vectors\n", path, MAX_VECTORS);
            return 2;
        }
        vector_t *v = &vectors[nv];
        long rl = unescape(t1 + 1, (size_t)(t2 - t1 - 1), v->req, sizeof v->req);
        long pl = unescape(t2 + 1, strlen(t2 + 1), (uint8_t *)v->reply, sizeof v->reply - 1);
        if (rl < 0 || pl < 0) {
            fprintf(stderr, "%s:%d: bad escape\n", path, lineno);
            bad++;
            continue;
        }
        v->req_len = (size_t)rl;
        v->reply[pl] = '\0';
        v->lineno = lineno;
        snprintf(v->name, sizeof v->name, "vector line %d: %.*s", lineno, (int)(t2 - t1 - 1 > 60 ? 60 : t2 - t1 - 1), t1 + 1);
        tests[nt].name = v->name;
        tests[nt].test_func = test_vector;
        tests[nt].setup_func = NULL;
        tests[nt].teardown_func = NULL;
        tests[nt].initial_state = v;
        nt++;
        nv++;
    }
    fclose(f);
    if (bad > 0 || nv == 0) {
        fprintf(stderr, "%s: %d malformed lines, %zu led vectors\n", path, bad, nv);
        return 2;
    }
    const struct CMUnitTest extra[] = {
        cmocka_unit_test(test_status_reports_current),
        cmocka_unit_test(test_long_line_and_long_words),
        cmocka_unit_test(test_echo_cuts_at_character_boundary),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_bad_numbers),
        cmocka_unit_test(test_frequency_rounding_and_edges),
        cmocka_unit_test(test_long_digit_runs),
        cmocka_unit_test(test_byte_order_mark),
        cmocka_unit_test(test_on_off_help_quit),
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        tests[nt++] = extra[i];
    }
    return _cmocka_run_group_tests("protocol", tests, nt, NULL, NULL);
}
