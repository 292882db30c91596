/**
 * `ledctl doctor [--led URI]`: checks this machine for driving the LED —
 * the board and its kernel page size, the GPIO chips, the chosen pin (free?
 * the serial console's?), permissions — and says what to do about each
 * problem. Exit code 0 when nothing failed, 1 otherwise, 2 for bad usage.
 *
 * @module
 */
import { chooseEngine } from "../server/tcp/mod.ts";
import { parseArgs } from "node:util";
import { diagnose, type Finding, gatherFacts } from "../hal/gpio/diagnose.ts";
import { defaultLedUri } from "../hal/select.ts";
import { checkBoardLink } from "../hal/stm32/diagnose.ts";

export type { Finding };

/** Help text of `ledctl doctor`. */
export const DOCTOR_HELP = `Usage: ledctl doctor [--led URI]

Checks this machine for driving the LED and says what to do about each
problem: the board and its kernel page size, the GPIO chips, whether the
pin is free and is not the serial console's, and access rights. For an
STM32 link (serial: or tcp:), whether the ledctl firmware answers on it.

Options:
  --led URI     the LED to check (default: gpio:BOARD8 on a Raspberry Pi, mock elsewhere)
  -h, --help    this help

Exit code: 0 when every check passed (warnings allowed), 1 when one failed.

Examples:
  ledctl doctor
  ledctl doctor --led gpio:GPIO17
  ledctl doctor --led "gpio:BOARD8?chip=pinctrl-bcm2711"
  ledctl doctor --led serial:/dev/ttyACM0       (an STM32 board running firmware/)
  ledctl doctor --led tcp:192.168.1.50:7000
`;

const MARK: Record<Finding["status"], string> = { ok: "✓", warn: "!", fail: "✗", info: "·" };
const COLOR: Record<Finding["status"], number> = { ok: 32, warn: 33, fail: 31, info: 2 };

/**
 * Lays findings out for a terminal: one aligned line each, the fix on the
 * next line after `→`; colored only when `color`.
 *
 * @example
 * ```ts
 * import { formatFindings } from "./doctor.ts";
 * console.log(formatFindings([{ status: "ok", topic: "page size", text: "4 KB" }], false));
 * // "  ✓ page size   4 KB"
 * ```
 */
export function formatFindings(findings: Finding[], color: boolean): string {
  const width = Math.max(...findings.map((f) => f.topic.length), 0);
  const paint = (s: string, code: number) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`  ${paint(MARK[f.status], COLOR[f.status])} ${f.topic.padEnd(width)}  ${f.text}`);
    if (f.fix) lines.push(`  ${" ".repeat(width + 2)}  ${paint("→ " + f.fix, 2)}`);
  }
  return lines.join("\n");
}

/**
 * Runs the checks and prints them; returns the exit code.
 *
 * @example
 * ```ts
 * import { doctor } from "./doctor.ts";
 * Deno.exitCode = await doctor(["--led", "gpio:GPIO17"]);
 * ```
 */
export async function doctor(args: string[]): Promise<number> {
  let led: string | undefined;
  try {
    const { values } = parseArgs({
      args,
      options: { led: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(DOCTOR_HELP);
      return 0;
    }
    led = values.led;
  } catch (e) {
    console.error(`ledctl doctor: ${(e as Error).message}\n\n${DOCTOR_HELP}`);
    return 2;
  }
  led ??= defaultLedUri();
  let findings: Finding[];
  if (/^(serial|tcp):/i.test(led)) {
    // A board link: the check is whether our firmware answers on it.
    const r = await checkBoardLink(led);
    findings = [{ status: r.ok ? "ok" : "fail", topic: "board link", text: r.detail, fix: r.fix }];
  } else {
    findings = diagnose(gatherFacts(led));
  }
  // Which TCP engine `serve` would run here, and why (the same choice serve makes).
  const tcp = chooseEngine("auto");
  findings.push({ status: "ok", topic: "TCP engine", text: `${tcp.engine}: ${tcp.why}` });
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const failed = findings.filter((f) => f.status === "fail").length;
  const warned = findings.filter((f) => f.status === "warn").length;
  console.log(`ledctl doctor — checking ${led}\n`);
  console.log(formatFindings(findings, color));
  const verdict = failed
    ? `${failed} problem${failed > 1 ? "s" : ""} to fix (see → above)`
    : warned
    ? `ready, with ${warned} warning${warned > 1 ? "s" : ""}`
    : "ready";
  console.log(`\n${verdict}`);
  return failed ? 1 : 0;
}
