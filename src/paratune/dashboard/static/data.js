// What the page holds of one experiment, kept up to date from the server's answers to
// `GET /api/experiments/{name}?since=<cursor>`: only the trials that changed and the reports
// added since the cursor come back, and are merged here.

import { api, seg } from "./dom.js";

/** An empty holder for one experiment's trials and reports. */
export function experimentData(name) {
  const data = { name, cursor: "", experiment: null, space: {}, version: 0 };
  clear(data);
  return data;
}

/** Drop every trial and report held (a new holder, or the server's reset). */
function clear(data) {
  Object.assign(data, {
    trials: [],
    at: new Map(),
    reports: new Map(),
    reportCount: 0,
    params: [],
    metricNames: new Set(),
    reportMetrics: new Set(),
    // The Pareto front as the server found it (several metrics): [trial_id, each metric].
    front: [],
    frontIds: new Set(),
  });
}

function addTrial(data, trial) {
  const at = data.at.get(trial.trial_id);
  if (at === undefined) {
    data.at.set(trial.trial_id, data.trials.length);
    data.trials.push(trial);
  } else {
    data.trials[at] = trial;
  }
  for (const key in trial.metrics || {}) data.metricNames.add(key);
  for (const key in trial.config || {}) {
    if (!data.params.includes(key)) data.params.push(key);
  }
}

function addReport(data, report) {
  let list = data.reports.get(report.trial_id);
  if (!list) {
    list = [];
    data.reports.set(report.trial_id, list);
  }
  for (const key in report.metrics || {}) data.reportMetrics.add(key);
  // A report of a step already held (a trial run again reports its steps again) replaces it.
  const same = list.findIndex((r) => r.step === report.step);
  if (same >= 0) {
    list[same] = report;
    return;
  }
  const last = list[list.length - 1];
  list.push(report);
  if (last && last.step > report.step) list.sort((a, b) => a.step - b.step);
  data.reportCount += 1;
}

/**
 * Merge one answer into `data`: "trials" when trials, reports or the Pareto front changed
 * (or everything was replaced), "summary" when only the experiment's summary did (its elapsed time, say), and
 * "" when nothing did. A `reset` answer (the first one, or the server could not tell what
 * changed: the experiment was overwritten) replaces everything held.
 */
export function merge(data, answer) {
  let changed = Boolean(answer.reset) || data.experiment === null;
  if (answer.reset) clear(data);
  if (answer.space) {
    data.space = answer.space;
    for (const key of Object.keys(answer.space)) {
      if (!data.params.includes(key)) data.params.push(key);
    }
  }
  const summary = JSON.stringify(answer.experiment) !== JSON.stringify(data.experiment);
  data.experiment = answer.experiment;
  data.cursor = answer.cursor;
  for (const trial of answer.trials || []) addTrial(data, trial);
  for (const report of answer.reports || []) addReport(data, report);
  if ((answer.trials || []).length || (answer.reports || []).length) changed = true;
  if (answer.front) {
    // Sent only when it changed since the cursor (it changes only as trials do).
    data.front = answer.front;
    data.frontIds = new Set(answer.front.map((p) => p[0]));
    data.frontVersion = (data.frontVersion || 0) + 1;
    changed = true;
  }
  if (changed || summary) data.version += 1;
  return changed ? "trials" : summary ? "summary" : "";
}

/** Ask the server what changed since the cursor held, and merge it; what changed (see `merge`). */
export async function update(data) {
  const answer = await api(
    `/api/experiments/${seg(data.name)}?since=${encodeURIComponent(data.cursor)}`,
  );
  return merge(data, answer);
}

/** The status of a trial held, by id ("running" for one not seen yet). */
export function statusOf(data, trialId) {
  const at = data.at.get(trialId);
  return at === undefined ? "running" : data.trials[at].status;
}
