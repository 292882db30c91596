/*
 * protocol.c — wire protocol v1, LED subset (see protocol/testdata/README.md).
 *
 * Frequencies are handled in decimal, without floating point and without
 * the C library's strtod/printf (which use the heap in newlib): the range
 * check uses the exact value, which is then rounded half-up to 15
 * significant digits (all of which a double holds, as the Deno server
 * keeps it) and printed rounded half-up to 6 significant digits.
 */
#include "protocol.h"

#include <string.h>

#define ECHO_MAX 32u
#define FOLD_MAX 16u /* longer words are no verb */

/* U+FEFF, the byte order mark: ignored first on a line, refused elsewhere. */
static const uint8_t bom[3] = {0xEFu, 0xBBu, 0xBFu};

const char proto_help_reply[] = "OK commands: blink <hz>, on, off, status, help, quit "
                                "(French: clignote <hz>, allume, eteindre, etat)";

typedef enum { VERB_NONE = 0, VERB_BLINK, VERB_ON, VERB_OFF, VERB_STATUS, VERB_HELP, VERB_QUIT } verb_t;

/* The verbs and their aliases, NUL-separated; the first word of each verb is
 * its canonical name ("on takes no argument"). */
static const char verb_words[] = "blink\0clignote\0on\0allume\0off\0eteindre\0\xc3\xa9teindre\0eteins\0"
                                 "eteind\0status\0etat\0\xc3\xa9tat\0help\0quit\0bye";
static const uint8_t verb_ids[] = {VERB_BLINK,  VERB_BLINK,  VERB_ON,     VERB_ON,   VERB_OFF,
                                   VERB_OFF,    VERB_OFF,    VERB_OFF,    VERB_OFF,  VERB_STATUS,
                                   VERB_STATUS, VERB_STATUS, VERB_HELP,   VERB_QUIT, VERB_QUIT};

/* ---- reply builder ------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t len;
} out_t;

static void out_byte(out_t *o, char c)
{
    if (o->len + 1 < PROTO_REPLY_MAX) {
        o->buf[o->len++] = c;
        o->buf[o->len] = '\0';
    }
}

static void out_str(out_t *o, const char *s)
{
    while (*s != '\0') {
        out_byte(o, *s++);
    }
}

static void out_uint(out_t *o, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0) {
        out_byte(o, tmp[--n]);
    }
}

static uint8_t fold_byte(const uint8_t *w, size_t k)
{
    uint8_t c = w[k];
    if (c >= 'A' && c <= 'Z') {
        return (uint8_t)(c + ('a' - 'A'));
    }
    if (c == 0x89u && k > 0 && w[k - 1] == 0xC3u) {
        return 0xA9u; /* É (C3 89) -> é (C3 A9) */
    }
    return c;
}

/* Echoes a word (folded like a verb if asked): its first 32 bytes, back to
 * a UTF-8 character boundary, followed by "..." when longer. */
static void out_echo(out_t *o, const uint8_t *w, size_t n, bool fold)
{
    size_t end = n;
    if (n > ECHO_MAX) {
        end = ECHO_MAX;
        while (end > 0 && (w[end] & 0xC0u) == 0x80u) {
            end--;
        }
    }
    for (size_t i = 0; i < end; i++) {
        out_byte(o, (char)(fold ? fold_byte(w, i) : w[i]));
    }
    if (end < n) {
        out_str(o, "...");
    }
}

/* ---- line checks -------------------------------------------------------- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80u) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        uint32_t min;
        if (c >= 0xC2u && c <= 0xDFu) {
            need = 1;
            cp = c & 0x1Fu;
            min = 0x80u;
        } else if (c >= 0xE0u && c <= 0xEFu) {
            need = 2;
            cp = c & 0x0Fu;
            min = 0x800u;
        } else if (c >= 0xF0u && c <= 0xF4u) {
            need = 3;
            cp = c & 0x07u;
            min = 0x10000u;
        } else {
            return false;
        }
        if (n - i - 1 < need) {
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFFu || (cp >= 0xD800u && cp <= 0xDFFFu)) {
            return false;
        }
        i += need + 1;
    }
    return true;
}

/* C0 except TAB, DEL, C1 (U+0080..U+009F = C2 80..C2 9F); s is valid UTF-8. */
static bool has_control(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if ((c < 0x20u && c != '\t') || c == 0x7Fu) {
            return true;
        }
        if (c == 0xC2u && i + 1 < n && s[i + 1] >= 0x80u && s[i + 1] <= 0x9Fu) {
            return true;
        }
    }
    return false;
}

