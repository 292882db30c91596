import assert from "node:assert/strict";
import { escapeHtml, ledWords, pickLanguage, renderPage } from "./page.ts";

const req = (lang?: string, query = "") =>
  new Request(`http://x/${query}`, { headers: lang ? { "accept-language": lang } : {} });

Deno.test("the language follows ?lang, then Accept-Language by preference", () => {
  assert.equal(pickLanguage(req()), "en");
  assert.equal(pickLanguage(req("fr-CA")), "fr");
  assert.equal(pickLanguage(req("de-DE,en;q=0.5,fr;q=0.8")), "fr");
  assert.equal(pickLanguage(req("fr;q=0,en")), "en");
  assert.equal(pickLanguage(req("fr", "?lang=en")), "en");
});

Deno.test("everything put in the page is escaped", () => {
  assert.equal(escapeHtml(`<script>"'&`), "&lt;script&gt;&quot;&#39;&amp;");
  const html = renderPage({
    lang: "en",
    state: { mode: "off" },
    clients: 2,
    led: "<b>led</b>",
    flash: { ok: false, reply: 'ERR bad-argument "<img src=x>" is not a frequency', hz: '"><x' },
    signIn: false,
    nonce: "n0",
  });
  assert.ok(!html.includes("<img"));
  assert.ok(!html.includes("<b>led"));
  assert.ok(html.includes('value="&quot;&gt;&lt;x"'));
  assert.match(html, /2 TCP clients connected now/);
  assert.match(html, /class="message error"/);
});

Deno.test("the LED blinks at the state's rate; too fast to see, it glows steadily", () => {
  const page = (hz: number) =>
    renderPage({
      lang: "en",
      state: { mode: "blink", hz },
      clients: 0,
      led: "mock",
      signIn: false,
      nonce: "n",
    });
  assert.match(page(2.5), /class="led blink"/);
  assert.match(page(2.5), /--period: 0\.4s;/);
  assert.match(page(0.05), /--period: 20s;/);
  assert.match(page(100), /class="led blink fast"/);
});

Deno.test("the subtitle names the LED in plain words, not its --led URI", () => {
  const subtitle = (led: string, lang: "en" | "fr" = "en") =>
    /<p class="subtitle"[^>]*>([^<]*)<\/p>/.exec(
      renderPage({ lang, state: { mode: "off" }, clients: 0, led, signIn: false, nonce: "n" }),
    )![1];
  assert.equal(subtitle("mock"), "A simulated LED: no real LED is attached");
  assert.equal(subtitle("mock (trace: /tmp/x.trace)"), "A simulated LED: no real LED is attached");
  assert.equal(
    subtitle("gpio:/dev/gpiochip0 GPIO14 (BOARD8) active-low"),
    "The LED on pin 8 (GPIO14) of the Raspberry Pi’s header",
  );
  assert.equal(
    subtitle("gpio:/dev/gpiochip0 GPIO14 (BOARD8)", "fr"),
    "La LED sur la broche 8 (GPIO14) du connecteur du Raspberry Pi",
  );
  assert.equal(
    subtitle("serial:/dev/ttyACM0"),
    "The LED of an STM32 board, over its USB serial port /dev/ttyACM0",
  );
  assert.equal(
    subtitle("tcp:192.168.1.50:7000"),
    "The LED of an STM32 board, over the network at 192.168.1.50:7000",
  );
  assert.deepEqual(ledWords("something new"), {
    kind: "other",
    vars: { target: "something new" },
  });
});

Deno.test("the page names its counts truly, and its field's placeholder is an example", () => {
  const html = (clients: number, lang: "en" | "fr" = "en") =>
    renderPage({ lang, state: { mode: "off" }, clients, led: "mock", signIn: false, nonce: "n" });
  assert.match(html(0), /No TCP client connected now/);
  assert.match(html(1), /1 TCP client connected now/);
  assert.match(html(0, "fr"), /Aucun client TCP connecté en ce moment/);
  assert.match(html(0), /placeholder="e\.g\. 2\.5"/);
  assert.match(html(0, "fr"), /placeholder="ex\. 2,5"/);
});
