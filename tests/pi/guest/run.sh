#!/bin/sh
# Runs inside the emulated Pi, from /ledctl (a copy of the repository):
# the guest tests, type-checked on the host already, so --no-check here.
# Extra deno test arguments come from /ledctl/tests/pi/guest/filter (one line).
filter=$(cat tests/pi/guest/filter 2>/dev/null)
# shellcheck disable=SC2086
# Piped through cat so Deno does not redraw lines for a terminal.
set -o pipefail
deno test --allow-all --no-check --no-config $filter tests/pi/guest/ 2>&1 | cat
