// The board page: fleet view, rack picture, commands. Plain DOM, no build step; every
// text goes through textContent (rack data is untrusted), every string through t().
import { SigningError, checkWebCrypto, commandDigest, importKeyFile, signApproval, signCommand } from "/static/sign.js";

const S = { lang: "en", strings: {}, rows: new Map(), rack: null, picture: null, commands: [],
  verbs: [], signer: null, source: null, health: {} };
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function t(key, vars = {}) {
  const text = S.strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function age(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  if (seconds < 10) return `${Math.max(0, seconds).toFixed(1)} s`;
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, "0")}`;
}
const now = () => Date.now() / 1000;

function showError(err) {
  const box = $("error");
  box.textContent = t("error", { text: err.message || String(err) });
  box.hidden = false;
}

async function loadLanguage(lang) {
  S.lang = lang;
  S.strings = await (await fetch(`/static/i18n/${lang}.json`)).json();
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  $("lang").textContent = t("lang");
  renderAll();
}

function preferredLanguage() {
  const chosen = localStorage.getItem("board.lang");
  if (chosen) return chosen;
  for (const lang of navigator.languages || [navigator.language || "en"]) {
    const base = lang.toLowerCase().split("-")[0];
    if (base === "fr" || base === "en") return base;
  }
  return "en";
}

// --- fleet ----------------------------------------------------------------------------

function compareRows(a, b) {
  for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i] - b.rank[i];
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function renderFleet() {
  const body = $("fleet-rows");
  const rows = [...S.rows.values()].sort(compareRows);
  $("no-racks").hidden = rows.length > 0;
  body.replaceChildren(...rows.map((row) => {
    const alarms = row.alarms || {};
    const count = Object.values(alarms).reduce((a, b) => a + b, 0);
    const link = el("a", { href: `#/rack/${encodeURIComponent(row.site)}/${encodeURIComponent(row.rack)}`, text: row.rack });
    const badges = el("span", {}, ...Object.entries(alarms).map(([sev, n]) => el("span", { class: `badge ${sev}`, text: `${n} ${sev}` })));
    const since = row.since ? age(now() - row.since) : "?";
    return el("tr", { "data-rack": row.id, "data-state": row.state, "data-online": String(row.online),
        "data-alarms": String(count), "data-seq": String(row.last_seq), class: row.online ? "" : "offline" },
      el("td", { text: row.site }), el("td", {}, link),
      el("td", { class: row.online ? "ok" : "bad", text: t(row.online ? "online.since" : "offline.since", { age: since }) }),
      el("td", { class: `state ${row.state}`, text: row.state }), el("td", {}, badges),
      el("td", { text: row.steps_total ? `${row.steps_done}/${row.steps_total}` : "" }),
      el("td", { text: String(row.backlog) }),
      el("td", { text: row.last_message ? t("ago", { age: age(now() - row.last_message) }) : t("never") }),
      el("td", { class: row.gaps ? "bad" : "", text: String(row.gaps) }));
  }));
  document.dispatchEvent(new CustomEvent("board:rendered", { detail: rows.map((r) => ({ id: r.id, seq: r.last_seq, state: r.state, online: r.online })) }));
}

// --- rack picture ---------------------------------------------------------------------

function reading(device, sensor) {
  const r = S.picture?.readings?.[device]?.[sensor];
  return r ? r.value : null;
}

function renderPower(p) {
  const box = $("power");
  const pdus = Object.keys(p.readings).filter((d) => Object.keys(p.readings[d]).some((s) => /^outlet\/\d+\/state$/.test(s))).sort();
  box.replaceChildren(...pdus.map((pdu) => {
    const outlets = Object.keys(p.readings[pdu]).map((s) => s.match(/^outlet\/(\d+)\/state$/)).filter(Boolean).map((m) => Number(m[1])).sort((a, b) => a - b);
    const names = p.layout?.outlets?.[pdu] || {};
    const svg = el("svg:svg", { viewBox: `0 0 ${outlets.length * 22 + 10} 34`, class: "pdu", role: "img", "aria-label": pdu });
    svg.append(el("svg:rect", { x: 1, y: 1, width: outlets.length * 22 + 8, height: 32, rx: 4, class: "chassis" }));
    outlets.forEach((n, i) => {
      const on = reading(pdu, `outlet/${n}/state`) === 1;
      const c = el("svg:circle", { cx: 16 + i * 22, cy: 17, r: 8, class: on ? "on" : "off", "data-testid": `outlet-${pdu}-${n}`, "data-on": String(on) });
      c.append(el("svg:title", { text: `${pdu} #${n}${names[n] ? " → " + names[n] : ""}: ${on ? "on" : "off"}` }));
      svg.append(c);
    });
    return el("figure", {}, svg, el("figcaption", { text: `${pdu} (${reading(pdu, "inlet/power") ?? "?"} W)` }));
  }));
}

