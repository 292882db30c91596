/**
 * `ledctl fleet` end to end: a real Mosquitto (tests/mosquitto.ts), real
 * `ledctl serve --mqtt` processes on the mock LED with a trace each, and
 * `ledctl fleet` run as a process. Waits on broker messages, output lines
 * and trace edges; no sleeps.
 *
 * The fleet (20 devices, dev01..dev20; odd ones in group a, even in b):
 * - `fleet list` shows all 20 online; `--json` parses, with their groups;
 * - `fleet send all blink 2` exits 0 once all 20 report it, and every trace
 *   blinks at 2 Hz (edges 250 ms apart);
 * - `fleet send group:a on` reaches exactly group a: group b's traces gain
 *   no edge (checked after `fleet send group:b off` has come back, which
 *   the broker delivers after group a's command);
 * - `fleet watch` prints each device, then each change; Ctrl-C exits 0;
 * - `kill -9` of one device: `fleet list` shows it offline, and
 *   `fleet send all …` skips it, names it, and exits 0 for the 19 online.
 *
 * Bad input:
 * - an unknown device id, a group nobody is in, a device that is offline:
 *   one line, exit 1, nothing sent;
 * - a command the devices refuse (`fleet send all blink 9999`): each
 *   device's ERR is reported, exit 1, no trace changes;
 * - `fleet send` with no command, or no target: exit 2; a target that
 *   cannot be a topic level (`Bad!`): exit 2;
 * - no broker reachable, a wrong password, an untrusted certificate: one
 *   line each, exit 1; a password in the URL: exit 2.
 */
import assert from "node:assert/strict";
import mqtt, { type MqttClient } from "mqtt";
import { ledctlCommand, Lines, runLedctl, ServerProcess, waitForTraceEdges } from "./harness.ts";
import { haveMosquitto, Mosquitto } from "./mosquitto.ts";

const ignore = !haveMosquitto();
const N = 20;
const ids = Array.from({ length: N }, (_, i) => `dev${String(i + 1).padStart(2, "0")}`);
const groupOf = (id: string) => Number(id.slice(3)) % 2 ? "a" : "b";

/** What the broker says about each device, with waits for a condition on it. */
class Fleet {
  readonly online = new Map<string, boolean>();
  readonly text = new Map<string, string>();
  #waiters: (() => void)[] = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      const [, id, kind] = topic.split("/");
      const text = new TextDecoder().decode(payload);
      if (kind === "availability") this.online.set(id, text === "online");
      if (kind === "state") this.text.set(id, JSON.parse(text).text);
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  static async connect(url: string): Promise<Fleet> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const f = new Fleet(client);
    await client.subscribeAsync(["ledctl/+/state", "ledctl/+/availability"], { qos: 1 });
    return f;
  }
  /** Resolves when `ok()` holds, checked at each message; rejects after `ms`. */
  async until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`not seen within ${ms} ms: ${what}`);
      let timer: ReturnType<typeof setTimeout>;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      }).finally(() => clearTimeout(timer));
    }
  }
  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

function fleetCli(url: string, args: string[]) {
  return runLedctl(["fleet", "--mqtt", url, ...args]);
}

/**
 * The median spacing of `edges`' times, in ms: a single edge written late
 * (20 processes on a shared machine) lengthens one interval and shortens
 * the next, and leaves the median where the blinker put it.
 */
function medianSpacing(edges: { t: number }[]): number {
  const gaps = edges.slice(1).map((e, i) => e.t - edges[i].t).sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  return gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
}

