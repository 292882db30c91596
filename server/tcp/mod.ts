/**
 * The TCP engines of wire protocol v1 behind one small interface, and the
 * one place that picks one. Every engine runs the same protocol session
 * (`../session.ts`), so clients cannot tell them apart except by speed.
 *
 * | engine | where | why |
 * |---|---|---|
 * | `epoll` | Linux x86-64 and aarch64, with `--allow-ffi` | libc's epoll from a worker: ~0.95× a C server, fair at 1,000 clients, the main thread's timers undisturbed |
 * | `node` | everywhere | `node:net`: fair under load, portable; the fallback |
 *
 * @module
 */
import type { LedService } from "../../core/led_service.ts";
import { EpollServer, epollSupport } from "./epoll.ts";
import { TcpServer, type TcpServerOptions } from "./node_net.ts";

/** A listening TCP server, whatever its engine. */
export interface TcpServerHandle {
  /** The port actually bound. */
  readonly port: number;
  /** The address actually bound. */
  readonly hostname: string;
  /** Stops listening and closes every connection (FIN). Idempotent. */
  close(): Promise<void>;
}

/** The engines; `auto` picks the best one this system allows. */
export type EngineName = "auto" | "epoll" | "node";

/** Every engine name `--tcp-engine` accepts. */
export const ENGINE_NAMES: readonly EngineName[] = ["auto", "epoll", "node"];

/** What {@linkcode listenTcp} started, and why that engine. */
export interface TcpListening {
  /** The server. */
  readonly server: TcpServerHandle;
  /** The engine that runs. */
  readonly engine: Exclude<EngineName, "auto">;
  /** Why it was chosen, for the start-up line and `doctor`. */
  readonly why: string;
}

/**
 * Which engine `name` means on this system, and why. `auto` is `epoll`
 * where it can run (Linux x86-64 or aarch64, FFI allowed, libc loads),
 * `node` elsewhere. Throws when `epoll` is asked for and cannot run: a
 * silent fallback would hide it.
 *
 * @example
 * ```ts
 * import { chooseEngine } from "./mod.ts";
 * chooseEngine("auto"); // { engine: "epoll", why: "Linux x86_64 with --allow-ffi" }
 * ```
 */
export function chooseEngine(
  name: EngineName,
): { engine: Exclude<EngineName, "auto">; why: string } {
  if (name === "node") return { engine: "node", why: "asked for (--tcp-engine node)" };
  const epoll = epollSupport();
  if (name === "epoll") {
    if (!epoll.ok) {
      throw new Error(
        `--tcp-engine epoll cannot run here: ${epoll.why}; use --tcp-engine auto or node`,
      );
    }
    return { engine: "epoll", why: `asked for (--tcp-engine epoll); ${epoll.why}` };
  }
  return epoll.ok ? { engine: "epoll", why: epoll.why } : { engine: "node", why: epoll.why };
}

/**
 * Starts the TCP server on the chosen engine. Rejects as
 * {@linkcode TcpServer.listen} does, or when `epoll` is asked for and
 * cannot run here.
 *
 * @example
 * ```ts
 * import { listenTcp } from "./mod.ts";
 * import { LedService } from "../../core/led_service.ts";
 * import { openLed } from "../../hal/select.ts";
 * const service = new LedService(await openLed("mock"));
 * const { server, engine, why } = await listenTcp(service, { port: 0 });
 * console.log(engine, why, server.port);
 * await server.close();
 * ```
 */
export async function listenTcp(
  service: LedService,
  options: TcpServerOptions & { engine?: EngineName } = {},
): Promise<TcpListening> {
  const { engine, why } = chooseEngine(options.engine ?? "auto");
  const server = engine === "epoll"
    ? await EpollServer.listen(service, options)
    : await TcpServer.listen(service, options);
  return { server, engine, why };
}
