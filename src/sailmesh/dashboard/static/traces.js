// The Traces pages of the dashboard: recent traces with filters (#/traces?service=&minDuration=)
// and one trace as a waterfall (#/trace/<id>), over /api/traces (see trace_views.py). Loaded
// after dashboard.js, whose router (ROUTES), h() and getJSON() it uses. Built with DOM calls
// only (textContent), so span names and tags cannot inject markup.
"use strict";

const traceState = { listKey: null, query: "", shown: "" };

function fmtDuration(ms) {
  if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
  if (ms >= 10) return ms.toFixed(1) + " ms";
  return ms.toFixed(2) + " ms";
}

function hashQuery() {
  const at = location.hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : location.hash.slice(at + 1));
}

function startTime(ms) {
  const d = new Date(ms);
  return h("time", { datetime: d.toISOString() }, d.toLocaleTimeString());
}

// --- the list --------------------------------------------------------------------------
function filterForm(q) {
  const field = (label, input, hint) => h("div", { class: "field" }, h("label", { for: input.id }, label), input,
    hint ? h("small", { id: input.id + "-hint" }, hint) : null);
  const limit = h("select", { id: "trace-limit", name: "limit" },
    ["20", "50", "100"].map((n) => h("option", { value: n, selected: (q.get("limit") || "20") === n }, n)));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter traces" },
    field("Service", h("input", { id: "trace-service", name: "service", list: "trace-services", autocomplete: "off",
      value: q.get("service") || "", "aria-describedby": "trace-service-hint" }), "a name (reviews) or name.namespace"),
    h("datalist", { id: "trace-services" }),
    field("Minimum duration", h("input", { id: "trace-min", name: "minDuration", value: q.get("minDuration") || "",
      placeholder: "e.g. 100ms", "aria-describedby": "trace-min-hint", size: 10 }), "100ms, 1.5s or milliseconds"),
    field("Show", limit),
    h("div", { class: "field" }, h("button", { type: "submit" }, "Apply filters")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) params.set(k, String(v).trim());
    const hash = "#/traces" + (params.toString() ? "?" + params : "");
    if (location.hash === hash) render(false); else location.hash = hash;
  });
  return form;
}

function traceRows(traces) {
  return traces.map((t) => h("tr", { "data-trace": t.traceId, "data-errors": t.errors },
    h("td", {}, startTime(t.startMs)),
    h("td", {}, h("a", { href: `#/trace/${t.traceId}` }, h("strong", {}, t.rootService), " ", t.rootOperation || "–")),
    h("td", { class: "num" }, fmtDuration(t.durationMs)),
    h("td", { class: "num" }, t.spans),
    h("td", { class: t.errors ? "num level-Error" : "num" }, t.errors ? `${t.errors} error${t.errors > 1 ? "s" : ""}` : "–"),
    h("td", {}, t.services.join(", "))));
}

async function tracesPage(main, first) {
  const q = hashQuery();
  const api = new URLSearchParams();
  for (const k of ["service", "minDuration", "limit"]) if (q.get(k)) api.set(k, q.get(k));
  traceState.query = api.toString();
  if (first || !document.getElementById("trace-results")) {
    traceState.listKey = null;
    main.replaceChildren(h("h1", {}, "Traces"), filterForm(q),
      h("section", { id: "trace-results", "aria-labelledby": "trace-results-title" },
        h("h2", { id: "trace-results-title", class: "sr-only" }, "Recent traces")));
  }
  const body = await getJSON("/api/traces?" + api);
  document.getElementById("trace-services").replaceChildren(...body.services.map((s) => h("option", { value: s })));
  const key = body.traces.map((t) => `${t.traceId}:${t.spans}:${t.errors}`).join(",");
  if (key !== traceState.listKey) {  // unchanged lists are left alone (keeps keyboard focus)
    traceState.listKey = key;
    document.getElementById("trace-results").replaceChildren(
      h("h2", { id: "trace-results-title", class: "sr-only" }, "Recent traces"),
      body.traces.length
        ? table(["Start", "Root service and operation", "Duration", "Spans", "Errors", "Services"],
          traceRows(body.traces), "Recent traces, newest first")
        : h("p", { class: "empty" }, body.store.traces ? "No trace matches these filters."
          : "No traces yet (sampling is 1% by default: see meshConfig.defaultConfig.tracing.sampling and " +
            "Telemetry tracing.randomSamplingPercentage)."));
  }
  setStatus(`updated ${new Date().toLocaleTimeString()} · ${body.store.traces} traces kept`);
}

// --- one trace -------------------------------------------------------------------------
function tagTable(row) {
  const entries = [["span id", row.spanId], ["parent span id", row.parentSpanId || "–"], ["kind", row.kind],
    ["starts at", "+" + fmtDuration(row.offsetMs)], ["duration", fmtDuration(row.durationMs)],
    ...Object.entries(row.tags).sort(([a], [b]) => a.localeCompare(b))];
  return table(["Tag", "Value"], entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v))),
    `Tags of ${row.service} ${row.operation}`);
}

