/**
 * The Deno floor: the least a Deno TCP server can do per request — read into
 * a buffer, answer `OK off` to every LF, nothing else (no parsing, no timers,
 * no limits). The benchmark runs it beside ledctl to tell the runtime's cost
 * (the `conn.read` / `conn.write` ops) from ledctl's own.
 *
 *   deno run --allow-net bench/deno_floor.ts PORT
 *
 * @module
 */
const port = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port });
const reply = new TextEncoder().encode("OK off\n");
console.log(`deno floor listening on 127.0.0.1:${port}`);

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buf = new Uint8Array(2048);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (let i = 0; i < n; i++) {
        if (buf[i] === 10) await conn.write(reply);
      }
    }
  } catch { /* reset by peer */ }
  try {
    conn.close();
  } catch { /* closed */ }
}

for await (const conn of listener) serve(conn);
