import assert from "node:assert/strict";
import { HalError } from "../types.ts";
import { cString, Errno } from "./libc.ts";
import { openError, Tty } from "./tty.ts";

// The test's own end of a real pseudo-terminal: the master, through libc.
const pty = Deno.dlopen("libc.so.6", {
  posix_openpt: { parameters: ["i32"], result: "i32" },
  grantpt: { parameters: ["i32"], result: "i32" },
  unlockpt: { parameters: ["i32"], result: "i32" },
  ptsname: { parameters: ["i32"], result: "pointer" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  tcgetattr: { parameters: ["i32", "buffer"], result: "i32" },
  cfgetospeed: { parameters: ["buffer"], result: "u32" },
}).symbols;

const enc = new TextEncoder();
const dec = new TextDecoder();

function openPty(): { master: number; slave: string } {
  const master = pty.posix_openpt(0o2 | 0o400 | 0o4000); // O_RDWR | O_NOCTTY | O_NONBLOCK
  assert(master >= 0 && pty.grantpt(master) === 0 && pty.unlockpt(master) === 0);
  return { master, slave: Deno.UnsafePointerView.getCString(pty.ptsname(master)!) };
}

function masterWrite(fd: number, s: string) {
  const b = enc.encode(s);
  assert.equal(Number(pty.write(fd, b, BigInt(b.length))), b.length);
}

/** Reads what the master has within `ms` (bounded; blocks this test's thread only). */
function masterRead(fd: number, ms: number): string {
  const pfd = new Uint8Array(8);
  new DataView(pfd.buffer).setInt32(0, fd, true);
  new DataView(pfd.buffer).setInt16(4, 1, true);
  if (pty.poll(pfd, 1n, ms) <= 0) return "";
  const buf = new Uint8Array(256);
  const n = Number(pty.read(fd, buf, 256n));
  return n > 0 ? dec.decode(buf.subarray(0, n)) : "";
}

Deno.test("Tty: raw mode at 115200, bytes both ways unchanged, no echo", async () => {
  const { master, slave } = openPty();
  const tty = Tty.open(slave, 115200);
  try {
    const fd = pty.open(cString(slave), 0o2 | 0o400);
    const tio = new Uint8Array(64);
    assert.equal(pty.tcgetattr(fd, tio), 0);
    pty.close(fd);
    const lflag = new DataView(tio.buffer).getUint32(12, true);
    assert.equal(lflag & (0o10 | 0o2), 0, "ECHO and ICANON are off");
    assert.equal(pty.cfgetospeed(tio), 0o10002, "B115200");

    masterWrite(master, "OK blink 3 Hz\r\n");
    const buf = new Uint8Array(64);
    const n = await tty.read(buf);
    assert.equal(dec.decode(buf.subarray(0, n!)), "OK blink 3 Hz\r\n", "no CR/LF translation");
    assert.equal(masterRead(master, 50), "", "nothing echoed back");
    await tty.write(enc.encode("blink 3\n"));
    assert.equal(masterRead(master, 2000), "blink 3\n");
  } finally {
    await tty.close();
    pty.close(master);
  }
});

Deno.test("Tty: a pending read leaves the event loop free; close ends it", async () => {
  const { master, slave } = openPty();
  const tty = Tty.open(slave, 115200);
  try {
    const read = tty.read(new Uint8Array(16));
    const timer = new Promise<string>((r) => setTimeout(() => r("timer"), 20));
    assert.equal(await Promise.race([read.then(() => "read"), timer]), "timer");
    await tty.close();
    assert.equal(await read, null);
  } finally {
    await tty.close();
    pty.close(master);
  }
});

Deno.test("Tty: the other end closing ends the read (hang-up)", async () => {
  const { master, slave } = openPty();
  const tty = Tty.open(slave, 115200);
  try {
    const read = tty.read(new Uint8Array(16)).then((n) => n, (e) => e);
    pty.close(master);
    const out = await read;
    assert(out === null || (out instanceof HalError && out.kind === "io"), `got ${out}`);
  } finally {
    await tty.close();
  }
});

Deno.test("Tty.open: missing device, not a tty, in use, bad baud are HalErrors that say what to do", () => {
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert(e instanceof HalError, String(e));
      return e;
    }
    assert.fail("expected a HalError");
  };
  const missing = err(() => Tty.open("/dev/ttyACM-none", 115200));
  assert.equal(missing.kind, "unavailable");
  assert.match(missing.message, /does not exist: is the board plugged in/);
  const notTty = err(() => Tty.open("/dev/null", 115200));
  assert.equal(notTty.kind, "unavailable");
  assert.match(notTty.message, /not a serial port/);
  const { master, slave } = openPty();
  const first = Tty.open(slave, 115200);
  try {
    const busy = err(() => Tty.open(slave, 115200));
    assert.equal(busy.kind, "busy");
    assert.match(busy.message, /in use by another program/);
  } finally {
    void first.close();
    pty.close(master);
  }
  assert.equal(err(() => Tty.open(slave, 12345)).kind, "unavailable");
});

Deno.test("openError: permission problems point at the dialout group", () => {
  const e = openError("/dev/ttyACM0", Errno.EACCES);
  assert.equal(e.kind, "permission");
  assert.match(e.message, /usermod -aG dialout/);
  assert.equal(openError("/dev/ttyACM0", Errno.EIO).kind, "io");
});
