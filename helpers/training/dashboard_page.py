"""The dashboard's page, style and script, served by ``helpers.training.dashboard``.

The page is a static shell: no class data is ever written into the HTML. The script polls
``/api/view`` every 2 s and updates the grid in place, writing every string from the status
document with ``textContent`` (trainee ids and exercise titles come from files a facilitator
edits), so nothing from the class can become markup. The Content-Security-Policy allows only
these same-origin files: no inline script or style.
"""

__all__ = ["PAGE", "SCRIPT", "STYLE"]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Class dashboard · akv-runbook</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Class dashboard</h1>
  <p id="summary">Loading the class…</p>
  <p id="connection" role="status" aria-live="polite"></p>
  <nav><a href="/export.csv" download>Export CSV</a> · <a href="/export.json" download>Export
  JSON</a></nav>
</header>
<main>
  <section aria-labelledby="stuck-heading">
    <h2 id="stuck-heading">Stuck longest</h2>
    <ol id="stuck"></ol>
    <p id="nobody-stuck" hidden>Nobody is stuck.</p>
  </section>
  <section aria-labelledby="grid-heading">
    <h2 id="grid-heading">Trainees × exercises</h2>
    <p class="legend">
      <span class="cell state-not-started">○ not started</span>
      <span class="cell state-in-progress">● in progress</span>
      <span class="cell state-in-progress long">▲ stuck ≥ 10 min</span>
      <span class="cell state-passed">✓ passed</span>
      <span class="cell state-skipped">↷ skipped (solved for them)</span>
    </p>
    <div class="scroll"><table id="grid"><thead></thead><tbody></tbody><tfoot></tfoot></table>
    </div>
  </section>
