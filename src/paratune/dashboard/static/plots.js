// The experiment page's figures, as plotly {data, layout} pairs built from the trials the
// page holds. Large runs: the worker timeline and the learning curves are one WebGL line
// trace per status with breaks (null) between bars, never one shape per trial; the
// parameter figures draw the best 500 trials and a seeded sample of 2,000 of the others
// past 2,500 finished trials, as the HTML report does, and say so.

export const STATUS_COLOURS = {
  done: "#2b8a3e", pruned: "#e67700", failed: "#c92a2a", cancelled: "#868e96",
  interrupted: "#9c36b5", running: "#1971c2",
};
const STATUSES = Object.keys(STATUS_COLOURS);
const SAMPLE_BEST = 500;
const SAMPLE_OTHERS = 2000;
const GL_FROM = 2500; // points: WebGL from here on; below, SVG, which draws small data faster

/** "scattergl" for many points, "scatter" (SVG) for few. */
export function scatterType(points) {
  return points >= GL_FROM ? "scattergl" : "scatter";
}

/** Plotly's options for every figure: no logo, no link out, resizes with the page. */
export const PLOT_CONFIG = {
  displaylogo: false, responsive: true, showSendToCloud: false, showLink: false,
  modeBarButtonsToRemove: ["sendChartToCloud", "lasso2d", "select2d"],
};

function layout(extra) {
  // uirevision: a live update keeps the user's zoom and hidden traces.
  return {
    margin: { l: 60, r: 20, t: 36, b: 45 }, font: { size: 12 }, uirevision: "keep",
    hovermode: "closest", legend: { orientation: "h", y: -0.18 }, ...extra,
  };
}

function title(text) {
  return { text, font: { size: 13 }, x: 0, xanchor: "left" };
}

/** Finished trials with a value, in the order they finished (then by id). */
export function doneTrials(trials) {
  const done = trials.filter((t) => t.status === "done" && typeof t.value === "number");
  return done.sort((a, b) => (a.finished ?? 0) - (b.finished ?? 0) || a.trial_id - b.trial_id);
}

/** The best-so-far steps of `done` (in finish order), extended to `until`. */
export function bestCurve(done, mode, until = null) {
  const x = [];
  const y = [];
  let best = null;
  for (const t of done) {
    if (best === null || (mode === "max" ? t.value > best : t.value < best)) {
      best = t.value;
      x.push(t.finished ?? 0);
      y.push(best);
    }
  }
  const last = Math.max(until ?? 0, done.length ? done[done.length - 1].finished ?? 0 : 0);
  if (best !== null && last > x[x.length - 1]) {
    x.push(last);
    y.push(best);
  }
  return { x, y };
}

/** `done` itself, or past 2,500 trials a seeded uniform sample of 2,000 of them. */
export function samplePoints(done) {
  if (done.length <= SAMPLE_BEST + SAMPLE_OTHERS) return { points: done, note: "" };
  const points = done.slice();
  const random = seeded(11);
  for (let i = 0; i < SAMPLE_OTHERS; i += 1) {
    const j = i + Math.floor(random() * (points.length - i));
    [points[i], points[j]] = [points[j], points[i]];
  }
  const note = ` (points: ${SAMPLE_OTHERS.toLocaleString("en")} sampled of ${done.length.toLocaleString("en")} trials)`;
  return { points: points.slice(0, SAMPLE_OTHERS), note };
}

/**
 * Finished trials' values against when they finished (past 2,500, a sample of 2,000 of
 * them, as the HTML report draws them), the best so far (exact: through every trial that
 * improved it), and the overlaid experiments' best so far.
 */
export function bestSoFarFigure(done, metric, mode, until, overlays = []) {
  const curve = bestCurve(done, mode, until);
  const { points, note } = samplePoints(done);
  const data = [
    {
      type: scatterType(points.length), mode: "markers", name: "trials", x: points.map((t) => t.finished),
      y: points.map((t) => t.value), customdata: points.map((t) => t.trial_id),
      marker: { size: 4, color: "rgba(73, 80, 87, 0.45)" },
      hovertemplate: "trial %{customdata}<br>%{y}<br>at %{x:.2f} s<extra></extra>",
    },
    {
      type: "scatter", mode: "lines", name: "best so far", x: curve.x, y: curve.y,
      line: { shape: "hv", width: 2.5, color: "#1971c2" },
    },
    ...overlays.map((o) => ({
      type: "scatter", mode: "lines", name: `best so far: ${o.name}`, x: o.curve.x, y: o.curve.y,
      line: { shape: "hv", width: 2, dash: "dot" },
    })),
  ];
  return {
    data,
    layout: layout({
      title: title(`${metric} (${mode}) against wall time${note}`),
      xaxis: { title: { text: "wall time (s)" } }, yaxis: { title: { text: metric } },
    }),
  };
}

