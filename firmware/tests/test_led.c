/*
 * test_led.c — the LED state machine in ticks: edge times without drift,
 * event-driven stepping equal to tick-by-tick, changes mid-blink, tick wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "led_sm.h"

static led_state_t blink(uint32_t sig, int8_t exp10)
{
    led_state_t st = {LED_MODE_BLINK, {sig, exp10}};
    return st;
}

/* Exact edge tick: ceil(k * tick_hz * 1e6 / (2 * uhz)). */
static uint64_t edge_at(uint64_t k, uint32_t tick_hz, uint32_t uhz)
{
    uint64_t a = (uint64_t)tick_hz * 1000000u, b = 2u * (uint64_t)uhz;
    return (k * a + b - 1u) / b;
}

/* Tick by tick from `start` for `ticks`: every level change must be edge k
 * at its exact tick, alternating on/off. Returns the number of edges. */
static uint64_t check_ticks(uint32_t start, led_state_t st, uint32_t ticks)
{
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    bool level = led_sm_set(&sm, &st, start);
    assert_true(level);
    uint32_t uhz = led_hz_to_uhz(st.hz);
    uint64_t k = 0;
    for (uint32_t t = 1; t <= ticks; t++) {
        bool now = led_sm_update(&sm, start + t);
        if (now != level) {
            k++;
            assert_int_equal(t, edge_at(k, 1000, uhz));
            assert_int_equal(now, (k % 2u) == 0u);
            level = now;
        }
    }
    /* No edge was skipped: the next one is after the window. */
    assert_true(edge_at(k + 1, 1000, uhz) > ticks);
    return k;
}

static void test_3hz_no_drift_over_an_hour(void **state)
{
    (void)state;
    /* 3 Hz for one hour of 1 ms ticks: 21600 edges, the last one exactly at
     * 3 600 000 ticks (no accumulated rounding of 166.67 ms half periods). */
    uint64_t edges = check_ticks(12345u, blink(3, 0), 3600000u);
    assert_int_equal(edges, 21600u);
}

static void test_odd_frequencies_tick_exact(void **state)
{
    (void)state;
    check_ticks(0, blink(333333, -6), 200000u);  /* 0.333333 Hz */
    check_ticks(7, blink(123457, -3), 100000u);  /* 123.457 Hz */
    assert_int_equal(check_ticks(0, blink(5, 2), 10000u), 10000u); /* 500 Hz: every tick */
    check_ticks(0, blink(5, -2), 100000u);       /* 0.05 Hz: 10 s half period */
}

static void test_event_driven_equals_tick_by_tick(void **state)
{
    (void)state;
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    led_state_t st = blink(25, -1); /* 2.5 Hz */
    uint32_t now = 0xFFFFF000u;     /* wraps during the run */
    led_sm_set(&sm, &st, now);
    uint32_t start = now;
    for (uint64_t k = 1; k <= 5000; k++) {
        uint32_t wait = led_sm_ticks_to_next(&sm, now);
        assert_true(wait > 0 && wait != LED_SM_NEVER);
        now += wait;
        assert_int_equal((uint32_t)(now - start), edge_at(k, 1000, 2500000u));
        assert_int_equal(led_sm_update(&sm, now), (k % 2u) == 0u);
        /* One tick earlier the level was still the previous one. */
    }
}

static void test_late_updates_catch_up(void **state)
{
    (void)state;
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    led_state_t st = blink(1, 0); /* 1 Hz: on [0,500), off [500,1000) */
    led_sm_set(&sm, &st, 100);
    assert_true(led_sm_update(&sm, 100 + 499));
    assert_false(led_sm_update(&sm, 100 + 500));
    /* A task that wakes up 10 s + 250 ms late still shows the right phase. */
    assert_true(led_sm_update(&sm, 100 + 10250));
    assert_false(led_sm_update(&sm, 100 + 10750));
    assert_int_equal(led_sm_ticks_to_next(&sm, 100 + 10750), 250);
}

