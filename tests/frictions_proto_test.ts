/**
 * The protocol and command-line frictions of issue 13 (items 1, 2, 4, 5, 9
 * and 12), each against real `ledctl` processes over loopback TCP.
 *
 * Bad inputs tried here (each gets a clear error and the server keeps
 * serving):
 * - `watch`, `on`, `off` pipelined in one write; `on` while already on
 * - `ledctl clients` above `--max-clients`; against a `--token` server with
 *   no token, a wrong one, and a token file that does not exist
 * - `ledctl send`/`ledctl watch` pointed at the web (HTTP) port
 * - `ledctl led dance`; `ledctl led help`
 * - `ledctl send blink -1` (an option-looking word after the command)
 * - `blink 2.5 Hz`, `blink 2.5Hz`, `blink 2.5 hz`, `blink 2.5 kHz`
 * - `hello` with no name; `ledctl send` with no command
 * - refused (busy) clients and requests without a token: logged once, counted
 *
 * @module
 */
import assert from "node:assert/strict";
import { RawClient, ServerProcess, tcpTest } from "./harness.ts";

tcpTest(
  "pipelined watch, on, off: each EVENT just before its OK, in request order",
  async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using c = await RawClient.connect(server.port);
    await c.write("watch\non\noff\n");
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(await c.readLine());
    assert.deepEqual(lines, [
      "OK watching: an EVENT line follows each LED change; now off",
      "EVENT on",
      "OK on",
      "EVENT off",
      "OK off",
    ]);
    assert.equal(await c.ask("status"), "OK off", "the server keeps serving");
  },
);

tcpTest("a request that changes nothing sends no EVENT", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using c = await RawClient.connect(server.port);
  using other = await RawClient.connect(server.port);
  assert.match((await c.ask("watch")) ?? "", /^OK watching/);
  await c.write("on\non\nblink 2\nblink 2,0\nstatus\n");
  const lines = [];
  for (let i = 0; i < 7; i++) lines.push(await c.readLine());
  assert.deepEqual(lines, [
    "EVENT on",
    "OK on",
    "OK on",
    "EVENT blink 2 Hz",
    "OK blink 2 Hz",
    "OK blink 2 Hz",
    "OK blink 2 Hz",
  ]);
  // Another client's request for the same state: no EVENT either; its next change: one.
  assert.equal(await other.ask("blink 2"), "OK blink 2 Hz");
  assert.equal(await other.ask("off"), "OK off");
  assert.equal(await c.readLine(), "EVENT off");
});

tcpTest(
  "blink takes the reply's own words; hello with no name says the number once",
  async (engine) => {
    await using server = await ServerProcess.start([], { engine });
    using c = await RawClient.connect(server.port);
    assert.equal(await c.ask("blink 2.5 Hz"), "OK blink 2.5 Hz");
    assert.equal(await c.ask("clignote 2,5hz"), "OK blink 2.5 Hz");
    assert.equal(await c.ask("blink 3HZ"), "OK blink 3 Hz");
    assert.equal(
      await c.ask("blink 2.5 kHz"),
      "ERR bad-argument blink takes one frequency, got 2 arguments",
    );
    assert.equal(
      await c.ask("blink 1000Hz"),
      "ERR bad-argument 1000 Hz is out of range: use 0.05 to 500 Hz",
    );
    assert.match(
      (await c.ask("hello")) ?? "",
      /^OK hello: you are client #\d+ from 127\.0\.0\.1:\d+$/,
    );
    assert.match((await c.ask("hello Ada")) ?? "", /^OK hello Ada: you are client #\d+ from /);
    assert.match((await c.ask("hello")) ?? "", /^OK hello Ada: you are client #\d+ from /);
    assert.equal(await c.ask("status"), "OK blink 3 Hz");
  },
);
