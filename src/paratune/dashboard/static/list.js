// The experiments of the store: state, progress, best value, workers and utilisation,
// refreshed about once a second.

import { api, el, fill, fmt, fmtDate, fmtSeconds, poll, seg } from "./dom.js";
import { objectivesText, severalObjectives } from "./pareto.js";
import {
  bestText,
  busyWorkers,
  progressBar,
  runSeconds,
  stateBadge,
  statusCounts,
  utilisation,
} from "./summary.js";

const HEADINGS = [
  ["experiment", "text"],
  ["state", "text"],
  ["progress", "text"],
  ["trials", "text"],
  ["best (or Pareto front)", ""],
  ["workers", ""],
  ["busy workers", ""],
  ["utilisation", ""],
  ["time", ""],
  ["created", "text"],
];

/** The best value (a link to its trial), or for several metrics the front's size; then the
 * metrics with their modes (and constraints). */
function bestCell(e) {
  const best = severalObjectives(e)
    ? el("span", { "data-role": "front-size" }, `${fmt(e.front_size ?? 0)} on the front`)
    : e.best_trial_id === null || e.best_trial_id === undefined
      ? bestText(e)
      : el(
          "a",
          { href: `/trial/${seg(e.name)}/${e.best_trial_id}`, title: `trial ${e.best_trial_id}` },
          bestText(e),
        );
  const goals = objectivesText(e);
  return el("td", { title: goals }, best, el("span", { class: "muted" }, ` ${goals}`));
}

function row(e) {
  const href = `/experiment/${seg(e.name)}`;
  const busy = busyWorkers(e);
  return el(
    "tr",
    { "data-experiment": e.name },
    el("td", { class: "text" }, el("a", { href }, e.name)),
    el(
      "td",
      { class: "text" },
      stateBadge(e),
      e.stop_reason ? el("span", { class: "muted" }, ` ${e.stop_reason}`) : null,
    ),
    el("td", { class: "text" }, progressBar(e)),
    el("td", { class: "text" }, `${fmt(e.trials)}: ${statusCounts(e)}`),
    bestCell(e),
    el("td", {}, fmt(e.workers)),
    el("td", { title: "busy worker-time over wall time" }, busy === null ? "" : busy.toFixed(2)),
    el(
      "td",
      {
        title:
          "busy worker-time over workers x wall time: how much of the capacity went to trials (not a speedup)",
      },
      utilisation(e),
    ),
    el("td", {}, fmtSeconds(runSeconds(e))),
    el("td", { class: "text" }, fmtDate(e.created)),
  );
}

function draw(main, answer) {
  const experiments = answer.experiments;
  const table = experiments.length
    ? el(
        "table",
        { class: "plain", "data-role": "experiments" },
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            HEADINGS.map(([h, kind]) => el("th", { class: kind || null }, h)),
          ),
        ),
        el("tbody", {}, experiments.map(row)),
      )
    : el(
        "p",
        { class: "muted", "data-role": "experiments" },
        "No experiment in this store yet: one appears here as soon as a run starts.",
      );
  fill(
    main,
    el("h1", {}, "Experiments"),
    el(
      "p",
      { class: "note" },
      `Store ${answer.store}: ${experiments.length} experiment${experiments.length === 1 ? "" : "s"}. `,
      "Utilisation is the busy worker-time over workers × wall time, not a speedup; ",
      "an experiment's page has the what-if replay that predicts one.",
    ),
    table,
  );
}

/** Show the experiments list in `main` and keep it live while `alive()`. */
export async function listPage({ main, alive, crumbs }) {
  fill(crumbs);
  document.title = "paratune: experiments";
  const refresh = async () => {
    const answer = await api("/api/experiments");
    if (alive()) draw(main, answer);
  };
  try {
    await refresh();
  } catch (error) {
    fill(
      main,
      el("div", { class: "error-box" }, `Could not read the experiments: ${error.message}`),
    );
  }
  main.dataset.drawnAt = performance.now().toFixed(1);
  poll(refresh, alive);
}
