/*
 * led_sm.c — see led_sm.h. With a = tick_hz * 10^6 and b = 2 * uHz, edge k
 * falls at offset ceil(k * a / b) ticks from the start, so the last edge at
 * or before elapsed e is k = floor(e * b / a). After b edges exactly a ticks
 * have passed, so the start moves forward by a ticks at a time (keeping
 * e < a <= 10^9, and e * b < 10^9 * 10^9 in 64 bits) without changing
 * parity or phase.
 */
#include "led_sm.h"

void led_sm_init(led_sm_t *sm, uint32_t tick_hz)
{
    sm->state.mode = LED_MODE_OFF;
    sm->state.hz.sig = 0;
    sm->state.hz.exp10 = 0;
    sm->tick_hz = tick_hz;
    sm->start = 0;
    sm->a = (uint64_t)tick_hz * 1000000u;
    sm->b = 0;
    sm->level = false;
}

bool led_sm_set(led_sm_t *sm, const led_state_t *st, uint32_t now)
{
    sm->state = *st;
    sm->start = now;
    sm->b = 0;
    if (st->mode == LED_MODE_BLINK) {
        sm->b = 2u * (uint64_t)led_hz_to_uhz(st->hz);
        if (sm->b == 0) {
            sm->state.mode = LED_MODE_OFF; /* not a frequency: stay dark */
        }
    }
    sm->level = sm->state.mode != LED_MODE_OFF;
    return sm->level;
}

bool led_sm_update(led_sm_t *sm, uint32_t now)
{
    if (sm->state.mode != LED_MODE_BLINK) {
        sm->level = sm->state.mode == LED_MODE_ON;
        return sm->level;
    }
    uint32_t e = now - sm->start;
    while (e >= sm->a) {
        sm->start += (uint32_t)sm->a;
        e -= (uint32_t)sm->a;
    }
    uint64_t k = ((uint64_t)e * sm->b) / sm->a;
    sm->level = (k & 1u) == 0u;
    return sm->level;
}

uint32_t led_sm_ticks_to_next(const led_sm_t *sm, uint32_t now)
{
    if (sm->state.mode != LED_MODE_BLINK) {
        return LED_SM_NEVER;
    }
    uint32_t e = now - sm->start;
    uint64_t k = ((uint64_t)e * sm->b) / sm->a + 1u;
    uint64_t at = (k * sm->a + sm->b - 1u) / sm->b; /* ceil(k * a / b) */
    return (uint32_t)(at - e);
}
