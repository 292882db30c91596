#!/usr/bin/env bash
# Builds the emulated Pi's initramfs in tests/pi/cache/:
#   base.cpio  busybox, glibc, libgcc, Deno (arm64), the watchdog module —
#              rebuilt only when fetch.sh's output changes
#   run.cpio   /init and a copy of the repository's code, rebuilt every time
#   initrd.cpio  the two concatenated (the kernel unpacks them in order)
# Needs root (device nodes in the archive). Calls fetch.sh first.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache="$here/cache"
bash "$here/fetch.sh"

if [ ! -f "$cache/base.cpio" ] || [ "$cache/rootfs/bin/deno" -nt "$cache/base.cpio" ] || [ "$here/build.sh" -nt "$cache/base.cpio" ]; then
  echo "pi-build: packing base.cpio" >&2
  stage=$(mktemp -d)
  cp -a "$cache/rootfs/." "$stage/"
  mkdir -p "$stage"/{dev,proc,sys,tmp,lib/modules,ledctl}
  cp "$cache/kernel/bcm2835_wdt.ko" "$stage/lib/modules/"
  mknod -m 600 "$stage/dev/console" c 5 1
  mknod -m 666 "$stage/dev/null" c 1 3
  (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$cache/base.cpio.tmp"
  rm -rf "$stage"
  mv "$cache/base.cpio.tmp" "$cache/base.cpio"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
install -m 0755 "$here/guest/init.sh" "$stage/init"
mkdir -p "$stage/ledctl"
(cd "$repo" && tar -c --exclude=./.git --exclude=./.tools --exclude=./dist --exclude=./firmware \
  --exclude=./tests/pi/cache --exclude=./node_modules .) | tar -x -C "$stage/ledctl"
if [ -n "${PI_FILTER:-}" ]; then printf '%s\n' "$PI_FILTER" >"$stage/ledctl/tests/pi/guest/filter"; fi
(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$cache/run.cpio"
cat "$cache/base.cpio" "$cache/run.cpio" >"$cache/initrd.cpio"
