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
  const list = Array.isArray(breakdown) ? breakdown : Array.isArray(breakdown.parts) ? breakdown.parts : null;
  if (list) {
    return list.map((r) => ({ part: String(r.part), seconds: Number(r.seconds), share: r.share ?? null }));
  }
  const entries = Object.entries(breakdown).filter(([, v]) => typeof v === "number");
  const parts = entries.filter(([k]) => !["capacity", "workers", "wall_time", "busy_time", "concurrency", "utilisation"].includes(k));
  const capacity = typeof breakdown.capacity === "number" ? breakdown.capacity : parts.reduce((a, [, v]) => a + v, 0);
  return parts.map(([part, seconds]) => ({ part: part.replaceAll("_", " "), seconds, share: capacity > 0 ? seconds / capacity : null }));
}

/** The what-if rows as {workers, time, speedup, efficiency}. */
export function whatIfRows(rows) {
  return (rows || []).map((r) => ({
    workers: r.workers ?? r.number_of_workers, time: r.time,
    speedup: r.speedup ?? r.speedup_vs_sequential, efficiency: r.efficiency,
  }));
}

function table(headings, rows) {
  return el("table", { class: "plain" },
    el("thead", {}, el("tr", {}, headings.map((h, i) => el("th", { class: i ? null : "text" }, h)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c, i) => el("td", { class: i ? null : "text" }, c))))));
}

function ensurePlot(holder, role) {
  let box = holder.querySelector(`[data-plot="${role}"]`);
  if (!box) box = el("div", { class: "plot", "data-plot": role });
  return box;
}

/** Draw the breakdown (table and bars) and the what-if replay (table and figure). */
export async function drawEfficiency(Plotly, page, answer, experiment) {
  const parts = breakdownRows(answer.breakdown);
  const capacity = parts.reduce((a, r) => a + r.seconds, 0);
  const barBox = ensurePlot(page.breakdown, "breakdown");
  fill(page.breakdown,
    el("div", {},
      el("p", { class: "note" },
        `Capacity: ${fmt(experiment.workers)} workers × ${fmtSeconds(experiment.wall_time)} = ${fmt(Number(capacity.toFixed(3)))} worker-seconds, split into what the workers did. `,
        "The store keeps each trial's latest attempt, so with retries the idle split is an estimate."),
      table(["part", "worker-seconds", "% of capacity"], parts.map((r) => [r.part, fmt(Number(r.seconds.toFixed(3))), r.share === null ? "" : (100 * r.share).toFixed(1)]))),
    barBox);
  const rows = whatIfRows(answer.what_if);
  const whatIfBox = ensurePlot(page.whatIf, "what-if");
  fill(page.whatIf,
    el("p", { class: "note" },
      "The recorded trial durations replayed in trial order on the simulated executor (no overhead): the predicted wall time, and the speedup and efficiency against the predicted 1-worker time (the durations one after another)."),
    el("div", { class: "grid2" },
      table(["workers", "predicted time (s)", "speedup vs sequential", "efficiency"],
        rows.map((r) => [fmt(r.workers), fmt(Number(r.time.toFixed(3))), r.speedup.toFixed(3), r.efficiency.toFixed(3)])),
      whatIfBox));
  await Promise.all([
    parts.length ? Plotly.react(barBox, breakdownFigure(parts).data, breakdownFigure(parts).layout, PLOT_CONFIG) : null,
    rows.length ? Plotly.react(whatIfBox, whatIfFigure(rows).data, whatIfFigure(rows).layout, PLOT_CONFIG) : null,
  ]);
}