function renderNetwork(p) {
  const box = $("network");
  let switches = Object.entries(p.ports || {});
  if (!switches.length) {
    // No rack config: ports from telemetry, role unknown.
    switches = Object.keys(p.readings).filter((d) => Object.keys(p.readings[d]).some((s) => /^port\/\d+\/admin$/.test(s))).map((d) => [d,
      Object.keys(p.readings[d]).map((s) => s.match(/^port\/(\d+)\/admin$/)).filter(Boolean).map((m) => Number(m[1])).sort((a, b) => a - b)
        .map((n) => ({ n, role: "", vlan_role: "unknown", device: "", name: "", admin: reading(d, `port/${n}/admin`), oper: reading(d, `port/${n}/oper`) }))]);
  }
  const parts = [];
  for (const [sw, ports] of switches) {
    const svg = el("svg:svg", { viewBox: `0 0 ${Math.ceil(ports.length / 2) * 26 + 10} 62`, class: "switch", role: "img", "aria-label": sw });
    svg.append(el("svg:rect", { x: 1, y: 1, width: Math.ceil(ports.length / 2) * 26 + 8, height: 60, rx: 4, class: "chassis" }));
    ports.forEach((port, i) => {
      const x = 8 + Math.floor(i / 2) * 26, y = i % 2 ? 33 : 6;
      const up = port.admin === 1;
      const g = el("svg:g", { "data-testid": `port-${sw}-${port.n}`, "data-vlan-role": port.vlan_role, "data-admin": String(port.admin) });
      g.append(el("svg:rect", { x, y, width: 20, height: 22, rx: 2, class: `port ${port.vlan_role} ${up ? "up" : "down"}` }));
      g.append(el("svg:text", { x: x + 10, y: y + 15, class: "portno", text: String(port.n) }));
      g.append(el("svg:title", { text: `${sw} port ${port.n} ${port.device || port.name || ""}: ${t("role." + port.vlan_role)}, ${up ? "up" : "down"}` }));
      svg.append(g);
    });
    const uplink = ports.find((x) => x.vlan_role === "uplink");
    const legend = el("p", { class: "legend" }, ...["quarantine", "clean", "drill", "uplink", "management", "unused"].map((r) => el("span", { class: `swatch ${r}`, text: t("role." + r) })));
    const up = uplink && uplink.admin === 1;
    parts.push(el("figure", {}, svg, el("figcaption", {}, el("span", { text: `${sw} — ` }),
      uplink ? el("strong", { "data-testid": "uplink", "data-up": String(up), class: up ? "bad" : "ok", text: t(up ? "uplink.up" : "uplink.down") }) : null), legend));
  }
  box.replaceChildren(...parts);
}

function gauge(fraction, label) {
  const f = Math.max(0, Math.min(1, fraction));
  const angle = Math.PI * (1 - f);
  const x = 50 + 40 * Math.cos(angle), y = 50 - 40 * Math.sin(angle);
  const svg = el("svg:svg", { viewBox: "0 0 100 60", class: "gauge", role: "img", "aria-label": label });
  svg.append(el("svg:path", { d: "M10 50 A40 40 0 0 1 90 50", class: "track" }));
  svg.append(el("svg:path", { d: `M10 50 A40 40 0 0 1 ${x.toFixed(1)} ${y.toFixed(1)}`, class: f < 0.25 ? "level low" : "level" }));
  svg.append(el("svg:text", { x: 50, y: 48, class: "gauge-text", text: label }));
  return svg;
}

function renderUps(p) {
  const box = $("ups");
  const upses = Object.keys(p.readings).filter((d) => "battery/runtime" in p.readings[d]).sort();
  box.replaceChildren(...upses.map((ups) => {
    const onBattery = reading(ups, "source/on_battery") === 1;
    const runtime = reading(ups, "battery/runtime");
    const trend = p.readings[ups]["battery/runtime"].trend || [];
    const scale = Math.max(3600, ...trend);
    return el("figure", { "data-testid": `ups-${ups}`, "data-on-battery": String(onBattery) },
      gauge(runtime === null ? 0 : runtime / scale, t("ups.runtime", { age: age(runtime) })),
      el("figcaption", {}, el("strong", { class: onBattery ? "bad" : "ok", text: `${ups}: ${t(onBattery ? "ups.on_battery" : "ups.on_mains")}` }),
        el("span", { text: " · " + t("ups.charge", { pct: reading(ups, "battery/charge") ?? "?" }) })));
  }));
}

