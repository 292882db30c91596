/**
 * Run by epoll_test.ts with `--v8-flags=--allow-natives-syntax`: calls
 * `send`/`recv` through sys/libc.ts (as the epoll engine does, lengths as
 * u32 where C has size_t) on a socketpair, first unoptimized, then with the
 * calling function compiled by Maglev, then by TurboFan (V8's fast calls
 * into C are made from optimized code). Every call must move exactly the
 * bytes asked for. Prints one JSON line: the rounds per tier and the V8
 * status bits seen after each.
 *
 * @module
 */
import { errnoView, libc } from "../../../sys/libc.ts";
import { MSG_NOSIGNAL } from "../../../server/tcp/epoll_abi.ts";
import { READ_SIZE } from "../../../server/tcp/epoll_loop.ts";

// V8's %GetOptimizationStatus bits (test/mjsunit/mjsunit.js, V8 12 and later).
const MAGLEVVED = 1 << 4;
const TURBOFANNED = 1 << 5;

const natives = (body: string) => new Function("f", body) as (f: unknown) => number;
const status = natives("return %GetOptimizationStatus(f)");
const prepare = natives("%PrepareFunctionForOptimization(f)");
const toMaglev = natives("%OptimizeMaglevOnNextCall(f)");
const toTurbofan = natives("%OptimizeFunctionOnNextCall(f)");

const extra = Deno.dlopen("libc.so.6", {
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
});
const c = libc();
const errno = errnoView();
const pair = new Int32Array(2);
const AF_UNIX = 1, SOCK_STREAM = 1;
if (extra.symbols.socketpair(AF_UNIX, SOCK_STREAM, 0, new Uint8Array(pair.buffer)) !== 0) {
  throw new Error(`socketpair: errno ${errno[0]}`);
}
const [a, b] = pair;
const out = new Uint8Array(256);
for (let i = 0; i < out.length; i++) out[i] = i;
const inp = new Uint8Array(READ_SIZE);

/** `rounds` send/recv pairs of 1 to 255 bytes; throws at the first inexact one. */
function pairs(rounds: number): number {
  for (let i = 0; i < rounds; i++) {
    const len = 1 + (i % 255);
    const sent = c.send(a, out, len, MSG_NOSIGNAL);
    if (sent !== len) throw new Error(`send(${len}) = ${sent}, errno ${errno[0]}`);
    const got = c.recv(b, inp, READ_SIZE, 0);
    if (got !== len) throw new Error(`recv = ${got} for ${len}, errno ${errno[0]}`);
    if (inp[len - 1] !== len - 1) throw new Error(`byte ${len - 1} is ${inp[len - 1]}`);
  }
  return rounds;
}

const ROUNDS = 2000;
const seen: Record<string, { rounds: number; status: number }> = {};
prepare(pairs);
// Few iterations per call, so no on-stack replacement optimizes it early.
let r = 0;
for (let i = 0; i < 20; i++) r += pairs(ROUNDS / 20);
seen.unoptimized = { rounds: r, status: status(pairs) };
toMaglev(pairs);
seen.maglev = { rounds: pairs(ROUNDS), status: status(pairs) };
toTurbofan(pairs);
seen.turbofan = { rounds: pairs(ROUNDS), status: status(pairs) };
c.close(a);
c.close(b);
extra.close();
console.log(JSON.stringify({
  ...seen,
  maglevved: (seen.maglev.status & MAGLEVVED) !== 0,
  turbofanned: (seen.turbofan.status & TURBOFANNED) !== 0,
}));
