/**
 * The web page, rendered on the server from `web/index.html` so that it
 * shows the LED state, the client count and the last form result even with
 * JavaScript off, in French or English.
 *
 * @module
 */
import { formatHz, type LedState } from "../../core/state.ts";
import type { Flash } from "./flash.ts";
import { webText } from "./web_assets.ts";

/** Languages of the page. */
export type Lang = "en" | "fr";

/** What the page shows. */
export interface PageModel {
  /** Language of the text. */
  readonly lang: Lang;
  /** The LED state to show. */
  readonly state: LedState;
  /** TCP clients connected. */
  readonly clients: number;
  /** The LED's description. */
  readonly led: string;
  /** Result of the last form post, if any. */
  readonly flash?: Flash;
  /** True: show the token form instead of the controls. */
  readonly signIn: boolean;
  /** CSP nonce of the page's one inline style element. */
  readonly nonce: string;
  /** True: the server has a fleet (`serve --mqtt`): show the fleet section. Default false. */
  readonly fleet?: boolean;
}

/**
 * The page's language: `?lang=fr|en`, else the first French or English
 * entry of `Accept-Language` by preference, else English.
 *
 * @example
 * ```ts
 * import { pickLanguage } from "./page.ts";
 * pickLanguage(new Request("http://x/", { headers: { "accept-language": "fr-FR,fr;q=0.9,en;q=0.8" } })); // "fr"
 * ```
 */
export function pickLanguage(request: Request): Lang {
  const forced = new URL(request.url).searchParams.get("lang");
  if (forced === "fr" || forced === "en") return forced;
  const header = request.headers.get("accept-language") ?? "";
  const ranked = header.split(",").map((part, i) => {
    const [tag, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find((m) => m)?.[1];
    return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), i };
  }).filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { tag } of ranked) {
    if (tag === "fr" || tag.startsWith("fr-")) return "fr";
    if (tag === "en" || tag.startsWith("en-")) return "en";
  }
  return "en";
}

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./page.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/** What kind of LED the page names, and the words that fill its sentence. */
export interface LedWords {
  /** Picks the subtitle's sentence: `subtitle_<kind>` in `web/strings.json`. */
  readonly kind: "simulated" | "gpio" | "serial" | "tcp" | "other";
  /** The sentence's blanks: `pin` and `gpio`, or `target`. */
  readonly vars: Readonly<Record<string, string>>;
}

/**
 * The LED's description (the driver's, e.g. `mock (trace: …)` or
 * `gpio:/dev/gpiochip0 GPIO14 (BOARD8)`) as a newcomer reads it: which
 * sentence of the page's strings says it, and its blanks.
 *
 * @example
 * ```ts
 * import { ledWords } from "./page.ts";
 * ledWords("mock").kind; // "simulated"
 * ledWords("gpio:/dev/gpiochip0 GPIO14 (BOARD8)").vars; // { pin: "8", gpio: "GPIO14" }
 * ledWords("serial:/dev/ttyACM0").vars; // { target: "/dev/ttyACM0" }
 * ```
 */
export function ledWords(description: string): LedWords {
  if (description === "mock" || description.startsWith("mock ")) {
    return { kind: "simulated", vars: {} };
  }
  const gpio = /^gpio:\S+ (GPIO\d+) \(BOARD(\d+)\)/.exec(description);
  if (gpio) return { kind: "gpio", vars: { pin: gpio[2], gpio: gpio[1] } };
  const board = /^(serial|tcp):(.+)$/.exec(description);
  if (board) return { kind: board[1] as "serial" | "tcp", vars: { target: board[2] } };
  return { kind: "other", vars: { target: description } };
}

type Strings = Record<Lang, Record<string, string>>;
let stringsCache: Strings | undefined;

/**
 * The page's strings (`web/strings.json`), by language.
 *
 * @example
 * ```ts
 * import { pageStrings } from "./page.ts";
 * pageStrings().fr.off; // "Éteindre"
 * ```
 */
export function pageStrings(): Strings {
  return stringsCache ??= JSON.parse(webText("strings.json"));
}

function fill(text: string, vars: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");
}

/**
 * The page's HTML for `model`.
 *
 * @example
 * ```ts
 * import { renderPage } from "./page.ts";
 * const html = renderPage({
 *   lang: "fr", state: { mode: "blink", hz: 2.5 }, clients: 1, led: "mock",
 *   signIn: false, nonce: "abc",
 * });
 * html.includes("Clignote à 2,5 Hz"); // true
 * ```
 */
export function renderPage(model: PageModel): string {
  const all = pageStrings();
  const s = all[model.lang];
  const t = (key: string, vars: Record<string, string> = {}) => fill(s[key] ?? key, vars);
  const { state } = model;
  const hzText = state.mode === "blink"
    ? (model.lang === "fr" ? formatHz(state.hz).replace(".", ",") : formatHz(state.hz))
    : "";
  const stateLabel = state.mode === "blink"
    ? t("state_blink", { hz: hzText })
    : t(`state_${state.mode}`);
  const n = model.clients;
  const clientsLabel = n === 0
    ? t("clients_0")
    : n === 1
    ? t("clients_1")
    : t("clients_n", { n: String(n) });
  const flash = model.flash;
  const formFlash = flash && flash.form !== "login" ? flash : undefined;
  const loginFlash = flash && flash.form === "login" ? flash : undefined;
  // Signed out: the page shows nothing about the LED (http.ts passes neutral values too).
  const locked = model.signIn;
  const words = ledWords(model.led);
  const vars: Record<string, string> = {
    ...s,
    lang: model.lang,
    nonce: model.nonce,
    period: state.mode === "blink" ? `${1 / state.hz}s` : "1s",
    led_kind: locked ? "" : words.kind,
    led_vars: locked ? "{}" : JSON.stringify(words.vars),
    subtitle: locked ? t("token_title") : t(`subtitle_${words.kind}`, words.vars),
    led_class: state.mode === "blink" ? `blink${state.hz > 25 ? " fast" : ""}` : state.mode,
    mode: state.mode,
    hz_value: state.mode === "blink" ? String(state.hz) : "",
    state_label: locked ? "" : stateLabel,
    clients: locked ? "" : String(n),
    clients_label: locked ? "" : clientsLabel,
    hz_input: formFlash?.hz ?? (state.mode === "blink" ? hzText : ""),
    message: formFlash ? t(formFlash.ok ? "sent" : "error", { reply: formFlash.reply }) : "",
    message_class: formFlash ? (formFlash.ok ? "ok" : "error") : "",
    controls_hidden: model.signIn ? "hidden" : "",
    fleet_hidden: model.fleet && !locked ? "" : "hidden",
    login_hidden: model.signIn ? "" : "hidden",
    login_message: loginFlash ? t("wrong_token") : "",
  };
  const strings = JSON.stringify(all).replaceAll("<", "\\u003c");
  // The strings sit in a JSON script element as `"{{!strings}}"` (valid JSON for the formatter).
  return webText("index.html")
    .replace('"{{!strings}}"', () => strings)
    .replace("--period: 1s;", () => `--period: ${vars.period};`)
    .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => escapeHtml(vars[key] ?? ""));
}
