import { equal, match } from "node:assert/strict";
import { HalError } from "../types.ts";
import { kindOfErrno, toHalError } from "./errors.ts";
import { Errno, SysError } from "./libc.ts";

Deno.test("errno maps to the HalError kind", () => {
  equal(kindOfErrno(Errno.EACCES), "permission");
  equal(kindOfErrno(Errno.EPERM), "permission");
  equal(kindOfErrno(Errno.EBUSY), "busy");
  equal(kindOfErrno(Errno.ENOENT), "unavailable");
  equal(kindOfErrno(Errno.ENODEV), "unavailable");
  equal(kindOfErrno(Errno.ENXIO), "unavailable");
  equal(kindOfErrno(Errno.ETIMEDOUT), "timeout");
  equal(kindOfErrno(Errno.EIO), "io");
  equal(kindOfErrno(Errno.EINVAL), "io");
  equal(kindOfErrno(Errno.ENOTTY), "io");
});

Deno.test("a permission error says how to get access", () => {
  const e = toHalError(new SysError("open", "/dev/gpiochip0", Errno.EACCES), "gpio:BOARD8");
  equal(e.kind, "permission");
  match(e.message, /^gpio:BOARD8: open \/dev\/gpiochip0: Permission denied \(EACCES\): /);
  match(e.message, /usermod -aG gpio/);
  match(e.message, /udev rule/);
  equal((e.cause as SysError).errno, Errno.EACCES);
});

Deno.test("other errors keep the call and errno text; HalErrors pass through", () => {
  const io = toHalError(
    new SysError("GPIO_V2_GET_LINE_IOCTL", "fd 5", Errno.EINVAL),
    "gpio:GPIO17",
  );
  equal(io.kind, "io");
  equal(io.message, "gpio:GPIO17: GPIO_V2_GET_LINE_IOCTL fd 5: Invalid argument (EINVAL)");
  const busy = new HalError("busy", "held");
  equal(toHalError(busy, "x"), busy);
  const plain = toHalError(new Error("boom"), "gpio:GPIO17");
  equal(plain.kind, "io");
  equal(plain.message, "gpio:GPIO17: boom");
});

Deno.test("a missing --allow-ffi becomes a permission error naming the flag", () => {
  const e = toHalError(new Deno.errors.NotCapable("Requires ffi access"), "gpio:BOARD8");
  equal(e.kind, "permission");
  match(e.message, /--allow-ffi/);
});
