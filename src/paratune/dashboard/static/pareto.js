// Experiments with several objectives, or with constraints: what the page says of their
// objectives, which trials meet the constraints, and the Pareto front panel. The server
// finds the front and sends its points (`data.front`: [trial_id, each tuned metric]); the
// page draws them, with the finished trials behind them, and never searches all trials
// for the front itself.

import { el } from "./dom.js";
import { layout, plain, samplePoints, scatterType, title } from "./plots.js";

/** The experiment's tuned metrics and their modes, the primary first. */
export function objectivesOf(experiment) {
  const metrics = experiment.metrics || [experiment.metric];
  const modes = experiment.modes || [experiment.mode];
  return metrics.map((metric, i) => ({ metric, mode: modes[i] }));
}

/** Whether the experiment tunes several metrics. */
export function severalObjectives(experiment) {
  return objectivesOf(experiment).length > 1;
}

/** Whether the experiment tunes one metric without constraints (a plain run). */
export function plainObjectives(experiment) {
  return !severalObjectives(experiment) && !(experiment.constraints || []).length;
}

/** "metric (mode)": how an axis or a heading names a metric. */
export function metricLabel(metric, mode) {
  return `${metric} (${mode})`;
}

/** The metrics with their modes ("loss (min), latency (max)"), then the constraints. */
export function objectivesText(experiment) {
  const tuned = objectivesOf(experiment)
    .map((o) => metricLabel(o.metric, o.mode))
    .join(", ");
  const bounds = (experiment.constraints || []).map(([m, op, bound]) => `${m} ${op} ${bound}`);
  return bounds.length ? `${tuned}; subject to ${bounds.join(", ")}` : tuned;
}

