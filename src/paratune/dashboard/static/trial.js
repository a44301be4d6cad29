// One trial: its config, metrics, reports (its learning curve), attempts, error with
// traceback, worker, host, CPU time and peak memory; live while it runs.

import {
  api,
  badge,
  cards,
  el,
  fill,
  fmt,
  fmtBytes,
  fmtSeconds,
  keyValueTable,
  poll,
  seg,
} from "./dom.js";
import { plain, PLOT_CONFIG } from "./plots.js";

function reportsTable(reports) {
  const keys = [...new Set(reports.flatMap((r) => Object.keys(r.metrics || {})))];
  return el(
    "table",
    { class: "plain", "data-role": "reports" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["step", "time (s)", ...keys].map((h) => el("th", {}, h)),
      ),
    ),
    el(
      "tbody",
      {},
      reports.map((r) =>
        el(
          "tr",
          {},
          el("td", {}, fmt(r.step)),
          el("td", {}, fmt(r.time)),
          keys.map((k) => el("td", {}, fmt(r.metrics?.[k]))),
        ),
      ),
    ),
  );
}

function curveFigure(trial) {
  const keys = [...new Set(trial.reports.flatMap((r) => Object.keys(r.metrics || {})))];
  const data = keys.map((key) => {
    const points = trial.reports.filter((r) => typeof r.metrics?.[key] === "number");
    return {
      type: "scatter",
      mode: "lines+markers",
      name: plain(key),
      x: points.map((r) => r.step),
      y: points.map((r) => r.metrics[key]),
    };
  });
  return {
    data,
    layout: {
      margin: { l: 60, r: 20, t: 30, b: 45 },
      uirevision: "keep",
      xaxis: { title: { text: "step" } },
      legend: { orientation: "h", y: -0.2 },
      font: { size: 12 },
      title: {
        text: `reports of trial ${trial.trial_id}`,
        font: { size: 13 },
        x: 0,
        xanchor: "left",
      },
    },
  };
}

/** A number that names something (a pid, a seed) as it is, without thousands separators. */
function idText(value) {
  return value === null || value === undefined ? "" : String(value);
}

function timesTable(t) {
  return keyValueTable([
    ["attempts", t.attempts],
    ["submitted (s after the experiment started)", t.submitted],
    ["started", t.started],
    ["finished", t.finished],
    [
      "duration of the latest attempt",
      t.started !== null && t.finished !== null ? fmtSeconds(t.finished - t.started) : "",
    ],
    ["worker time, all attempts", fmtSeconds(t.worker_time)],
  ]);
}

/** `value` as text by `show`, or `missing` when there is none. */
function orElse(value, missing, show = fmt) {
  return value === null || value === undefined ? missing : show(value);
}

function headline(name, t) {
  return [
    el("h1", {}, `Trial ${t.trial_id} `, badge(t.status)),
    el("p", {}, el("a", { href: `/experiment/${seg(name)}` }, `← ${name}`)),
    cards([
      // A trial that broke a constraint ended with no value: say which it broke.
      ["value", t.broken?.length ? `none: breaks ${t.broken.join(", ")}` : orElse(t.value, "–")],
      ["budget", orElse(t.budget, "–")],
      ["attempts", fmt(t.attempts)],
      ["worker", orElse(t.worker, "–", idText)],
      ["host", t.host || "–"],
      ["pid", orElse(t.pid, "–", idText)],
      ["CPU time", orElse(t.cpu_time, "not measured", fmtSeconds)],
      ["peak memory", orElse(t.peak_memory, "not measured", fmtBytes)],
    ]),
  ];
}

function errorSection(t) {
  if (!t.error && !t.traceback) return null;
  return el(
    "section",
    { "data-role": "error" },
    el("h2", {}, "Error"),
    el("div", { class: "error-box" }, t.error || "(no message)"),
    t.traceback ? el("pre", { class: "traceback" }, t.traceback) : null,
  );
}

function section(title, role, ...children) {
  return el("section", { "data-role": role }, el("h2", {}, title), ...children);
}

function configAndMetrics(t) {
  const metrics = Object.entries(t.metrics || {});
  const none = el("p", { class: "muted" }, t.status === "running" ? "none yet" : "none");
  return el(
    "div",
    { class: "grid2" },
    section("Config", "config", keyValueTable(Object.entries(t.config || {}))),
    section("Metrics", "metrics", metrics.length ? keyValueTable(metrics) : none),
  );
}

function timesAndRun(t) {
  const run = keyValueTable([
    ["seed", idText(t.seed)],
    ["checkpoint step", t.checkpoint_step ?? "none"],
    ["worker", idText(t.worker)],
    ["host", t.host],
    ["pid", idText(t.pid)],
  ]);
  return el(
    "div",
    { class: "grid2" },
    section("Attempts and times", "times", timesTable(t)),
    section("Run", "run", run),
  );
}

function reportsSection(t) {
  if (!t.reports.length) {
    const none = el("p", { class: "muted" }, "This trial reported no intermediate results.");
    return section("Reports", "reports-none", none);
  }
  const box = el("div", { class: "plot", "data-plot": "trial-curve" });
  return section("Reports", "reports-section", box, reportsTable(t.reports));
}

/** Show trial `t` in `main`; the box for its learning curve and the figure, if any. */
function draw(main, name, t) {
  fill(
    main,
    headline(name, t),
    errorSection(t),
    configAndMetrics(t),
    timesAndRun(t),
    reportsSection(t),
  );
  const box = main.querySelector('[data-plot="trial-curve"]');
  return { box, figure: t.reports.length ? curveFigure(t) : null };
}

/** Show trial `id` of experiment `name` in `main`, live while it runs and `alive()`. */
export async function trialPage({ main, alive, crumbs, plotly }) {
  const [, , rawName, rawId] = location.pathname.split("/");
  const name = decodeURIComponent(rawName || "");
  const id = decodeURIComponent(rawId || "");
  fill(
    crumbs,
    "/",
    el("a", { href: `/experiment/${seg(name)}` }, name),
    "/",
    el("span", {}, `trial ${id}`),
  );
  document.title = `paratune: ${name}, trial ${id}`;
  const path = `/api/experiments/${seg(name)}/trials/${seg(id)}`;
  let seen = "";
  const refresh = async () => {
    const trial = await api(path);
    const text = JSON.stringify(trial);
    if (text === seen || !alive()) return trial.status === "running";
    seen = text;
    const { box, figure } = draw(main, name, trial);
    if (figure) await (await plotly()).newPlot(box, figure.data, figure.layout, PLOT_CONFIG);
    main.dataset.drawnAt = performance.now().toFixed(1);
    return trial.status === "running";
  };
  let running;
  try {
    running = await refresh();
  } catch (error) {
    fill(main, el("div", { class: "error-box" }, `No trial ${id} in "${name}": ${error.message}`));
    return;
  }
  // A running trial changes (reports, then its result): keep asking until it has ended.
  if (running) poll(refresh, alive);
}
