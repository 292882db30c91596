/**
 * `/healthz` and the board link's metrics on real parts: the firmware's
 * host build on one end of a pty pair (socat), `ledctl serve --led
 * serial:<other end>`. Killing the firmware turns `/healthz` to 503 (the
 * heartbeat notices); starting it again turns it back to 200, the
 * reconnection counted.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { RawClient, ServerProcess } from "./harness.ts";
import { buildFirmware, firmwareBin, Proc, ptyPair } from "./stm32_board.ts";

/** A heartbeat short enough for a quick test (the firmware's own timeout is 10 s). */
const HEARTBEAT_MS = 1000;
/** A killed board is noticed within a heartbeat and the 2 s reply timeout, plus slack. */
const LOSS_MS = HEARTBEAT_MS + 2000 + 5000;

/** Starts the firmware on `uart` and waits for it to be ready. */
async function firmware(uart: string): Promise<Proc> {
  const fw = Proc.spawn([firmwareBin, "--uart", uart]);
  await fw.waitFor(/^ready$/, 5000);
  return fw;
}

async function healthz(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(new URL("healthz", url));
  return { status: r.status, body: await r.json() };
}

/** The one value of each unlabelled metric of a scrape. */
async function metrics(url: string): Promise<Record<string, number>> {
  const r = await fetch(new URL("metrics", url));
  assert.equal(r.status, 200);
  const families = parsePrometheusTextFormat(await r.text()) as {
    name: string;
    metrics: { value: string; labels?: Record<string, string> }[];
  }[];
  return Object.fromEntries(
    families.filter((f) => f.metrics.length === 1 && !f.metrics[0].labels)
      .map((f) => [f.name, Number(f.metrics[0].value)]),
  );
}

Deno.test("/healthz: 503 when the firmware behind serial: is killed, 200 when it is back", async () => {
  await buildFirmware();
  const dir = await Deno.makeTempDir({ prefix: "ledctl-healthz-" });
  try {
    await using _socat = await ptyPair(dir);
    const fw1 = await firmware(`${dir}/board`);
    await using server = await ServerProcess.start(
      ["--led", `serial:${dir}/host`, "--http", "0"],
      { trace: false, env: { LEDCTL_STM32_HEARTBEAT_MS: String(HEARTBEAT_MS) } },
    );
    const url = (await server.stdout.waitFor(/web page on (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
    await server.stdout.waitFor(/board serial:\S+: connected; LED off$/);
    using client = await RawClient.connect(server.port);
    assert.equal(await client.ask("blink 3"), "OK blink 3 Hz");
    await fw1.waitFor(/^LED blink 3 Hz$/, 5000);

    const up = await healthz(url);
    assert.equal(up.status, 200);
    assert.deepEqual(up.body, {
      ok: true,
      status: "ok",
      state: { mode: "blink", hz: 3 },
      text: "blink 3 Hz",
      led: `serial:${dir}/host`,
      link: { up: true, reconnects: 0 },
    });
    const m0 = await metrics(url);
    assert.equal(m0.ledctl_board_link_up, 1);
    assert.equal(m0.ledctl_board_link_reconnects_total, 0);

    await fw1.stop("SIGKILL");
    await server.stdout.waitFor(/board serial:\S+: disconnected: /, LOSS_MS);
    const down = await healthz(url);
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.ok, false);
    assert.equal(down.body.status, "board link down");
    assert.match(String(down.body.why), /^heartbeat: no reply to "status" within 2000 ms$/);
    assert.deepEqual(down.body.state, { mode: "blink", hz: 3 }, "the state asked for is kept");
    assert.deepEqual(down.body.link, { up: false, reconnects: 0, reason: down.body.why });
    assert.equal((await metrics(url)).ledctl_board_link_up, 0);

    await using _fw2 = await firmware(`${dir}/board`);
    await server.stdout.waitFor(/board serial:\S+: connected; LED blink 3 Hz$/, 25_000);
    const back = await healthz(url);
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.deepEqual(back.body.link, { up: true, reconnects: 1 });
    const m1 = await metrics(url);
    assert.equal(m1.ledctl_board_link_up, 1);
    assert.equal(m1.ledctl_board_link_reconnects_total, 1);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
