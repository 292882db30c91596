/**
 * The epoll engine's parts: the ABI as data (both architectures' `struct
 * epoll_event`, whatever this machine is), the descriptor generation
 * guard, the loop clock, address text; then the layout against this
 * machine's kernel, and the engine itself in process: replies larger than
 * the socket buffers, a close that is quick and leaks no descriptor.
 *
 * @module
 */
import assert from "node:assert/strict";
import { openLed } from "../../hal/select.ts";
import { LedService } from "../../core/led_service.ts";
import { errnoView, libc } from "../../sys/libc.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_LAYOUTS,
  EPOLLIN,
  epollLayout,
  EventArray,
  formatIPv6,
  parseIPv4,
  parseIPv6,
  parseSockaddr,
  sockaddrFor,
} from "./epoll_abi.ts";
import { EpollServer, epollSupport } from "./epoll.ts";
import { FdTable } from "./fd_table.ts";
import { LoopClock } from "./loop_clock.ts";
import { chooseEngine } from "./mod.ts";

const canRun = epollSupport().ok;

// --- the ABI, as data ---

Deno.test("struct epoll_event: x86-64 packs it in 12 bytes, data at offset 4", () => {
  assert.deepEqual(EPOLL_LAYOUTS.x86_64, {
    arch: "x86_64",
    size: 12,
    eventsOffset: 0,
    dataOffset: 4,
  });
  const a = new EventArray(EPOLL_LAYOUTS.x86_64, 2);
  assert.equal(a.bytes.length, 24);
  a.set(1, 0x8000_0005, 0x0403_0201, 0x0807_0605);
  // Entry 1 starts at byte 12: events LE, then fd | gen << 32 LE, unaligned to 8.
  assert.deepEqual(
    [...a.bytes.subarray(12, 24)],
    [0x05, 0, 0, 0x80, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
  );
  assert.deepEqual([a.events(1), a.fd(1), a.gen(1)], [0x8000_0005, 0x0403_0201, 0x0807_0605]);
});

Deno.test("struct epoll_event: aarch64 aligns it in 16 bytes, data at offset 8", () => {
  assert.deepEqual(EPOLL_LAYOUTS.aarch64, {
    arch: "aarch64",
    size: 16,
    eventsOffset: 0,
    dataOffset: 8,
  });
  const a = new EventArray(EPOLL_LAYOUTS.aarch64, 2);
  assert.equal(a.bytes.length, 32);
  a.set(1, EPOLLIN, 7, 3);
  // Entry 1 starts at byte 16; bytes 20..24 are padding.
  assert.deepEqual(
    [...a.bytes.subarray(16, 32)],
    [1, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0],
  );
  assert.deepEqual([a.events(1), a.fd(1), a.gen(1)], [EPOLLIN, 7, 3]);
});

Deno.test("epollLayout knows x86-64 and aarch64 only", () => {
  assert.equal(epollLayout("x86_64")?.size, 12);
  assert.equal(epollLayout("aarch64")?.size, 16);
  assert.equal(epollLayout("riscv64gc"), undefined);
  assert.equal(epollLayout("arm"), undefined);
});

Deno.test("sockaddr_in and sockaddr_in6: family, big-endian port, address", () => {
  const v4 = sockaddrFor("127.0.0.1", 10000)!;
  assert.equal(v4.family, 2);
  assert.deepEqual([...v4.bytes], [2, 0, 0x27, 0x10, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  const v6 = sockaddrFor("::1", 80)!;
  assert.equal(v6.family, 10);
  assert.equal(v6.bytes.length, 28);
  assert.deepEqual([...v6.bytes.subarray(0, 8)], [10, 0, 0, 80, 0, 0, 0, 0]);
  assert.equal(v6.bytes[23], 1);
  assert.deepEqual(parseSockaddr(v4.bytes), { address: "127.0.0.1", port: 10000 });
  assert.deepEqual(parseSockaddr(v6.bytes), { address: "::1", port: 80 });
  assert.equal(sockaddrFor("localhost", 1), undefined);
});

Deno.test("IP literals: parsed strictly, IPv6 written as inet_ntop writes it", () => {
  for (const bad of ["1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "a.b.c.d", ""]) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
  for (const bad of [":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", "::1.2.3"]) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
  const cases: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["0:0:0:0:0:ffff:7f00:1", "::ffff:127.0.0.1"],
    ["::FFFF:10.0.0.1", "::ffff:10.0.0.1"],
    ["fe80:0:0:0:1:0:0:1", "fe80::1:0:0:1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"],
    ["2001:db8::", "2001:db8::"],
  ];
  for (const [text, shown] of cases) assert.equal(formatIPv6(parseIPv6(text)!), shown, text);
});

// --- the generation guard ---

Deno.test("a reused descriptor gets a new generation: events for the old one miss", () => {
  const t = new FdTable<string>();
  const g1 = t.add(5, "first");
  assert.notEqual(g1, 0, "0 marks descriptors outside the table");
  assert.equal(t.get(5, g1), "first");
  t.remove(5);
  assert.equal(t.get(5, g1), undefined);
  const g2 = t.add(5, "second");
  assert.notEqual(g2, g1);
  assert.equal(t.get(5, g1), undefined, "a stale event reached the new connection");
  assert.equal(t.get(5, g2), "second");
  assert.equal(t.size, 1);
  t.remove(5);
  t.remove(5); // idempotent: does not bump twice or go negative
  assert.equal(t.size, 0);
  assert.equal(t.get(5, t.add(5, "third")), "third");
});

Deno.test("the descriptor table grows, refuses a descriptor held twice, lists what it holds", () => {
  const t = new FdTable<number>();
  const gens = [3, 70, 1000, 4096].map((fd) => [fd, t.add(fd, fd)]);
  for (const [fd, gen] of gens) assert.equal(t.get(fd, gen), fd);
  assert.throws(() => t.add(70, 0), /already held/);
  assert.throws(() => t.add(-1, 0), RangeError);
  assert.deepEqual(t.values(), [3, 70, 1000, 4096]);
  for (const fd of t.values()) t.remove(fd); // removing while iterating the snapshot
  assert.equal(t.size, 0);
});

// --- the loop clock ---

function fakeNow(start = 1000) {
  const time = { now: start };
  return { time, clock: new LoopClock(() => time.now) };
}

Deno.test("loop clock: the wait timeout is the nearest deadline, rounded up; -1 with none", () => {
  const { time, clock } = fakeNow();
  assert.equal(clock.timeoutMs(), -1);
  clock.setTimeout(() => {}, 250);
  const near = clock.setTimeout(() => {}, 10.2);
  assert.equal(clock.timeoutMs(), 11);
  time.now += 10.2;
  assert.equal(clock.timeoutMs(), 0);
  clock.clearTimeout(near);
  assert.equal(clock.timeoutMs(), 240);
  assert.equal(clock.pending, 1);
  clock.setTimeout(() => {}, -5); // negative counts as 0
  assert.equal(clock.timeoutMs(), 0);
});

Deno.test("loop clock: due timers run in due order, ties in arming order, cleared ones never", () => {
  const { time, clock } = fakeNow();
  const ran: string[] = [];
  clock.setTimeout(() => ran.push("c"), 30);
  clock.setTimeout(() => ran.push("a1"), 10);
  clock.setTimeout(() => ran.push("a2"), 10);
  const b = clock.setTimeout(() => ran.push("b"), 20);
  clock.setTimeout(() => ran.push("late"), 100);
  clock.clearTimeout(b);
  clock.clearTimeout(12345); // unknown: ignored
  time.now += 30;
  assert.equal(clock.runDue(), 3);
  assert.deepEqual(ran, ["a1", "a2", "c"]);
  assert.equal(clock.pending, 1);
  assert.equal(clock.runDue(), 0);
});

Deno.test("loop clock: a timer armed while running waits for the next pass", () => {
  const { clock } = fakeNow();
  let runs = 0;
  const again = () => {
    runs++;
    clock.setTimeout(again, 0);
  };
  clock.setTimeout(again, 0);
  assert.equal(clock.runDue(), 1);
  assert.equal(clock.runDue(), 1);
  assert.equal(runs, 2);
  assert.equal(clock.timeoutMs(), 0);
});

Deno.test("loop clock: thousands of armed-then-cleared timers leave the order intact", () => {
  const { time, clock } = fakeNow();
  const ran: number[] = [];
  const keep: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const id = clock.setTimeout(() => ran.push(i), i % 97);
    if (i % 10 === 0) keep.push(i);
    else clock.clearTimeout(id);
  }
  assert.equal(clock.pending, keep.length);
  time.now += 100;
  clock.runDue();
  const expected = [...keep].sort((a, b) => (a % 97) - (b % 97) || a - b);
  assert.deepEqual(ran, expected);
});

// --- on this machine ---

Deno.test({
  name: "this machine's kernel fills epoll_event where the layout says",
  ignore: !canRun,
  fn() {
    const c = libc();
    const errno = errnoView();
    const layout = epollLayout()!;
    const ep = c.epoll_create1(EPOLL_CLOEXEC);
    const efd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert.ok(ep >= 0 && efd >= 0, `errno ${errno[0]}`);
    try {
      const reg = new EventArray(layout, 1);
      reg.set(0, EPOLLIN, efd, 0xdead_beef);
      assert.equal(c.epoll_ctl(ep, EPOLL_CTL_ADD, efd, reg.bytes), 0, `errno ${errno[0]}`);
      assert.equal(c.write32(efd, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]), 8), 8);
      const got = new EventArray(layout, 4);
      assert.equal(c.epoll_wait(ep, got.bytes, 4, 1000), 1);
      assert.deepEqual([got.events(0), got.fd(0), got.gen(0)], [EPOLLIN, efd, 0xdead_beef]);
    } finally {
      c.close(efd);
      c.close(ep);
    }
  },
});

Deno.test({
  name: "auto picks epoll here, and says why; node when asked",
  ignore: !canRun,
  fn() {
    const auto = chooseEngine("auto");
    assert.equal(auto.engine, "epoll");
    assert.match(auto.why, /^Linux (x86_64|aarch64) with --allow-ffi$/);
    assert.deepEqual(chooseEngine("node"), {
      engine: "node",
      why: "asked for (--tcp-engine node)",
    });
    assert.match(chooseEngine("epoll").why, /^asked for \(--tcp-engine epoll\); Linux/);
  },
});

/** Resolves once `ok()` holds (checked every 5 ms); fails with `why()` after 2 s. */
async function until(ok: () => boolean, why: () => string): Promise<void> {
  for (const t0 = performance.now(); !ok();) {
    if (performance.now() - t0 > 2000) throw new Error(why());
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Descriptors this process has open, once the count holds still for 50 ms. */
/**
 * Sockets this process holds whose local port is `port` (the listener and
 * the accepted connections of a server on it), from /proc's socket inodes.
 */
function serverSocketsOpen(port: number): number {
  const inodes = new Set<string>();
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
      if (m) inodes.add(m[1]);
    } catch { /* closed meanwhile */ }
  }
  let n = 0;
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (parseInt(cols[1].split(":")[1], 16) === port && inodes.has(cols[9])) n++;
    }
  }
  return n;
}

