// StatusPage.cpp — the page's HTML as a raw string. A token for a protected
// admin server is taken from the URL fragment (#token=…), which browsers never
// send to the server, and passed as a bearer header to /status and /reload.
#include "admin/StatusPage.h"

namespace portico::host {
namespace {

constexpr std::string_view kPage = R"PORTICO_HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portico status</title>
<style>
  :root { --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --ok:#15803d; --bad:#b91c1c; --warn:#b45309; --bg:#f8fafc; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; gap:1.5rem; align-items:baseline; padding:.8rem 1.2rem; background:#111827; color:#f9fafb; flex-wrap:wrap; }
  header h1 { font-size:1.15rem; margin:0; }
  header .meta { color:#cbd5e1; }
  main { padding:1rem 1.2rem; max-width:1400px; }
  section { margin-bottom:1.4rem; }
  h2 { font-size:1rem; margin:.2rem 0 .5rem; }
  table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
  th, td { text-align:left; padding:.35rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
  th { background:#f1f5f9; font-weight:600; font-size:.85rem; }
  td.num { text-align:right; font-variant-numeric: tabular-nums; }
  code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:.85em; }
  .pill { display:inline-block; padding:0 .5rem; border-radius:999px; font-size:.8rem; font-weight:600; }
  .ok { background:#dcfce7; color:var(--ok); } .bad { background:#fee2e2; color:var(--bad); } .warn { background:#fef3c7; color:var(--warn); }
  .muted { color:var(--muted); }
  #error { display:none; padding:.6rem 1rem; background:#fee2e2; color:var(--bad); border-bottom:1px solid #fecaca; }
  button { font:inherit; padding:.25rem .7rem; border:1px solid #94a3b8; border-radius:4px; background:#fff; cursor:pointer; }
  button:hover { background:#f1f5f9; }
  ul.lines { margin:0; padding-left:1.1rem; }
</style>
</head>
<body>
<header>
  <h1>Portico</h1>
  <span class="meta" id="host-meta">loading&hellip;</span>
  <span id="ready" class="pill warn">?</span>
  <span class="meta" id="updated"></span>
</header>
<div id="error"></div>
<main>
  <section>
    <h2>Services</h2>
    <table>
      <thead><tr><th>Service</th><th>State</th><th>Address</th><th>Mode</th><th>Handler</th><th>Plugin version</th>
        <th>Active</th><th>Total</th><th>Refused</th><th>Handler errors</th><th>Timeouts</th><th>Bytes in</th><th>Bytes out</th></tr></thead>
      <tbody id="services"></tbody>
    </table>
  </section>
  <section>
    <h2>Plugins</h2>
    <table>
      <thead><tr><th>Plugin</th><th>Version</th><th>Generation</th><th>File</th><th>SHA-256</th><th>Loaded</th><th>Handlers</th></tr></thead>
      <tbody id="plugins"></tbody>
    </table>
    <p class="muted" id="registry"></p>
  </section>
  <section>
    <h2>Draining versions</h2>
    <table>
      <thead><tr><th>Plugin</th><th>Version</th><th>Generation</th><th>Open sessions</th><th>Draining for</th></tr></thead>
      <tbody id="draining"></tbody>
    </table>
  </section>
  <section>
    <h2>Reloads
      <button data-scope="plugins">Reload plugins</button>
      <button data-scope="config">Reload config</button>
      <button data-scope="all">Reload all</button>
    </h2>
    <table>
      <thead><tr><th>Time</th><th>Scope</th><th>Trigger</th><th>Result</th><th>Changes / errors</th></tr></thead>
      <tbody id="reloads"></tbody>
    </table>
  </section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = token ? { "Authorization": "Bearer " + token } : {};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function num(v) { return el("td", { class: "num" }, Number(v).toLocaleString()); }
function bytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, n = Number(v);
  while (n >= 1024 && i < units.length - 1) { n /= 1024; ++i; }
  return el("td", { class: "num", title: String(v) }, (i ? n.toFixed(1) : n) + " " + units[i]);
}
function ago(seconds) {
  if (seconds < 60) return seconds.toFixed(0) + "s";
  if (seconds < 3600) return (seconds / 60).toFixed(0) + "m";
  return (seconds / 3600).toFixed(1) + "h";
}
function lines(items, cls) {
  const ul = el("ul", { class: "lines" });
  for (const item of items) ul.append(el("li", cls ? { class: cls } : {}, item));
  return ul;
}
function fill(id, rows, emptyText, columns) {
  const body = document.getElementById(id);
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "muted" }, emptyText))]));
}

// Mode process: the worker slots, each with its pid and what it did.
function modeCell(v) {
  if (!v.workers) return el("td", {}, v.mode);
  return el("td", {}, v.mode, lines(v.workers.map(w => "worker " + w.worker + " \u00b7 pid " + w.pid +
    " \u00b7 " + w.connections.total + " conns, " + w.connections.active + " open, " + w.restarts + " restarts"),
    "muted"));
}

function render(s) {
  const h = s.host;
  document.getElementById("host-meta").textContent =
    "v" + h.version + " \u00b7 pid " + h.pid + " \u00b7 up " + ago(h.uptime_seconds);
  const ready = document.getElementById("ready");
  ready.textContent = h.ready ? "ready" : "not ready";
  ready.className = "pill " + (h.ready ? "ok" : "bad");
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();

  fill("services", s.services.map(v => el("tr", { "data-service": v.name },
    el("td", {}, el("strong", {}, v.name)),
    el("td", {}, el("span", { class: "pill " + (v.state === "serving" ? "ok" : "warn") }, v.state)),
    el("td", { class: "mono" }, v.address), modeCell(v), el("td", { class: "mono" }, v.handler),
    el("td", {}, v.plugin_version + " (gen " + v.generation + ")"),
    num(v.connections.active), num(v.connections.total), num(v.connections.refused),
    num(v.handler_errors), num(v.timeouts), bytes(v.bytes_in), bytes(v.bytes_out))), "no services", 13);

  fill("plugins", s.plugins.map(p => el("tr", { "data-plugin": p.name },
    el("td", {}, el("strong", {}, p.name)), el("td", {}, p.version), num(p.generation),
    el("td", { class: "mono" }, p.file), el("td", { class: "mono", title: p.sha256 }, p.sha256.slice(0, 16) + "\u2026"),
    el("td", {}, new Date(p.loaded_at).toLocaleString()), el("td", { class: "mono" }, p.handlers.join(", ")))),
    "no plugins loaded", 7);
  const r = s.registry;
  document.getElementById("registry").textContent = "loads ok " + r.loads_ok + ", failed " + r.loads_failed +
    ", unloads " + r.unloads + (r.last_error ? " \u00b7 last error: " + r.last_error : "");

  fill("draining", s.draining.map(d => el("tr", {},
    el("td", {}, d.plugin), el("td", {}, d.version), num(d.generation), num(d.sessions), el("td", {}, ago(d.draining_seconds)))),
    "no replaced version is draining", 5);

  fill("reloads", s.reloads.history.map(x => el("tr", {},
    el("td", {}, new Date(x.time).toLocaleString()), el("td", {}, x.scope), el("td", {}, x.trigger),
    el("td", {}, el("span", { class: "pill " + (x.ok ? "ok" : "bad") }, x.ok ? "ok" : "error")),
    el("td", {}, lines(x.changes), lines(x.errors, "bad")))), "no reload yet", 5);
}

function showError(text) {
  const box = document.getElementById("error");
  box.textContent = text;
  box.style.display = text ? "block" : "none";
}

async function refresh() {
  try {
    const response = await fetch("/status", { headers, cache: "no-store" });
    if (response.status === 401) throw new Error("401 unauthorized: open this page as /#token=YOUR_ADMIN_TOKEN");
    if (!response.ok) throw new Error("/status answered " + response.status);
    render(await response.json());
    showError("");
  } catch (e) {
    showError("Cannot read /status: " + e.message);
  }
}

for (const button of document.querySelectorAll("button[data-scope]")) {
  button.addEventListener("click", async () => {
    try {
      const response = await fetch("/reload?scope=" + button.dataset.scope, { method: "POST", headers });
      if (response.status === 401) throw new Error("401 unauthorized");
    } catch (e) {
      showError("Reload failed: " + e.message);
    }
    refresh();
  });
}

refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)PORTICO_HTML";

} // namespace

std::string_view status_page_html() {
    return kPage;
}

} // namespace portico::host