function sparkline(values) {
  const svg = el("svg:svg", { viewBox: "0 0 80 20", class: "spark" });
  if (values.length > 1) {
    const lo = Math.min(...values), hi = Math.max(...values), span = hi - lo || 1;
    const pts = values.map((v, i) => `${(i * 80 / (values.length - 1)).toFixed(1)},${(18 - (v - lo) * 16 / span).toFixed(1)}`);
    svg.append(el("svg:polyline", { points: pts.join(" ") }));
  }
  return svg;
}

const SENSOR_KINDS = new Set(["temperature", "humidity", "pdu_load_a", "pdu_power_w", "power_w", "fan", "ups_load", "ups_charge", "cpu_temperature"]);

function renderSensors(p) {
  const rows = [];
  for (const device of Object.keys(p.readings).sort()) {
    for (const [sensor, r] of Object.entries(p.readings[device])) {
      if (!SENSOR_KINDS.has(r.kind) || r.value === null) continue;
      rows.push(el("tr", { class: r.status === "ok" ? "" : "bad" }, el("td", { text: device }), el("td", { text: sensor }),
        el("td", { class: "num", text: `${Math.round(r.value * 10) / 10} ${r.unit}` }), el("td", {}, sparkline(r.trend))));
    }
  }
  $("sensors").replaceChildren(el("table", {}, el("tbody", {}, ...rows)));
}

function renderAlarms(p) {
  const list = $("alarms");
  if (!p.alarms.length) { list.replaceChildren(el("li", { class: "ok", text: t("no.alarms") })); return; }
  list.replaceChildren(...p.alarms.map((a) => el("li", { class: `alarm ${a.severity}`, "data-alarm": `${a.device}:${a.name}`, "data-severity": a.severity },
    el("strong", { text: `${a.severity} · ${a.device} ` }), el("span", { text: a.message || a.name }))));
}