function waterfallRow(row, i) {
  const tagsId = `span-tags-${i}`;
  const button = h("button", { class: "wf-label", type: "button", "aria-expanded": "false", "aria-controls": tagsId,
    style: `--depth:${row.depth}` },
  h("span", { class: "wf-name", title: `${row.service} ${row.operation}` },
    h("span", { class: "wf-service" }, row.service), " ", h("span", { class: "wf-op" }, row.operation || "–")), " ",
  h("span", { class: "wf-dur" }, fmtDuration(row.durationMs)),
  row.error ? h("span", { class: "badge wf-error-badge" }, "error") : null,
  h("span", { class: "sr-only" }, `, level ${row.depth + 1}, ${row.kind.toLowerCase()}, starts at +${fmtDuration(row.offsetMs)}`));
  const tags = h("div", { class: "wf-tags", id: tagsId, hidden: true });
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    if (open && !tags.childElementCount) tags.append(tagTable(row));
    tags.hidden = !open;
  });
  const bar = h("div", { class: "wf-bar" + (row.error ? " wf-bar-error" : ""),
    style: `left:${(row.start * 100).toFixed(3)}%;width:${(row.width * 100).toFixed(3)}%` });
  const track = h("div", { class: "wf-track", "aria-hidden": "true", onclick: () => button.click() }, bar);
  return h("li", { class: "wf-row" + (row.error ? " wf-error" : ""), "data-span": row.spanId,
    "data-parent": row.parent === null ? "" : row.parent, "data-depth": row.depth, "data-service": row.service,
    "data-error": String(row.error) }, button, track, tags);
}

function axis(durationMs) {
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { class: "wf-tick", style: `left:${f * 100}%` },
    fmtDuration(durationMs * f)));
  return h("div", { class: "wf-axis", "aria-hidden": "true" }, h("span", { class: "wf-axis-label" }, "Service · operation · duration"),
    h("div", { class: "wf-track wf-ticks" }, ticks));
}

// Up/Down (and Home/End) move between the spans' buttons; Enter or Space shows a span's tags.
function waterfallKeys(list) {
  list.addEventListener("keydown", (ev) => {
    const buttons = [...list.querySelectorAll(".wf-label")];
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[ev.key];
    if (to === undefined || to < 0 || to >= buttons.length) return;
    ev.preventDefault();
    buttons[to].focus();
  });
}

// Spans reach the collector up to a few seconds after the request: the page polls and redraws
// when the trace has grown, keeping the spans whose tags are open and the focused span.
async function tracePage(main, traceId, first) {
  const t = await getJSON(`/api/traces/${encodeURIComponent(traceId)}`);
  const key = `${t.traceId}:${t.rows.length}:${t.durationMs}`;
  if (!first && key === traceState.shown && main.querySelector(".wf-rows")) return;
  traceState.shown = key;
  const open = new Set([...main.querySelectorAll(".wf-row")]
    .filter((r) => r.querySelector(".wf-label").getAttribute("aria-expanded") === "true").map((r) => r.dataset.span));
  const focused = document.activeElement && document.activeElement.closest(".wf-row");
  const list = h("ol", { class: "wf-rows", "aria-label": `Spans of trace ${t.traceId}, callers before what they call` },
    t.rows.map(waterfallRow));
  waterfallKeys(list);
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/traces" + (traceState.query ? "?" + traceState.query : "") }, "← Traces")),
    h("h1", { class: "trace-title" }, `Trace ${t.traceId}`),
    h("p", { class: "trace-summary" }, h("strong", {}, t.rootService), ` ${t.rootOperation || ""} · `,
      fmtDuration(t.durationMs), ` · ${t.spans} spans · `, startTime(t.startMs),
      t.errors ? h("span", { class: "level-Error" }, ` · ${t.errors} error${t.errors > 1 ? "s" : ""}`) : null),
    h("p", { class: "legend" }, "Each bar is a span on the trace's time axis, indented under its caller. " +
      "Tab to a span and press Enter (or click) for its tags; ↑/↓ move between spans."),
    h("div", { class: "waterfall" }, axis(t.durationMs), list));
  for (const row of list.querySelectorAll(".wf-row")) {
    const button = row.querySelector(".wf-label");
    if (open.has(row.dataset.span)) button.click();
    if (focused && focused.dataset.span === row.dataset.span) button.focus();
  }
  setStatus(`trace of ${t.spans} spans · ${t.services.length} services`);
}

ROUTES.push(
  [/^#\/traces(?:\?.*)?$/, "traces", (m, main, first) => tracesPage(main, first)],
  [/^#\/trace\/([0-9a-fA-F]{32})$/, "traces", (m, main, first) => tracePage(main, m[0], first)],
);
