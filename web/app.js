// ledctl web page: enhances the plain HTML form (which works without
// JavaScript) with fetch, live state over Server-Sent Events, and the
// browser's language. No framework, no build step.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const strings = JSON.parse($("i18n").textContent);
  const wanted = new URLSearchParams(location.search).get("lang") ||
    (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  const lang = wanted.toLowerCase().startsWith("fr") ? "fr" : "en";
  const t = (key, vars = {}) =>
    (strings[lang][key] ?? strings.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? "");

  const led = $("led");
  const form = $("led-form");
  const hzInput = $("hz");
  const message = $("message");
  let state = readState();
  let clients = Number($("clients").dataset.count);
  let viewers = null;
  let by = "";

  function readState() {
    const mode = led.dataset.mode;
    return mode === "blink" ? { mode, hz: Number(led.dataset.hz) } : { mode };
  }

  function formatHz(hz) {
    const text = String(Number(hz.toPrecision(6)));
    return lang === "fr" ? text.replace(".", ",") : text;
  }

  function stateLabel(s) {
    return s.mode === "blink" ? t("state_blink", { hz: formatHz(s.hz) }) : t("state_" + s.mode);
  }

  function renderState() {
    led.dataset.mode = state.mode;
    led.dataset.hz = state.mode === "blink" ? String(state.hz) : "";
    led.classList.toggle("on", state.mode === "on");
    led.classList.toggle("blink", state.mode === "blink");
    led.classList.toggle("fast", state.mode === "blink" && state.hz > 25);
    if (state.mode === "blink") {
      led.style.setProperty("--period", `${1 / state.hz}s`);
      // Restart the animation so it starts lit, like the LED does.
      led.style.animation = "none";
      void led.offsetWidth;
      led.style.animation = "";
    }
    const label = stateLabel(state);
    $("state").textContent = label;
    led.setAttribute("aria-label", `${t("led_label")}: ${label}`);
  }

  function renderCounts() {
    const c = $("clients");
    c.dataset.count = String(clients);
    c.textContent = clients === 0
      ? t("clients_0")
      : clients === 1
      ? t("clients_1")
      : t("clients_n", { n: clients });
    $("viewers").textContent = viewers === null
      ? ""
      : "· " + (viewers <= 1 ? t("viewers_1") : t("viewers_n", { n: viewers }));
    $("by").textContent = by ? "· " + t("by", { by }) : "";
  }

  function translate() {
    document.documentElement.lang = lang;
    document.title = `${t("title")} · ledctl`;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    const sub = $("subtitle");
    sub.textContent = t("subtitle", { led: sub.dataset.led });
  }

  function showMessage(ok, text) {
    message.textContent = text;
    message.classList.toggle("ok", ok);
    message.classList.toggle("error", !ok);
  }

  function setLive(up) {
    const live = $("live");
    live.classList.toggle("up", up);
    live.classList.toggle("down", !up);
    live.textContent = t(up ? "live" : "offline");
    live.dataset.i18n = up ? "live" : "offline";
  }

  if (lang !== document.documentElement.lang) {
    translate();
    renderState();
    renderCounts();
  }

  if (form && !form.hidden) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const command = (event.submitter && event.submitter.value) || "blink";
      const buttons = form.querySelectorAll("button");
      for (const b of buttons) b.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ command, hz: hzInput.value }),
        });
        const type = response.headers.get("content-type") || "";
        const body = type.includes("json")
          ? await response.json()
          : { reply: await response.text() };
        if (body.state) {
          state = body.state;
          renderState();
        }
        const ok = response.ok && body.ok === true;
        showMessage(
          ok,
          t(ok ? "sent" : "error", { reply: (body.reply || response.statusText).trim() }),
        );
        hzInput.setAttribute("aria-invalid", String(!ok && command === "blink"));
        if (!ok && command === "blink") hzInput.focus();
      } catch (e) {
        showMessage(false, t("network", { reply: e.message }));
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    });

    const events = new EventSource("/api/events");
    events.addEventListener("open", () => setLive(true));
    events.addEventListener("error", () => setLive(false));
    events.addEventListener("state", (e) => {
      const data = JSON.parse(e.data);
      state = data.state;
      if (data.by) by = data.by;
      renderState();
      renderCounts();
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    });
    events.addEventListener("clients", (e) => {
      clients = JSON.parse(e.data).count;
      renderCounts();
    });
    events.addEventListener("viewers", (e) => {
      viewers = JSON.parse(e.data).count;
      renderCounts();
    });
  }
})();