Deno.test({
  name: "fleet: 20 devices on one broker: list, send all, a group, watch, one killed",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using broker = await Mosquitto.start();
    const fleet = await Fleet.connect(broker.url);
    const servers = new Map<string, ServerProcess>();
    try {
      // All at once: each waits for its own "listening" line.
      const started = await Promise.allSettled(ids.map(async (id) => {
        const s = await ServerProcess.start([
          "--mqtt",
          broker.url,
          "--id",
          id,
          "--group",
          groupOf(id),
        ]);
        servers.set(id, s);
      }));
      const failed = started.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      await fleet.until(
        "every device online, its state published",
        () => ids.every((id) => fleet.online.get(id) === true && fleet.text.get(id) === "off"),
      );
      const edgesOf = async (id: string) => (await servers.get(id)!.trace()).length;

      await t.step("fleet list shows all 20; --json parses", async () => {
        const table = await fleetCli(broker.url, ["list"]);
        assert.equal(table.code, 0, table.stderr);
        for (const id of ids) {
          assert.match(
            table.stdout,
            new RegExp(`^${id} +online +off +${groupOf(id)} +\\d+ s ago$`, "m"),
          );
        }
        assert.match(table.stdout, /^20 devices, 20 online$/m);
        const json = await fleetCli(broker.url, ["list", "--json"]);
        assert.equal(json.code, 0, json.stderr);
        const devices = JSON.parse(json.stdout) as {
          id: string;
          online: boolean;
          text: string;
          groups: string[];
        }[];
        assert.deepEqual(devices.map((d) => d.id), ids);
        for (const d of devices) {
          assert.equal(d.online, true);
          assert.equal(d.text, "off");
          assert.deepEqual(d.groups, [groupOf(d.id)]);
        }
      });

      // Started before the sends, to see their changes.
      const watch = ledctlCommand(["fleet", "--mqtt", broker.url, "watch"]).spawn();
      const watchOut = new Lines(watch.stdout);
      const watchErr = new Lines(watch.stderr);
      try {
        await watchOut.waitFor(/ dev20 online off\b/, 30_000);

        await t.step("fleet send all blink 2: exit 0, every trace blinks at 2 Hz", async () => {
          const before = new Map(
            await Promise.all(ids.map(async (id) => [id, await edgesOf(id)] as const)),
          );
          const sent = await fleetCli(broker.url, ["send", "all", "blink", "2"]);
          assert.equal(sent.code, 0, sent.stderr);
          assert.equal(sent.stdout.trim(), "OK blink 2 Hz on 20 devices");
          // Reported before send returned: the broker already holds every new state.
          const list = await fleetCli(broker.url, ["list", "--json"]);
          const texts = (JSON.parse(list.stdout) as { text: string }[]).map((d) => d.text);
          assert.deepEqual(texts, ids.map(() => "blink 2 Hz"));
          await Promise.all(ids.map(async (id) => {
            const edges = await waitForTraceEdges(servers.get(id)!.tracePath!, 9, {
              from: before.get(id)!,
              ms: 20_000,
            });
            const spacing = medianSpacing(edges.slice(0, 9));
            const all = edges.map((e) => e.t - edges[0].t).join(", ");
            assert.ok(Math.abs(spacing - 250) < 40, `${id}: edges ${spacing} ms apart: ${all}`);
          }));
          await watchOut.waitFor(/ dev07 online blink 2 Hz \(by /, 10_000);
        });

        await t.step("a group command reaches exactly its group", async () => {
          const off = await fleetCli(broker.url, ["send", "all", "off"]);
          assert.equal(off.code, 0, off.stderr);
          const groupA = ids.filter((id) => groupOf(id) === "a");
          const groupB = ids.filter((id) => groupOf(id) === "b");
          // Off: each trace ends low (send came back once each device reported it).
          const before = new Map<string, number>();
          for (const id of ids) {
            const edges = await servers.get(id)!.trace();
            assert.equal(edges.at(-1)?.level ?? false, false, `${id} is not off`);
            before.set(id, edges.length);
          }
          const on = await fleetCli(broker.url, ["send", "group:a", "on"]);
          assert.equal(on.code, 0, on.stderr);
          assert.equal(on.stdout.trim(), "OK on on 10 devices");
          // Group b answers a command sent after group a's: it has had every message before it.
          const bOff = await fleetCli(broker.url, ["send", "group:b", "off"]);
          assert.equal(bOff.code, 0, bOff.stderr);
          for (const id of groupA) {
            const edges = await waitForTraceEdges(servers.get(id)!.tracePath!, 1, {
              from: before.get(id)!,
            });
            assert.equal(edges.at(-1)!.level, true, `${id} is not on`);
          }
          for (const id of groupB) {
            assert.equal(await edgesOf(id), before.get(id), `${id} (group b) changed`);
          }
          const list = JSON.parse((await fleetCli(broker.url, ["list", "--json"])).stdout) as {
            id: string;
            text: string;
          }[];
          for (const d of list) assert.equal(d.text, groupOf(d.id) === "a" ? "on" : "off", d.id);
        });

        await t.step(
          "a command the devices refuse: their errors, exit 1, nothing applied",
          async () => {
            const before = new Map(
              await Promise.all(ids.map(async (id) => [id, await edgesOf(id)] as const)),
            );
            const bad = await fleetCli(broker.url, ["send", "all", "blink", "9999"]);
            assert.equal(bad.code, 1);
            assert.equal(bad.stdout, "");
            assert.match(
              bad.stderr,
              /^ledctl fleet send: 20 of 20 devices did not apply "blink 9999":$/m,
            );
            for (const id of ids) {
              assert.match(bad.stderr, new RegExp(`^  ${id}: ERR \\S+ .*9999`, "m"));
            }
            for (const id of ids) {
              assert.equal(await edgesOf(id), before.get(id), id);
            }
          },
        );
      } finally {
        try {
          watch.kill("SIGINT");
        } catch { /* exited */ }
        const { code } = await watch.status;
        await Promise.all([watchOut.done, watchErr.done]);
        assert.equal(code, 0, `fleet watch on Ctrl-C: exit ${code}\n${watchErr.all.join("\n")}`);
      }

      await t.step("kill -9 of one device: offline in list, skipped by send all", async () => {
        await servers.get("dev05")!.stop("SIGKILL");
        await fleet.until("dev05 offline", () => fleet.online.get("dev05") === false, 30_000);
        const list = await fleetCli(broker.url, ["list"]);
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout, /^dev05 +offline +on +a +\d+ s ago$/m);
        assert.match(list.stdout, /^20 devices, 19 online$/m);
        const sent = await fleetCli(broker.url, ["send", "all", "blink", "5"]);
        assert.equal(sent.code, 0, sent.stderr);
        assert.equal(
          sent.stdout.trim(),
          "OK blink 5 Hz on 19 devices (skipped, not online: dev05)",
        );
        // Named on its own, an offline device is a failure: nothing is sent.
        const one = await fleetCli(broker.url, ["send", "dev05", "off"]);
        assert.equal(one.code, 1);
        assert.equal(one.stderr, 'ledctl fleet: "dev05" is offline: nothing sent\n');
      });

      await t.step("an unknown target: one line, exit 1", async () => {
        const nobody = await fleetCli(broker.url, ["send", "dev99", "on"]);
        assert.equal(nobody.code, 1);
        assert.equal(
          nobody.stderr,
          'ledctl fleet: no device "dev99" on the broker (ledctl fleet list shows the devices)\n',
        );
        const noGroup = await fleetCli(broker.url, ["send", "group:c", "on"]);
        assert.equal(noGroup.code, 1);
        assert.match(noGroup.stderr, /^ledctl fleet: no device in group "c" on the broker/);
      });
    } finally {
      await Promise.all([...servers.values()].map((s) => s[Symbol.asyncDispose]()));
      await fleet.close();
    }
  },
});

