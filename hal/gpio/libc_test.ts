import { deepStrictEqual, equal, throws } from "node:assert/strict";
import {
  accessible,
  closeFd,
  describeErrno,
  Errno,
  errno,
  ioctl,
  libc,
  listDir,
  O_RDONLY,
  openFd,
  R_OK,
  readSmallFile,
  SysError,
} from "./libc.ts";

function sysError(errnoValue: number, message?: RegExp) {
  return (e: unknown) => {
    if (!(e instanceof SysError)) throw new Error(`not a SysError: ${e}`);
    equal(e.errno, errnoValue);
    if (message && !message.test(e.message)) throw new Error(`${e.message} !~ ${message}`);
    return true;
  };
}

Deno.test("errno is read right after the failing call", () => {
  equal(libc().close(-1), -1);
  equal(errno(), Errno.EBADF);
  throws(() => closeFd(-1), sysError(Errno.EBADF, /^close fd -1: Bad file descriptor \(EBADF\)$/));
});

Deno.test("open of a missing path throws ENOENT with strerror text", () => {
  throws(
    () => openFd("/nonexistent/gpiochip0", O_RDONLY),
    sysError(Errno.ENOENT, /^open \/nonexistent\/gpiochip0: No such file or directory \(ENOENT\)$/),
  );
  equal(describeErrno(Errno.EBUSY), "Device or resource busy (EBUSY)");
  // An errno without a name: glibc's strerror text, then the number.
  equal(describeErrno(4095), "Unknown error 4095 (errno 4095)");
});

Deno.test("an ioctl the device does not know fails with ENOTTY", () => {
  const fd = openFd("/dev/null", O_RDONLY);
  try {
    throws(
      () => ioctl(fd, 0x8044b401, new Uint8Array(68), "GPIO_GET_CHIPINFO_IOCTL"),
      sysError(Errno.ENOTTY, /^GPIO_GET_CHIPINFO_IOCTL fd \d+: /),
    );
  } finally {
    closeFd(fd);
  }
});

Deno.test("small files and directories are read through libc", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = "0123456789".repeat(1000);
    await Deno.writeTextFile(`${dir}/model`, `Raspberry Pi 3 Model B\0`);
    await Deno.writeTextFile(`${dir}/big`, big);
    equal(new TextDecoder().decode(readSmallFile(`${dir}/model`)), "Raspberry Pi 3 Model B\0");
    equal(new TextDecoder().decode(readSmallFile(`${dir}/big`)), big, "reads past one 4 KB chunk");
    equal(readSmallFile(`${dir}/big`, 100).length, 100, "stops at the limit");
    deepStrictEqual(listDir(dir).sort(), ["big", "model"]);
    equal(accessible(`${dir}/model`, R_OK), true);
    equal(accessible(`${dir}/missing`, R_OK), Errno.ENOENT);
    throws(() => listDir(`${dir}/missing`), sysError(Errno.ENOENT, /^opendir /));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
