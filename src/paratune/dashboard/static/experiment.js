// One experiment, live: its headline, its Pareto front (several metrics), best so far
// (with other experiments overlaid), the trials table, the worker timeline, where the worker-time went and the what-if replay,
// the parameter figures and the learning curves.

import { experimentData, statusOf, update } from "./data.js";
import { api, cards, el, fill, fmt, fmtSeconds, poll, seg } from "./dom.js";
import { drawEfficiency } from "./efficiency.js";
import { drawWhileInView } from "./live.js";
import { parallelFigure, parametersFigure, sampleForPlots, variedParams } from "./params.js";
import {
  chosenPair,
  flagColumns,
  objectivesText,
  paretoFigure,
  paretoSection,
  plainObjectives,
  severalObjectives,
} from "./pareto.js";
import {
  bestCurve,
  bestSoFarFigure,
  doneTrials,
  learningCurvesFigure,
  PLOT_CONFIG,
  timelineFigure,
} from "./plots.js";
import {
  bestText,
  busyWorkers,
  progressBar,
  runSeconds,
  stateBadge,
  statusCounts,
  utilisation,
} from "./summary.js";
import { trialColumns, trialsTable } from "./table.js";

const EFFICIENCY_EVERY = 5000; // ms: the efficiency analysis is heavier than a poll

function section(title, ...children) {
  return el("section", {}, el("h2", {}, title), ...children);
}

function plotBox(role, tall = false) {
  return el("div", { class: tall ? "plot tall" : "plot", "data-plot": role });
}

// Each figure sits in a holder that stays displayed (its box is hidden when there is
// nothing to draw), so that whether it is in view can always be told.
function figure(role, tall = false) {
  const box = plotBox(role, tall);
  const note = el("p", { class: "note" });
  return { box, note, holder: el("div", { class: "figure" }, note, box) };
}

function layoutPage(main, experiment) {
  const page = {
    head: el("div", { "data-role": "headline" }),
    best: figure("best"),
    overlays: el("div", { class: "overlay-list", "data-role": "overlays" }),
    table: el("div", { "data-role": "table" }),
    timeline: figure("timeline", true),
    breakdown: el("div", { class: "grid2", "data-role": "breakdown" }),
    whatIf: el("div", { "data-role": "what-if" }),
    params: figure("parameters"),
    parallel: figure("parallel"),
    curves: figure("curves"),
    curvesMetric: el("select", {
      "aria-label": "metric of the learning curves",
      "data-role": "curves-metric",
    }),
    pareto: paretoSection(experiment),
    space: el("div"),
  };
  fill(
    main,
    page.head,
    page.pareto?.section,
    section(
      severalObjectives(experiment) ? "Best so far: the primary metric" : "Best so far",
      el("div", { class: "toolbar" }, el("label", {}, "overlay:"), page.overlays),
      page.best.holder,
    ),
    section("Trials", page.table),
    section("Worker use", page.timeline.holder, page.breakdown),
    section("What if: the same trials on other worker counts", page.whatIf),
    section("Parameters", page.params.holder, page.parallel.holder),
    section(
      "Learning curves",
      el("div", { class: "toolbar" }, el("label", {}, "metric:"), page.curvesMetric),
      page.curves.holder,
    ),
    section("Search space", page.space),
  );
  return page;
}

function drawHeadline(page, data) {
  const e = data.experiment;
  const bestLink =
    e.best_trial_id === null || e.best_trial_id === undefined
      ? bestText(e)
      : el(
          "a",
          { href: `/trial/${seg(e.name)}/${e.best_trial_id}` },
          `${bestText(e)} (trial ${e.best_trial_id})`,
        );
  const busy = busyWorkers(e);
  const several = severalObjectives(e);
  fill(
    page.head,
    el("h1", {}, e.name, " ", stateBadge(e)),
    el(
      "p",
      { class: "muted" },
      plainObjectives(e) ? `metric ${e.metric} (${e.mode})` : `metrics ${objectivesText(e)}`,
      e.stop_reason ? `; stopped: ${e.stop_reason}` : "",
      `; ${fmt(e.trials)} trials: ${statusCounts(e)}`,
    ),
    progressBar(e),
    cards([
      several
        ? ["Pareto front", `${fmt(e.front_size ?? 0)} trials`]
        : [`best ${e.metric} (${e.mode})`, bestLink],
      ...((e.constraints || []).length ? [["infeasible trials", fmt(e.infeasible ?? 0)]] : []),
      ["trials", fmt(e.trials)],
      [e.state === "running" ? "elapsed" : "wall time", fmtSeconds(runSeconds(e))],
      ["workers", fmt(e.workers)],
      ["busy workers (average)", busy === null ? "–" : busy.toFixed(2)],
      ["utilisation", utilisation(e) || "–"],
    ]),
  );
}

