import assert from "node:assert/strict";
import { escapeHtml, pickLanguage, renderPage } from "./page.ts";

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
  assert.match(html, /2 connected clients/);
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
