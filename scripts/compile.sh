#!/usr/bin/env bash
# scripts/compile.sh <compile|compile:pi> [deno compile args…] — runs that
# task of deno.json (`./run compile` and `./run compile:pi` come here), and
# says in one line what to do when it fails for want of Deno's runtime.
#
# `deno compile` downloads the runtime it wraps the program in (denort, from
# dl.deno.land) unless DENORT_BIN names a local copy. Offline, Deno prints
# its download error with a cause chain and a backtrace, and leaves an empty
# dist/. Here its output goes through as usual up to its first error line;
# if the error is that download, one line replaces the rest; any other
# error is printed as Deno wrote it. A dist/ this run created and left empty
# is removed; one that existed is left as it was.
#   DENO           the deno to run (default: deno on PATH)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deno=${DENO:-deno}
task=${1:?usage: scripts/compile.sh compile|compile:pi [args…]}
shift
cd "$here"

line=$(sed -n "s/^ *\"$task\": \"deno compile \(.*\)\",\{0,1\} *\$/\1/p" deno.json)
[ -n "$line" ] || {
  echo "compile: deno.json has no \"$task\" task of the form \"deno compile …\"; use: deno task $task" >&2
  exit 2
}
read -r -a args <<<"$line"

out=dist
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[i]}" = --output ] && out=$(dirname "${args[i + 1]:-dist/x}")
done
had_out=no
[ -e "$out" ] && had_out=yes

held=$(mktemp)
trap 'rm -f "$held"' EXIT
# Deno's stderr shows live until its first "error" line; from there it is held.
{ "$deno" compile "${args[@]}" "$@" 2>&1 1>&3 3>&- |
  awk -v held="$held" '
    /^(\033\[[0-9;]*m)*error/ { e = 1 }
    e { print > held; next }
    { print > "/dev/stderr"; fflush("/dev/stderr") }
  '; } 3>&1
rc=${PIPESTATUS[0]}

if [ "$rc" != 0 ]; then
  plain=$(sed -e 's/\x1b\[[0-9;]*m//g' -e '/^Stack backtrace/,$d' "$held")
  if grep -qE 'Setting up base binary|denort' <<<"$plain" &&
    grep -qE 'error sending request|dns error|Connect|timed out|certificate|proxy' <<<"$plain"; then
    url=$(grep -oE 'https://dl\.deno\.land/[^ )]*' <<<"$plain" | head -1)
    why=$(grep -E '^ *[0-9]+: ' <<<"$plain" | tail -1 | sed -E 's/^ *[0-9]+: //')
    echo "compile: deno compile must download Deno's runtime (denort) from ${url:-dl.deno.land}, and cannot (${why:-no connection}): go online and run it again, or download that zip on another machine, unzip it here, and set DENORT_BIN=/path/to/denort" >&2
  else
    cat "$held" >&2
  fi
  # Leave no empty output directory behind (one that was there stays).
  if [ "$had_out" = no ] && [ -d "$out" ]; then rmdir "$out" 2>/dev/null || true; fi
  exit 1
fi
cat "$held" >&2
exit 0
