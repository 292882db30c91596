/*
 * protocol.h — wire protocol v1, LED subset: parses one request line and
 * formats its reply, following protocol/testdata/README.md exactly.
 * Pure code: no I/O, no heap, no global state.
 */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "led_state.h"

/* Room for the longest reply line plus its NUL. */
#define PROTO_REPLY_MAX 160u

typedef enum {
    PROTO_REPLY_ONLY = 0, /* answer and carry on (status, help, errors) */
    PROTO_SET_LED,        /* apply *next to the LED, then answer */
    PROTO_QUIT            /* answer "OK bye", then close the connection */
} proto_action_t;

/*
 * Handles one request line: `line` holds its bytes without the LF (one
 * trailing CR is allowed). `current` is the LED state `status` reports.
 * Writes the reply line (no LF, NUL-terminated) into reply[PROTO_REPLY_MAX]
 * and, for PROTO_SET_LED, the requested state into *next.
 */
proto_action_t proto_handle(const uint8_t *line, size_t len, const led_state_t *current,
                            led_state_t *next, char reply[PROTO_REPLY_MAX]);

/* The board's `help` reply. */
extern const char proto_help_reply[];

#endif /* PROTOCOL_H */