/* A BOM anywhere in s (valid UTF-8, so EF BB BF can only be U+FEFF). */
static bool has_bom(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 3u <= n; i++) {
        if (memcmp(s + i, bom, 3u) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static bool is_verb_punct(uint8_t c)
{
    return c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* ---- frequencies --------------------------------------------------------- */

typedef enum { HZ_OK = 0, HZ_NOT_A_NUMBER, HZ_OUT_OF_RANGE } hz_result_t;

#define HZ_DIGITS 15u            /* significant digits kept, as protocol/command.ts */
#define SIG_KEEP (HZ_DIGITS + 1u) /* and the one that rounds them */

/* Rounds the first `keep` (<= 7) significant digits half-up; returns the
 * mantissa and bumps *exp when rounding carries into a new digit. */
static uint32_t round_sig(const uint8_t *d, size_t nd, size_t keep, int *exp)
{
    uint32_t m = 0;
    uint32_t limit = 1;
    for (size_t i = 0; i < keep; i++) {
        m = m * 10u + (i < nd ? d[i] : 0u);
        limit *= 10u;
    }
    if (keep < nd && d[keep] >= 5u) {
        m++;
        if (m == limit) {
            m /= 10u;
            (*exp)++;
        }
    }
    return m;
}

/* For T = n / 10^k (1 <= k <= 8): is the double nearest to T >= T? Then
 * T's decimal tie rounds up, as JavaScript's toPrecision does on that
 * double. T = q * 2^-k with q = n / 5^k; the double keeps q's first 53 bits;
 * the rest, (n * 2^s mod 5^k) / 5^k, decides (5^k is odd: never exactly 1/2). */
static bool double_at_or_above(uint32_t n, unsigned k)
{
    uint64_t p5 = 1;
    for (unsigned i = 0; i < k; i++) {
        p5 *= 5u;
    }
    int t = 0; /* floor(log2(q)) */
    if (n >= p5) {
        while ((p5 << (t + 1)) <= n) {
            t++;
        }
    } else {
        t = -1;
        while (((uint64_t)n << -t) < p5) {
            t--;
        }
    }
    uint64_t rem = n % p5;
    for (int i = 0; i < 52 - t; i++) {
        rem = (rem * 2u) % p5;
    }
    return rem == 0u || 2u * rem > p5;
}

static hz_result_t parse_hz(const uint8_t *w, size_t n, led_hz_t *out)
{
    size_t i = 0;
    size_t int_digits = 0;
    size_t frac_digits = 0;
    while (i < n && is_digit(w[i])) {
        i++;
        int_digits++;
    }
    size_t sep = n;
    if (i < n && (w[i] == '.' || w[i] == ',')) {
        sep = i++;
        while (i < n && is_digit(w[i])) {
            i++;
            frac_digits++;
        }
    }
    if (i != n || (int_digits == 0 && frac_digits == 0)) {
        return HZ_NOT_A_NUMBER;
    }

    /* value = 0.d1 d2 d3 ... * 10^exp, d1 != 0 */
    uint8_t d[SIG_KEEP];
    size_t nd = 0;
    int exp = 0;
    bool seen = false;
    bool sticky = false; /* a nonzero digit beyond the kept ones */
    for (size_t k = 0; k < n; k++) {
        if (k == sep) {
            continue;
        }
        uint8_t v = (uint8_t)(w[k] - '0');
        bool before_point = k < sep;
        if (!seen && v == 0u) {
            if (!before_point) {
                exp--; /* leading zero after the point */
            }
            continue;
        }
        if (!seen) {
            seen = true;
        }
        if (before_point) {
            exp++;
        }
        if (nd < SIG_KEEP) {
            d[nd++] = v;
        } else if (v != 0u) {
            sticky = true;
        }
    }
    /* Range check on the exact value: 0.05 <= 0.d1 d2 ... * 10^exp <= 500. */
    bool rest_zero = !sticky;
    for (size_t k = 1; k < nd; k++) {
        rest_zero = rest_zero && d[k] == 0u;
    }
    if (!seen || exp < -1 || exp > 3 || (exp == -1 && d[0] < 5u) ||
        (exp == 3 && (d[0] > 5u || (d[0] == 5u && !rest_zero)))) {
        return HZ_OUT_OF_RANGE;
    }
    /* Keep HZ_DIGITS digits, rounded half-up (carrying through 9s). */
    if (nd > HZ_DIGITS) {
        bool carry = d[HZ_DIGITS] >= 5u;
        nd = HZ_DIGITS;
        for (size_t k = nd; carry && k-- > 0;) {
            carry = d[k] == 9u;
            d[k] = carry ? 0u : (uint8_t)(d[k] + 1u);
        }
        if (carry) {
            d[0] = 1u; /* 999...9 -> 1000...0 */
            exp++;
        }
    }
    int exp6 = exp;
    uint32_t m6 = round_sig(d, nd, 6u, &exp6);
    /* An exact tie at the 7th digit rounds the way the nearest double lies
     * (d now holds every digit of the value: no sticky one beyond). */
    bool tie = nd >= 7u && d[6] == 5u;
    for (size_t k = 7; tie && k < nd; k++) {
        tie = d[k] == 0u;
    }
    if (tie) {
        int exp7 = exp;
        uint32_t n7 = round_sig(d, 7u, 7u, &exp7); /* d[0..6] as they are */
        if (!double_at_or_above(n7, (unsigned)(7 - exp))) {
            m6 = n7 / 10u; /* down: drop the 5, undo any carry */
            exp6 = exp;
        }
    }
    int e10 = exp6 - 6;
    while (m6 % 10u == 0u) {
        m6 /= 10u;
        e10++;
    }
    out->sig = m6;
    out->exp10 = (int8_t)e10;
    return HZ_OK;
}

/* "Hz" in any case: the unit a frequency may carry. */
static bool is_hz(const uint8_t *w, size_t n)
{
    return n == 2u && (w[0] | 0x20u) == 'h' && (w[1] | 0x20u) == 'z';
}

/* ---- the request -------------------------------------------------------- */

/* The i-th word of verb_words. */
static const char *verb_word(size_t i)
{
    const char *p = verb_words;
    while (i-- > 0) {
        p += strlen(p) + 1;
    }
    return p;
}

static verb_t lookup(const uint8_t *folded, size_t n)
{
    for (size_t i = 0; i < sizeof verb_ids; i++) {
        const char *w = verb_word(i);
        if (strlen(w) == n && memcmp(w, folded, n) == 0) {
            return (verb_t)verb_ids[i];
        }
    }
    return VERB_NONE;
}

/* The canonical name of a verb: its first word. */
static const char *verb_name(verb_t verb)
{
    size_t i = 0;
    while (verb_ids[i] != verb) {
        i++;
    }
    return verb_word(i);
}

static proto_action_t reply_error(out_t *o, const char *code, const char *text)
{
    out_str(o, "ERR ");
    out_str(o, code);
    out_byte(o, ' ');
    out_str(o, text);
    return PROTO_REPLY_ONLY;
}

proto_action_t proto_handle(const uint8_t *line, size_t len, const led_state_t *current,
                            led_state_t *next, char reply[PROTO_REPLY_MAX])
{
    out_t o = {reply, 0};
    reply[0] = '\0';

    if (!utf8_valid(line, len)) {
        return reply_error(&o, "bad-encoding", "line is not valid UTF-8: send UTF-8 text");
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len >= 3u && memcmp(line, bom, 3u) == 0) {
        line += 3;
        len -= 3u;
    }
    if (has_control(line, len)) {
        return reply_error(&o, "bad-encoding", "line contains control characters: send plain text");
    }
    if (has_bom(line, len)) {
        return reply_error(&o, "bad-encoding",
                           "line has a byte order mark (U+FEFF) after its start: remove it");
    }

    /* Words: the verb, the number of arguments and the first argument. */
    size_t i = 0;
    while (i < len && is_space(line[i])) {
        i++;
    }
    if (i == len) {
        return reply_error(&o, "unknown-command", "empty line (try: help)");
    }
    const uint8_t *vw = line + i;
    while (i < len && !is_space(line[i])) {
        i++;
    }
    size_t vn = (size_t)(line + i - vw);
    uint32_t nargs = 0;
    const uint8_t *arg = NULL;
    size_t argn = 0;
    const uint8_t *arg2 = NULL;
    size_t arg2n = 0;
    for (;;) {
        while (i < len && is_space(line[i])) {
            i++;
        }
        if (i == len) {
            break;
        }
        size_t start = i;
        while (i < len && !is_space(line[i])) {
            i++;
        }
        if (nargs == 0u) {
            arg = line + start;
            argn = i - start;
        } else if (nargs == 1u) {
            arg2 = line + start;
            arg2n = i - start;
        }
        nargs++;
    }

    /* Fold the verb: ASCII letters and É lower-cased, trailing punctuation
     * removed unless nothing would be left. */
    size_t stripped = vn;
    while (stripped > 0 && is_verb_punct(vw[stripped - 1])) {
        stripped--;
    }
    if (stripped > 0) {
        vn = stripped;
    }
    uint8_t folded[FOLD_MAX];
    verb_t verb = VERB_NONE;
    if (vn <= FOLD_MAX) {
        for (size_t k = 0; k < vn; k++) {
            folded[k] = fold_byte(vw, k);
        }
        verb = lookup(folded, vn);
    }

    if (verb == VERB_NONE) {
        out_str(&o, "ERR unknown-command \"");
        out_echo(&o, vw, vn, true);
        out_str(&o, "\" (try: help)");
        return PROTO_REPLY_ONLY;
    }

    if (verb == VERB_BLINK) {
        if (nargs == 0) {
            return reply_error(&o, "bad-argument", "blink needs a frequency in Hz, e.g. \"blink 2.5\"");
        }
        /* The unit as its own word ("blink 2.5 Hz", the reply's own words);
         * then not twice. Else it may end the number ("2.5Hz"). */
        bool unit_word = nargs == 2u && is_hz(arg2, arg2n);
        if (nargs > 1 && !unit_word) {
            out_str(&o, "ERR bad-argument blink takes one frequency, got ");
            out_uint(&o, nargs);
            out_str(&o, " arguments");
            return PROTO_REPLY_ONLY;
        }
        size_t numn = argn;
        if (!unit_word && argn > 2u && is_hz(arg + argn - 2u, 2u)) {
            numn = argn - 2u;
        }
        led_hz_t hz;
        switch (parse_hz(arg, numn, &hz)) {
        case HZ_NOT_A_NUMBER:
            out_str(&o, "ERR bad-argument \"");
            out_echo(&o, arg, argn, false);
            out_str(&o, "\" is not a frequency: write digits, e.g. 2.5 or 2,5");
            return PROTO_REPLY_ONLY;
        case HZ_OUT_OF_RANGE:
            out_str(&o, "ERR bad-argument ");
            out_echo(&o, arg, numn, false);
            out_str(&o, " Hz is out of range: use 0.05 to 500 Hz");
            return PROTO_REPLY_ONLY;
        case HZ_OK:
        default:
            break;
        }
        next->mode = LED_MODE_BLINK;
        next->hz = hz;
        out_str(&o, "OK ");
        (void)led_state_format(next, reply + o.len, PROTO_REPLY_MAX - o.len);
        o.len = strlen(reply);
        return PROTO_SET_LED;
    }

    if (nargs > 0) {
        out_str(&o, "ERR bad-argument ");
        out_str(&o, verb_name(verb));
        out_str(&o, " takes no argument");
        return PROTO_REPLY_ONLY;
    }
    switch (verb) {
    case VERB_ON:
    case VERB_OFF:
        next->mode = verb == VERB_ON ? LED_MODE_ON : LED_MODE_OFF;
        next->hz.sig = 0;
        next->hz.exp10 = 0;
        out_str(&o, verb == VERB_ON ? "OK on" : "OK off");
        return PROTO_SET_LED;
    case VERB_STATUS:
        out_str(&o, "OK ");
        (void)led_state_format(current, reply + o.len, PROTO_REPLY_MAX - o.len);
        o.len = strlen(reply);
        return PROTO_REPLY_ONLY;
    case VERB_HELP:
        out_str(&o, proto_help_reply);
        return PROTO_REPLY_ONLY;
    case VERB_QUIT:
    default:
        out_str(&o, "OK bye");
        return PROTO_QUIT;
    }
}