/** Each worker's row of trial bars coloured by outcome (running ones up to `now`), and the busy workers below. */
export function timelineFigure(trials, now) {
  const workers = [...new Set(trials.filter((t) => t.started !== null && t.worker !== null).map((t) => t.worker))];
  workers.sort((a, b) => (typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b))));
  const row = new Map(workers.map((w, i) => [w, i]));
  const width = Math.max(1, Math.min(16, 280 / Math.max(1, workers.length)));
  const traces = new Map(STATUSES.map((s) => [s, { x: [], y: [], c: [] }]));
  let end = now ?? 0;
  for (const t of trials) {
    if (t.started === null || t.started === undefined || !row.has(t.worker)) continue;
    const stop = t.finished ?? now ?? t.started;
    end = Math.max(end, stop);
    const trace = traces.get(t.status) || traces.get("running");
    const y = row.get(t.worker);
    trace.x.push(t.started, stop, null);
    trace.y.push(y, y, null);
    trace.c.push(t.trial_id, t.trial_id, null);
  }
  const points = [...traces.values()].reduce((n, v) => n + v.x.length, 0);
  const data = [...traces].filter(([, v]) => v.x.length).map(([status, v]) => ({
    type: scatterType(points), mode: "lines", name: status, x: v.x, y: v.y, customdata: v.c,
    line: { color: STATUS_COLOURS[status], width }, connectgaps: false,
    hovertemplate: `trial %{customdata} (${status})<extra></extra>`,
  }));
  const busy = busyWorkers(trials, now, end);
  data.push({
    type: "scatter", mode: "lines", name: "busy workers", x: busy.x, y: busy.y, yaxis: "y2",
    line: { shape: "hv", color: "#495057", width: 1.5 }, fill: "tozeroy", fillcolor: "rgba(73,80,87,0.15)",
  });
  const few = workers.length <= 40;
  return {
    data,
    layout: layout({
      title: title(`worker timeline: ${workers.length} workers, a bar per trial (its latest attempt)`),
      xaxis: { title: { text: "wall time (s)" }, anchor: "y2" },
      yaxis: {
        domain: [0.3, 1], autorange: "reversed", title: { text: "worker" }, zeroline: false,
        tickvals: few ? workers.map((_, i) => i) : undefined,
        ticktext: few ? workers.map(String) : undefined,
      },
      yaxis2: { domain: [0, 0.22], title: { text: "busy" }, rangemode: "tozero" },
    }),
  };
}

/** The average number of busy workers in each of `bins` time bins from 0 to `end`. */
export function busyWorkers(trials, now, end, bins = 400) {
  const width = end > 0 ? end / bins : 1;
  const busy = new Float64Array(bins);
  for (const t of trials) {
    if (t.started === null || t.started === undefined) continue;
    const start = t.started;
    const stop = t.finished ?? now ?? start;
    let bin = Math.min(bins - 1, Math.floor(start / width));
    while (bin < bins && bin * width < stop) {
      const overlap = Math.min(stop, (bin + 1) * width) - Math.max(start, bin * width);
      if (overlap > 0) busy[bin] += overlap;
      bin += 1;
    }
  }
  const x = [];
  const y = [];
  for (let i = 0; i < bins; i += 1) {
    x.push(i * width);
    y.push(busy[i] / width);
  }
  return { x, y };
}

