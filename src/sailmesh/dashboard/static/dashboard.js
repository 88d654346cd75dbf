// The sailmesh dashboard page: a hash router over the JSON of /api (see server.py).
// Everything is built with DOM calls (textContent), never from HTML strings, so names and
// messages from config cannot inject markup.
"use strict";

const state = { timer: null, cy: null, nodeKey: "", page: "" };

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = {
  rps: (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)),
  pct: (v) => (v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1) + "%",
  ms: (v) => (v === null || v === undefined ? "–" : v.toFixed(v < 10 ? 1 : 0) + " ms"),
  bytes: (v) => (v >= 1e6 ? (v / 1e6).toFixed(1) + " MB/s" : v >= 1e3 ? (v / 1e3).toFixed(1) + " kB/s" : v.toFixed(0) + " B/s"),
};

function windowName() { return document.getElementById("window").value; }
function setStatus(text) { document.getElementById("status").textContent = text; }

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

function table(headers, rows, label) {
  return h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows));
}

function nodeHref(id) {
  const m = /^(service|workload):([^/]*)\/(.*)$/.exec(id);
  return m ? `#/${m[1]}/${encodeURIComponent(m[2])}/${encodeURIComponent(m[3])}` : null;
}

function nodeLabel(n) {
  if (n.kind === "workload") return n.version ? `${n.app || n.name} ${n.version}` : n.name;
  return n.name;
}

// --- graph -----------------------------------------------------------------------------
const HEALTH_COLOUR = { failure: "#c0182b", degraded: "#b36b00", healthy: "#1a7f37", idle: "#8a939c" };

function edgeLabel(e) {
  const lock = e.mtls !== null && e.mtls >= 0.999 ? "mTLS · " : "";
  if (e.protocol === "tcp") return lock + fmt.bytes(e.tcpBytesPerSecond);
  const err = e.errorRate > 0 ? ` ${fmt.pct(e.errorRate)} err` : "";
  return `${lock}${fmt.rps(e.rps)} rps${err}`;
}

function cyElements(g) {
  const els = g.namespaces.map((ns) => ({ data: { id: "ns:" + ns, label: ns, kind: "namespace" } }));
  for (const n of g.nodes) {
    els.push({ data: { id: n.id, label: nodeLabel(n), kind: n.kind, health: n.health,
      parent: n.namespace ? "ns:" + n.namespace : undefined } });
  }
  for (const e of g.edges) {
    els.push({ data: { id: e.id, source: e.source, target: e.target, label: edgeLabel(e),
      health: e.health, width: Math.min(2 + Math.log10(1 + e.rps) * 3, 10) } });
  }
  return els;
}

function cyStyle() {
  return [
    { selector: "node", style: { label: "data(label)", "font-size": 12, "min-zoomed-font-size": 5, "text-valign": "bottom",
      "text-margin-y": 4, color: "#1b1f24", "background-color": "#5b6f86", width: 26, height: 26,
      "border-width": 3, "border-color": (n) => HEALTH_COLOUR[n.data("health")] || "#5b6f86" } },
    { selector: 'node[kind = "service"]', style: { shape: "triangle", "background-color": "#2f6fae" } },
    { selector: 'node[kind = "unknown"]', style: { shape: "diamond", "background-color": "#8a939c" } },
    { selector: 'node[kind = "namespace"]', style: { shape: "round-rectangle", "background-opacity": 0.06,
      "border-width": 1, "border-color": "#9aa6b2", "text-valign": "top", "font-weight": 600, color: "#4a5360" } },
    { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", width: "data(width)",
      "line-color": (e) => HEALTH_COLOUR[e.data("health")], "target-arrow-color": (e) => HEALTH_COLOUR[e.data("health")],
      label: "data(label)", "font-size": 10, "min-zoomed-font-size": 5, "text-background-color": "#fff", "text-background-opacity": 0.85,
      "text-background-padding": 2, color: "#1b1f24" } },
    { selector: ":selected", style: { "overlay-opacity": 0.15 } },
  ];
}

// dagre draws callers left of what they call, but its crossing minimisation grows fast with
// the graph (benchmarks/bench_dashboard.py: tens of seconds for 1,000 edges); past
// DAGRE_MAX_NODES the breadth-first layout (linear, same left-to-right reading) takes over.
const DAGRE_MAX_NODES = 120;

