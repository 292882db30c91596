/**
 * The epoll TCP engine (server/tcp/epoll*.ts) on arm64, in the emulated Pi:
 * the `struct epoll_event` layout and the FFI argument widths it relies on,
 * checked against this kernel at run time (a wrong constant fails here, not
 * in production); `serve --tcp-engine epoll` answering 100 concurrent
 * clients while it drives GPIO17; and `auto` choosing epoll on aarch64 only
 * with --allow-ffi. Runs main.ts from source (type-checked on the host).
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { debugfsLine } from "./debugfs.ts";
import { assertBlinks, lineInfo, readFreeLine, sampleInWorker } from "./probe.ts";
import { errnoView, libc } from "../../../sys/libc.ts";
import {
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EPOLL_CLOEXEC,
  EPOLL_CTL_ADD,
  EPOLL_LAYOUTS,
  EPOLLIN,
  type EpollLayout,
  epollLayout,
  EventArray,
} from "../../../server/tcp/epoll_abi.ts";

const main = new URL("../../../main.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- the ABI, against the kernel -------------------------------------------

/**
 * Registers eventfds with `register` (their descriptor and a generation in
 * the 64-bit data, as the engine does), makes them readable, and reads the
 * events `epoll_wait` returns with `read`. Returns what came back and the
 * raw bytes the kernel wrote.
 */
function eventfdRoundTrip(register: EpollLayout, read: EpollLayout, count: number) {
  const c = libc();
  const errno = errnoView();
  const epfd = c.epoll_create1(EPOLL_CLOEXEC);
  assert(epfd >= 0, `epoll_create1: errno ${errno[0]}`);
  const fds: number[] = [];
  try {
    const sent: { fd: number; gen: number }[] = [];
    // Room for two entries whatever the layout: a 12-byte layout read by a
    // 16-byte kernel must not make it read past the buffer.
    const ctl = new EventArray(register, 2);
    for (let i = 0; i < count; i++) {
      const fd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      assert(fd >= 0, `eventfd: errno ${errno[0]}`);
      fds.push(fd);
      // The top bit set and every byte distinct: a value read at the wrong
      // offset, sign-extended or cut in half shows.
      const gen = (0x80a0b0c0 + i * 0x01010101) >>> 0;
      ctl.set(0, EPOLLIN, fd, gen);
      assertEquals(c.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ctl.bytes), 0, `epoll_ctl ADD ${fd}`);
      sent.push({ fd, gen });
    }
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    for (const fd of fds) assertEquals(c.write32(fd, one, 8), 8, `eventfd write ${fd}`);
    const capacity = 8;
    const events = new EventArray(read, capacity);
    events.bytes.fill(0xaa);
    const n = c.epoll_wait(epfd, events.bytes, capacity, 1000);
    const got = [];
    for (let i = 0; i < Math.max(0, n); i++) {
      got.push({ events: events.events(i), fd: events.fd(i), gen: events.gen(i) });
    }
    return { n, sent, got, bytes: events.bytes.slice() };
  } finally {
    for (const fd of fds) c.close(fd);
    c.close(epfd);
  }
}

const byFd = <T extends { fd: number }>(a: T[]) => [...a].sort((x, y) => x.fd - y.fd);

Deno.test("struct epoll_event: the engine's aarch64 layout is this kernel's (epoll_wait round trip on eventfds)", () => {
  assertEquals(Deno.build.arch, "aarch64", "the guest is arm64");
  const layout = epollLayout()!;
  assertEquals(layout, { arch: "aarch64", size: 16, eventsOffset: 0, dataOffset: 8 });
  assertEquals(EPOLL_LAYOUTS.aarch64, layout);

  const r = eventfdRoundTrip(layout, layout, 3);
  assertEquals(r.n, 3, "three eventfds readable");
  // What the engine reads back (EventArray at the layout's offsets) is what it registered.
  assertEquals(
    byFd(r.got),
    byFd(r.sent.map((s) => ({ events: EPOLLIN, fd: s.fd, gen: s.gen }))),
    "events, descriptor and generation read back through EventArray",
  );
  // The same bytes read independently of EventArray: events at +0, a
  // little-endian u64 at +8, entries 16 bytes apart, nothing written past
  // the last one (so sizeof is not larger either).
  const view = new DataView(r.bytes.buffer);
  const raw = [];
  for (let i = 0; i < r.n; i++) {
    const data = view.getBigUint64(i * 16 + 8, true);
    raw.push({
      events: view.getUint32(i * 16, true),
      fd: Number(data & 0xffffffffn),
      gen: Number(data >> 32n),
    });
  }
  assertEquals(byFd(raw), byFd(r.got), "the kernel's bytes at offsets 0 and 8, stride 16");
  const past = r.bytes.subarray(r.n * 16);
  assert(past.every((b) => b === 0xaa), "epoll_wait wrote past n × 16 bytes");
  console.log(
    `epoll-layout aarch64: size 16, events +0, data +8; kernel returned ${
      r.got.map((g) => `fd ${g.fd} gen 0x${g.gen.toString(16)}`).join(", ")
    }`,
  );
});

