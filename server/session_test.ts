/**
 * The TCP session's timers on fake time, over real loopback sockets: the
 * idle and frame timeouts fire at exact instants (as the firmware's
 * `test_session.c` checks), and a watcher holds no timer at all. One test
 * drives a session over a fake connection instead: the output bound.
 *
 * Every wait is on an event: a log line the server writes synchronously
 * when a timer fires (verbose mode), or a line the client reads.
 *
 * Each test runs once per TCP engine (`tcpEngines()` in tests/harness.ts),
 * each engine started in this process through {@linkcode LISTEN}.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FakeClock } from "../hal/clock.ts";
import { openLed } from "../hal/select.ts";
import { RawClient, type TcpEngine, tcpTest } from "../tests/harness.ts";
import { LedService } from "../core/led_service.ts";
import type { TcpServerHandle } from "./tcp/mod.ts";
import { EpollServer } from "./tcp/epoll.ts";
import { TcpServer, type TcpServerOptions } from "./tcp/node_net.ts";
import { AuthLimiter } from "./auth_limit.ts";
import { type Connection, OUTPUT_BOUND, Session } from "./session.ts";

/** Starts one engine's server in this process, on the test's clock and log. */
type Listen = (service: LedService, options: TcpServerOptions) => Promise<TcpServerHandle>;

/**
 * How each TCP engine is started in this process: the one place to add an
 * engine to these tests (a new engine name without an entry here is a type
 * error). With the fake clock, the epoll engine runs its loop on this
 * thread rather than in its worker (server/tcp/epoll.ts).
 */
const LISTEN: Record<TcpEngine, Listen> = {
  epoll: (service, options) => EpollServer.listen(service, options),
  node: (service, options) => TcpServer.listen(service, options),
};