function layoutFor(g) {
  if (g.nodes.length <= DAGRE_MAX_NODES) return { name: "dagre", rankDir: "LR", nodeSep: 30, rankSep: 90 };
  const called = new Set(g.edges.map((e) => e.target));
  const roots = g.nodes.filter((n) => !called.has(n.id)).map((n) => n.id);
  return { name: "breadthfirst", directed: true, roots: roots.length ? roots : undefined, spacingFactor: 0.9,
    transform: (node, pos) => ({ x: pos.y, y: pos.x }) };
}

function drawGraph(g) {
  const key = g.nodes.map((n) => n.id).join(",") + "|" + g.edges.map((e) => e.id).join(",");
  const container = document.getElementById("graph");
  if (!state.cy || state.cy.container() !== container || key !== state.nodeKey) {
    if (state.cy) state.cy.destroy();
    state.cy = cytoscape({ container, elements: cyElements(g), style: cyStyle(), layout: layoutFor(g),
      wheelSensitivity: 0.3 });
    state.cy.on("tap", "node", (ev) => { const href = nodeHref(ev.target.id()); if (href) location.hash = href; });
    state.nodeKey = key;
  } else {
    const byId = new Map(cyElements(g).map((el) => [el.data.id, el.data]));
    state.cy.batch(() => state.cy.elements().forEach((el) => { const d = byId.get(el.id()); if (d) el.data(d); }));
  }
  window.sailGraph = g;  // for people poking at the page (and the browser tests)
}

function edgeRows(g) {
  const names = new Map(g.nodes.map((n) => [n.id, nodeLabel(n)]));
  return g.edges.map((e) => h("tr", { "data-edge": e.id, "data-health": e.health, "data-rps": e.rps },
    h("td", {}, link(e.source, names.get(e.source) || e.source), " → ", link(e.target, names.get(e.target) || e.target)),
    h("td", { class: "num" }, e.protocol === "tcp" ? fmt.bytes(e.tcpBytesPerSecond) : fmt.rps(e.rps)),
    h("td", { class: "num health-" + e.health }, e.protocol === "tcp" ? "–" : fmt.pct(e.errorRate),
      h("span", { class: "sr-only" }, ` (${e.health})`)),
    h("td", { class: "num" }, fmt.ms(e.p50)), h("td", { class: "num" }, fmt.ms(e.p99)),
    h("td", {}, e.mtls === null ? "–" : e.mtls >= 0.999 ? "mTLS" : e.mtls > 0 ? `mTLS ${fmt.pct(e.mtls)}` : "plain")));
}

function link(id, text) {
  const href = nodeHref(id);
  return href ? h("a", { href }, text) : text;
}

async function graphPage(main, first) {
  const g = await getJSON(`/api/graph?window=${windowName()}`);
  if (first) {
    main.replaceChildren(
      h("h1", {}, "Service graph"),
      h("div", { class: "legend" }, "▲ service  ● workload  ◆ outside the mesh  “mTLS ·” on an edge: mutual TLS;",
        h("span", { class: "health-healthy" }, "green: healthy"), h("span", { class: "health-degraded" }, "orange: errors"),
        h("span", { class: "health-failure" }, "red: ≥ 20% errors")),
      h("div", { class: "graph-layout" },
        h("div", { id: "graph", role: "img", "aria-label": "Service graph; the table beside it lists the same edges" }),
        h("section", { class: "side", "aria-labelledby": "edges-title" },
          h("h2", { id: "edges-title" }, "Edges"), h("div", { id: "edges" }))));
  }
  drawGraph(g);
  const edges = document.getElementById("edges");
  edges.replaceChildren(g.edges.length
    ? table(["Edge", "RPS", "Errors", "p50", "p99", "Security"], edgeRows(g), "Edges of the graph")
    : h("p", { class: "empty" }, "No traffic in this window yet."));
  setStatus(`updated ${new Date().toLocaleTimeString()} · ${g.seconds.toFixed(0)} s of data`);
  return g.interval;
}