function drawSpace(page, data) {
  const rows = Object.entries(data.space).map(([name, d]) =>
    el("tr", {}, el("th", { class: "text" }, name), el("td", { class: "text" }, JSON.stringify(d))),
  );
  fill(
    page.space,
    rows.length
      ? el("table", { class: "plain" }, el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No parameters stored."),
  );
}

/** Draw a figure in `place` (a `figure()`), or hide its box and say why when there is
 * nothing to draw; a click on a trial's point opens that trial's page. */
async function show(Plotly, page, place, made, message = "") {
  const { box, note } = place;
  note.textContent = message;
  if (made === null) {
    if (box.classList.contains("js-plotly-plot")) Plotly.purge(box);
    box.hidden = true;
    box.dataset.clicks = "";
    return;
  }
  box.hidden = false;
  if (made.layout.height) box.style.height = `${made.layout.height}px`;
  await Plotly.react(box, made.data, made.layout, PLOT_CONFIG);
  if (!box.dataset.clicks) {
    box.dataset.clicks = "1";
    box.on("plotly_click", (event) => {
      const id = event.points?.[0]?.customdata;
      if (id !== null && id !== undefined) page.openTrial(id);
    });
  }
}

function curvesMetric(page, data) {
  const metrics = [...data.reportMetrics].sort();
  const chosen =
    page.curvesMetric.value ||
    (metrics.includes(data.experiment.metric) ? data.experiment.metric : metrics[0]);
  if (page.curvesMetric.options.length !== metrics.length) {
    fill(
      page.curvesMetric,
      metrics.map((m) => el("option", { value: m }, m)),
    );
  }
  if (chosen) page.curvesMetric.value = chosen;
  return chosen;
}

/** What several figures draw from, worked out once per round of drawing. The parameter
 * figures' sample is worked out when one of them first asks: ranking 100,000 trials for it
 * would delay the figure in view (the best so far) on a first load. */
function derived(data) {
  let made = null;
  return () => {
    if (made) return made;
    const e = data.experiment;
    const done = doneTrials(data.trials);
    let sampled = null;
    const sampling = () => {
      if (!sampled) {
        const { trials, note } = sampleForPlots(done, e.mode);
        sampled = { trials, note, varied: variedParams(data.params, trials) };
      }
      return sampled;
    };
    made = {
      e,
      done,
      get sample() {
        return sampling().trials;
      },
      get note() {
        return sampling().note;
      },
      get varied() {
        return sampling().varied;
      },
      now: e.state === "running" ? e.elapsed : null,
    };
    return made;
  };
}

/** The best-so-far lines of the overlaid experiments. */
function overlayCurves(overlays) {
  return [...overlays.values()]
    .filter((o) => o.data.experiment)
    .map(({ data }) => ({
      name: data.name,
      curve: bestCurve(
        doneTrials(data.trials),
        data.experiment.mode,
        data.experiment.state === "running" ? data.experiment.elapsed : null,
      ),
    }));
}

/** The breakdown and what-if replay, asked for at most every `EFFICIENCY_EVERY` ms. */
function efficiencyPart(Plotly, page, data) {
  const failed = (error) =>
    fill(
      page.breakdown,
      el("div", { class: "error-box" }, `Could not compute the efficiency: ${error.message}`),
    );
  return {
    holders: [page.breakdown, page.whatIf],
    every: EFFICIENCY_EVERY,
    draw: () =>
      api(`/api/experiments/${seg(data.name)}/efficiency`)
        .then((answer) => drawEfficiency(Plotly, page, answer, data.experiment))
        .catch(failed),
  };
}

/** The page's figures, each drawn by `drawWhileInView` while in view; `fresh()` says the
 * data changed (what the figures share is worked out again). */
function figureParts(Plotly, page, data, overlays) {
  let round = derived(data);
  const fresh = () => {
    round = derived(data);
  };
  const part = (place, make) => ({
    holders: [place.holder],
    draw: () => {
      const [made, message] = make(round());
      return show(Plotly, page, place, made, message);
    },
  });
  const none = (d) =>
    d.done.length ? "No parameter varies among the finished trials." : "No finished trial yet.";
  const args = (d) => [d.sample, d.note, d.varied, data.space, d.e.metric, d.e.mode];
  const best = (d) =>
    bestSoFarFigure(d.done, d.e.metric, d.e.mode, d.now, overlayCurves(overlays), {
      primary: severalObjectives(d.e),
    });
  const parts = {
    best: part(page.best, (d) =>
      d.done.length || overlays.size ? [best(d)] : [null, "No finished trial yet."],
    ),
    timeline: part(page.timeline, (d) =>
      data.trials.some((t) => t.started !== null && t.started !== undefined)
        ? [timelineFigure(data.trials, d.now)]
        : [null, "No trial has started yet."],
    ),
    params: part(page.params, (d) =>
      d.varied.length ? [parametersFigure(...args(d))] : [null, none(d)],
    ),
    parallel: part(page.parallel, (d) => [d.varied.length ? parallelFigure(...args(d)) : null]),
    curves: part(page.curves, () => {
      const metric = curvesMetric(page, data);
      return metric
        ? [learningCurvesFigure(data.reports, (id) => statusOf(data, id), metric)]
        : [null, "No trial reported intermediate results (ctx.report) yet."];
    }),
    efficiency: efficiencyPart(Plotly, page, data),
  };
  if (page.pareto) {
    parts.pareto = part(page.pareto, () =>
      data.trials.some((t) => t.status === "done")
        ? [paretoFigure(data.trials, data.front, data.experiment, chosenPair(page.pareto))]
        : [null, "No finished trial yet."],
    );
  }
  return { parts, fresh };
}

/** The other experiments of the store, as checkboxes that overlay their best so far. */
async function drawOverlayChoices(page, name, overlays, redraw) {
  const { experiments } = await api("/api/experiments");
  const others = experiments.filter((x) => x.name !== name);
  const boxes = others.map((x) => {
    const box = el("input", { type: "checkbox", value: x.name, checked: overlays.has(x.name) });
    box.addEventListener("change", async () => {
      if (box.checked) {
        const entry = { data: experimentData(x.name) };
        overlays.set(x.name, entry);
        await update(entry.data);
      } else {
        overlays.delete(x.name);
      }
      redraw();
    });
    return el("label", {}, box, ` ${x.name}`);
  });
  fill(
    page.overlays,
    boxes.length ? boxes : el("span", { class: "muted" }, "no other experiment in this store"),
  );
}

/** The trials table of the page: a function that draws it again from `data`. */
function tableDrawer(page, data) {
  const table = trialsTable(page.table, data.name);
  return () => {
    const e = data.experiment;
    const columns = trialColumns(
      e.metric,
      data.params,
      [...data.metricNames],
      flagColumns(e, data),
    );
    table.setData(data.trials, columns);
  };
}

/** Show experiment `name` in `main` and keep it live while `alive()`. */
export async function experimentPage({ main, alive, navigate, crumbs, plotly }) {
  const name = decodeURIComponent(location.pathname.split("/")[2] || "");
  fill(crumbs, "/", el("a", { href: `/experiment/${seg(name)}` }, name));
  document.title = `paratune: ${name}`;
  const data = experimentData(name);
  const overlays = new Map();
  try {
    await update(data);
  } catch (error) {
    fill(
      main,
      el("div", { class: "error-box" }, `No experiment "${name}": ${error.message}`),
      el("p", {}, el("a", { href: "/" }, "All experiments")),
    );
    return;
  }
  if (!alive()) return;
  const page = layoutPage(main, data.experiment);
  page.openTrial = (id) => navigate(`/trial/${seg(name)}/${id}`);
  const drawTable = tableDrawer(page, data);
  drawHeadline(page, data);
  drawTable();
  main.dataset.tableAt = performance.now().toFixed(1);
  drawSpace(page, data);
  const { parts, fresh } = figureParts(await plotly(), page, data, overlays);
  const figures = drawWhileInView(Object.values(parts), alive, (all) => {
    if (all && !main.dataset.allDrawnAt) main.dataset.allDrawnAt = performance.now().toFixed(1);
  });
  await figures.now();
  main.dataset.drawnAt = performance.now().toFixed(1);
  page.curvesMetric.addEventListener("change", () => figures.redraw(parts.curves));
  page.pareto?.pair.addEventListener("change", () => figures.redraw(parts.pareto));
  drawOverlayChoices(page, name, overlays, () => {
    fresh();
    figures.redraw(parts.best);
  }).catch(() => fill(page.overlays, "could not list the experiments"));
  poll(async () => {
    const changed = await update(data);
    let overlaid = false;
    for (const entry of overlays.values())
      overlaid = (await update(entry.data)) === "trials" || overlaid;
    if (!alive()) return;
    if (changed) drawHeadline(page, data);
    if (changed === "trials") drawTable();
    if (changed === "trials" || overlaid) {
      fresh();
      figures.changed();
    } else if (changed && data.experiment.state === "running") {
      // Only time went on: the running trials' bars and the best-so-far line grow.
      fresh();
      figures.changed([parts.timeline, parts.best]);
    }
  }, alive);
}