Deno.test("struct epoll_event: the x86-64 layout fails the same round trip here (so the check above can fail)", () => {
  const r = eventfdRoundTrip(EPOLL_LAYOUTS.x86_64, EPOLL_LAYOUTS.x86_64, 3);
  assertEquals(r.n, 3, "three eventfds readable");
  const want = byFd(r.sent.map((s) => ({ events: EPOLLIN, fd: s.fd, gen: s.gen })));
  assert(
    JSON.stringify(byFd(r.got)) !== JSON.stringify(want),
    `the packed 12-byte layout round-tripped on aarch64: ${JSON.stringify(r.got)}`,
  );
  // And the aarch64 layout does not round-trip what the x86-64 one registered.
  const mixed = eventfdRoundTrip(EPOLL_LAYOUTS.x86_64, EPOLL_LAYOUTS.aarch64, 1);
  assert(mixed.got[0]?.gen !== mixed.sent[0].gen, "x86-64 registration read back intact");
});

Deno.test("send/recv through the engine's binding move exact u32 lengths on aarch64, unoptimized, from Maglev and from TurboFan", async () => {
  // sys/libc.ts declares size_t lengths as u32 (for V8's fast calls) and
  // relies on the upper half of the 64-bit register being zero; optimized
  // code makes those calls differently from the interpreter. A stray upper
  // half would make send() fail (EFAULT) or send more than asked.
  const script = new URL("./ffi_tiers.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--no-check",
      "--no-config",
      "--no-prompt",
      "--v8-flags=--allow-natives-syntax",
      script,
    ],
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = decoder.decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const r = JSON.parse(decoder.decode(out.stdout));
  console.log(`ffi-tiers ${Deno.build.arch}: ${JSON.stringify(r)}`);
  assertEquals(
    [r.unoptimized.rounds, r.maglev.rounds, r.turbofan.rounds],
    [2000, 2000, 2000],
    "every send/recv pair exact in every tier",
  );
  assertEquals(
    [r.maglevved, r.turbofanned],
    [true, true],
    "the loop ran in Maglev and TurboFan code",
  );
});

// --- ledctl serve on the epoll engine ----------------------------------------

function ledctl(permissions: string[], args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "--no-check", "--no-config", "--no-prompt", main, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", LEDCTL_STATE_FILE: "off" }, // each serve starts with the LED off
  });
}

/** Rejects with `what` after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A spawned `ledctl serve`: its output so far, and its port once it listens. */
class Serve {
  readonly child: Deno.ChildProcess;
  readonly out: string[] = [];
  readonly err: string[] = [];
  readonly #drained: Promise<unknown>;

  constructor(permissions: string[], args: string[]) {
    this.child = ledctl(permissions, ["serve", "--host", "127.0.0.1", "--port", "0", ...args])
      .spawn();
    const drain = async (s: ReadableStream<Uint8Array>, into: string[]) => {
      for await (const t of s.pipeThrough(new TextDecoderStream())) into.push(t);
    };
    this.#drained = Promise.all([
      drain(this.child.stdout, this.out),
      drain(this.child.stderr, this.err),
    ]);
  }

  get text(): string {
    return this.out.join("") + this.err.join("");
  }

  /** Waits for the `listening on` line; returns the port. */
  async port(ms = 60_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.out.join("").match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) return Number(m[1]);
      const done = await Promise.race([this.child.status, new Promise((r) => setTimeout(r, 50))]);
      if (done) throw new Error(`serve exited before listening:\n${this.text}`);
      if (Date.now() > deadline) {
        throw new Error(`serve did not listen within ${ms} ms:\n${this.text}`);
      }
    }
  }

  /** SIGTERM; the exit status, once its output is read. */
  async stop(): Promise<Deno.CommandStatus> {
    this.child.kill("SIGTERM");
    const status = await within(30_000, "exit after SIGTERM", this.child.status);
    await this.#drained;
    return status;
  }

  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone already */ }
    await this.child.status;
  }
}

/** One TCP client: lines in, lines out. */
class Client {
  readonly conn: Deno.TcpConn;
  #buf = "";
  readonly #chunk = new Uint8Array(4096);
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }
  get localPort(): number {
    return this.conn.localAddr.port;
  }
  async send(line: string): Promise<void> {
    const bytes = encoder.encode(line + "\n");
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }
  /** The next line, or null at EOF. */
  async line(): Promise<string | null> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const l = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return l;
      }
      const n = await this.conn.read(this.#chunk);
      if (n === null) return null;
      this.#buf += decoder.decode(this.#chunk.subarray(0, n));
    }
  }
  async ask(line: string): Promise<string | null> {
    await this.send(line);
    return await this.line();
  }
}

const CLIENTS = 100;
const HZ = 5;
const WINDOW_MS = 2000;