/** Reports per trial (step against `metric`), one WebGL trace per status of the trial. */
export function learningCurvesFigure(reportsByTrial, statusOf, metric) {
  const traces = new Map(STATUSES.map((s) => [s, { x: [], y: [], c: [] }]));
  let curves = 0;
  for (const [trialId, reports] of reportsByTrial) {
    const trace = traces.get(statusOf(trialId)) || traces.get("running");
    let drawn = false;
    for (const r of reports) {
      const value = r.metrics?.[metric];
      if (typeof value !== "number") continue;
      trace.x.push(r.step);
      trace.y.push(value);
      trace.c.push(trialId);
      drawn = true;
    }
    if (drawn) {
      trace.x.push(null);
      trace.y.push(null);
      trace.c.push(null);
      curves += 1;
    }
  }
  const points = [...traces.values()].reduce((n, v) => n + v.x.length, 0);
  const data = [...traces].filter(([, v]) => v.x.length).map(([status, v]) => ({
    type: scatterType(points), mode: "lines+markers", name: status, x: v.x, y: v.y, customdata: v.c,
    line: { color: STATUS_COLOURS[status], width: 1 }, marker: { size: 3, color: STATUS_COLOURS[status] },
    opacity: 0.7, hovertemplate: `trial %{customdata} (${status})<br>step %{x}: %{y}<extra></extra>`,
  }));
  return {
    data,
    layout: layout({
      title: title(`learning curves: ${metric} reported by ${curves.toLocaleString("en")} trials`),
      xaxis: { title: { text: "step" } }, yaxis: { title: { text: metric } },
    }),
  };
}

// A small seeded generator: the same run gives the same sample, so a live page does not
// shimmer as it redraws.
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `done` itself, or past 2,500 trials its best 500 and a seeded sample of 2,000 others. */
export function sampleForPlots(done, mode) {
  if (done.length <= SAMPLE_BEST + SAMPLE_OTHERS) return { trials: done, note: "" };
  const sign = mode === "max" ? -1 : 1;
  const ranked = done.slice().sort((a, b) => sign * (a.value - b.value) || a.trial_id - b.trial_id);
  const others = ranked.slice(SAMPLE_BEST);
  const random = seeded(7);
  for (let i = 0; i < SAMPLE_OTHERS; i += 1) {
    const j = i + Math.floor(random() * (others.length - i));
    [others[i], others[j]] = [others[j], others[i]];
  }
  const trials = ranked.slice(0, SAMPLE_BEST).concat(others.slice(0, SAMPLE_OTHERS));
  return { trials, note: ` (best 500 + 2,000 sampled of ${done.length.toLocaleString("en")})` };
}

/** How a parameter is drawn: numbers (log or not) or categories. */
export function paramKind(description, values) {
  const log = Boolean(description && typeof description === "object" && description.log);
  const numeric = values.every((v) => typeof v === "number");
  return { log: log && numeric && values.every((v) => v > 0), numeric };
}

/** Parameters whose value varies among `trials` (constants are left out). */
export function variedParams(params, trials) {
  return params.filter((p) => {
    const seen = new Set();
    for (const t of trials) {
      seen.add(JSON.stringify(t.config?.[p] ?? null));
      if (seen.size > 1) return true;
    }
    return false;
  });
}

function categories(values) {
  const labels = [...new Set(values.map((v) => JSON.stringify(v ?? null)))].sort();
  const index = new Map(labels.map((l, i) => [l, i]));
  return { labels, codes: values.map((v) => index.get(JSON.stringify(v ?? null))) };
}

// Viridis in eight steps: the colour bands of the parallel coordinates.
const VIRIDIS = ["68,1,84", "70,50,126", "54,92,141", "39,127,142", "31,161,135", "74,193,109", "160,218,57", "253,231,37"];

/** A value as a label: a string as it is, anything else as JSON. */
function label(value) {
  return typeof value === "string" ? value : typeof value === "number" ? fmtNumber(value) : JSON.stringify(value ?? null);
}

function fmtNumber(value) {
  return Number.isInteger(value) ? String(value) : Number(value.toPrecision(3)).toString();
}

/** One axis of the parallel coordinates: each trial's height on it (0 to 1; null for a
 * parameter the trial does not have) and its tick labels. Log parameters are scaled in
 * log10; choices are spaced evenly. */
