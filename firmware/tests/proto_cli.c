/*
 * proto_cli.c — the C parser as a filter, for differential tests against
 * the Deno parser (tests/firmware_parser_diff_test.ts): each stdin line is
 * one request in hex; each stdout line is the reply the firmware would give
 * from a fresh LED state (off).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "protocol.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int main(void)
{
    static char in[8192];
    static uint8_t line[4096];
    while (fgets(in, sizeof in, stdin) != NULL) {
        size_t n = strcspn(in, "\r\n");
        size_t len = 0;
        if (n % 2 != 0) {
            fprintf(stderr, "proto_cli: odd hex length\n");
            return 2;
        }
        for (size_t i = 0; i < n; i += 2) {
            int h = hexval(in[i]), l = hexval(in[i + 1]);
            if (h < 0 || l < 0 || len == sizeof line) {
                fprintf(stderr, "proto_cli: bad hex input\n");
                return 2;
            }
            line[len++] = (uint8_t)(h * 16 + l);
        }
        led_state_t cur = {LED_MODE_OFF, {0, 0}};
        led_state_t next;
        char reply[PROTO_REPLY_MAX];
        (void)proto_handle(line, len, &cur, &next, reply);
        puts(reply);
    }
    return 0;
}
