/**
 * The files in packaging/: the systemd unit passes `systemd-analyze verify`
 * without a warning (and a broken copy does not), the udev rule is well
 * formed (`udevadm verify` where this udev has it, systemd ≥ 253; else the
 * rule syntax checked here: `KEY=="v"` matches, `KEY="v"` assignments,
 * known keys only), and the example config sets nothing as shipped while
 * each of its commented lines is a setting the real `ledctl config` accepts.
 */
import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { runLedctl } from "./harness.ts";

const root = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();
const UNIT = `${root}packaging/ledctl.service`;
const RULES = `${root}packaging/99-ledctl-gpio.rules`;
const CONFIG = `${root}packaging/ledctl.toml`;

async function can(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false; // not installed
  }
}

const hasAnalyze = await can("systemd-analyze", ["--version"]);

/** `systemd-analyze verify` on `text` written as ledctl.service: its exit code and messages. */
async function verifyUnit(text: string): Promise<{ code: number; messages: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/ledctl.service`;
    await Deno.writeTextFile(file, text);
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", "--man=no", file],
      env: { SYSTEMD_LOG_COLOR: "0", SYSTEMD_PAGER: "" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, messages: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "packaging/ledctl.service passes systemd-analyze verify, with no warning" +
    (hasAnalyze ? "" : " [unavailable: no systemd-analyze: sudo scripts/install-deps.sh]"),
  ignore: !hasAnalyze,
  async fn() {
    const unit = await Deno.readTextFile(UNIT);
    for (
      const line of [
        "ExecStart=/usr/local/bin/ledctl serve --config /etc/ledctl/ledctl.toml",
        "StateDirectory=ledctl",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "DevicePolicy=closed",
        "DeviceAllow=char-gpiochip rw",
        "DeviceAllow=char-ttyACM rw",
        "DeviceAllow=char-ttyUSB rw",
        "SupplementaryGroups=gpio dialout",
        "Restart=on-failure",
      ]
    ) assert.ok(unit.split("\n").includes(line), `the unit lacks ${line}`);
    assert.match(unit, /^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$/m);
    // verify wants ExecStart's program to exist: a copy runs /bin/true instead.
    const runnable = unit.replace(
      /^ExecStart=\/usr\/local\/bin\/ledctl /m,
      "ExecStart=/bin/true ",
    );
    assert.notEqual(runnable, unit);
    const good = await verifyUnit(runnable);
    assert.deepEqual(good, { code: 0, messages: "" });
    // The check can fail: a bad value, an unknown key, a missing program.
    for (
      const [bad, want] of [
        [runnable.replace("ProtectSystem=strict", "ProtectSystem=bogus"), /protect system/i],
        [runnable.replace("PrivateTmp=yes", "PrivateTemp=yes"), /Unknown key/i],
        [unit, /\/usr\/local\/bin\/ledctl/],
      ] as const
    ) {
      const r = await verifyUnit(bad);
      assert.ok(r.code !== 0 || r.messages !== "", "a broken unit passed");
      assert.match(r.messages, want);
    }
  },
});

/** The udev match keys (`==`/`!=` only) and assignment keys (`=`, `+=`, `-=`, `:=`). */
const MATCH_KEYS = new Set([
  "ACTION",
  "DEVPATH",
  "KERNEL",
  "KERNELS",
  "NAME",
  "SYMLINK",
  "SUBSYSTEM",
  "SUBSYSTEMS",
  "DRIVER",
  "DRIVERS",
  "ATTR",
  "ATTRS",
  "ENV",
  "TAG",
  "TAGS",
  "TEST",
  "PROGRAM",
  "RESULT",
]);
const ASSIGN_KEYS = new Set([
  "NAME",
  "SYMLINK",
  "OWNER",
  "GROUP",
  "MODE",
  "ATTR",
  "ENV",
  "TAG",
  "RUN",
  "LABEL",
  "GOTO",
  "IMPORT",
  "OPTIONS",
]);

/**
 * The problems of a udev rules text: each rule line is comma-separated
 * `KEY[{attr}]OP"value"` pairs, match keys with `==`/`!=`, assignment keys
 * with `=`/`+=`/`-=`/`:=`, MODE an octal mode.
 */
function udevProblems(text: string): string[] {
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    for (const pair of line.split(/,\s*/)) {
      const m = /^([A-Z_]+)(\{[^}]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$/.exec(pair);
      if (!m) {
        problems.push(`line ${i + 1}: not KEY=="value" or KEY="value": ${pair}`);
        continue;
      }
      const [, key, , op, value] = m;
      const matching = op === "==" || op === "!=";
      if (matching && !MATCH_KEYS.has(key)) problems.push(`line ${i + 1}: ${key} is not a match`);
      if (!matching && !ASSIGN_KEYS.has(key)) {
        problems.push(`line ${i + 1}: ${key} cannot be assigned`);
      }
      if (key === "MODE" && !/^0?[0-7]{3}$/.test(value)) {
        problems.push(`line ${i + 1}: MODE "${value}" is not octal`);
      }
    }
  });
  return problems;
}

const hasUdevVerify = await can("udevadm", ["verify", "--help"]);

Deno.test("packaging/99-ledctl-gpio.rules gives group gpio the GPIO chips, mode 0660", async () => {
  const text = await Deno.readTextFile(RULES);
  const rules = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  assert.deepEqual(rules, [
    'SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"',
  ]);
  assert.deepEqual(udevProblems(text), []);
  // The check can fail.
  assert.equal(udevProblems('SUBSYSTEM="gpio", GROUP=="gpio"').length, 2);
  assert.equal(udevProblems("KERNEL==gpiochip*").length, 1);
  assert.equal(udevProblems('MODE="rw"').length, 1);
  if (hasUdevVerify) {
    const out = await new Deno.Command("udevadm", { args: ["verify", RULES], stderr: "piped" })
      .output();
    assert.equal(out.code, 0, dec.decode(out.stderr));
  }
});

Deno.test("packaging/ledctl.toml sets nothing as shipped; each commented line is a valid setting", async () => {
  const text = await Deno.readTextFile(CONFIG);
  assert.deepEqual(Object.keys(parseToml(text)), [], "as shipped, the file sets nothing");
  const commented = [...text.matchAll(/^# ([a-z][a-z-]*) = /gm)].map((m) => m[1]);

  // Every option serve's --help lists is there, and nothing else.
  const help = await runLedctl(["serve", "--help"]);
  const options = [...help.stdout.matchAll(/^ {1,6}(?:-\w, )?--([a-z][a-z-]*)/gm)].map((m) => m[1])
    .filter((o) => !["help", "config", "token"].includes(o)); // token: use token-file
  assert.deepEqual([...commented].sort(), [...options].sort());

  // Uncommented, the real ledctl accepts every line, and takes each from the file.
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/ledctl.toml`;
    await Deno.writeTextFile(file, text.replace(/^# ([a-z][a-z-]* = )/gm, "$1"));
    const all = await runLedctl(["config", "--config", file]);
    assert.equal(all.code, 0, all.stderr);
    for (const key of commented) {
      // From the file, unless the test harness's environment sets it (LEDCTL_*).
      assert.match(
        all.stdout,
        new RegExp(`^${key} = .*# (${file}:\\d+|LEDCTL_[A-Z_]+)$`, "m"),
        all.stdout,
      );
    }
    const shipped = await runLedctl(["config", "--config", CONFIG]);
    assert.equal(shipped.code, 0, shipped.stderr);
    assert.doesNotMatch(shipped.stdout, /ledctl\.toml:\d+/, "a setting came from the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
