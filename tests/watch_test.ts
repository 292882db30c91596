/**
 * `watch`: EVENT lines for every LED change, whoever makes it; a watching
 * connection is not closed as idle; `ledctl watch` prints the changes.
 */
import assert from "node:assert/strict";
import { ledctlCommand, Lines, RawClient, runLedctl, ServerProcess, tcpTest } from "./harness.ts";

tcpTest("a watcher gets an EVENT line for each change another client makes", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  using watcher = await RawClient.connect(server.port);
  using other = await RawClient.connect(server.port);
  assert.equal(
    await watcher.ask("watch"),
    "OK watching: an EVENT line follows each LED change; now off",
  );
  assert.equal(await other.ask("clignote 2,5"), "OK blink 2.5 Hz");
  assert.equal(await watcher.readLine(), "EVENT blink 2.5 Hz");
  assert.equal(
    await other.ask("blink fast"),
    'ERR bad-argument "fast" is not a frequency: write digits, e.g. 2.5 or 2,5',
  );
  assert.equal(await other.ask("off"), "OK off");
  assert.equal(await watcher.readLine(), "EVENT off", "a bad request makes no event");
  // The watcher can still send requests and gets their replies.
  assert.equal(await watcher.ask("status"), "OK off");
});

tcpTest("a watching connection is not closed as idle; a silent plain one is", async (engine) => {
  await using server = await ServerProcess.start(["--idle-timeout", "300ms"], { engine });
  using watcher = await RawClient.connect(server.port);
  using plain = await RawClient.connect(server.port);
  await watcher.write("watch\n");
  assert.match((await watcher.readLine()) ?? "", /^OK watching/);
  // The plain one is closed after 300 ms; by then the watcher has been silent as long.
  assert.equal(await plain.readLine(), "ERR idle-timeout no data for 300 ms; closing");
  assert.equal(await plain.readLine(), null);
  using other = await RawClient.connect(server.port);
  assert.equal(await other.ask("on"), "OK on");
  assert.equal(await watcher.readLine(), "EVENT on", "the watcher is still connected");
});

tcpTest("ledctl watch prints the state now and at each change; Ctrl-C exits 0", async (engine) => {
  await using server = await ServerProcess.start([], { engine });
  const child = ledctlCommand(["watch", "--port", String(server.port)]).spawn();
  const out = new Lines(child.stdout);
  const err = new Lines(child.stderr);
  await out.waitFor(/^\d\d:\d\d:\d\d LED off$/);
  await runLedctl(["send", "--port", String(server.port), "blink", "3"]);
  await out.waitFor(/^\d\d:\d\d:\d\d LED blink 3 Hz$/);
  child.kill("SIGINT");
  assert.equal((await child.status).code, 0, err.all.join("\n"));
  await Promise.all([out.done, err.done]);
});

tcpTest("ledctl watch exits 1 with the reason when the server goes away", async (engine) => {
  const server = await ServerProcess.start([], { engine });
  const child = ledctlCommand(["watch", "--port", String(server.port)]).spawn();
  const out = new Lines(child.stdout);
  const err = new Lines(child.stderr);
  await out.waitFor(/LED off$/);
  assert.equal(await server.stop(), 0);
  assert.equal((await child.status).code, 1);
  await Promise.all([out.done, err.done]);
  assert.match(err.all.join("\n"), /ledctl watch: 127\.0\.0\.1:\d+ closed the connection/);
  await server[Symbol.asyncDispose]();
});