// --- charts ----------------------------------------------------------------------------
function chart(title, points, series) {
  const box = h("figure", { class: "chart" }, h("figcaption", {}, title));
  if (points.length < 2 || typeof uPlot === "undefined") {
    box.append(h("p", { class: "empty" }, "Not enough samples yet."));
    return box;
  }
  const now = Date.now() / 1000, last = points[points.length - 1].t;
  const data = [points.map((p) => now - (last - p.t)), ...series.map((s) => points.map((p) => s.value(p)))];
  const width = Math.min(520, Math.max(280, document.getElementById("main").clientWidth - 40));
  new uPlot({ width, height: 180, series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2 }))],
    axes: [{}, { size: 60 }] }, data, box);
  return box;
}

function trafficCharts(t) {
  return h("div", { class: "charts" },
    chart("Inbound requests per second", t.inbound, [{ label: "rps", colour: "#0b5cad", value: (p) => p.rps },
      { label: "errors/s", colour: "#c0182b", value: (p) => p.rps * p.errorRate }]),
    chart("Inbound latency (ms)", t.inbound, [{ label: "p50", colour: "#1a7f37", value: (p) => p.p50 },
      { label: "p99", colour: "#9a5b00", value: (p) => p.p99 }]),
    chart("Outbound requests per second", t.outbound, [{ label: "rps", colour: "#0b5cad", value: (p) => p.rps },
      { label: "errors/s", colour: "#c0182b", value: (p) => p.rps * p.errorRate }]));
}

function objectList(objects) {
  if (!objects.length) return h("p", { class: "empty" }, "No VirtualService, DestinationRule or policy applies.");
  return h("ul", {}, objects.map((o) => h("li", {}, h("a", {
    href: `#/config/${encodeURIComponent(o.kind)}/${encodeURIComponent(o.namespace || "_")}/${encodeURIComponent(o.name)}` },
  `${o.kind} ${o.namespace ? o.namespace + "/" : ""}${o.name}`))));
}

function messageTable(messages) {
  if (!messages.length) return h("p", { class: "empty" }, "No analyzer messages.");
  return table(["Level", "Code", "Object", "Message"], messages.map((m) => h("tr", {},
    h("td", { class: "level-" + m.level }, m.level), h("td", {}, m.code || ""), h("td", {}, m.origin || ""),
    h("td", {}, m.message))), "Analyzer messages");
}

async function servicePage(main, ns, name) {
  const s = await getJSON(`/api/service/${encodeURIComponent(ns)}/${encodeURIComponent(name)}?window=${windowName()}`);
  const ejected = new Set(s.outlierEjected);
  main.replaceChildren(
    h("h1", {}, `Service ${s.namespace}/${s.name}`),
    h("p", {}, `${s.hostname} · VIP ${s.vip || "none"} · ports ${s.ports.map((p) => `${p.port}/${p.protocol}`).join(", ")}`),
    h("p", {}, h("a", { href: `#/traces?service=${encodeURIComponent(`${s.name}.${s.namespace}`)}` },
      "Recent traces through this service")),
    h("h2", {}, "Traffic"), trafficCharts(s.traffic),
    h("h2", {}, "Endpoints"),
    s.endpoints.length ? table(["Address", "Port", "Workload", "Version", "Health", "Outlier detection"],
      s.endpoints.map((e) => h("tr", {}, h("td", {}, e.address), h("td", { class: "num" }, e.port),
        h("td", {}, e.workload), h("td", {}, e.version), h("td", { class: e.healthy ? "health-healthy" : "health-failure" },
          e.healthy ? "healthy" : "unhealthy"),
        h("td", { class: ejected.has(`${e.address}:${e.port}`) ? "health-failure" : "" },
          ejected.has(`${e.address}:${e.port}`) ? "ejected" : "–"))), "Endpoints")
      : h("p", { class: "empty" }, "No endpoints."),
    h("h2", {}, "Config that applies"), objectList(s.objects),
    h("h2", {}, "Analyzer messages"), messageTable(s.messages));
  setStatus(`updated ${new Date().toLocaleTimeString()}`);
}

