#!/usr/bin/env bash
# Suite: the STM32 firmware's C code (firmware/). Builds and runs the cmocka
# unit tests (parser on protocol/testdata/vectors.tsv, LED state machine,
# sessions), a bounded libFuzzer run of the parser and session framing, and
# the Cortex-M7 cross-build with its size check. Each cmocka test counts as
# one test; the fuzz run and the ARM build count as one test each.
# Last line: `N passed, N failed[, N skipped]`.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fw=$(cd "$here/../../firmware" && pwd)
passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:".
count_cmocka() { # name, output file, exit code
  local p f
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' "$2" | tail -1)
  if [ -z "$p" ] && [ -z "$f" ]; then
    echo "firmware: $1 did not finish (exit $3); counted as one failure"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  [ "$3" = 0 ] || [ -n "$f" ] || { echo "firmware: $1 exited $3"; failed=$((failed + 1)); }
}

missing=""
for tool in cc pkg-config; do command -v $tool >/dev/null || missing="$missing $tool"; done
[ -f /usr/include/cmocka.h ] || missing="$missing libcmocka-dev"
if [ -n "$missing" ]; then
  echo "firmware: unit tests skipped: missing$missing (apt-get install gcc pkg-config libcmocka-dev)"
  skipped=$((skipped + 1))
else
  echo "--- firmware: unit tests (make test)"
  if make -s -C "$fw" build/tests/test_protocol build/tests/test_led build/tests/test_session >"$log/build" 2>&1; then
    for t in test_protocol test_led test_session; do
      args=()
      [ $t = test_protocol ] && args=("$fw/../protocol/testdata/vectors.tsv")
      "$fw/build/tests/$t" "${args[@]}" >"$log/$t" 2>&1
      rc=$?
      grep -E '^\[ +(PASSED|FAILED|ERROR|LINE) +\]|^\[==' "$log/$t" | sed "s/^/$t: /"
      count_cmocka "$t" "$log/$t" $rc
    done
  else
    cat "$log/build"
    echo "firmware: unit tests do not build"
    failed=$((failed + 1))
  fi
fi

echo "--- firmware: fuzzing the parser (make fuzz, ${FUZZ_SECONDS:-25} s)"
# The fuzz binary is built first, on its own: a build or link failure (most
# often clang's libFuzzer runtime not installed) is not a crash the fuzzer found.
if ! command -v clang >/dev/null; then
  echo "firmware: fuzz skipped: clang is missing (apt-get install clang)"
  skipped=$((skipped + 1))
elif ! make -s -C "$fw" build/fuzz/fuzz_protocol >"$log/fuzz-build" 2>&1; then
  tail -20 "$log/fuzz-build"
  runtime=$(grep -o 'libclang_rt\.fuzzer[^ :]*\.a' "$log/fuzz-build" | head -1)
  [ -n "$runtime" ] || runtime=$(grep -o 'libclang_rt\.[^ :]*\.a' "$log/fuzz-build" | head -1)
  if [ -n "$runtime" ] && grep -q "cannot find .*$runtime" "$log/fuzz-build"; then
    # scripts/install-deps.sh knows which package holds the runtime of this clang.
    pkg=$(bash "$fw/../scripts/install-deps.sh" --check 2>/dev/null | tr ' ' '\n' | grep -E '^libclang-(rt|common)-' | head -1)
    echo "firmware: fuzz build failed: clang $(clang -dumpversion) cannot link $runtime (not installed);" \
      "install ${pkg:-the libclang-rt-N-dev package of this clang} (sudo scripts/install-deps.sh)"
  else
    reason=$(grep -m1 -E 'error|Error' "$log/fuzz-build")
    echo "firmware: fuzz build failed: ${reason:-make build/fuzz/fuzz_protocol failed, see above}"
  fi
  failed=$((failed + 1))
elif make -s -C "$fw" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-25}" >"$log/fuzz" 2>&1; then
  grep -E '^Done [0-9]+ runs' "$log/fuzz"
  echo "firmware: fuzz run: no crash"
  passed=$((passed + 1))
else
  tail -40 "$log/fuzz"
  echo "firmware: fuzz run FAILED (crash input under firmware/build/fuzz or in the log above)"
  failed=$((failed + 1))
fi

echo "--- firmware: ARM Cortex-M7 build (make arm)"
if ! command -v arm-none-eabi-gcc >/dev/null; then
  echo "firmware: ARM build skipped: arm-none-eabi-gcc is missing (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"
  skipped=$((skipped + 1))
elif make -s -C "$fw" arm >"$log/arm" 2>&1; then
  grep -E 'TOTALS|^arm:' "$log/arm"
  passed=$((passed + 1))
else
  cat "$log/arm"
  echo "firmware: ARM build FAILED"
  failed=$((failed + 1))
fi

if [ $skipped -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