/** The server's log, with waits for a line. */
class Log {
  readonly lines: string[] = [];
  #waiters: { re: RegExp; resolve: () => void }[] = [];
  push = (line: string): void => {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => !(w.re.test(line) && (w.resolve(), true)));
  };
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
  waitFor(re: RegExp, ms = 5000): Promise<void> {
    if (this.has(re)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line ${re}: ${this.lines}`)), ms);
      this.#waiters.push({ re, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

async function setup(
  engine: TcpEngine,
  options: { idleTimeoutMs?: number; frameTimeoutMs?: number } = {},
) {
  const clock = new FakeClock();
  const log = new Log();
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const server = await LISTEN[engine](service, {
    port: 0,
    clock,
    log: log.push,
    verbose: true,
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    frameTimeoutMs: options.frameTimeoutMs ?? 100,
  });
  const client = await RawClient.connect(server.port);
  await log.waitFor(/^connected client #1 /);
  return {
    clock,
    log,
    client,
    async [Symbol.asyncDispose]() {
      client[Symbol.dispose]();
      await server.close();
      await service.close();
    },
  };
}

const IDLE = /^idle timeout for client #1 /;

tcpTest("a silent client is closed at exactly the idle timeout", async (engine) => {
  await using t = await setup(engine);
  t.clock.advance(9_999);
  assert.ok(!t.log.has(IDLE), "closed before 10 s of silence");
  t.clock.advance(1);
  assert.ok(t.log.has(IDLE), "not closed at 10 s of silence");
  assert.equal(await t.client.readLine(), "ERR idle-timeout no data for 10 s; closing");
  assert.equal(await t.client.readLine(), null);
});

tcpTest("the idle timeout counts from the last byte, not from the last check", async (engine) => {
  await using t = await setup(engine);
  t.clock.advance(6_000);
  assert.equal(await t.client.ask("status"), "OK off"); // a byte at 6 s
  t.clock.advance(4_000); // 10 s: the first check finds 4 s of silence
  t.clock.advance(5_999); // 15.999 s: 9.999 s after the last byte
  assert.ok(!t.log.has(IDLE), "closed before 10 s of silence");
  t.clock.advance(1); // 16 s: exactly 10 s after the last byte
  assert.ok(t.log.has(IDLE), "closed late: the timer was re-armed with more than the time left");
});

tcpTest("a line without newline is answered at exactly the frame timeout", async (engine) => {
  await using t = await setup(engine, { frameTimeoutMs: 100 });
  // One write: the reply to the first line shows the server has read the
  // whole chunk, so the partial "status" is waiting with its timer armed.
  await t.client.write("hello a\nstatus");
  assert.match((await t.client.readLine())!, /^OK hello a: /);
  t.clock.advance(99);
  assert.ok(!t.log.has(/status →/), "answered before the frame timeout");
  t.clock.advance(1);
  assert.ok(t.log.has(/client #1 .*: status → OK off/), "not answered at the frame timeout");
  assert.equal(await t.client.readLine(), "OK off");
});

tcpTest("a watcher holds no timer while silent and is never idle-closed", async (engine) => {
  await using t = await setup(engine);
  const idle = t.clock.pending; // the session's idle timer and the listener's check
  assert.match((await t.client.ask("watch"))!, /^OK watching/);
  assert.equal(t.clock.pending, idle - 1, "the watcher kept its idle timer");
  t.clock.advance(3_600_000);
  assert.ok(!t.log.has(IDLE));
  assert.equal(t.clock.pending, idle - 1, "a timer was armed while the watcher was silent");
  assert.equal(await t.client.ask("status"), "OK off");
});

/**
 * A connection whose peer never reads: writes only pile up. What the session
 * itself does about that, on no engine: over real sockets the kernel's
 * buffers (tens of MB, machine-dependent) hide it from the client.
 */
class StuckConnection implements Connection {
  writableLength = 0;
  paused = false;
  closed = false;
  write(text: string): void {
    this.writableLength += text.length;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.closed = true;
  }
  keepAlive(): void {}
}

Deno.test("a peer that does not read: the session stops reading at OUTPUT_BOUND of unsent replies", async () => {
  const service = new LedService(await openLed("mock"), { log: () => {} });
  const conn = new StuckConnection();
  const session = new Session(
    conn,
    { id: 1, remote: "127.0.0.1:1", address: "127.0.0.1" },
    service,
    {
      idleTimeoutMs: 0,
      frameTimeoutMs: 100,
      clock: new FakeClock(),
      log: () => {},
      verbose: false,
      maxWatchers: 1,
      authLimiter: new AuthLimiter(),
    },
    new Set(),
  );
  try {
    // 64 KiB of `help` per read: ~2 MB of replies each.
    const chunk = new TextEncoder().encode("help\n".repeat(13_107));
    let reads = 0;
    for (; reads < 100 && !conn.paused; reads++) session.onData(chunk);
    assert.ok(
      conn.paused,
      `still reading after ${reads} reads: ${conn.writableLength} bytes unsent`,
    );
    assert.equal(reads, 1, "read on after the first read's replies passed the bound");
    const first = conn.writableLength;
    assert.ok(first > OUTPUT_BOUND && first < 2 * OUTPUT_BOUND, `${first} bytes unsent`);
    // The peer reads: the held requests are answered, a bound's worth at a time.
    conn.writableLength = 0;
    session.onDrain();
    assert.ok(conn.paused, "resumed reading with requests still held");
    assert.ok(conn.writableLength > OUTPUT_BOUND && conn.writableLength < 2 * OUTPUT_BOUND);
    let sent = first + conn.writableLength;
    for (let drains = 0; drains < 100 && conn.paused; drains++) {
      conn.writableLength = 0;
      session.onDrain();
      sent += conn.writableLength;
    }
    assert.ok(!conn.paused, "never read again after the peer read every reply");
    assert.equal(sent % 13_107, 0, `${sent} bytes of replies for 13107 helps`);
  } finally {
    session.onClose();
    await service.close();
  }
});
