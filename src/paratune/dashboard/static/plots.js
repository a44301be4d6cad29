// The experiment page's figures, as plotly {data, layout} pairs built from the trials the
// page holds (the parameter figures are in params.js). Large runs: the worker timeline and
// the learning curves are one WebGL line trace per status with breaks (null) between bars,
// never one shape per trial; past 2,500 finished trials the best-so-far figure draws a
// seeded sample of 2,000 points, as the HTML report does, and says so.

export const STATUS_COLOURS = {
  done: "#2b8a3e",
  pruned: "#e67700",
  failed: "#c92a2a",
  cancelled: "#868e96",
  interrupted: "#9c36b5",
  running: "#1971c2",
};
const STATUSES = Object.keys(STATUS_COLOURS);
export const SAMPLE_BEST = 500;
export const SAMPLE_OTHERS = 2000;
const GL_FROM = 2500; // points: WebGL from here on; below, SVG, which draws small data faster

/** "scattergl" for many points, "scatter" (SVG) for few. */
export function scatterType(points) {
  return points >= GL_FROM ? "scattergl" : "scatter";
}

/** Plotly's options for every figure: no logo, no link out, resizes with the page. */
export const PLOT_CONFIG = {
  displaylogo: false,
  responsive: true,
  showSendToCloud: false,
  showLink: false,
  modeBarButtonsToRemove: ["sendChartToCloud", "lasso2d", "select2d"],
};

/** A name or value as plotly text shows it as it is: plotly reads a few HTML tags in its
 * text, so that a parameter called "<b>" or a choice "a<br>b" would not be shown as typed. */
export function plain(text) {
  return String(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

export function layout(extra) {
  // uirevision: a live update keeps the user's zoom and hidden traces.
  return {
    margin: { l: 60, r: 20, t: 36, b: 45 },
    font: { size: 12 },
    uirevision: "keep",
    hovermode: "closest",
    legend: { orientation: "h", y: -0.18 },
    ...extra,
  };
}

export function title(text) {
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
  const last = Math.max(until ?? 0, done.length ? (done[done.length - 1].finished ?? 0) : 0);
  if (best !== null && last > x[x.length - 1]) {
    x.push(last);
    y.push(best);
  }
  return { x, y };
}

/** A small seeded generator of numbers in [0, 1): the same run gives the same sample, so a
 * live page does not shimmer as it redraws. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
 * improved it), and the overlaid experiments' best so far. `primary`: the metric is the
 * first of several (the title says so).
 */
export function bestSoFarFigure(
  done,
  metric,
  mode,
  until,
  overlays = [],
  { primary = false } = {},
) {
  const curve = bestCurve(done, mode, until);
  const { points, note } = samplePoints(done);
  const data = [
    {
      type: scatterType(points.length),
      mode: "markers",
      name: "trials",
      x: points.map((t) => t.finished),
      y: points.map((t) => t.value),
      customdata: points.map((t) => t.trial_id),
      marker: { size: 4, color: "rgba(73, 80, 87, 0.45)" },
      hovertemplate: "trial %{customdata}<br>%{y}<br>at %{x:.2f} s<extra></extra>",
    },
    {
      type: "scatter",
      mode: "lines",
      name: "best so far",
      x: curve.x,
      y: curve.y,
      line: { shape: "hv", width: 2.5, color: "#1971c2" },
    },
    ...overlays.map((o) => ({
      type: "scatter",
      mode: "lines",
      name: `best so far: ${plain(o.name)}`,
      x: o.curve.x,
      y: o.curve.y,
      line: { shape: "hv", width: 2, dash: "dot" },
    })),
  ];
  return {
    data,
    layout: layout({
      title: title(
        `${primary ? "primary metric " : ""}${plain(metric)} (${mode}) against wall time${note}`,
      ),
      xaxis: { title: { text: "wall time (s)" } },
      yaxis: { title: { text: plain(metric) } },
    }),
  };
}

/** The workers that ran trials, in order (numbers as numbers, then names). */
function workerRows(trials) {
  const workers = [
    ...new Set(trials.filter((t) => t.started !== null && t.worker !== null).map((t) => t.worker)),
  ];
  return workers.sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b)),
  );
}

/** One line trace per status: a bar per trial on its worker's row, breaks between bars;
 * running trials end at `now`. Also returns when the last bar ends. */
function timelineBars(trials, workers, now) {
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
  const bars = [...traces]
    .filter(([, v]) => v.x.length)
    .map(([status, v]) => ({
      type: scatterType(points),
      mode: "lines",
      name: status,
      x: v.x,
      y: v.y,
      customdata: v.c,
      line: { color: STATUS_COLOURS[status], width },
      connectgaps: false,
      hovertemplate: `trial %{customdata} (${status})<extra></extra>`,
    }));
  return { bars, end };
}

