/*
 * led_state.c — formatting and unit conversion of the shared LED state.
 */
#include "led_state.h"

static size_t put(char *out, size_t cap, size_t len, char c)
{
    if (len + 1 < cap) {
        out[len] = c;
        out[len + 1] = '\0';
    }
    return len + 1;
}

static size_t put_str(char *out, size_t cap, size_t len, const char *s)
{
    while (*s != '\0') {
        len = put(out, cap, len, *s++);
    }
    return len;
}

uint32_t led_hz_to_uhz(led_hz_t hz)
{
    uint64_t v = hz.sig;
    int shift = hz.exp10 + 6;
    for (; shift > 0; shift--) {
        v *= 10u;
    }
    if (shift < 0) {
        uint64_t div = 1;
        for (; shift < 0; shift++) {
            div *= 10u;
        }
        v = (v + div / 2u) / div;
    }
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static size_t format_hz(led_hz_t hz, char *out, size_t cap, size_t len)
{
    char digits[12];
    int n = 0;
    uint32_t sig = hz.sig;
    do {
        digits[n++] = (char)('0' + sig % 10u);
        sig /= 10u;
    } while (sig != 0u && n < (int)sizeof digits);
    /* digits[] holds them least significant first. */
    int point = n + hz.exp10; /* digits before the decimal point */
    if (point <= 0) {
        len = put_str(out, cap, len, "0.");
        for (int i = point; i < 0; i++) {
            len = put(out, cap, len, '0');
        }
        for (int i = n - 1; i >= 0; i--) {
            len = put(out, cap, len, digits[i]);
        }
        return len;
    }
    for (int i = n - 1, k = 0; i >= 0; i--, k++) {
        if (k == point) {
            len = put(out, cap, len, '.');
        }
        len = put(out, cap, len, digits[i]);
    }
    for (int k = n; k < point; k++) {
        len = put(out, cap, len, '0');
    }
    return len;
}

size_t led_state_format(const led_state_t *st, char *out, size_t cap)
{
    size_t len = 0;
    if (cap > 0) {
        out[0] = '\0';
    }
    switch (st->mode) {
    case LED_MODE_ON:
        return put_str(out, cap, len, "on");
    case LED_MODE_BLINK:
        len = put_str(out, cap, len, "blink ");
        len = format_hz(st->hz, out, cap, len);
        return put_str(out, cap, len, " Hz");
    case LED_MODE_OFF:
    default:
        return put_str(out, cap, len, "off");
    }
}
