// What the dashboard page's modules compute, on small inputs: run in the page by
// test_pages_views.py (the body of an async function; it returns what the test checks).
const T = await import("/static/table.js");
const P = { ...(await import("/static/plots.js")), ...(await import("/static/params.js")) };
const E = await import("/static/efficiency.js");
const S = await import("/static/summary.js");
const columns = T.trialColumns("loss", ["x", "kind"], ["loss", "size"]);
const trials = [
  {
    trial_id: 0,
    status: "done",
    value: 0.5,
    config: { x: 0.2, kind: "a" },
    metrics: { size: 2 },
    error: null,
    finished: 3,
  },
  {
    trial_id: 1,
    status: "failed",
    value: null,
    config: { x: 0.9, kind: "b" },
    metrics: {},
    error: "MemoryError: out",
  },
  {
    trial_id: 2,
    status: "done",
    value: 0.1,
    config: { x: 0.7, kind: "a" },
    metrics: { size: 7 },
    error: null,
    finished: 5,
  },
];
const pick = (text) => {
  const f = T.parseFilter(text, columns);
  return [
    trials.filter((t) => f.tests.every((test) => test(t))).map((t) => t.trial_id),
    f.words,
    f.problems,
  ];
};
const done = P.doneTrials(trials);
const many = Array.from({ length: 3000 }, (_, i) => ({ trial_id: i, value: i % 7, finished: i }));
return {
  filters: [
    pick("x > 0.5"),
    pick("kind = a size >= 7"),
    pick("error:memory"),
    pick("loss <= 0.5 big words"),
    pick("kind != a"),
    pick("wrong = 1"),
  ],
  columns: columns.map((c) => c.key),
  curve: P.bestCurve(done, "min", 10),
  curveMax: P.bestCurve(done, "max"),
  busy: P.busyWorkers(
    [
      { started: 0, finished: 2 },
      { started: 1, finished: 2 },
      { started: 1, finished: null },
    ],
    4,
    4,
    4,
  ).y,
  sample: [
    P.sampleForPlots(many, "min").trials.length,
    P.sampleForPlots(many, "min").note,
    JSON.stringify(P.sampleForPlots(many, "min").trials) ===
      JSON.stringify(P.sampleForPlots(many, "min").trials),
    P.samplePoints(many).points.length,
    P.sampleForPlots(done, "min").trials.length,
  ],
  axisLog: P.parallelAxis("lr", [0.001, 0.1, null], {
    type: "float",
    low: 0.001,
    high: 0.1,
    log: true,
  }),
  axisChoice: P.parallelAxis("kind", ["b", "a", 3], { type: "choice" }),
  breakdown: [
    E.breakdownRows({ parts: [{ part: "useful work", seconds: 3, share: 0.75 }] }),
    E.breakdownRows({ useful_work: 3, idle: 1 }),
  ],
  whatIf: E.whatIfRows([
    { number_of_workers: 2, time: 1, speedup_vs_sequential: 1.5, efficiency: 0.75 },
  ]),
  progress: [
    S.progress({
      max_trials: 10,
      max_time: null,
      done: 4,
      failed: 1,
      pruned: 0,
      cancelled: 0,
      running: 2,
    }),
    S.progress({
      max_trials: 100,
      max_time: 60,
      state: "running",
      elapsed: 30,
      done: 4,
      failed: 0,
      pruned: 0,
      cancelled: 0,
      running: 0,
    }),
  ],
  states: ["running", "ended", "unfinished"].map((state) => S.stateBadge({ state }).textContent),
};
