#!/usr/bin/env bash
# Suite: the GPIO backend on an emulated Raspberry Pi 3B (QEMU raspi3b).
# Builds everything from Debian arm64 packages and npm into tests/pi/cache/
# (cached), type-checks the guest tests here, boots the Pi, and reports the
# guest's `deno test` counts. A guest that never reports counts as a failure,
# as does a run of no test. Last line: `N passed, N failed[, N skipped]`.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
deno=${LEDCTL_DENO:-$repo/.tools/bin/deno}

# A skip counts every guest test it does not run (run.sh --count: the
# `Deno.test(` calls, or those PI_FILTER selects); a PI_FILTER that selects
# none is a failure, here as when the Pi boots.
skip() {
  local n
  n=$(bash "$repo/tests/pi/run.sh" --count)
  if [ "$n" = 0 ]; then
    echo "pi: PI_FILTER=\"${PI_FILTER:-}\" matches none of the guest tests (tests/pi/guest/*_test.ts)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "pi: skipped: $* ($n guest test$([ "$n" = 1 ] || echo s) not run)"
  echo "0 passed, 0 failed, $n skipped"
  exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (adds the arm64 dpkg architecture, downloads Debian packages, makes device nodes for the initramfs); run as root or in CI"
if ! command -v qemu-system-aarch64 >/dev/null || ! command -v cpio >/dev/null; then
  echo "pi: installing qemu-system-arm and cpio"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm cpio >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm cpio >/dev/null; }
fi
command -v qemu-system-aarch64 >/dev/null || skip "qemu-system-aarch64 is missing: apt-get install qemu-system-arm cpio"
command -v cpio >/dev/null || skip "cpio is missing: apt-get install cpio"
command -v npm >/dev/null || skip "npm is missing (it fetches Deno for arm64): apt-get install npm"

# Type-check the guest tests (and the code they reach) here: it is slow under emulation.
if ! (cd "$repo" && "$deno" check --quiet tests/pi/guest/*.ts 2>&1); then
  echo "pi: the guest tests do not type-check"
  echo "0 passed, 1 failed"
  exit 1
fi

exec bash "$repo/tests/pi/run.sh"
