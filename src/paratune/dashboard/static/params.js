// The parameter figures of the experiment page: the metric against each parameter, and
// parallel coordinates. Past 2,500 finished trials both draw the best 500 trials and a
// seeded sample of 2,000 of the others, as the HTML report does, and say so.

import { layout, plain, SAMPLE_BEST, SAMPLE_OTHERS, scatterType, seeded, title } from "./plots.js";

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
const VIRIDIS = [
  "68,1,84",
  "70,50,126",
  "54,92,141",
  "39,127,142",
  "31,161,135",
  "74,193,109",
  "160,218,57",
  "253,231,37",
];

/** A value as a label: a string as it is, anything else as JSON. */
function label(value) {
  return plain(
    typeof value === "string"
      ? value
      : typeof value === "number"
        ? fmtNumber(value)
        : JSON.stringify(value ?? null),
  );
}

function fmtNumber(value) {
  return Number.isInteger(value) ? String(value) : Number(value.toPrecision(3)).toString();
}

/** One axis of the parallel coordinates: each trial's height on it (0 to 1; null for a
 * parameter the trial does not have) and its tick labels. Log parameters are scaled in
 * log10; choices are spaced evenly. */
export function parallelAxis(name, values, description) {
  const kind = paramKind(
    description,
    values.filter((v) => v !== null),
  );
  if (!kind.numeric) {
    const { labels, codes } = categories(values);
    const step = labels.length > 1 ? 1 / (labels.length - 1) : 0;
    const height = (code) => (labels.length > 1 ? code * step : 0.5);
    return {
      name,
      at: codes.map(height),
      ticks: labels.map((l, i) => [height(i), label(JSON.parse(l))]),
    };
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
  const at = scaled.map((v) =>
    v === null || !Number.isFinite(v) ? null : span > 0 ? (v - low) / span : 0.5,
  );
  const shown = (v) => label(kind.log ? 10 ** v : v);
  const ticks =
    low > high
      ? []
      : span > 0
        ? [
            [0, shown(low)],
            [1, shown(high)],
          ]
        : [[0.5, shown(low)]];
  return { name, at, ticks };
}

/** The trials' lines across `axes`, one trace per colour band of the metric (the best
 * band drawn last, on top); each band is named by its range. */
function parallelLines(sample, axes, mode) {
  const values = sample.map((t) => t.value);
  const low = Math.min(...values);
  const span = Math.max(...values) - low;
  const bandOf = (v) =>
    span > 0 ? Math.min(VIRIDIS.length - 1, Math.floor(((v - low) / span) * VIRIDIS.length)) : 0;
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
  const lines = bands
    .map((band, b) => ({
      type: scatterType(points),
      mode: "lines",
      x: band.x,
      y: band.y,
      customdata: band.c,
      name: `${edge(b)} – ${edge(b + 1)}`,
      line: { color: `rgba(${VIRIDIS[b]},0.6)`, width: 1 },
      hovertemplate: "trial %{customdata}<extra></extra>",
    }))
    .filter((trace) => trace.x.length);
  return mode === "min" ? lines.reverse() : lines;
}

/** The axes themselves: a vertical line each, its name above and its tick labels. */
function parallelFrame(axes) {
  const frame = {
    type: "scatter",
    mode: "lines",
    showlegend: false,
    hoverinfo: "skip",
    line: { color: "#adb5bd", width: 1 },
    x: axes.flatMap((_, k) => [k, k, null]),
    y: axes.flatMap(() => [0, 1, null]),
  };
  const tick =
    (k) =>
    ([y, text]) => ({
      x: k,
      y,
      text,
      showarrow: false,
      xanchor: "right",
      xshift: -3,
      font: { size: 10, color: "#495057" },
    });
  const annotations = axes.flatMap((axis, k) => [
    { x: k, y: 1.04, text: `<b>${plain(axis.name)}</b>`, showarrow: false, yanchor: "bottom" },
    ...axis.ticks.map(tick(k)),
  ]);
  return { frame, annotations };
}

/**
 * One line per finished trial across the parameters and the metric, coloured by the
 * metric in eight bands (viridis), the best on top. WebGL lines, one trace per band,
 * rather than plotly's parcoords, which takes seconds to draw without a GPU.
 */
export function parallelFigure(sample, note, params, space, metric, mode) {
  const axes = params.map((p) =>
    parallelAxis(
      p,
      sample.map((t) => t.config?.[p] ?? null),
      space[p],
    ),
  );
  axes.push(
    parallelAxis(
      metric,
      sample.map((t) => t.value),
      null,
    ),
  );
  const { frame, annotations } = parallelFrame(axes);
  return {
    data: [frame, ...parallelLines(sample, axes, mode)],
    layout: layout({
      title: title(`parallel coordinates: a line per finished trial${note}`),
      annotations,
      xaxis: { range: [-0.5, axes.length - 0.8], visible: false },
      yaxis: { range: [-0.04, 1.12], visible: false },
      legend: { title: { text: plain(metric) }, orientation: "v", x: 1, y: 1 },
      margin: { l: 20, r: 20, t: 50, b: 20 },
    }),
  };
}

/** The metric against each parameter that varies, one small panel each, the best trial marked. */
export function parametersFigure(sample, note, params, space, metric, mode) {
  const columns = Math.min(3, Math.max(1, params.length));
  const rows = Math.max(1, Math.ceil(params.length / columns));
  const sign = mode === "max" ? -1 : 1;
  const best = sample.reduce(
    (a, t) => (a === null || sign * (t.value - a.value) < 0 ? t : a),
    null,
  );
  const data = [];
  const axes = {};
  params.forEach((p, i) => {
    const suffix = i === 0 ? "" : String(i + 1);
    const points = sample.filter((t) => t.config && p in t.config);
    const values = points.map((t) => t.config[p]);
    const kind = paramKind(space[p], values);
    const x = kind.numeric ? values : values.map(label);
    data.push({
      type: scatterType(points.length),
      mode: "markers",
      x,
      y: points.map((t) => t.value),
      name: p,
      showlegend: false,
      customdata: points.map((t) => t.trial_id),
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
      marker: { size: 4, color: "rgba(25, 113, 194, 0.5)" },
      hovertemplate: `trial %{customdata}<br>${plain(p)} = %{x}<br>${plain(metric)} = %{y}<extra></extra>`,
    });
    if (best && best.config && p in best.config) {
      const bx = kind.numeric ? best.config[p] : label(best.config[p]);
      data.push({
        type: "scatter",
        mode: "markers",
        x: [bx],
        y: [best.value],
        showlegend: false,
        name: "best",
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        hovertemplate: `best: trial ${best.trial_id}<extra></extra>`,
        marker: { size: 12, symbol: "star", color: "#c92a2a" },
      });
    }
    axes[`xaxis${suffix}`] = {
      title: { text: plain(p), standoff: 4 },
      type: kind.log ? "log" : kind.numeric ? "linear" : "category",
    };
    axes[`yaxis${suffix}`] = { title: { text: i % columns === 0 ? plain(metric) : "" } };
  });
  return {
    data,
    layout: layout({
      title: title(`${plain(metric)} against each parameter${note}`),
      height: 80 + 250 * rows,
      grid: { rows, columns, pattern: "independent", xgap: 0.12, ygap: 0.35 },
      ...axes,
    }),
  };
}