Deno.test({
  name: "the worker engine: 3 MB of pipelined replies arrive whole and in order",
  ignore: !canRun,
  async fn() {
    const service = new LedService(await openLed("mock"), { log: () => {} });
    const server = await EpollServer.listen(service, { port: 0, log: () => {} });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      // Far more than the socket buffers hold: partial sends, EPOLLOUT,
      // held requests and drains, while the client reads slowly at first.
      const n = 20_000;
      const lines = Array.from({ length: n }, (_, i) => (i % 2 ? "help" : `hello c${i}`));
      const writing = conn.write(new TextEncoder().encode(lines.join("\n") + "\n"));
      await new Promise((r) => setTimeout(r, 200));
      const decoder = new TextDecoder();
      let text = "";
      let count = 0;
      const buf = new Uint8Array(65536);
      while (count < n) {
        const got = await conn.read(buf);
        assert.ok(got !== null, `EOF after ${count} replies`);
        text += decoder.decode(buf.subarray(0, got));
        const cut = text.lastIndexOf("\n");
        if (cut < 0) continue;
        for (const line of text.slice(0, cut).split("\n")) {
          const want = count % 2 ? /^OK commands: / : new RegExp(`^OK hello c${count}: `);
          assert.match(line, want, `reply ${count}`);
          count++;
        }
        text = text.slice(cut + 1);
      }
      await writing;
      conn.close();
    } finally {
      await server.close();
      await service.close();
    }
  },
});