export function parallelAxis(name, values, description) {
  const kind = paramKind(description, values.filter((v) => v !== null));
  if (!kind.numeric) {
    const { labels, codes } = categories(values);
    const step = labels.length > 1 ? 1 / (labels.length - 1) : 0;
    const height = (code) => (labels.length > 1 ? code * step : 0.5);
    return { name, at: codes.map(height), ticks: labels.map((l, i) => [height(i), label(JSON.parse(l))]) };
  }
  const scaled = values.map((v) => (v === null ? null : kind.log ? Math.log10(v) : v));
  let low = Infinity;
  let high = -Infinity;
  for (const v of scaled) {
    if (v === null || !Number.isFinite(v)) continue;
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const span = high - low;
  const at = scaled.map((v) => (v === null || !Number.isFinite(v) ? null : span > 0 ? (v - low) / span : 0.5));
  const shown = (v) => label(kind.log ? 10 ** v : v);
  const ticks = low > high ? [] : span > 0 ? [[0, shown(low)], [1, shown(high)]] : [[0.5, shown(low)]];
  return { name, at, ticks };
}

/**
 * One line per finished trial across the parameters and the metric, coloured by the
 * metric in eight bands (viridis), the best drawn on top. SVG lines, one path per band,
 * rather than plotly's WebGL parcoords, which takes seconds to draw without a GPU.
 */
export function parallelFigure(sample, note, params, space, metric, mode) {
  const axes = params.map((p) => parallelAxis(p, sample.map((t) => t.config?.[p] ?? null), space[p]));
  axes.push(parallelAxis(metric, sample.map((t) => t.value), null));
  const values = sample.map((t) => t.value);
  const low = Math.min(...values);
  const span = Math.max(...values) - low;
  const bandOf = (v) => (span > 0 ? Math.min(VIRIDIS.length - 1, Math.floor(((v - low) / span) * VIRIDIS.length)) : 0);
  const bands = VIRIDIS.map(() => ({ x: [], y: [], c: [] }));
  sample.forEach((t, i) => {
    const band = bands[bandOf(t.value)];
    axes.forEach((axis, k) => {
      band.x.push(k);
      band.y.push(axis.at[i]);
      band.c.push(t.trial_id);
    });
    band.x.push(null);
    band.y.push(null);
    band.c.push(null);
  });
  const edge = (b) => fmtNumber(low + (span * b) / VIRIDIS.length);
  const points = sample.length * (axes.length + 1);
  const lines = bands.map((band, b) => ({
    type: scatterType(points), mode: "lines", x: band.x, y: band.y, customdata: band.c,
    name: `${edge(b)} – ${edge(b + 1)}`, line: { color: `rgba(${VIRIDIS[b]},0.6)`, width: 1 },
    hovertemplate: "trial %{customdata}<extra></extra>",
  })).filter((trace) => trace.x.length);
  if (mode === "min") lines.reverse(); // the best (lowest) band last: on top
  const frame = {
    type: "scatter", mode: "lines", showlegend: false, hoverinfo: "skip", line: { color: "#adb5bd", width: 1 },
    x: axes.flatMap((_, k) => [k, k, null]), y: axes.flatMap(() => [0, 1, null]),
  };
  const annotations = axes.flatMap((axis, k) => [
    { x: k, y: 1.04, text: `<b>${axis.name}</b>`, showarrow: false, yanchor: "bottom" },
    ...axis.ticks.map(([y, text]) => ({ x: k, y, text, showarrow: false, xanchor: "right", xshift: -3, font: { size: 10, color: "#495057" } })),
  ]);
  return {
    data: [frame, ...lines],
    layout: layout({
      title: title(`parallel coordinates: a line per finished trial${note}`), annotations,
      xaxis: { range: [-0.5, axes.length - 0.8], visible: false }, yaxis: { range: [-0.04, 1.12], visible: false },
      legend: { title: { text: metric }, orientation: "v", x: 1, y: 1 }, margin: { l: 20, r: 20, t: 50, b: 20 },
    }),
  };
}

/** The metric against each parameter that varies, one small panel each, the best trial marked. */
export function parametersFigure(sample, note, params, space, metric, mode) {
  const columns = Math.min(3, Math.max(1, params.length));
  const rows = Math.max(1, Math.ceil(params.length / columns));
  const sign = mode === "max" ? -1 : 1;
  const best = sample.reduce((a, t) => (a === null || sign * (t.value - a.value) < 0 ? t : a), null);
  const data = [];
  const axes = {};
  params.forEach((p, i) => {
    const suffix = i === 0 ? "" : String(i + 1);
    const points = sample.filter((t) => t.config && p in t.config);
    const values = points.map((t) => t.config[p]);
    const kind = paramKind(space[p], values);
    const x = kind.numeric ? values : values.map(label);
    data.push({
      type: scatterType(points.length), mode: "markers", x, y: points.map((t) => t.value), name: p, showlegend: false,
      customdata: points.map((t) => t.trial_id), xaxis: `x${suffix}`, yaxis: `y${suffix}`,
      marker: { size: 4, color: "rgba(25, 113, 194, 0.5)" },
      hovertemplate: `trial %{customdata}<br>${p} = %{x}<br>${metric} = %{y}<extra></extra>`,
    });
    if (best && best.config && p in best.config) {
      const bx = kind.numeric ? best.config[p] : label(best.config[p]);
      data.push({
        type: "scatter", mode: "markers", x: [bx], y: [best.value], showlegend: false, name: "best",
        xaxis: `x${suffix}`, yaxis: `y${suffix}`, hovertemplate: `best: trial ${best.trial_id}<extra></extra>`,
        marker: { size: 12, symbol: "star", color: "#c92a2a" },
      });
    }
    axes[`xaxis${suffix}`] = { title: { text: p, standoff: 4 }, type: kind.log ? "log" : kind.numeric ? "linear" : "category" };
    axes[`yaxis${suffix}`] = { title: { text: i % columns === 0 ? metric : "" } };
  });
  return {
    data,
    layout: layout({
      title: title(`${metric} against each parameter${note}`), height: 80 + 250 * rows,
      grid: { rows, columns, pattern: "independent", xgap: 0.12, ygap: 0.35 }, ...axes,
    }),
  };
}

/** The capacity (workers x wall time) split into its parts, as horizontal bars. */
export function breakdownFigure(rows) {
  return {
    data: [{
      type: "bar", orientation: "h", y: rows.map((r) => r.part), x: rows.map((r) => r.seconds),
      text: rows.map((r) => (r.share === null ? "" : `${(100 * r.share).toFixed(1)}%`)),
      textposition: "auto", marker: { color: rows.map((r) => (r.part.startsWith("idle") ? "#adb5bd" : r.part.startsWith("useful") ? "#2b8a3e" : "#e67700")) },
      hovertemplate: "%{y}: %{x:.3f} worker-seconds<extra></extra>",
    }],
    layout: layout({
      title: title("where the worker-time went"), margin: { l: 210, r: 20, t: 36, b: 45 },
      xaxis: { title: { text: "worker-seconds" } }, yaxis: { autorange: "reversed" },
    }),
  };
}

/** The what-if replay: predicted time and speedup against workers, each with its ideal dashed. */
export function whatIfFigure(rows) {
  const workers = rows.map((r) => r.workers);
  const one = rows.find((r) => r.workers === 1)?.time ?? null;
  const data = [
    { type: "scatter", mode: "lines+markers", name: "predicted time", x: workers, y: rows.map((r) => r.time) },
    { type: "scatter", mode: "lines+markers", name: "predicted speedup", x: workers, y: rows.map((r) => r.speedup), xaxis: "x2", yaxis: "y2" },
    { type: "scatter", mode: "lines", name: "ideal speedup", x: workers, y: workers, xaxis: "x2", yaxis: "y2", line: { dash: "dash", color: "#adb5bd" } },
  ];
  if (one !== null) {
    data.push({ type: "scatter", mode: "lines", name: "ideal time", x: workers, y: workers.map((w) => one / w), line: { dash: "dash", color: "#adb5bd" } });
  }
  return {
    data,
    layout: layout({
      title: title("what if: the recorded trials replayed on other worker counts"),
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.15 },
      xaxis: { title: { text: "workers" }, type: "log", dtick: Math.log10(2) }, yaxis: { title: { text: "time (s)" }, rangemode: "tozero" },
      xaxis2: { title: { text: "workers" }, type: "log", dtick: Math.log10(2) }, yaxis2: { title: { text: "speedup" }, rangemode: "tozero" },
    }),
  };
}
