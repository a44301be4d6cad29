// What the experiments list and an experiment's headline both say about an experiment:
// its state, its progress against max_trials or max_time, and how busy its workers were.

import { el, fmt, fmtSeconds, fmtShare } from "./dom.js";

const STATE_LABELS = {
  running: "running",
  ended: "ended",
  unfinished: "stopped without ending",
};

const STATE_TITLES = {
  running: "a driver holds the experiment: trials are being run now",
  ended: "its last session finished",
  unfinished: "no driver holds it and its last session did not finish (killed, or still to resume)",
};

/** The experiment's state as a coloured badge. */
export function stateBadge(experiment) {
  const state = experiment.state;
  return el(
    "span",
    { class: `badge ${state}`, title: STATE_TITLES[state] || "", "data-role": "state" },
    STATE_LABELS[state] || state,
  );
}

/** Trials that have ended, whatever the outcome. */
export function endedTrials(experiment) {
  return experiment.done + experiment.failed + experiment.pruned + experiment.cancelled;
}

/** Seconds the experiment has run: its elapsed time while it runs, else its wall time. */
export function runSeconds(experiment) {
  return experiment.state === "running" &&
    experiment.elapsed !== null &&
    experiment.elapsed !== undefined
    ? experiment.elapsed
    : experiment.wall_time;
}

/**
 * How far the run is towards its end: the larger of the ended trials over max_trials and
 * the time run over max_time (whichever will stop it first), with words for both.
 */
export function progress(experiment) {
  const parts = [];
  let share = null;
  if (experiment.max_trials) {
    const ended = endedTrials(experiment);
    share = ended / experiment.max_trials;
    parts.push(`${fmt(ended)} of ${fmt(experiment.max_trials)} trials`);
  }
  if (experiment.max_time) {
    const seconds = runSeconds(experiment) || 0;
    share = Math.max(share ?? 0, seconds / experiment.max_time);
    parts.push(`${fmtSeconds(seconds)} of ${fmtSeconds(experiment.max_time)}`);
  }
  if (!parts.length) parts.push(`${fmt(endedTrials(experiment))} trials, no limit set`);
  if (experiment.running) parts.push(`${fmt(experiment.running)} running`);
  return { share, text: parts.join(", ") };
}

/** The progress as a bar (or words alone when the run has no limit). */
export function progressBar(experiment) {
  const { share, text } = progress(experiment);
  if (share === null) return el("span", { "data-role": "progress" }, text);
  const bar = el(
    "div",
    { class: "progress", title: text, "data-role": "progress" },
    el("i", {}),
    el("span", {}, text),
  );
  bar.firstChild.style.width = `${Math.min(100, 100 * share).toFixed(1)}%`;
  return bar;
}

/** The trial counts by status, the zero ones left out. */
export function statusCounts(experiment) {
  const names = ["done", "running", "failed", "pruned", "cancelled", "interrupted"];
  const said = names.filter((s) => experiment[s]).map((s) => `${fmt(experiment[s])} ${s}`);
  return said.join(", ") || "none yet";
}

/** Busy workers on average: the busy worker-time over the wall time. */
export function busyWorkers(experiment) {
  return experiment.wall_time > 0 ? experiment.busy_time / experiment.wall_time : null;
}

/** The utilisation: busy worker-time over workers x wall time (not a speedup). */
export function utilisation(experiment) {
  return experiment.efficiency === null || experiment.efficiency === undefined
    ? ""
    : fmtShare(experiment.efficiency);
}

/** The best value, or a dash. */
export function bestText(experiment) {
  return experiment.best_value === null || experiment.best_value === undefined
    ? "–"
    : fmt(experiment.best_value);
}
