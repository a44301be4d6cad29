// Where the workers' time went and the what-if replay, from
// `GET /api/experiments/{name}/efficiency` (paratune.analysis on the server).

import { el, fill, fmt, fmtSeconds } from "./dom.js";
import { breakdownFigure, PLOT_CONFIG, whatIfFigure } from "./plots.js";

/**
 * The breakdown as rows of {part, seconds, share}, whichever of the shapes the server may
 * give: a list of rows, {parts: rows}, or {part: seconds} with a capacity beside.
 */
export function breakdownRows(breakdown) {
  if (!breakdown) return [];
  const list = Array.isArray(breakdown)
    ? breakdown
    : Array.isArray(breakdown.parts)
      ? breakdown.parts
      : null;
  if (list) {
    return list.map((r) => ({
      part: String(r.part),
      seconds: Number(r.seconds),
      share: r.share ?? null,
    }));
  }
  const entries = Object.entries(breakdown).filter(([, v]) => typeof v === "number");
  const parts = entries.filter(
    ([k]) =>
      !["capacity", "workers", "wall_time", "busy_time", "concurrency", "utilisation"].includes(k),
  );
  const capacity =
    typeof breakdown.capacity === "number"
      ? breakdown.capacity
      : parts.reduce((a, [, v]) => a + v, 0);
  return parts.map(([part, seconds]) => ({
    part: part.replaceAll("_", " "),
    seconds,
    share: capacity > 0 ? seconds / capacity : null,
  }));
}

/** The what-if rows as {workers, time, speedup, efficiency}. */
export function whatIfRows(rows) {
  return (rows || []).map((r) => ({
    workers: r.workers ?? r.number_of_workers,
    time: r.time,
    speedup: r.speedup ?? r.speedup_vs_sequential,
    efficiency: r.efficiency,
  }));
}

function table(headings, rows) {
  return el(
    "table",
    { class: "plain" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headings.map((h, i) => el("th", { class: i ? null : "text" }, h)),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((cells) =>
        el(
          "tr",
          {},
          cells.map((c, i) => el("td", { class: i ? null : "text" }, c)),
        ),
      ),
    ),
  );
}

function ensurePlot(holder, role) {
  let box = holder.querySelector(`[data-plot="${role}"]`);
  if (!box) box = el("div", { class: "plot", "data-plot": role });
  return box;
}

/** A number with three decimals ("" for none). */
function three(value) {
  return value === null || value === undefined ? "" : value.toFixed(3);
}

/** Draw a figure in `box` when there are rows to draw. */
function draw(Plotly, box, rows, figure) {
  if (!rows.length) return null;
  const made = figure(rows);
  return Plotly.react(box, made.data, made.layout, PLOT_CONFIG);
}

function drawBreakdown(Plotly, page, parts, experiment) {
  const capacity = parts.reduce((a, r) => a + r.seconds, 0);
  const box = ensurePlot(page.breakdown, "breakdown");
  const said =
    `Capacity: ${fmt(experiment.workers)} workers × ${fmtSeconds(experiment.wall_time)} = ` +
    `${fmt(Number(capacity.toFixed(3)))} worker-seconds, split into what the workers did. ` +
    "The store keeps each trial's latest attempt, so with retries the idle split is an estimate.";
  const rows = parts.map((r) => [
    r.part,
    three(r.seconds),
    r.share === null ? "" : (100 * r.share).toFixed(1),
  ]);
  const shown = table(["part", "worker-seconds", "% of capacity"], rows);
  fill(page.breakdown, el("div", {}, el("p", { class: "note" }, said), shown), box);
  return draw(Plotly, box, parts, breakdownFigure);
}

function drawWhatIf(Plotly, page, found) {
  const box = ensurePlot(page.whatIf, "what-if");
  const said =
    "The recorded trial durations replayed in trial order on the simulated executor (no " +
    "overhead): the predicted wall time, and the speedup and efficiency against the " +
    "predicted 1-worker time (the durations one after another).";
  const headings = ["workers", "predicted time (s)", "speedup vs sequential", "efficiency"];
  const rows = found.map((r) => [
    fmt(r.workers),
    three(r.time),
    three(r.speedup),
    three(r.efficiency),
  ]);
  fill(
    page.whatIf,
    el("p", { class: "note" }, said),
    el("div", { class: "grid2" }, table(headings, rows), box),
  );
  return draw(Plotly, box, found, whatIfFigure);
}

/** Draw the breakdown (table and bars) and the what-if replay (table and figure). */
export async function drawEfficiency(Plotly, page, answer, experiment) {
  await Promise.all([
    drawBreakdown(Plotly, page, breakdownRows(answer.breakdown), experiment),
    drawWhatIf(Plotly, page, whatIfRows(answer.what_if)),
  ]);
}
