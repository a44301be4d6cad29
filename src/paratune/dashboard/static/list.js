// The experiments of the store: state, progress, best value, workers and utilisation,
// refreshed about once a second.

import { api, el, fill, fmt, fmtDate, fmtSeconds, poll, seg } from "./dom.js";
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
  ["best", ""],
  ["workers", ""],
  ["busy workers", ""],
  ["utilisation", ""],
  ["time", ""],
  ["created", "text"],
];

function row(e) {
  const href = `/experiment/${seg(e.name)}`;
  const best =
    e.best_trial_id === null || e.best_trial_id === undefined
      ? bestText(e)
      : el(
          "a",
          { href: `/trial/${seg(e.name)}/${e.best_trial_id}`, title: `trial ${e.best_trial_id}` },
          bestText(e),
        );
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
    el(
      "td",
      { title: `${e.metric} (${e.mode})` },
      best,
      el("span", { class: "muted" }, ` ${e.metric} (${e.mode})`),
    ),
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
