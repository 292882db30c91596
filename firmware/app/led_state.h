/*
 * led_state.h — the LED state shared by the parser, the state machine and
 * the tasks: off, on, or blinking at a frequency kept as the reply prints it.
 */
#ifndef LED_STATE_H
#define LED_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LED_MODE_OFF = 0, LED_MODE_ON, LED_MODE_BLINK } led_mode_t;

/* A blink frequency: hz = sig * 10^exp10, sig at most 6 digits, no trailing
 * zeros (so 2.5 Hz is {25, -1} and 500 Hz is {5, 2}). */
typedef struct {
    uint32_t sig;
    int8_t exp10;
} led_hz_t;

typedef struct {
    led_mode_t mode;
    led_hz_t hz; /* meaningful when mode == LED_MODE_BLINK */
} led_state_t;

/* The frequency in micro-hertz, rounded (0.05 Hz -> 50000). */
uint32_t led_hz_to_uhz(led_hz_t hz);

/* Writes "off", "on" or "blink 2.5 Hz" (NUL-terminated, truncated to cap);
 * returns the length it wanted. */
size_t led_state_format(const led_state_t *st, char *out, size_t cap);

#endif /* LED_STATE_H */
