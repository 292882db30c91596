#!/usr/bin/env bash
# Boots the emulated Raspberry Pi 3B (QEMU raspi3b, Debian's arm64 kernel and
# device tree) on the initramfs build.sh made, runs the guest tests, and
# prints their result. The last line is `N passed, N failed[, N skipped]`;
# a guest that never reports (boot failure, hang, crash) is `0 passed,
# 1 failed`, and so is a run where no guest test ran (a PI_FILTER matching
# none): an empty run is not a pass.
# The whole console goes to tests/pi/cache/console.log.
#   PI_TIMEOUT  seconds QEMU may run (default 480: the guest took 181 s with the host loaded, 112 s idle)
#   PI_FILTER   extra `deno test` arguments for the guest, e.g. "--filter busy";
#               a bare word is a name filter: PI_FILTER=busy is "--filter busy"
# `run.sh --count` prints how many guest tests would run, without booting:
# the `Deno.test(` calls in tests/pi/guest/*_test.ts (ignored ones too: the
# guest reports those as skipped); with PI_FILTER "--filter WORD", those
# whose name contains WORD (a /regex/ or any other argument is left to the
# guest, and all are counted). A filter that selects none fails at once.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"
timeout_s=${PI_TIMEOUT:-480}

filter=${PI_FILTER:-}
case "$filter" in
  "" | -*) ;;
  *) filter="--filter $filter" ;;
esac
export PI_FILTER=$filter # build.sh hands it to the guest

count_tests() {
  local all pattern names
  all=$(cat "$here"/guest/*_test.ts | grep -o 'Deno\.test(' | wc -l)
  pattern=$(sed -nE 's/^--filter[= ]([^ ]+)$/\1/p' <<<"$filter")
  if [ -z "$pattern" ] || [[ $pattern == /*/ ]]; then
    echo "$all"
    return
  fi
  # Names from `Deno.test("name", …)` and `Deno.test({ name: "name", … })`.
  names=$(awk '
    /Deno\.test\(/ {
      if (match($0, /Deno\.test\("[^"]*"/)) print substr($0, RSTART + 11, RLENGTH - 12)
      else want = 1
      next
    }
    want && /^[[:space:]]*name: "/ { sub(/^[[:space:]]*name: "/, ""); sub(/".*$/, ""); print; want = 0 }
  ' "$here"/guest/*_test.ts)
  if [ "$(grep -c . <<<"$names")" != "$all" ]; then
    echo "$all" # a name this cannot read: the guest decides
    return
  fi
  grep -cF -- "$pattern" <<<"$names"
}
if [ "${1:-}" = --count ]; then
  count_tests
  exit 0
fi
wanted=$(count_tests)
if [ "$wanted" = 0 ]; then
  echo "pi: PI_FILTER=\"${PI_FILTER}\" matches none of the guest tests (tests/pi/guest/*_test.ts)"
  echo "0 passed, 1 failed"
  exit 1
fi

t0=$(date +%s)
if ! bash "$here/build.sh" 2>&1; then
  echo "pi: building the emulated Pi failed (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi
t1=$(date +%s)
echo "pi: initramfs ready in $((t1 - t0))s; booting QEMU raspi3b (timeout ${timeout_s}s)"

log="$cache/console.log"
timeout --foreground -k 10 "$timeout_s" qemu-system-aarch64 -M raspi3b \
  -kernel "$cache/kernel/vmlinuz" -dtb "$cache/kernel/bcm2837-rpi-3-b.dtb" \
  -initrd "$cache/initrd.cpio" \
  -append "console=ttyS1,115200 rdinit=/init loglevel=4 panic=-1" \
  -no-reboot -display none -serial null -serial stdio -monitor none \
  </dev/null 2>&1 | tr -d '\r' | tee "$log" | sed -n '/^PI-GUEST\|^PI-RESULT\|^running\|^ok \|^FAILED\|\.\.\. \|^error\|^ERRORS\|^FAILURES\|=>\|^  \|^[A-Za-z]*Error\|^Kernel panic/p'
qemu=${PIPESTATUS[0]}
t2=$(date +%s)
echo "pi: QEMU exited with $qemu after $((t2 - t1))s"

result=$(grep -a '^PI-RESULT' "$log" | tail -1)
summary=$(grep -aE '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1)
if [ -z "$result" ]; then
  [ "$qemu" = 124 ] && echo "pi: QEMU timed out after ${timeout_s}s"
  echo "pi: the guest never reported a result; last console lines:"
  tail -n 25 "$log" | sed 's/^/  | /'
  echo "0 passed, 1 failed"
  exit 1
fi
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
skipped=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
code=$(sed -nE 's/.*exit=([0-9]+).*/\1/p' <<<"$result")
passed=${passed:-0}
failed=${failed:-0}
skipped=${skipped:-0}
if [ "$code" != 0 ] && [ "$failed" = 0 ]; then
  echo "pi: the guest tests exited with $code without a failing test (did they run? see $log)"
  failed=1
elif [ $((passed + failed + skipped)) = 0 ]; then
  echo "pi: no guest test ran${PI_FILTER:+ (PI_FILTER=\"$PI_FILTER\" matched none)}; counted as 1 failure"
  failed=1
fi
if [ "$skipped" != 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ]
