/**
 * `ledctl doctor`'s check of a board link: open the serial port or TCP
 * connection, check that the ledctl firmware answers, read its LED state —
 * without changing it — and, when something fails, say what to do.
 *
 * @module
 */
import { parseReply } from "../../protocol/reply.ts";
import { HalError } from "../types.ts";
import { LineChannel } from "./lines.ts";
import { boardConnector } from "./mod.ts";
import { DEFAULT_BAUD } from "./serial.ts";
import { syncBoard } from "./sync.ts";

/** What {@linkcode checkBoardLink} found. */
export interface BoardLinkCheck {
  /** True when the board answered in the protocol. */
  ok: boolean;
  /** What was found, e.g. `the board answers on /dev/ttyACM0 (115200 baud): LED off`. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

const REPLY_MS = 2000;

function fixFor(scheme: "serial" | "tcp", target: string, e: HalError): string {
  if (scheme === "serial") {
    switch (e.kind) {
      case "permission":
        return "sudo usermod -aG dialout $USER, then log out and in again (or reboot)";
      case "unavailable":
        return /not a serial port/.test(e.message)
          ? "give the board's serial device, e.g. --led serial:/dev/ttyACM0"
          : "plug the board's ST-LINK USB connector (not the user USB) into this computer; " +
            "ls /dev/ttyACM* and dmesg | tail show which device appeared";
      case "busy":
        return `stop the other program using ${target} (ledctl serve, screen, minicom; ` +
          `ModemManager: sudo systemctl stop ModemManager); fuser -v ${target} names it`;
      case "timeout":
        return "flash the ledctl firmware (docs/hardware.md), then reset the board (black button)";
      case "io":
        return `check the baud rate: the firmware uses ${DEFAULT_BAUD} ` +
          `(--led serial:${target}?baud=${DEFAULT_BAUD})`;
    }
  }
  switch (e.kind) {
    case "timeout":
      return "check the Ethernet cable and that this computer is on the board's network " +
        "(the firmware's static IP is in firmware/app/app_config.h; try ping)";
    case "unavailable":
      return /refused/.test(e.message)
        ? "the board is reachable but its LED listener is not: flash the ledctl firmware and " +
          "check the port (7000)"
        : "check the address in --led tcp:HOST:7000 and the network route (ip route get HOST)";
    case "busy":
      return "the board serves 4 clients at once: stop one (another ledctl serve?)";
    default:
      return "is the ledctl firmware running on that address? reset the board and retry";
  }
}

/**
 * Checks `serial:<device>[?baud=N]` or `tcp:<host>:<port>`: the link opens,
 * the firmware answers, and its LED state is read with `status` (the state
 * is not changed). Bounded by the connect (3 s) and reply (2 s) timeouts.
 * Never throws.
 *
 * Wire into `ledctl doctor` as one finding: `ok` → ok, else a failure with
 * `detail` and `fix`.
 *
 * @example
 * ```ts
 * import { checkBoardLink } from "./diagnose.ts";
 * const r = await checkBoardLink("serial:/dev/ttyACM0");
 * console.log(r.ok ? r.detail : `${r.detail}\n  fix: ${r.fix}`);
 * ```
 */
export async function checkBoardLink(uri: string): Promise<BoardLinkCheck> {
  const q = uri.indexOf("?");
  const head = q === -1 ? uri : uri.slice(0, q);
  const params = new URLSearchParams(q === -1 ? "" : uri.slice(q + 1));
  const colon = head.indexOf(":");
  const scheme = head.slice(0, colon).toLowerCase();
  const target = head.slice(colon + 1);
  if ((scheme !== "serial" && scheme !== "tcp") || colon === -1 || target === "") {
    return {
      ok: false,
      detail: `${JSON.stringify(uri)} is not a board link`,
      fix: "use serial:/dev/ttyACM0 (ST-LINK USB) or tcp:192.168.1.50:7000 (Ethernet)",
    };
  }
  let connect;
  try {
    connect = boardConnector(scheme, target, params);
  } catch (e) {
    return { ok: false, detail: (e as Error).message, fix: "see ledctl serve --help for --led" };
  }
  const name = `${scheme}:${target}`;
  const where = scheme === "serial"
    ? `on ${target} (${params.get("baud") ?? DEFAULT_BAUD} baud)`
    : `at ${target}`;
  let ch: LineChannel | undefined;
  try {
    ch = new LineChannel(await connect());
    await syncBoard(ch, { name, timeoutMs: REPLY_MS });
    await ch.send("status");
    const line = await ch.next(REPLY_MS);
    const reply = parseReply(line);
    if (!reply.ok) {
      return {
        ok: false,
        detail: `the board ${where} answered "status" with ${JSON.stringify(line)}`,
        fix: "update the board to the ledctl firmware of this version",
      };
    }
    return { ok: true, detail: `the ledctl firmware answers ${where}: LED ${reply.text}` };
  } catch (e) {
    const err = e instanceof HalError ? e : new HalError("io", (e as Error).message);
    return { ok: false, detail: err.message, fix: fixFor(scheme, target, err) };
  } finally {
    await ch?.close();
  }
}