Deno.test({
  name:
    "the worker engine: a peer that half-closes behind 1 MB of unread replies gets them all, then FIN",
  ignore: !canRun,
  async fn() {
    const service = new LedService(await openLed("mock"), { log: () => {} });
    const server = await EpollServer.listen(service, { port: 0, log: () => {} });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const n = 8_000; // ~1.2 MB of replies: held requests, drains, then the half-close
      await conn.write(new TextEncoder().encode("help\n".repeat(n - 1) + "status"));
      await conn.closeWrite(); // the last line has no newline: the half-close completes it
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      const buf = new Uint8Array(65536);
      for (let got; (got = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, got));
      const lines = new TextDecoder().decode(await new Blob(chunks).bytes()).split("\n");
      assert.equal(lines.pop(), "", "the replies end with a newline, then FIN");
      assert.equal(lines.length, n);
      assert.ok(lines.slice(0, -1).every((l) => l.startsWith("OK commands: ")));
      assert.equal(lines.at(-1), "OK off");
      conn.close();
    } finally {
      await server.close();
      await service.close();
    }
  },
});

Deno.test({
  name:
    "the worker engine closes 50 connections with a FIN in well under a second, leaking nothing",
  ignore: !canRun,
  async fn() {
    const service = new LedService(await openLed("mock"), { log: () => {} });
    const server = await EpollServer.listen(service, { port: 0, log: () => {} });
    const port = server.port;
    const conns = await Promise.all(
      Array.from({ length: 50 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
    );
    // One of them is waiting on a watch, one in the middle of a line.
    const enc = new TextEncoder();
    await conns[0].write(enc.encode("watch\n"));
    await conns[1].write(enc.encode("stat"));
    const buf = new Uint8Array(256);
    assert.ok((await conns[0].read(buf))! > 0);
    // The worker sends the count before it waits, or every 10 ms under load.
    await until(() => service.clients === 50, () => `${service.clients} clients counted`);
    const t0 = performance.now();
    await server.close();
    const took = performance.now() - t0;
    assert.ok(took < 1000, `close took ${took.toFixed(0)} ms`);
    for (const c of conns.slice(1)) assert.equal(await c.read(buf), null, "no FIN");
    for (const c of conns) c.close();
    assert.equal(service.clients, 0);
    await service.close();
    // The server's own sockets, by port: under `deno test --parallel` other
    // modules open and close descriptors in this process too, so a count of
    // every descriptor cannot tell a leak from a neighbour.
    assert.equal(serverSocketsOpen(port), 0, "server sockets left open");
  },
});