function renderTimeline(p) {
  const tl = p.timeline;
  const box = $("timeline");
  const steps = tl.steps;
  const start = tl.start ?? now();
  const ends = steps.map((s) => s.end ?? (s.start !== null ? now() : start));
  const span = Math.max(1, ...ends.map((e) => e - start));
  const rowH = 16, labelW = 150, width = 620;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${steps.length * rowH + 20}`, class: "gantt" });
  steps.forEach((s, i) => {
    const y = i * rowH + 2;
    svg.append(el("svg:text", { x: 0, y: y + 11, class: "label", text: s.id }));
    if (s.start !== null) {
      const x0 = labelW + (s.start - start) / span * (width - labelW - 60);
      const x1 = labelW + ((s.end ?? now()) - start) / span * (width - labelW - 60);
      const bar = el("svg:rect", { x: x0.toFixed(1), y, width: Math.max(2, x1 - x0).toFixed(1), height: rowH - 4,
        class: `bar ${s.state}${s.critical ? " critical" : ""}`, "data-testid": `step-${s.id}`, "data-state": s.state });
      bar.append(el("svg:title", { text: `${s.title}: ${t("step." + s.state)}${s.end !== null ? ", " + age(s.end - s.start) : ""}${s.detail ? " — " + s.detail : ""}` }));
      svg.append(bar);
      if (s.end !== null) svg.append(el("svg:text", { x: (x1 + 3).toFixed(1), y: y + 11, class: "dur", text: age(s.end - s.start) }));
    } else {
      svg.append(el("svg:text", { x: labelW, y: y + 11, class: "dur", "data-testid": `step-${s.id}`, "data-state": "pending", text: t("step.pending") }));
    }
  });
  box.replaceChildren(svg, el("p", { class: "critical", text: tl.critical.length ? t("critical.path", { steps: tl.critical.join(" → ") }) : "" }));
  const head = el("tr", {}, ...["app.name", "app.target", "app.achieved", "app.state"].map((k) => el("th", { text: t(k) })));
  $("apps").replaceChildren(el("thead", {}, head), el("tbody", {}, ...tl.apps.map((a) => {
    const elapsed = a.achieved_s ?? (a.state === "running" && tl.start ? now() - tl.start : null);
    const late = a.target_s !== null && elapsed !== null && elapsed > a.target_s;
    const verdict = a.met === true ? t("app.met") : late ? t("app.late") : t("step." + a.state);
    const bar = el("svg:svg", { viewBox: "0 0 100 8", class: "target" });
    if (a.target_s && elapsed !== null) bar.append(el("svg:rect", { x: 0, y: 0, height: 8, width: Math.min(100, elapsed / a.target_s * 100).toFixed(1), class: late ? "late" : "fine" }));
    return el("tr", { "data-app": a.id, "data-met": String(a.met) }, el("td", { text: a.name }), el("td", { text: a.target_s ? age(a.target_s) : "—" }),
      el("td", {}, el("span", { text: a.achieved_s !== null ? age(a.achieved_s) : elapsed !== null ? t("app.elapsed", { age: age(elapsed) }) : "—" }), bar),
      el("td", { class: late ? "bad" : a.met ? "ok" : "", text: verdict }));
  })));
}

function describeEvent(e) {
  const d = e.data || {};
  const bits = [d.device, d.step, d.state, d.phase, d.message, d.reason, d.action].filter((x) => x !== undefined && x !== null && x !== "");
  return bits.map(String).join(" · ");
}

function renderEvents(p) {
  const filter = $("event-filter").value.toLowerCase();
  const category = $("event-category").value;
  const items = p.events.slice().reverse().filter((e) => (!category || e.category === category) &&
    (!filter || `${e.kind} ${e.source} ${JSON.stringify(e.data)}`.toLowerCase().includes(filter))).slice(0, 200);
  $("events").replaceChildren(...items.map((e) => el("li", { class: e.category, "data-kind": e.kind },
    el("time", { text: new Date(e.ts * 1000).toLocaleTimeString(S.lang) }), el("strong", { text: ` ${e.kind} ` }), el("span", { text: describeEvent(e) }))));
}

function renderRack() {
  const p = S.picture;
  if (!p || !S.rack) return;
  const row = p.row;
  $("rack-title").textContent = `${row.site} / ${row.rack}${p.layout ? " — " + p.layout.name : ""}`;
  $("rack-summary").textContent = `${row.state} · ${t(row.online ? "online.since" : "offline.since", { age: age(now() - row.since) })} · ${t("rack.phase", { phase: p.network_phase || "?" })}`;
  $("rack-summary").dataset.state = row.state;
  renderPower(p); renderNetwork(p); renderUps(p); renderAlarms(p); renderTimeline(p); renderSensors(p); renderEvents(p);
}

// --- commands -------------------------------------------------------------------------

function renderVerbForm() {
  const select = $("verb");
  if (!select.options.length) for (const v of S.verbs) select.append(el("option", { value: v.verb, text: v.verb }));
  const form = S.verbs.find((v) => v.verb === select.value);
  if (!form) return;
  $("verb-note").textContent = `${t("cmd.role", { role: form.role })}${form.dangerous ? " · " + t("cmd.dangerous") : ""}`;
  $("verb-note").className = form.dangerous ? "bad" : "";
  const box = $("verb-args");
  const fields = Object.entries(form.schema.properties).map(([name, spec]) => el("label", {}, el("span", { text: `${name} ` }),
    el("input", { name, "data-arg": name, required: form.schema.required.includes(name) ? "required" : null, placeholder: spec.description || "" })));
  box.replaceChildren(...fields);
  $("sign").textContent = t(form.dangerous ? "cmd.propose" : "cmd.send");
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

async function submitCommand(event) {
  event.preventDefault();
  try {
    if (!S.signer) throw new SigningError(t("cmd.nokey"));
    const verb = $("verb").value;
    const args = {};
    for (const input of $("verb-args").querySelectorAll("input[data-arg]")) if (input.value !== "") args[input.dataset.arg] = input.value;
    const issuedAt = Math.floor(now());
    const env = await signCommand(S.signer, { verb, args, rack: S.rack[1], issuedAt, expiresAt: issuedAt + Number($("ttl").value || 300) });
    const record = await post("/api/commands", { site: S.rack[0], envelope: env });
    mergeCommand(record);
  } catch (err) { showError(err); }
}

async function approve(record) {
  try {
    if (!S.signer) throw new SigningError(t("cmd.nokey"));
    const digest = await commandDigest(record.envelope);
    if (digest !== record.digest) throw new SigningError(`digest ${record.digest.slice(0, 16)}… does not match the envelope (${digest.slice(0, 16)}…)`);
    const approval = await signApproval(S.signer, digest, Math.floor(now()));
    mergeCommand(await post(`/api/commands/${encodeURIComponent(record.id)}/approvals`, { approval }));
  } catch (err) { showError(err); }
}

function mergeCommand(record) {
  const i = S.commands.findIndex((c) => c.id === record.id);
  if (i >= 0) S.commands[i] = record; else S.commands.push(record);
  renderCommands();
}

function renderCommands() {
  const list = $("proposals");
  list.replaceChildren(...S.commands.slice().reverse().map((c) => {
    const last = c.replies[c.replies.length - 1];
    const li = el("li", { "data-command": c.id, "data-verb": c.verb, "data-state": c.state, class: `command ${c.state}` },
      el("strong", { text: t("prop.by", { verb: c.verb, rack: `${c.site}/${c.rack}`, key: c.key_id }) }),
      el("span", { text: ` — ${t("state." + c.state)}` }),
      c.approvals.length ? el("span", { text: ` · ${t("prop.approved_by", { keys: c.approvals.join(", ") })}` }) : null,
      last && (last.reason || last.detail) ? el("div", { class: "reply", "data-testid": "reply", text: `${last.reason} ${last.detail}`.trim() } ) : null);
    if (c.state === "proposed") {
      li.append(el("span", { text: ` · ${t("prop.expires", { age: age(c.expires_at - now()) })} ` }));
      const button = el("button", { type: "button", "data-testid": "approve", text: t("prop.approve") });
      button.addEventListener("click", () => approve(c));
      li.append(button);
    }
    return li;
  }));
}

// --- wiring ---------------------------------------------------------------------------

function renderAll() {
  renderFleet(); renderRack(); renderCommands();
  if (S.verbs.length) renderVerbForm();
  renderHealth(); renderWho();
}

function renderHealth() {
  const h = S.health;
  $("broker").textContent = h.broker ? t("broker.up") : t("broker.down", { note: h.broker_note || "" });
  $("broker").className = h.broker ? "ok" : "bad";
  $("broker").dataset.up = String(!!h.broker);
}

function renderWho() { $("whoami").textContent = S.signer ? t("key.loaded", { key: S.signer.keyId }) : t("key.none"); }

function connect() {
  if (S.source) S.source.close();
  const query = S.rack ? `?rack=${encodeURIComponent(S.rack.join("/"))}` : "";
  const source = new EventSource(`/api/stream${query}`);
  S.source = source;
  source.addEventListener("hello", (e) => { S.health = JSON.parse(e.data); renderHealth(); });
  source.addEventListener("health", (e) => { S.health = JSON.parse(e.data); renderHealth(); });
  source.addEventListener("fleet", (e) => { S.rows = new Map(JSON.parse(e.data).map((r) => [r.id, r])); renderFleet(); });
  source.addEventListener("rows", (e) => { for (const r of JSON.parse(e.data)) S.rows.set(r.id, r); renderFleet(); });
  source.addEventListener("rack", (e) => { S.picture = JSON.parse(e.data); renderRack(); });
  source.addEventListener("commands", (e) => { S.commands = JSON.parse(e.data); renderCommands(); });
  source.addEventListener("bye", () => { source.close(); setTimeout(connect, 1000); });
}

function route() {
  const m = location.hash.match(/^#\/rack\/([^/]+)\/([^/]+)$/);
  S.rack = m ? [decodeURIComponent(m[1]), decodeURIComponent(m[2])] : null;
  S.picture = null;
  $("fleet-view").hidden = !!S.rack;
  $("rack-view").hidden = !S.rack;
  connect();
}

async function start() {
  $("lang").addEventListener("click", () => { const next = S.lang === "fr" ? "en" : "fr"; localStorage.setItem("board.lang", next); loadLanguage(next); });
  $("keyfile").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try { S.signer = await importKeyFile(file.name, await file.text()); $("error").hidden = true; } catch (err) { S.signer = null; showError(err); }
    event.target.value = "";
    renderWho();
  });
  $("verb").addEventListener("change", renderVerbForm);
  $("command-form").addEventListener("submit", submitCommand);
  $("event-filter").addEventListener("input", () => S.picture && renderEvents(S.picture));
  $("event-category").addEventListener("change", () => S.picture && renderEvents(S.picture));
  window.addEventListener("hashchange", route);
  await loadLanguage(preferredLanguage());
  S.verbs = await (await fetch("/api/verbs")).json();
  renderVerbForm();
  try { checkWebCrypto(); } catch (err) { showError(err); $("keyfile").disabled = true; }
  route();
  setInterval(() => { renderFleet(); if (S.picture) renderRack(); }, 5000); // ages move on
}

start().catch(showError);
