import { equal, match } from "node:assert/strict";
import { doctor, formatFindings } from "./doctor.ts";
import { runLedctl } from "../tests/harness.ts";

Deno.test("findings are aligned, with the fix under the text, and no color when told", () => {
  const text = formatFindings([
    { status: "ok", topic: "board", text: "Raspberry Pi 4 Model B" },
    { status: "fail", topic: "page size", text: "16 KB pages", fix: "use kernel8.img" },
    { status: "warn", topic: "access", text: "root" },
    { status: "info", topic: "LED", text: "mock" },
  ], false);
  equal(
    text,
    [
      "  ✓ board      Raspberry Pi 4 Model B",
      "  ✗ page size  16 KB pages",
      "               → use kernel8.img",
      "  ! access     root",
      "  · LED        mock",
    ].join("\n"),
  );
  equal(text.includes("\x1b["), false);
  equal(formatFindings([{ status: "ok", topic: "a", text: "b" }], true), "  \x1b[32m✓\x1b[0m a  b");
});

Deno.test("doctor --help exits 0 and a bad option exits 2", async () => {
  const log = console.log, error = console.error;
  let out = "";
  console.log = (s: string) => (out += s);
  console.error = (s: string) => (out += s);
  try {
    equal(await doctor(["--help"]), 0);
    equal(out.startsWith("Usage: ledctl doctor [--led URI]"), true);
    equal(await doctor(["--frobnicate"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
});

Deno.test("doctor says which TCP engine serve would run, and why", async () => {
  const r = await runLedctl(["doctor", "--led", "mock"]);
  match(r.stdout, /TCP engine {2}(node|epoll): \S/);
});
