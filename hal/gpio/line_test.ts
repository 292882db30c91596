import { equal, rejects, throws } from "node:assert/strict";
import { halError } from "./testing.ts";
import { closeFd, O_RDWR, openFd, SysError } from "./libc.ts";
import { GpioOutputLine, requestOutput } from "./line.ts";

// The kernel side is tested on the emulated Pi (tests/pi/); here, /dev/null
// stands in for a line fd, so every ioctl fails the way a wrong fd would.

Deno.test("set on a fd that is not a GPIO line is an io error with the errno", () => {
  const fd = openFd("/dev/null", O_RDWR);
  const line = new GpioOutputLine(fd, "gpio:test GPIO17 (BOARD11)");
  try {
    throws(
      () => line.set(true),
      halError(
        "io",
        /^gpio:test GPIO17 \(BOARD11\): cannot set the line: GPIO_V2_LINE_SET_VALUES_IOCTL fd \d+: Inappropriate ioctl for device \(ENOTTY\)$/,
      ),
    );
    throws(() => line.get(), halError("io", /cannot read the line/));
  } finally {
    closeFd(fd);
  }
});

Deno.test("disposing closes the fd even when turning off fails, and only once", async () => {
  const fd = openFd("/dev/null", O_RDWR);
  const line = new GpioOutputLine(fd, "gpio:test");
  await rejects(() => line[Symbol.asyncDispose](), halError("io", /cannot turn the LED off/));
  equal(line.fd, -1);
  throws(
    () => closeFd(fd),
    (e: unknown) => e instanceof SysError && e.errno === 9,
    "fd was closed",
  );
  await line[Symbol.asyncDispose](); // a second dispose is a no-op
  throws(() => line.set(false), halError("io", /the line was released/));
});

Deno.test("requesting from something that is not a chip is an io error", () => {
  const fd = openFd("/dev/null", O_RDWR);
  try {
    throws(
      () =>
        requestOutput({
          chipFd: fd,
          offset: 17,
          activeLow: false,
          description: "gpio:/dev/null GPIO17",
        }),
      halError("io", /^gpio:\/dev\/null GPIO17: cannot request the line: GPIO_V2_GET_LINE_IOCTL/),
    );
  } finally {
    closeFd(fd);
  }
});
