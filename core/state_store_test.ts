/**
 * The state file (core/state_store.ts) on a real file system.
 *
 * Bad inputs tried: a missing file, an empty file, text that is not JSON,
 * JSON of another shape, a frequency out of range, a directory where the
 * file should be, a state directory that cannot be created.
 */
import assert from "node:assert/strict";
import { loadState, StateStore } from "./state_store.ts";

Deno.test("a saved state reads back; the last of many saves wins; no temporary file stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/state.json`; // the directory is made on first save
    const store = new StateStore(path);
    for (let i = 1; i <= 200; i++) store.save({ mode: "blink", hz: i / 10 }, `client #${i}`);
    store.save({ mode: "on" }, "client #201");
    await store.flush();
    const saved = await loadState(path);
    assert.ok(saved.ok);
    assert.deepEqual(saved.state, { mode: "on" });
    assert.equal(saved.by, "client #201");
    const names = [];
    for await (const e of Deno.readDir(`${dir}/sub`)) names.push(e.name);
    assert.deepEqual(names, ["state.json"]);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing, empty, corrupt or foreign file is reported, never thrown", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await loadState(`${dir}/none.json`);
    assert.deepEqual(missing, { ok: false, missing: true, why: "no file" });
    const cases: [string, string][] = [
      ["", "not valid JSON"],
      ['{"version":1,"state":{"mode":"blink"', "not valid JSON"],
      ['{"version":2,"state":{"mode":"on"}}', "not a ledctl state file (version 1)"],
      ['{"version":1,"state":{"mode":"blink","hz":1e9}}', "not a ledctl state file (version 1)"],
      ['{"version":1,"state":{"mode":"dance"}}', "not a ledctl state file (version 1)"],
      ["[1,2,3]", "not a ledctl state file (version 1)"],
    ];
    for (const [text, why] of cases) {
      await Deno.writeTextFile(`${dir}/s.json`, text);
      assert.deepEqual(await loadState(`${dir}/s.json`), { ok: false, missing: false, why }, text);
    }
    await Deno.mkdir(`${dir}/adir`);
    const isDir = await loadState(`${dir}/adir`);
    assert.equal(isDir.ok, false);
    assert.equal(!isDir.ok && isDir.missing, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a write that fails is one warning naming the file and what to do, and the next save retries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    const warnings: string[] = [];
    // A path under a regular file: mkdir fails with ENOTDIR.
    const store = new StateStore(`${dir}/file/state.json`, { warn: (l) => warnings.push(l) });
    store.save({ mode: "on" }, "a");
    await store.flush();
    store.save({ mode: "off" }, "b");
    await store.flush();
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /cannot save the LED state to .*\/file\/state\.json/);
    assert.match(warnings[0], /pick another --state-file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
