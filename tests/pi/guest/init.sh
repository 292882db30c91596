#!/bin/busybox sh
# /init of the emulated Raspberry Pi: mount the kernel filesystems, run the
# guest tests with the arm64 Deno, print one result line, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
ip link set lo up
# Without the watchdog driver `reboot -f` hangs instead of ending QEMU.
insmod /lib/modules/bcm2835_wdt.ko 2>/dev/null
export DENO_DIR=/tmp/deno HOME=/tmp DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
echo "PI-GUEST: up after $(cut -d' ' -f1 /proc/uptime)s: $(cat /proc/device-tree/model | tr -d '\0'), kernel $(uname -r), page size $(getconf PAGESIZE 2>/dev/null || echo ?)"
cd /ledctl
if [ -x /ledctl/tests/pi/guest/run.sh ]; then
  sh /ledctl/tests/pi/guest/run.sh
  code=$?
else
  echo "PI-GUEST: /ledctl/tests/pi/guest/run.sh is missing"
  code=99
fi
echo "PI-RESULT exit=$code uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
reboot -f
sleep 5
echo "PI-GUEST: reboot failed"
poweroff -f