async function workloadPage(main, ns, name) {
  const w = await getJSON(`/api/workload/${encodeURIComponent(ns)}/${encodeURIComponent(name)}?window=${windowName()}`);
  main.replaceChildren(
    h("h1", {}, `Workload ${w.namespace}/${w.name}`),
    h("p", {}, Object.entries(w.labels).map(([k, v]) => h("span", { class: "badge" }, `${k}=${v}`)).reduce((a, b) => [...a, b, " "], [])),
    h("h2", {}, "Traffic"), trafficCharts(w.traffic),
    h("h2", {}, "Proxies"), w.proxies.length ? h("ul", {}, w.proxies.map((p) => h("li", {}, h("a", { href: "#/proxies" }, p))))
      : h("p", { class: "empty" }, "No connected proxy."),
    h("h2", {}, "Config that applies"), objectList(w.objects),
    h("h2", {}, "Analyzer messages"), messageTable(w.messages));
  setStatus(`updated ${new Date().toLocaleTimeString()}`);
}

// --- config ----------------------------------------------------------------------------
async function configPage(main) {
  const c = await getJSON("/api/config");
  const rows = c.items.map((o) => h("tr", { "data-status": o.status },
    h("td", {}, o.kind), h("td", {}, o.namespace || ""),
    h("td", {}, h("a", { href: `#/config/${encodeURIComponent(o.kind)}/${encodeURIComponent(o.namespace || "_")}/${encodeURIComponent(o.name)}` }, o.name)),
    h("td", { class: "status-" + o.status }, o.status),
    h("td", {}, o.messages.map((m) => `${m.code || ""} ${m.message}`).join("; "))));
  main.replaceChildren(h("h1", {}, `Config (revision ${c.revision})`),
    h("p", {}, "Read-only: apply and delete with sailctl."),
    table(["Kind", "Namespace", "Name", "Status", "Messages"], rows, "Applied objects"),
    c.detached.length ? [h("h2", {}, "Other messages"), messageTable(c.detached)] : null);
  setStatus(`updated ${new Date().toLocaleTimeString()}`);
}

async function configObjectPage(main, kind, ns, name) {
  const o = await getJSON(`/api/config/${encodeURIComponent(kind)}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`);
  main.replaceChildren(h("h1", {}, o.ref), h("p", { class: "status-" + o.status }, `Status: ${o.status}`),
    h("h2", {}, "Messages"), messageTable(o.messages),
    h("h2", {}, "YAML"), h("pre", { class: "yaml", tabindex: 0, "aria-label": "YAML of " + o.ref }, o.yaml));
}

// --- proxies ---------------------------------------------------------------------------
const TYPES = ["CDS", "LDS", "EDS", "RDS", "SDS"];

function certSummary(certs) {
  const own = certs.filter((c) => c.kind === "cert" && c.expires);
  if (!own.length) return "–";
  const soonest = own.reduce((a, b) => (Date.parse(a.expires) <= Date.parse(b.expires) ? a : b));
  const hours = (Date.parse(soonest.expires) - Date.now()) / 3.6e6;
  const left = hours < 0 ? "expired" : hours < 48 ? `in ${hours.toFixed(0)} h` : `in ${(hours / 24).toFixed(0)} d`;
  return `${soonest.expires} (${left})`;
}

// SDS: the node agent serves workload certificates over its own socket, not over ADS.
function typeState(x, t) {
  const st = (x.types[t] || {}).state || "–";
  if (t === "SDS" && st === "NOT SENT" && x.certificates.some((c) => c.kind === "cert")) return "NODE AGENT";
  return st;
}

async function proxiesPage(main) {
  const p = await getJSON("/api/proxies");
  const rows = p.proxies.map((x) => {
    const nacks = TYPES.map((t) => [t, x.types[t]]).filter(([, r]) => r && r.nack);
    const enc = encodeURIComponent(x.node);
    return h("tr", { "data-node": x.node, "data-nacked": String(nacks.length > 0) },
      h("td", {}, x.pod || x.node, h("br"), h("small", {}, x.node)),
      TYPES.map((t) => { const st = typeState(x, t); return h("td", { class: "state-" + st.replace(" ", "_") }, st); }),
      h("td", {}, certSummary(x.certificates)),
      h("td", {}, ["clusters", "listeners", "routes"].map((w) => [h("a", { href: `#/proxy/${enc}/${w}` }, w), " "])),
      h("td", {}, nacks.map(([t, r]) => h("div", { class: "nack" }, `${t} NACK (version ${r.nack.version}): ${r.nack.message}`))));
  });
  main.replaceChildren(h("h1", {}, "Proxies"),
    rows.length ? table(["Proxy", ...TYPES, "Certificate expires", "Config", "Rejected config"], rows, "Proxy sync status")
      : h("p", { class: "empty" }, "No proxy is connected."));
  setStatus(`updated ${new Date().toLocaleTimeString()}`);
}