static void test_long_run_rebase_keeps_phase(void **state)
{
    (void)state;
    /* 0.05 Hz: the start is rebased after 10^9 ticks (11.6 days). */
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    led_state_t st = blink(5, -2);
    led_sm_set(&sm, &st, 0);
    for (uint64_t t = 0; t < 3000000000u; t += 999983u) {
        uint32_t now = (uint32_t)t;
        bool want = ((t / 10000u) % 2u) == 0u; /* 10 s half periods */
        assert_int_equal(led_sm_update(&sm, now), want);
    }
}

static void test_change_mid_blink(void **state)
{
    (void)state;
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    led_state_t st = blink(3, 0);
    led_sm_set(&sm, &st, 0);
    assert_true(led_sm_update(&sm, 100));
    /* New frequency at 100: restarts from "on" at 100, edges from there. */
    st = blink(10, 0);
    assert_true(led_sm_set(&sm, &st, 100));
    assert_true(led_sm_update(&sm, 149));
    assert_false(led_sm_update(&sm, 150));
    assert_int_equal(led_sm_ticks_to_next(&sm, 150), 50);
}

static void test_off_mid_blink_never_leaves_led_on(void **state)
{
    (void)state;
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    led_state_t st = blink(7, 0);
    led_state_t off = {LED_MODE_OFF, {0, 0}};
    for (uint32_t at = 0; at < 2000; at += 37) {
        led_sm_set(&sm, &st, 0);
        (void)led_sm_update(&sm, at);
        assert_false(led_sm_set(&sm, &off, at));
        assert_int_equal(led_sm_ticks_to_next(&sm, at), LED_SM_NEVER);
        for (uint32_t t = at; t < at + 3000; t += 11) {
            assert_false(led_sm_update(&sm, t));
        }
    }
}

static void test_on_and_off_are_steady(void **state)
{
    (void)state;
    led_sm_t sm;
    led_sm_init(&sm, 1000);
    assert_false(led_sm_update(&sm, 5));
    led_state_t on = {LED_MODE_ON, {0, 0}};
    assert_true(led_sm_set(&sm, &on, 5));
    assert_true(led_sm_update(&sm, 123456789u));
    assert_int_equal(led_sm_ticks_to_next(&sm, 9), LED_SM_NEVER);
    led_state_t bad = {LED_MODE_BLINK, {0, 0}};
    assert_false(led_sm_set(&sm, &bad, 5));
}

static void test_format_state(void **state)
{
    (void)state;
    char buf[32];
    led_state_t st = blink(5, -2);
    led_state_format(&st, buf, sizeof buf);
    assert_string_equal(buf, "blink 0.05 Hz");
    st = blink(5, 2);
    led_state_format(&st, buf, sizeof buf);
    assert_string_equal(buf, "blink 500 Hz");
    st = blink(123457, -3);
    led_state_format(&st, buf, sizeof buf);
    assert_string_equal(buf, "blink 123.457 Hz");
    st.mode = LED_MODE_ON;
    led_state_format(&st, buf, sizeof buf);
    assert_string_equal(buf, "on");
    /* Truncates safely. */
    st = blink(123457, -3);
    assert_int_equal(led_state_format(&st, buf, 4), 16);
    assert_string_equal(buf, "bli");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_3hz_no_drift_over_an_hour),
        cmocka_unit_test(test_odd_frequencies_tick_exact),
        cmocka_unit_test(test_event_driven_equals_tick_by_tick),
        cmocka_unit_test(test_late_updates_catch_up),
        cmocka_unit_test(test_long_run_rebase_keeps_phase),
        cmocka_unit_test(test_change_mid_blink),
        cmocka_unit_test(test_off_mid_blink_never_leaves_led_on),
        cmocka_unit_test(test_on_and_off_are_steady),
        cmocka_unit_test(test_format_state),
    };
    return cmocka_run_group_tests_name("led_sm", tests, NULL, NULL);
}