Deno.test({
  name: "fleet: usage mistakes exit 2, before any broker is tried",
  ignore,
  async fn() {
    // Port 1: nothing listens there; a usage check that came after connecting would say exit 1.
    const url = "mqtt://127.0.0.1:1";
    for (
      const [args, re] of [
        [["send", "all"], /say what to send to all/],
        [["send"], /say whom and what to send/],
        [["send", "Bad!", "on"], /device id "Bad!" must be/],
        [[], /say what to do/],
        [["dance"], /unknown action "dance"/],
        [["watch", "--json"], /--json is for fleet list/],
      ] as const
    ) {
      const r = await fleetCli(url, [...args]);
      assert.equal(r.code, 2, `fleet ${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const inUrl = await runLedctl([
      "fleet",
      "--mqtt",
      "mqtt://dev:s3cret-pass@127.0.0.1:1",
      "list",
    ]);
    assert.equal(inUrl.code, 2);
    assert.match(inUrl.stderr, /do not put a password in the URL/);
    assert.doesNotMatch(inUrl.stderr, /s3cret-pass/);
  },
});

Deno.test({
  name: "fleet: no broker, a wrong password, an untrusted certificate: one line each, exit 1",
  ignore,
  async fn() {
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    const none = await fleetCli(`mqtt://127.0.0.1:${port}`, ["list"]);
    assert.equal(none.code, 1);
    assert.equal(
      none.stderr,
      `ledctl fleet: cannot reach the MQTT broker at mqtt://127.0.0.1:${port}: ` +
        `connection refused (is it running? is --mqtt right?)\n`,
    );

    {
      await using broker = await Mosquitto.start({ users: { dev: "s3cret-pass" } });
      const file = await Deno.makeTempFile();
      try {
        await Deno.writeTextFile(file, "wrong-pass\n");
        const wrong = await fleetCli(broker.url, [
          "--mqtt-user",
          "dev",
          "--mqtt-password-file",
          file,
          "list",
        ]);
        assert.equal(wrong.code, 1);
        assert.equal(wrong.stderr.split("\n").length, 2, wrong.stderr); // one line
        assert.match(wrong.stderr, /refused the user name or password/);
        assert.doesNotMatch(wrong.stderr, /wrong-pass/);
        await Deno.writeTextFile(file, "s3cret-pass\n");
        const right = await fleetCli(broker.url, [
          "--mqtt-user",
          "dev",
          "--mqtt-password-file",
          file,
          "list",
        ]);
        assert.equal(right.code, 0, right.stderr);
        assert.match(right.stdout, /^no device under ledctl\//);
        const env = await runLedctl(["fleet", "--mqtt", broker.url, "--mqtt-user", "dev", "list"], {
          LEDCTL_MQTT_PASSWORD: "s3cret-pass",
        });
        assert.equal(env.code, 0, env.stderr);
      } finally {
        await Deno.remove(file);
      }
    }

    {
      await using broker = await Mosquitto.start({ tls: true });
      const untrusted = await fleetCli(broker.url, ["list"]);
      assert.equal(untrusted.code, 1);
      assert.equal(untrusted.stderr.split("\n").length, 2, untrusted.stderr);
      assert.match(untrusted.stderr, /certificate .* is not trusted .*--mqtt-ca FILE/);
      const trusted = await fleetCli(broker.url, ["--mqtt-ca", broker.caFile!, "list"]);
      assert.equal(trusted.code, 0, trusted.stderr);
    }
  },
});

Deno.test({
  name: "fleet watch rides out a broker restart: it reconnects and prints the changes after it",
  ignore,
  async fn() {
    await using broker = await Mosquitto.start();
    await using device = await ServerProcess.start(["--mqtt", broker.url, "--id", "solo"]);
    const watch = ledctlCommand(["fleet", "--mqtt", broker.url, "watch"]).spawn();
    const out = new Lines(watch.stdout);
    const err = new Lines(watch.stderr);
    try {
      await out.waitFor(/ solo online off\b/, 30_000);
      const before = device.stdout.all.length;
      await broker.restart();
      // The device and the watcher both come back on their own.
      await device.stdout.waitFor(/mqtt: connected again to /, 30_000, before);
      // The restarted broker kept nothing: wait until the device has said it is online again.
      const fleet = await Fleet.connect(broker.url);
      try {
        await fleet.until("solo online again", () => fleet.online.get("solo") === true);
      } finally {
        await fleet.close();
      }
      const r = await fleetCli(broker.url, ["send", "solo", "blink", "3"]);
      assert.equal(r.code, 0, r.stderr);
      await out.waitFor(/ solo online blink 3 Hz\b/, 30_000);
    } finally {
      watch.kill("SIGINT");
      const { code } = await watch.status;
      await Promise.all([out.done, err.done]);
      assert.equal(code, 0, err.all.join("\n"));
    }
  },
});
