#!/usr/bin/env bash
# Fetches what the emulated Raspberry Pi needs into tests/pi/cache/, once:
#   kernel/  Debian's arm64 kernel (vmlinuz), the Pi 3B device tree and the
#            BCM2835 watchdog module (so `reboot -f` ends QEMU)
#   rootfs/  busybox, glibc and libgcc for arm64, and Deno for arm64 (npm)
# Everything comes from Debian packages (apt-get download, arm64) and the npm
# registry. Needs root the first time (it adds the arm64 architecture to dpkg).
# Re-running is cheap: each step is skipped when its output exists.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"
DENO_VERSION=${DENO_VERSION:-2.9.5}
mkdir -p "$cache/debs" "$cache/kernel" "$cache/rootfs"
log() { echo "pi-fetch: $*" >&2; }

if [ -f "$cache/.fetched-$DENO_VERSION" ]; then exit 0; fi

# arm64 package lists, for apt-get download.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "adding the arm64 architecture to dpkg"
  dpkg --add-architecture arm64
  apt-get update -qq
fi
if ! apt-cache show busybox-static:arm64 >/dev/null 2>&1; then
  apt-get update -qq
fi

kernel_pkg=$(apt-cache depends linux-image-arm64:arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\):arm64$/\1/p' | head -1)
[ -n "$kernel_pkg" ] || { log "cannot tell which kernel package linux-image-arm64:arm64 depends on"; exit 1; }
log "kernel package: $kernel_pkg"

cd "$cache/debs"
for p in "$kernel_pkg" busybox-static libc6 libgcc-s1; do
  if ! ls "${p}"_*_arm64.deb >/dev/null 2>&1; then
    log "apt-get download $p:arm64"
    apt-get download -q -o APT::Sandbox::User=root "$p:arm64" >/dev/null
  fi
done

# Kernel: only three files of the package.
kdeb=$(ls "${kernel_pkg}"_*_arm64.deb | head -1)
if [ ! -f "$cache/kernel/vmlinuz" ]; then
  log "extracting the kernel, device tree and watchdog module"
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards \
    './boot/vmlinuz-*' '*/broadcom/bcm2837-rpi-3-b.dtb' '*/bcm2835_wdt.ko*'
  cp "$tmp"/boot/vmlinuz-* "$cache/kernel/vmlinuz.tmp"
  find "$tmp" -name bcm2837-rpi-3-b.dtb -exec cp {} "$cache/kernel/bcm2837-rpi-3-b.dtb" \;
  wdt=$(find "$tmp" -name 'bcm2835_wdt.ko*' | head -1)
  case "$wdt" in
    *.xz) xz -dc "$wdt" >"$cache/kernel/bcm2835_wdt.ko" ;;
    *.zst) zstd -qdc "$wdt" >"$cache/kernel/bcm2835_wdt.ko" ;;
    *) cp "$wdt" "$cache/kernel/bcm2835_wdt.ko" ;;
  esac
  rm -rf "$tmp"
  mv "$cache/kernel/vmlinuz.tmp" "$cache/kernel/vmlinuz"
fi

# Userland: busybox and the libraries Deno links against.
root="$cache/rootfs"
if [ ! -x "$root/bin/busybox" ]; then
  log "extracting busybox, libc6 and libgcc-s1"
  for p in busybox-static libc6 libgcc-s1; do
    dpkg-deb -x "$(ls "${p}"_*_arm64.deb | head -1)" "$root"
  done
  rm -rf "$root/usr/share"
fi

# Deno for arm64, from npm.
if [ ! -x "$root/bin/deno" ]; then
  log "npm pack @deno/linux-arm64-glibc@$DENO_VERSION"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$DENO_VERSION" >/dev/null 2>&1)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  install -m 0755 "$tmp/package/deno" "$root/bin/deno.tmp"
  mv "$root/bin/deno.tmp" "$root/bin/deno"
  rm -rf "$tmp"
fi

touch "$cache/.fetched-$DENO_VERSION"
log "done: $(du -sh "$cache" | cut -f1) in $cache"
