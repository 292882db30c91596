/**
 * A real Mosquitto broker for the MQTT tests (Debian's `mosquitto`), on a
 * free loopback port with a generated config: anonymous by default, or with
 * a password file (`mosquitto_passwd`), or TLS with a CA and server
 * certificate made by `openssl` for the test. Ready when its log says so;
 * `restart()` keeps the port, so clients reconnect to the same URL.
 *
 * @example
 * ```ts
 * import { Mosquitto } from "./mosquitto.ts";
 * await using broker = await Mosquitto.start({ users: { dev: "s3cret-pass" } });
 * console.log(broker.url); // mqtt://127.0.0.1:PORT
 * ```
 *
 * @module
 */
import { Lines } from "./harness.ts";

/** Options of {@linkcode Mosquitto.start}. */
export interface MosquittoOptions {
  /** Users and passwords; none: anonymous clients are allowed. */
  users?: Record<string, string>;
  /** Serve TLS (mqtts) with a certificate for 127.0.0.1/localhost signed by a test CA. */
  tls?: boolean;
}

/** Whether this machine has Mosquitto (and openssl for TLS). */
export function haveMosquitto(): boolean {
  try {
    Deno.statSync("/usr/sbin/mosquitto");
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A free TCP port on 127.0.0.1 (listened on for a moment, then closed). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running Mosquitto. */
export class Mosquitto implements AsyncDisposable {
  readonly dir: string;
  readonly port: number;
  readonly tls: boolean;
  /** The CA certificate clients must trust (TLS only). */
  readonly caFile?: string;
  #child?: Deno.ChildProcess;
  #log?: Lines;

  private constructor(dir: string, port: number, tls: boolean) {
    this.dir = dir;
    this.port = port;
    this.tls = tls;
    if (tls) this.caFile = `${dir}/ca.crt`;
  }

  /** `mqtt://127.0.0.1:PORT` or `mqtts://localhost:PORT`. */
  get url(): string {
    return this.tls ? `mqtts://localhost:${this.port}` : `mqtt://127.0.0.1:${this.port}`;
  }

  /** The broker's output so far. */
  get log(): string[] {
    return this.#log?.all ?? [];
  }

  /**
   * The first log line at index ≥ `since` of {@linkcode log} (seen or to
   * come) matching `re`, within `ms`; resolves with its index.
   */
  async waitForLog(re: RegExp, ms = 10_000, since = 0): Promise<number> {
    await this.#log!.waitFor(re, ms, since);
    return this.log.findIndex((l, i) => i >= since && re.test(l));
  }

  /** Writes the config (and password file, certificates) and starts the broker. */
  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = await Deno.makeTempDir({ prefix: "ledctl-mosquitto-" });
    const m = new Mosquitto(dir, freePort(), options.tls ?? false);
    const conf = [
      `listener ${m.port} 127.0.0.1`,
      "persistence false",
      "log_dest stderr", // unbuffered: the ready line arrives at once
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      "connection_messages true",
      "max_keepalive 60",
      "set_tcp_nodelay true", // replies to a client that also publishes: no 40 ms Nagle wait
    ];
    if (Deno.uid() === 0) conf.push("user root"); // read the test's own files
    if (options.users) {
      let first = true;
      for (const [user, password] of Object.entries(options.users)) {
        await run(
          "mosquitto_passwd",
          [...(first ? ["-c"] : []), "-b", "passwd", user, password],
          dir,
        );
        first = false;
      }
      conf.push("allow_anonymous false", `password_file ${dir}/passwd`);
    } else {
      conf.push("allow_anonymous true");
    }
    if (m.tls) {
      await makeCertificates(dir);
      conf.push(
        `cafile ${dir}/ca.crt`,
        `certfile ${dir}/server.crt`,
        `keyfile ${dir}/server.key`,
      );
    }
    await Deno.writeTextFile(`${dir}/mosquitto.conf`, conf.join("\n") + "\n");
    await m.#spawn();
    return m;
  }

  async #spawn(): Promise<void> {
    this.#child = new Deno.Command("/usr/sbin/mosquitto", {
      args: ["-c", `${this.dir}/mosquitto.conf`],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#log = new Lines(this.#child.stderr);
    const out = new Lines(this.#child.stdout);
    await Promise.race([
      this.#log.waitFor(/mosquitto version \S+ running/),
      this.#child.status.then((s) => {
        throw new Error(
          `mosquitto exited (${s.code}): ${[...this.#log!.all, ...out.all].join("\n")}`,
        );
      }),
    ]);
  }

  /** Kills the broker (SIGKILL: no goodbye to clients) and waits for its exit. */
  async kill(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#log?.done;
    this.#child = undefined;
  }

  /** Kills it and starts it again on the same port, with the same config. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** A test CA, and a server certificate for localhost and 127.0.0.1 signed by it. */
async function makeCertificates(dir: string): Promise<void> {
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=ledctl test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ], dir);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ], dir);
  await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "server.crt",
  ], dir);
}
