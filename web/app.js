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

  /** How long to wait before opening a new event stream once the browser gave one up. */
  const RECONNECT_MS = 2000;

  const led = $("led");
  const form = $("led-form");
  const hzInput = $("hz");
  const message = $("message");
  let state = readState();
  let clients = Number($("clients").dataset.count);
  let viewers = null;
  let by = "";
  /** This page's own names (`web #N …`, from the API's replies): its changes are not others'. */
  const mine = new Set();
  /** Requests in flight. */
  let pending = 0;
  /** False while the event stream is down: the state shown is the last known one. */
  let connected = true;

  function readState() {
    const mode = led.dataset.mode;
    return mode === "blink" ? { mode, hz: Number(led.dataset.hz) } : { mode };
  }

  function sameState(a, b) {
    return a.mode === b.mode && (a.mode !== "blink" || a.hz === b.hz);
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
    // This page is one of the viewers once its stream is open; unknown while it is down.
    $("viewers").textContent = viewers === null || !connected
      ? ""
      : "· " + (viewers <= 1 ? t("viewers_1") : t("viewers_n", { n: viewers }));
    $("by").textContent = !by ? "" : "· " + (mine.has(by) ? t("by_self") : t("by", { by }));
  }

  function translate() {
    document.documentElement.lang = lang;
    document.title = `${t("title")} · ledctl`;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    for (const el of document.querySelectorAll("[data-i18n-title]")) {
      el.title = t(el.dataset.i18nTitle);
    }
    const sub = $("subtitle");
    sub.textContent = sub.dataset.led
      ? t("subtitle_" + sub.dataset.led, JSON.parse(sub.dataset.ledVars || "{}"))
      : t("token_title");
  }

  /** Shows a result: `ok` true (green), false (red), or null (neutral). */
  function showMessage(ok, text, key = "") {
    message.textContent = text;
    message.dataset.key = key;
    message.classList.toggle("ok", ok === true);
    message.classList.toggle("error", ok === false);
  }

  function clearMessage() {
    showMessage(null, "");
    hzInput.removeAttribute("aria-invalid");
  }

  function renderButtons() {
    for (const b of form.querySelectorAll("button")) b.disabled = pending > 0 || !connected;
    renderFleetButtons();
  }

  /** A fleet device's buttons work while the page is live, the device online and not busy. */
  function renderFleetButtons() {
    for (const li of document.querySelectorAll("#fleet-list li.device")) {
      for (const b of li.querySelectorAll("button")) {
        b.disabled = !connected || li.dataset.online === "false" || li.dataset.pending === "true";
      }
    }
  }

  function setLive(up) {
    const live = $("live");
    live.classList.toggle("up", up);
    live.classList.toggle("down", !up);
    live.textContent = t(up ? "live" : "offline");
    live.dataset.i18n = up ? "live" : "offline";
  }

  /** The event stream went down (`false`) or came back (`true`). */
  function setConnected(up) {
    setLive(up);
    if (up === connected) return;
    connected = up;
    $("status").classList.toggle("stale", !up);
    $("fleet").classList.toggle("stale", !up);
    if (!up) {
      showMessage(null, t("offline_message"), "offline_message");
    } else {
      if (message.dataset.key === "offline_message") clearMessage();
      // The server may have restarted: it numbers web requests from 1 again,
      // and who made the last change is unknown until the next one.
      mine.clear();
      by = "";
    }
    renderButtons();
    renderCounts();
  }

  if (lang !== document.documentElement.lang) {
    translate();
    renderState();
    renderCounts();
  }

  // The fleet (`serve --mqtt` only): every device on the broker, live from
  // the event stream's `fleet` (the list) and `device` (one change) events.
  const fleet = {
    section: $("fleet"),
    list: $("fleet-list"),
    more: $("fleet-more"),
    /** id → the device as the server sent it. */
    devices: new Map(),
    /** id → its row, kept while shown. */
    rows: new Map(),
    self: null,
    total: 0,
    /** Ids whose row must be redrawn at the next frame; null: none, undefined: every row. */
    dirty: null,
  };
  /** Most devices drawn (the server sends at most these at the start). */
  const FLEET_MAX = 500;
  const byId = (a, b) => a < b ? -1 : a > b ? 1 : 0;

  function fleetOrder() {
    const ids = [...fleet.devices.keys()];
    ids.sort((a, b) => a === fleet.self ? -1 : b === fleet.self ? 1 : byId(a, b));
    return ids;
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fleetRow(id) {
    const li = el("li", "device");
    li.dataset.id = id;
    const dot = el("span", "dot");
    dot.setAttribute("aria-hidden", "true");
    const text = el("div", "device-text");
    const head = el("p", "device-head");
    head.append(el("span", "device-name", id), el("span", "device-self"));
    const note = el("p", "device-note message");
    note.setAttribute("role", "status");
    text.append(head, el("p", "device-state"), el("p", "device-groups"), note);
    const buttons = el("div", "device-buttons");
    for (const command of ["on", "off", "blink"]) {
      const b = el("button", "", "");
      b.type = "button";
      b.dataset.command = command;
      buttons.append(b);
    }
    li.append(dot, text, buttons);
    return li;
  }

  function drawDevice(li, d) {
    const s = d.state;
    const mode = s ? s.mode : "unknown";
    li.dataset.mode = mode;
    li.dataset.online = d.online === false ? "false" : "true";
    li.classList.toggle("self", d.self);
    li.classList.toggle("offline", d.online === false);
    const dot = li.querySelector(".dot");
    dot.className = "dot " + mode + (mode === "blink" && s.hz > 25 ? " fast" : "");
    if (mode === "blink") dot.style.setProperty("--period", `${1 / s.hz}s`);
    li.querySelector(".device-self").textContent = d.self ? t("fleet_self") : "";
    const label = s ? stateLabel(s) : t("fleet_unknown");
    li.querySelector(".device-state").textContent = d.online === false
      ? `${label} · ${t("fleet_offline")}`
      : label;
    li.querySelector(".device-groups").textContent = d.groups.length
      ? t("fleet_groups", { groups: d.groups.join(", ") })
      : "";
    const when = d.changed ? new Date(d.changed) : null;
    li.title = d.by
      ? t("fleet_by", {
        by: d.by,
        changed: when && !isNaN(when) ? when.toLocaleString(lang) : d.changed,
      })
      : "";
    for (const b of li.querySelectorAll("button")) {
      b.textContent = t(b.dataset.command);
      b.setAttribute("aria-label", t("fleet_button", { command: t(b.dataset.command), id: d.id }));
    }
  }

  /** Redraws the rows that changed, and the order if a device came or went. */
  function renderFleet() {
    const dirty = fleet.dirty;
    fleet.dirty = null;
    const shown = fleetOrder().slice(0, FLEET_MAX);
    const keep = new Set(shown);
    for (const [id, li] of fleet.rows) {
      if (!keep.has(id)) {
        li.remove();
        fleet.rows.delete(id);
      }
    }
    let previous = null;
    for (const id of shown) {
      let li = fleet.rows.get(id);
      const fresh = !li;
      if (fresh) fleet.rows.set(id, li = fleetRow(id));
      if (fresh || !dirty || dirty.has(id)) drawDevice(li, fleet.devices.get(id));
      const at = previous ? previous.nextSibling : fleet.list.firstChild;
      if (at !== li) fleet.list.insertBefore(li, at);
      previous = li;
    }
    const hidden = Math.max(fleet.total, fleet.devices.size) - shown.length;
    fleet.more.textContent = shown.length === 0
      ? t("fleet_empty")
      : hidden > 0
      ? t("fleet_more", { n: hidden })
      : "";
    fleet.more.hidden = fleet.more.textContent === "";
    renderFleetButtons();
  }

  function fleetChanged(id) {
    if (fleet.dirty === null) {
      fleet.dirty = new Set();
      requestAnimationFrame(renderFleet);
    }
    if (id === undefined) fleet.dirty = undefined; // everything
    else if (fleet.dirty) fleet.dirty.add(id);
  }

  /** A row's own message: what was sent to the device, or why not. */
  function showNote(li, ok, text) {
    const note = li.querySelector(".device-note");
    note.textContent = text;
    note.classList.toggle("ok", ok === true);
    note.classList.toggle("error", ok === false);
  }

  async function sendToDevice(li, command) {
    const id = li.dataset.id;
    if (command === "blink" && hzInput.value.trim() === "") {
      showNote(li, false, t("empty_hz"));
      hzInput.setAttribute("aria-invalid", "true");
      hzInput.focus();
      return;
    }
    li.dataset.pending = "true";
    renderFleetButtons();
    try {
      const response = await fetch(`/api/fleet/${encodeURIComponent(id)}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ command, hz: hzInput.value }),
      });
      const type = response.headers.get("content-type") || "";
      const body = type.includes("json") ? await response.json() : { error: await response.text() };
      if (response.ok && body.ok) {
        showNote(li, true, t("fleet_sent", { command: body.sent }));
      } else {
        const reply = (body.reply || body.error || response.statusText).trim();
        showNote(li, false, t("fleet_refused", { reply }));
      }
    } catch {
      showNote(li, false, t("network"));
    } finally {
      delete li.dataset.pending;
      renderFleetButtons();
    }
  }

  if (fleet.section && !fleet.section.hidden) {
    $("fleet-nojs").hidden = true;
    fleet.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-command]");
      const li = button && button.closest("li.device");
      if (li) sendToDevice(li, button.dataset.command);
    });
  }

  const onFleet = (e) => {
    const data = JSON.parse(e.data);
    fleet.self = data.self;
    fleet.total = data.total;
    // A fresh list (this stream is new): what was known before may be stale.
    fleet.devices.clear();
    for (const d of data.devices) fleet.devices.set(d.id, d);
    fleetChanged();
  };

  const onDevice = (e) => {
    const data = JSON.parse(e.data);
    fleet.total = data.total;
    const d = data.device;
    const old = fleet.devices.get(d.id);
    // The device reported (a new state, or went offline): the row's last message is stale.
    const li = fleet.rows.get(d.id);
    if (li && old && (old.text !== d.text || old.by !== d.by || old.online !== d.online)) {
      showNote(li, null, "");
    }
    fleet.devices.set(d.id, d);
    fleetChanged(d.id);
  };

  if (form && !form.hidden) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const command = (event.submitter && event.submitter.value) || "blink";
      if (command === "blink" && hzInput.value.trim() === "") {
        showMessage(false, t("empty_hz"));
        hzInput.setAttribute("aria-invalid", "true");
        hzInput.focus();
        return;
      }
      pending++;
      renderButtons();
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
        if (body.client) mine.add(body.client);
        if (body.state) {
          state = body.state;
          renderState();
        }
        renderCounts();
        const ok = response.ok && body.ok === true;
        showMessage(
          ok,
          t(ok ? "sent" : "error", { reply: (body.reply || response.statusText).trim() }),
        );
        hzInput.setAttribute("aria-invalid", String(!ok && command === "blink"));
        if (!ok && command === "blink") hzInput.focus();
      } catch {
        showMessage(false, t("network"));
      } finally {
        pending--;
        renderButtons();
      }
    });

    const onState = (e) => {
      const data = JSON.parse(e.data);
      const changed = !sameState(state, data.state);
      // Another client's change (or one made while this page was away) makes
      // this page's last result stale: it goes. A reply still on its way
      // replaces the message anyway.
      const others = data.by ? !mine.has(data.by) : changed;
      if (others && pending === 0) clearMessage();
      if (data.by) by = data.by;
      else if (changed) by = "";
      state = data.state;
      renderState();
      renderCounts();
      document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
    };

    const connect = () => {
      const events = new EventSource("/api/events");
      events.addEventListener("open", () => setConnected(true));
      events.addEventListener("error", () => {
        setConnected(false);
        // The browser retries a dropped stream by itself, but gives up for
        // good on some answers (a 503, a 401): then start a new one.
        if (events.readyState === EventSource.CLOSED) {
          events.close();
          setTimeout(connect, RECONNECT_MS);
        }
      });
      events.addEventListener("state", onState);
      events.addEventListener("clients", (e) => {
        clients = JSON.parse(e.data).count;
        renderCounts();
      });
      events.addEventListener("fleet", onFleet);
      events.addEventListener("device", onDevice);
      events.addEventListener("viewers", (e) => {
        viewers = JSON.parse(e.data).count;
        renderCounts();
      });
    };
    connect();
  }
})();