Deno.test("serve --tcp-engine epoll answers 100 concurrent clients by name, blinks GPIO17 at 5 Hz, and SIGTERM leaves the line off and free", async () => {
  const serve = new Serve(["-A"], [
    "--http",
    "off",
    "--led",
    "gpio:GPIO17",
    "--tcp-engine",
    "epoll",
    // The clients sit idle while the line is sampled; under emulation that
    // can take longer than the default 10 s.
    "--idle-timeout",
    "120s",
  ]);
  const clients: Client[] = [];
  let exited = false;
  try {
    const port = await serve.port();
    assertMatch(
      serve.text,
      /tcp engine: epoll \(asked for \(--tcp-engine epoll\); Linux aarch64 with --allow-ffi\)/,
    );
    assertEquals(debugfsLine("GPIO17")?.consumer, "ledctl");

    // All 100 connected at once before any speaks, then all speak at once.
    const conns = await within(
      60_000,
      `${CLIENTS} connects`,
      Promise.all(
        Array.from({ length: CLIENTS }, () => Deno.connect({ hostname: "127.0.0.1", port })),
      ),
    );
    clients.push(...conns.map((c) => new Client(c)));
    const replies = await within(
      60_000,
      `${CLIENTS} hello replies`,
      Promise.all(clients.map((c, i) => c.ask(`hello Client ${i + 1}`))),
    );
    const ids = new Set<number>();
    replies.forEach((reply, i) => {
      const m = reply?.match(
        new RegExp(
          `^OK hello Client ${i + 1}: you are client #(\\d+) from 127\\.0\\.0\\.1:(\\d+)$`,
        ),
      );
      assert(m, `client ${i + 1} got ${JSON.stringify(reply)}`);
      assertEquals(Number(m[2]), clients[i].localPort, `client ${i + 1}'s own address`);
      ids.add(Number(m[1]));
    });
    assertEquals(ids.size, CLIENTS, "every client has its own number");

    // A state change: the worker asks the main thread's LedService, which drives the line.
    assertEquals(await clients[41].ask(`blink ${HZ}`), `OK blink ${HZ} Hz`);
    const { debugfs } = await sampleInWorker({
      name: "GPIO17",
      forMs: WINDOW_MS,
      everyMs: 2,
      halfMs: 500 / HZ,
    });
    assertBlinks("serve --tcp-engine epoll debugfs", debugfs, HZ, WINDOW_MS);
    // Every client's read-only answer (from the worker's copy) has the new state.
    const statuses = await within(
      60_000,
      `${CLIENTS} status replies`,
      Promise.all(clients.map((c) => c.ask("status"))),
    );
    assertEquals(new Set(statuses), new Set([`OK blink ${HZ} Hz`]));

    assertEquals(await clients[0].ask("on"), "OK on");
    assertEquals(
      debugfsLine("GPIO17")?.high,
      true,
      "on before SIGTERM, so 'left off' means something",
    );

    const status = await serve.stop();
    exited = true;
    assertEquals(status.code, 0, `exit code after SIGTERM:\n${serve.text}`);
    // Every client gets its FIN (no reply: the server is closing).
    const ends = await within(
      30_000,
      "EOF on every client after SIGTERM",
      Promise.all(clients.map((c) => c.line().catch((e: Error) => `error ${e.message}`))),
    );
    assertEquals(new Set(ends), new Set([null]), "EOF on every client");
    assertEquals(debugfsLine("GPIO17"), undefined, "no longer requested");
    assertEquals(lineInfo(17).consumer, "");
    assertEquals(readFreeLine(17), false, "left off");
  } finally {
    for (const c of clients) {
      try {
        c.conn.close();
      } catch { /* closed */ }
    }
    if (!exited) {
      await serve.kill();
      console.error(serve.text);
    }
  }
});

/** Permissions serve needs with a mock LED, without --allow-ffi. */
const BASE_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-env"];

Deno.test("serve's auto engine is epoll on aarch64 with --allow-ffi, node without it", async () => {
  const withFfi = new Serve([...BASE_PERMISSIONS, "--allow-ffi"], [
    "--http",
    "off",
    "--led",
    "mock",
  ]);
  const without = new Serve(BASE_PERMISSIONS, ["--http", "off", "--led", "mock"]);
  let stopped = false;
  try {
    const [p1, p2] = await Promise.all([withFfi.port(), without.port()]);
    assertMatch(withFfi.text, /tcp engine: epoll \(Linux aarch64 with --allow-ffi\)/);
    assertMatch(without.text, /tcp engine: node \(no --allow-ffi\)/);
    // Both serve.
    for (const port of [p1, p2]) {
      const c = new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
      try {
        assertMatch((await c.ask("hello probe")) ?? "", /^OK hello probe: you are client #1 /);
      } finally {
        c.conn.close();
      }
    }
    const [s1, s2] = await Promise.all([withFfi.stop(), without.stop()]);
    stopped = true;
    assertEquals(s1.code, 0, withFfi.text);
    assertEquals(s2.code, 0, without.text);
  } finally {
    if (!stopped) {
      await Promise.all([withFfi.kill(), without.kill()]);
      console.error(withFfi.text, without.text);
    }
  }
});