/** A metric of a trial as a number (the primary one falls back on the trial's value), or null. */
export function metricOf(trial, metric, primary) {
  const value = trial.metrics?.[metric] ?? (metric === primary ? trial.value : null);
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * Whether a trial meets the experiment's constraints: true or false for a trial that ended
 * done, null for one that did not (or lacks a constrained metric).
 */
export function feasibility(experiment, trial) {
  if (trial.status !== "done") return null;
  let feasible = true;
  for (const [metric, op, bound] of experiment.constraints || []) {
    const value = metricOf(trial, metric, null);
    if (value === null) return null;
    if (op === "<=" ? value > bound : value < bound) feasible = false;
  }
  return feasible;
}

/**
 * The trials table's columns of an experiment with several metrics or constraints (none
 * for a plain one): "front" (yes for a trial on the Pareto front) and "feasible" (yes or
 * no for a trial that ended done), each with the value it highlights (`flag`).
 */
export function flagColumns(experiment, data) {
  const columns = [];
  const column = (key, label, get, flag, width) => ({
    key,
    label,
    get,
    flag,
    numeric: false,
    width,
  });
  if (severalObjectives(experiment)) {
    const onFront = data.frontIds;
    const front = column(
      "pareto",
      "front",
      (t) => (onFront.has(t.trial_id) ? "yes" : ""),
      "yes",
      60,
    );
    columns.push({ ...front, version: data.frontVersion || 0 });
  }
  if ((experiment.constraints || []).length) {
    const said = { true: "yes", false: "no", null: "" };
    columns.push(column("feasible", "feasible", (t) => said[feasibility(experiment, t)], "no", 85));
  }
  return columns.length ? columns : null;
}

/** The pairs of metrics a figure can plot: [[0, 1], [0, 2], [1, 2], ...]. */
export function metricPairs(count) {
  const pairs = [];
  for (let i = 0; i < count; i += 1) for (let j = i + 1; j < count; j += 1) pairs.push([i, j]);
  return pairs;
}

/** Done trials off the front with both metrics of the pair, as points flagged infeasible
 * where they broke a constraint; past 2,500, a seeded sample of 2,000 of them (as the other
 * figures draw), taken from both kinds together so that the figure keeps their proportion. */
function trialPoints(trials, experiment, onFront, names) {
  const primary = experiment.metric;
  const points = [];
  for (const t of trials) {
    if (t.status !== "done" || onFront.has(t.trial_id)) continue;
    const x = metricOf(t, names[0], primary);
    const y = metricOf(t, names[1], primary);
    if (x === null || y === null) continue;
    points.push({ trial_id: t.trial_id, x, y, broken: feasibility(experiment, t) === false });
  }
  const { points: drawn, note } = samplePoints(points);
  return {
    feasible: drawn.filter((p) => !p.broken),
    infeasible: drawn.filter((p) => p.broken),
    note,
  };
}

function markers(name, points, marker) {
  return {
    type: scatterType(points.length),
    mode: "markers",
    name,
    x: points.map((p) => p.x),
    y: points.map((p) => p.y),
    customdata: points.map((p) => p.trial_id),
    marker,
    hovertemplate: `trial %{customdata} (${name})<br>%{x}, %{y}<extra></extra>`,
  };
}

/**
 * The Pareto front figure of metrics `pair` ([i, j] of the experiment's objectives): the
 * feasible finished trials, the infeasible ones marked apart, and the front highlighted,
 * joined as a staircase for two metrics (the edge of what it dominates: the server sends
 * it in order of the first metric). With three or more, the points of the front of every
 * metric, which need not beat each other in the two shown. `front`: the server's points.
 */
export function paretoFigure(trials, front, experiment, pair) {
  const objectives = objectivesOf(experiment);
  const [a, b] = pair.map((k) => objectives[k]);
  const onFront = new Set(front.map((p) => p[0]));
  const names = [a.metric, b.metric];
  const { feasible, infeasible, note } = trialPoints(trials, experiment, onFront, names);
  const points = front.map((p) => ({ trial_id: p[0], x: p[pair[0] + 1], y: p[pair[1] + 1] }));
  const name = `Pareto front (${front.length.toLocaleString("en")} trials)`;
  const data = [
    markers("feasible trials", feasible, { size: 5, color: "rgba(73, 80, 87, 0.45)" }),
    markers("infeasible trials", infeasible, {
      size: 7,
      symbol: "x",
      color: "rgba(201, 42, 42, 0.7)",
    }),
    markers(name, points, { size: 9, color: "#1971c2", line: { width: 1, color: "#fff" } }),
  ];
  if (objectives.length === 2) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: "staircase",
      showlegend: false,
      x: points.map((p) => p.x),
      y: points.map((p) => p.y),
      line: { shape: "hv", width: 2, color: "#1971c2" },
      hoverinfo: "skip",
    });
  }
  const what = objectives.length > 2 ? ` of all ${objectives.length} metrics` : "";
  return {
    data,
    layout: layout({
      title: title(`Pareto front${what}: ${plain(b.metric)} against ${plain(a.metric)}${note}`),
      xaxis: { title: { text: plain(metricLabel(a.metric, a.mode)) } },
      yaxis: { title: { text: plain(metricLabel(b.metric, b.mode)) } },
    }),
  };
}

/**
 * The Pareto front section of an experiment with several metrics (null for one metric):
 * {section, holder, box, note, pair}, with a selector of the pair of metrics to plot when
 * there are three or more (`pair.value`: "i,j").
 */
export function paretoSection(experiment) {
  const objectives = objectivesOf(experiment);
  if (objectives.length < 2) return null;
  const box = el("div", { class: "plot", "data-plot": "pareto" });
  const note = el("p", { class: "note" });
  const pair = el(
    "select",
    { "aria-label": "metrics of the Pareto front figure", "data-role": "pareto-pair" },
    metricPairs(objectives.length).map(([i, j]) =>
      el(
        "option",
        { value: `${i},${j}` },
        `${objectives[j].metric} against ${objectives[i].metric}`,
      ),
    ),
  );
  const tools =
    objectives.length > 2
      ? el("div", { class: "toolbar" }, el("label", {}, "metrics:"), pair)
      : null;
  const holder = el("div", { class: "figure" }, note, box);
  const section = el(
    "section",
    { "data-role": "pareto" },
    el("h2", {}, "Pareto front"),
    el("p", { class: "muted" }, objectivesText(experiment)),
    tools,
    holder,
  );
  return { section, holder, box, note, pair };
}

/** The pair of metrics chosen ([i, j]). */
export function chosenPair(place) {
  return place.pair.value.split(",").map(Number);
}
