#!/usr/bin/env bash
# Installs the system packages every test suite needs (Debian/Ubuntu).
#   sudo scripts/install-deps.sh        installs what is missing (as root)
#   scripts/install-deps.sh --check     prints what is missing, any user;
#                                       exit 1 when something is, else 0
# `./run test` calls it (as root: installs; otherwise: --check, and prints
# this command if something is missing), and so does CI. It asks dpkg first
# and runs apt-get only when a package is missing, so it is quick (well under
# a second) once everything is there.
set -euo pipefail

command -v dpkg-query >/dev/null || {
  echo "install-deps: no dpkg-query: this script knows Debian and Ubuntu only; install the packages it lists by hand" >&2
  exit 2
}

pkgs=(
  ca-certificates python3
  gcc clang make pkg-config libc6-dev
  liblwip-dev libcmocka-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi
  iproute2 socat
  qemu-system-arm cpio
  chromium
  zsh fish
  systemd
  mosquitto openssl
)
# npm installs the pinned Deno; the machine's Node.js usually brings it (and
# Debian's npm package conflicts with non-Debian Node.js builds).
command -v npm >/dev/null || pkgs+=(npm)
# The fuzz build (-fsanitize=fuzzer,address,undefined) links clang's runtimes
# (libclang_rt.fuzzer-x86_64.a, libclang_rt.asan-*.a, …). Since LLVM 14 Debian
# ships them in libclang-rt-N-dev, which clang only recommends, so an install
# without recommends leaves them out. Take the package for the clang that is
# installed; with no clang yet, libclang-rt-dev goes with the default clang.
# (Before LLVM 14, libclang-common-N-dev held them.)
fuzz_runtime=libclang-rt-dev
if major=$(clang -dumpversion 2>/dev/null | cut -d. -f1) && [ -n "$major" ]; then
  fuzz_runtime=libclang-rt-$major-dev
  if [ "$major" -lt 14 ]; then fuzz_runtime=libclang-common-$major-dev; fi
fi
pkgs+=("$fuzz_runtime")

# One dpkg-query for all: "<name> <status>" for each package dpkg knows.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null |
  awk '$2 ~ /^ii/ {print $1}' || true)
missing=()
for p in "${pkgs[@]}"; do
  grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if [ "${1:-}" = --check ]; then
  [ ${#missing[@]} = 0 ] && exit 0
  echo "${missing[*]}"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  if [ ${#missing[@]} = 0 ]; then
    echo "install-deps: every package is installed"
    exit 0
  fi
  echo "install-deps: missing ${missing[*]}: run as root (sudo $0)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
update=no
# arm64 packages (kernel, busybox, libc) are downloaded for the emulated Raspberry Pi.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  update=yes
fi
[ ${#missing[@]} = 0 ] || update=yes
if [ $update = no ]; then
  echo "install-deps: every package is installed"
  exit 0
fi
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: done"