</main>
<noscript>This page needs JavaScript; the exports above work without it.</noscript>
</body>
</html>
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem 1.5rem; color: #111827; }
h1 { margin: 0 0 .25rem; font-size: 1.4rem; } h2 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
#connection:not(:empty) { color: #991b1b; font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d1d5db; padding: .3rem .45rem; vertical-align: top; }
thead th { background: #f3f4f6; font-weight: 600; max-width: 11rem; overflow-wrap: anywhere; }
tbody th { text-align: left; white-space: nowrap; }
.cell { min-width: 8.5rem; }
.legend .cell { display: inline-block; padding: .1rem .5rem; margin-right: .4rem; }
.state-not-started { background: #f3f4f6; color: #374151; }
.state-in-progress { background: #fef3c7; color: #78350f; }
.state-in-progress.long { background: #fecaca; color: #7f1d1d; }
.state-passed { background: #d1fae5; color: #065f46; }
.state-skipped { background: #dbeafe; color: #1e3a8a; }
.state-unknown { background: #fff; color: #6b7280; }
.sym { font-weight: 700; margin-right: .25rem; }
.meta { display: block; font-size: .8rem; opacity: .85; }
button.reset { float: right; font-size: .8rem; margin-left: .4rem; cursor: pointer; }
.muted { color: #6b7280; }
#stuck li { margin: .15rem 0; }
"""

SCRIPT = r""""use strict";
(() => {
  const POLL_MS = 2000;
  const LONG_SECONDS = 600;
  const STATES = {
    "not-started": ["○", "not started"],
    "in-progress": ["●", "in progress"],
    "passed": ["✓", "passed"],
    "skipped": ["↷", "skipped"],
  };
  const $ = (id) => document.getElementById(id);
  const grid = $("grid");
  let shape = "";
  let cells = new Map();
  let rows = new Map();
  let titles = new Map();
  window.dashboardLoadedAt = Date.now(); // survives every update: the page never reloads

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  }
  function seconds(now, iso) {
    const t = Date.parse(iso || "");
    return Number.isNaN(t) ? null : Math.max(0, Math.round((now - t) / 1000));
  }
  function span(s) {
    if (s === null) return "—";
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0");
  }

  function clock(iso) {
    const t = Date.parse(iso || "");
    return Number.isNaN(t) ? "—" : new Date(t).toLocaleTimeString();
  }

  function build(status) {
    const exercises = status.exercises || [];
    const head = el("tr");
    head.append(el("th", "trainee", {scope: "col"}), el("th", "last activity", {scope: "col"}));
    titles = new Map();
    for (const ex of exercises) {
      titles.set(String(ex.id), String(ex.title || ex.id));
      head.append(el("th", String(ex.title || ex.id), {scope: "col", title: String(ex.id)}));
    }
    grid.tHead.replaceChildren(head);
    cells = new Map();
    rows = new Map();
    for (const trainee of status.trainees || []) {
      const id = String(trainee.id);
      const row = el("tr", undefined, {"data-trainee": id});
      row.append(el("th", id, {scope: "row"}), el("td", "", {class: "activity"}));
      for (const ex of exercises) {
        const td = el("td", undefined, {"data-trainee": id, "data-exercise": String(ex.id)});
        td.append(el("span", "", {class: "sym"}), el("span", "", {class: "label"}),
                  el("span", "", {class: "meta"}));
        const button = el("button", "↺", {type: "button", class: "reset", "data-reset": "",
          "aria-label": "Reset " + id + " · " + String(ex.title || ex.id)});
        td.prepend(button);
        cells.set(id + "\u0000" + String(ex.id), td);
        row.append(td);
      }
      rows.set(id, row);
    }
    grid.tBodies[0].replaceChildren(...rows.values());
  }

  function fill(td, cell, now) {
    const state = STATES[cell.state] ? cell.state : "unknown";
    const [sym, label] = STATES[state] || ["?", String(cell.state)];
    const stuck = state === "in-progress" ? seconds(now, cell.stuck_since) : null;
    const long = stuck !== null && stuck >= LONG_SECONDS;
    td.className = "cell state-" + state + (long ? " long" : "");
    td.dataset.state = state;
    td.querySelector(".sym").textContent = long ? "▲" : sym;
    td.querySelector(".label").textContent = label;
    const meta = [];
    if (stuck !== null) meta.push("stuck " + span(stuck));
    if (state !== "not-started") {
      meta.push("hints " + Number(cell.hints_used || 0));
      meta.push("checks " + Number(cell.checks || 0));
    }
    td.querySelector(".meta").textContent = meta.join(" · ");
    td.querySelector("button").hidden = state === "not-started";
    td.title = label + (cell.last_check ? " · last check " + cell.last_check : "");
  }

  function render(view) {
    const status = view.status || {};
    const now = Date.parse(view.now) || Date.now();
    const exercises = (status.exercises || []).map((e) => [e.id, e.title]);
    const trainees = (status.trainees || []).map((t) => t.id);
    const next = JSON.stringify([exercises, trainees]);
    if (next !== shape) { build(status); shape = next; }
    const passed = new Map();
    for (const trainee of status.trainees || []) {
      const row = rows.get(String(trainee.id));
      if (!row) continue;
      const idle = seconds(now, trainee.last_activity);
      row.querySelector(".activity").textContent = idle === null ? "—" : span(idle) + " ago";
      for (const [exercise, cell] of Object.entries(trainee.exercises || {})) {
        const td = cells.get(String(trainee.id) + "\u0000" + exercise);
        if (td) fill(td, cell || {}, now);
        if (cell && (cell.state === "passed" || cell.state === "skipped")) {
          passed.set(exercise, (passed.get(exercise) || 0) + 1);
        }
      }
    }
    const foot = el("tr");
    foot.append(el("th", "done", {scope: "row"}), el("td"));
    for (const [id] of exercises) {
      foot.append(el("td", (passed.get(String(id)) || 0) + " / " + trainees.length));
    }
    grid.tFoot.replaceChildren(foot);
    const items = (view.stuck || []).map((s) => el("li",
      s.trainee + " · " + s.title + " — stuck " + span(s.stuck_seconds) + ", hints " + s.hints_used,
      {"data-trainee": s.trainee, "data-exercise": s.exercise}));
    $("stuck").replaceChildren(...items);
    $("nobody-stuck").hidden = items.length > 0;
    const cls = status.class || {};
    $("summary").textContent = trainees.length + " trainees · " + exercises.length +
      " exercises · started " + clock(cls.started) + " · updated " + clock(view.now);
  }

  async function poll() {
    try {
      const answer = await fetch("/api/view", {cache: "no-store", credentials: "same-origin"});
      if (answer.status === 401) {
        $("connection").textContent =
          "The token was refused: open the dashboard URL with ?token= again.";
        return;
      }
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      render(await answer.json());
      $("connection").textContent = "";
    } catch (err) {
      $("connection").textContent = "Cannot reach the class (" + err.message + "); retrying.";
    }
    setTimeout(poll, POLL_MS);
  }

  grid.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-reset]");
    if (!button) return;
    const td = button.closest("td");
    const trainee = td.dataset.trainee, exercise = td.dataset.exercise;
    const title = titles.get(exercise) || exercise;
    if (!window.confirm("Reset " + trainee + "'s exercise \u201c" + title + "\u201d?\n" +
        "Their progress on it is cleared and the broken state is set up again.")) return;
    const answer = await fetch("/api/reset", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-AKV-Dashboard": "1"},
      body: JSON.stringify({trainee, exercise}),
    });
    if (!answer.ok) {
      const body = await answer.json().catch(() => ({}));
      $("connection").textContent = "Reset refused: " + (body.error || answer.status);
    }
  });

  poll();
})();
"""
