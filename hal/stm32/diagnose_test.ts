import assert from "node:assert/strict";
import { checkBoardLink } from "./diagnose.ts";
import { FakeBoard } from "./fake_board.ts";

Deno.test("checkBoardLink: a board that answers is ok, and its LED state is only read", async () => {
  const board = new FakeBoard();
  board.state = "blink 3 Hz";
  const tcp = board.listenTcp();
  try {
    const r = await checkBoardLink(`tcp:127.0.0.1:${tcp.port}`);
    assert.deepEqual(r, {
      ok: true,
      detail: `the ledctl firmware answers at 127.0.0.1:${tcp.port}: LED blink 3 Hz`,
    });
    assert.equal(board.received.length, 2);
    assert.match(board.received[0], /^sync-/);
    assert.equal(board.received[1], "status");
    assert.equal(board.state, "blink 3 Hz");
  } finally {
    await tcp.close();
  }
});

Deno.test("checkBoardLink: failures come with a fix", async () => {
  const silent = new FakeBoard();
  silent.mode = "silent";
  const tcp = silent.listenTcp();
  try {
    const r = await checkBoardLink(`tcp:127.0.0.1:${tcp.port}`);
    assert.equal(r.ok, false);
    assert.match(r.detail, /does not answer/);
    assert.match(r.fix!, /firmware/);
  } finally {
    await tcp.close();
  }

  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const free = (l.addr as Deno.NetAddr).port;
  l.close();
  const refused = await checkBoardLink(`tcp:127.0.0.1:${free}`);
  assert.equal(refused.ok, false);
  assert.match(refused.fix!, /LED listener is not/);

  const missing = await checkBoardLink("serial:/dev/ttyACM-none");
  assert.equal(missing.ok, false);
  assert.match(missing.detail, /does not exist/);
  assert.match(missing.fix!, /ST-LINK USB/);

  const notTty = await checkBoardLink("serial:/dev/null");
  assert.match(notTty.fix!, /serial device/);

  const bad = await checkBoardLink("mock");
  assert.equal(bad.ok, false);
  assert.match(bad.fix!, /serial:\/dev\/ttyACM0/);
  assert.match((await checkBoardLink("serial:/dev/ttyACM0?baud=3")).detail, /unsupported baud/);
});
