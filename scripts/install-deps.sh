#!/usr/bin/env bash
# Installs the system packages every test suite needs (Debian/Ubuntu, as root).
# CI runs this on a fresh machine; run it once on yours before ./run test.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: run as root (sudo $0)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# arm64 packages (kernel, busybox, libc) are downloaded for the emulated Raspberry Pi.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -qq
# npm installs the pinned Deno; the machine's Node.js usually brings it (and
# Debian's npm package conflicts with non-Debian Node.js builds).
extra=()
command -v npm >/dev/null || extra+=(npm)
apt-get install -y -qq --no-install-recommends \
  "${extra[@]}" ca-certificates python3 \
  gcc clang make pkg-config libc6-dev \
  liblwip-dev libcmocka-dev \
  gcc-arm-none-eabi libnewlib-arm-none-eabi \
  iproute2 socat \
  qemu-system-arm cpio \
  chromium \
  >/dev/null
echo "install-deps: done"