/** Each worker's row of trial bars coloured by outcome (running ones up to `now`), and the busy workers below. */
export function timelineFigure(trials, now) {
  const workers = workerRows(trials);
  const { bars, end } = timelineBars(trials, workers, now);
  const busy = busyWorkers(trials, now, end);
  bars.push({
    type: "scatter",
    mode: "lines",
    name: "busy workers",
    x: busy.x,
    y: busy.y,
    yaxis: "y2",
    line: { shape: "hv", color: "#495057", width: 1.5 },
    fill: "tozeroy",
    fillcolor: "rgba(73,80,87,0.15)",
  });
  const few = workers.length <= 40;
  return {
    data: bars,
    layout: layout({
      title: title(
        `worker timeline: ${workers.length} workers, a bar per trial (its latest attempt)`,
      ),
      xaxis: { title: { text: "wall time (s)" }, anchor: "y2" },
      yaxis: {
        domain: [0.3, 1],
        autorange: "reversed",
        title: { text: "worker" },
        zeroline: false,
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
  const data = [...traces]
    .filter(([, v]) => v.x.length)
    .map(([status, v]) => ({
      type: scatterType(points),
      mode: "lines+markers",
      name: status,
      x: v.x,
      y: v.y,
      customdata: v.c,
      line: { color: STATUS_COLOURS[status], width: 1 },
      marker: { size: 3, color: STATUS_COLOURS[status] },
      opacity: 0.7,
      hovertemplate: `trial %{customdata} (${status})<br>step %{x}: %{y}<extra></extra>`,
    }));
  return {
    data,
    layout: layout({
      title: title(
        `learning curves: ${plain(metric)} reported by ${curves.toLocaleString("en")} trials`,
      ),
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: plain(metric) } },
    }),
  };
}

/** The capacity (workers x wall time) split into its parts, as horizontal bars. */
export function breakdownFigure(rows) {
  return {
    data: [
      {
        type: "bar",
        orientation: "h",
        y: rows.map((r) => r.part),
        x: rows.map((r) => r.seconds),
        text: rows.map((r) => (r.share === null ? "" : `${(100 * r.share).toFixed(1)}%`)),
        textposition: "auto",
        marker: {
          color: rows.map((r) =>
            r.part.startsWith("idle")
              ? "#adb5bd"
              : r.part.startsWith("useful")
                ? "#2b8a3e"
                : "#e67700",
          ),
        },
        hovertemplate: "%{y}: %{x:.3f} worker-seconds<extra></extra>",
      },
    ],
    layout: layout({
      title: title("where the worker-time went"),
      margin: { l: 210, r: 20, t: 36, b: 45 },
      xaxis: { title: { text: "worker-seconds" } },
      yaxis: { autorange: "reversed" },
    }),
  };
}

/** The what-if replay: predicted time and speedup against workers, each with its ideal dashed. */
export function whatIfFigure(rows) {
  const workers = rows.map((r) => r.workers);
  const one = rows.find((r) => r.workers === 1)?.time ?? null;
  const data = [
    {
      type: "scatter",
      mode: "lines+markers",
      name: "predicted time",
      x: workers,
      y: rows.map((r) => r.time),
    },
    {
      type: "scatter",
      mode: "lines+markers",
      name: "predicted speedup",
      x: workers,
      y: rows.map((r) => r.speedup),
      xaxis: "x2",
      yaxis: "y2",
    },
    {
      type: "scatter",
      mode: "lines",
      name: "ideal speedup",
      x: workers,
      y: workers,
      xaxis: "x2",
      yaxis: "y2",
      line: { dash: "dash", color: "#adb5bd" },
    },
  ];
  if (one !== null) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: "ideal time",
      x: workers,
      y: workers.map((w) => one / w),
      line: { dash: "dash", color: "#adb5bd" },
    });
  }
  return {
    data,
    layout: layout({
      title: title("what if: the recorded trials replayed on other worker counts"),
      grid: { rows: 1, columns: 2, pattern: "independent", xgap: 0.15 },
      xaxis: { title: { text: "workers" }, type: "log", dtick: Math.log10(2) },
      yaxis: { title: { text: "time (s)" }, rangemode: "tozero" },
      xaxis2: { title: { text: "workers" }, type: "log", dtick: Math.log10(2) },
      yaxis2: { title: { text: "speedup" }, rangemode: "tozero" },
    }),
  };
}