// /config_dump?resource=... lists the resources themselves (DynamicCluster, DynamicListener,
// DynamicRouteConfig), one per entry of "configs".
function dumpRows(what, dump) {
  return (dump.configs || []).map((c) => {
    if (what === "clusters") return [c.cluster.name, c.cluster.type || "EDS", c.version_info];
    if (what === "listeners") {
      const l = (c.active_state || c.warming_state || {}).listener || {};
      const sa = ((l.address || {}).socket_address) || {};
      return [c.name, `${sa.address || ""}:${sa.port_value ?? ""}`, (c.active_state || {}).version_info || "warming"];
    }
    const rc = c.route_config || {};
    return [rc.name, (rc.virtual_hosts || []).map((v) => v.name).join(", "), c.version_info];
  });
}

async function proxyConfigPage(main, node, what) {
  const d = await getJSON(`/api/proxies/${encodeURIComponent(node)}/${what}`);
  const headers = { clusters: ["Cluster", "Type", "Version"], listeners: ["Listener", "Address", "Version"],
    routes: ["Route config", "Virtual hosts", "Version"] }[what];
  main.replaceChildren(h("h1", {}, `${what} of ${node}`), h("p", {}, h("a", { href: "#/proxies" }, "← Proxies")),
    table(headers, dumpRows(what, d.dump).map((r) => h("tr", {}, r.map((c) => h("td", {}, c ?? "")))), `${what} of the proxy`));
}

// --- router ----------------------------------------------------------------------------
const ROUTES = [
  [/^#\/graph$/, "graph", (m, main, first) => graphPage(main, first)],
  [/^#\/service\/([^/]+)\/([^/]+)$/, "graph", (m, main) => servicePage(main, ...m)],
  [/^#\/workload\/([^/]+)\/([^/]+)$/, "graph", (m, main) => workloadPage(main, ...m)],
  [/^#\/config$/, "config", (m, main) => configPage(main)],
  [/^#\/config\/([^/]+)\/([^/]+)\/([^/]+)$/, "config", (m, main) => configObjectPage(main, ...m), "once"],
  [/^#\/proxies$/, "proxies", (m, main) => proxiesPage(main)],
  [/^#\/proxy\/([^/]+)\/(clusters|listeners|routes)$/, "proxies", (m, main) => proxyConfigPage(main, ...m), "once"],
];

async function render(first) {
  clearTimeout(state.timer);
  const hash = location.hash || "#/graph";
  const main = document.getElementById("main");
  const route = ROUTES.find(([re]) => re.test(hash));
  if (!route) { location.hash = "#/graph"; return; }
  const [re, page, show, once] = route;
  const args = re.exec(hash).slice(1).map(decodeURIComponent);
  document.querySelectorAll("nav a").forEach((a) => {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (first) { state.cy = null; main.replaceChildren(h("p", { class: "empty" }, "Loading…")); }
  let interval = 5;
  try {
    interval = (await show(args, main, first)) || interval;
  } catch (err) {
    setStatus("error: " + err.message);
    if (first) main.replaceChildren(h("p", { class: "level-Error", role: "alert" }, err.message));
  }
  if (!once) state.timer = setTimeout(() => render(false), interval * 1000);
}

window.addEventListener("hashchange", () => { render(true); document.getElementById("main").focus({ preventScroll: true }); });
document.addEventListener("DOMContentLoaded", () => {
  const saved = new URLSearchParams(location.search).get("window");
  if (saved) document.getElementById("window").value = saved;
  document.getElementById("window").addEventListener("change", () => render(true));
  if (typeof cytoscape !== "undefined" && typeof cytoscapeDagre !== "undefined") cytoscape.use(cytoscapeDagre);
  render(true);
});
