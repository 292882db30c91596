/*
 * led_sm.h — the LED state machine, driven by a tick count. Pure code.
 *
 * Blinking has no drift: edge k (k = 0, 1, 2, ...) falls at the first tick
 * at or after start + k * period / 2, computed from the blink start each
 * time, never by adding half periods to the previous edge. Edge 0 (at the
 * start) turns the LED on; even edges are on, odd edges off.
 */
#ifndef LED_SM_H
#define LED_SM_H

#include <stdbool.h>
#include <stdint.h>

#include "led_state.h"

#define LED_SM_NEVER UINT32_MAX

typedef struct {
    led_state_t state;
    uint32_t tick_hz; /* ticks per second, at most 1000 */
    uint32_t start;   /* tick of edge 0 (moves forward by whole cycles) */
    uint64_t a;       /* tick_hz * 10^6 */
    uint64_t b;       /* 2 * frequency in micro-hertz */
    bool level;
} led_sm_t;

void led_sm_init(led_sm_t *sm, uint32_t tick_hz);

/* Applies a new state at tick `now`; returns the level right after. */
bool led_sm_set(led_sm_t *sm, const led_state_t *st, uint32_t now);

/* Advances to tick `now` (ticks wrap; call at least once per 2^31 ticks);
 * returns the level the LED must show. */
bool led_sm_update(led_sm_t *sm, uint32_t now);

/* Ticks from `now` until the next edge, or LED_SM_NEVER when steady.
 * Call after led_sm_update(sm, now). */
uint32_t led_sm_ticks_to_next(const led_sm_t *sm, uint32_t now);

#endif /* LED_SM_H */
