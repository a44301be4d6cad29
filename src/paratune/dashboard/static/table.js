// The trials table: sortable by any column, filtered by status and by a text filter, and
// drawn with virtual scrolling: only the rows in view (and a few around) are in the DOM,
// so 100,000 trials scroll as smoothly as ten.

import { el, fmt, fmtSeconds, seg } from "./dom.js";

const ROW = 26; // px: the row height of app.css (--row)
const OVERSCAN = 8; // rows drawn above and below the view

/**
 * The table's columns for an experiment: id, status, the metric, parameters, other metrics,
 * and the rest. `flags`: the columns an experiment with several metrics or constraints adds
 * after the status (`flagColumns` of pareto.js); such an experiment's primary metric is
 * shown as measured, also for a trial that broke a constraint (whose value is none).
 */
export function trialColumns(metric, params, metricNames, flags = null) {
  const number = (key, label, get, width = 100) => ({ key, label, get, numeric: true, width });
  const text = (key, label, get, width = 110) => ({ key, label, get, numeric: false, width });
  return [
    number("trial_id", "trial", (t) => t.trial_id, 70),
    text("status", "status", (t) => t.status, 95),
    ...(flags || []),
    flags
      ? number("value", metric, (t) => t.metrics?.[metric] ?? t.value, 110)
      : number("value", metric, (t) => t.value, 110),
    ...params.map((p) => ({
      key: p,
      label: p,
      get: (t) => t.config?.[p],
      numeric: null,
      width: 110,
    })),
    ...metricNames
      .filter((m) => m !== metric)
      .map((m) => ({
        key: `metrics.${m}`,
        label: m,
        get: (t) => t.metrics?.[m],
        numeric: null,
        width: 100,
      })),
    number("budget", "budget", (t) => t.budget, 80),
    number("attempts", "attempts", (t) => t.attempts, 75),
    text("worker", "worker", (t) => t.worker, 70),
    text("host", "host", (t) => t.host, 110),
    number("started", "started (s)", (t) => t.started, 95),
    number("finished", "finished (s)", (t) => t.finished, 95),
    number("worker_time", "worker time", (t) => t.worker_time, 100),
    text("error", "error", (t) => t.error, 260),
  ];
}

/** A cell's text. */
function cellText(column, trial) {
  const value = column.get(trial);
  if (column.key === "worker_time")
    return value === null || value === undefined ? "" : fmtSeconds(value);
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : fmt(value);
  return fmt(value);
}

// ---- the filter ------------------------------------------------------------------------------

const TERM = /([A-Za-z_][\w.]*)\s*(<=|>=|!=|==|=|<|>|:)\s*("[^"]*"|\S+)/g;

/**
 * Parse the text filter into tests on a trial: `name op value` terms (op one of < <= > >=
 * = != and `:` for "contains"; numbers compare as numbers) and free words, each of which
 * must appear somewhere in the row. Unknown column names are reported, not guessed.
 */
export function parseFilter(text, columns) {
  const byName = new Map();
  for (const column of columns) {
    byName.set(column.key.toLowerCase(), column);
    byName.set(column.label.toLowerCase(), column);
    if (column.key.startsWith("metrics.")) byName.set(column.key.slice(8).toLowerCase(), column);
  }
  const tests = [];
  const problems = [];
  const rest = text.replace(TERM, (whole, name, op, raw) => {
    const column = byName.get(name.toLowerCase());
    if (!column) {
      problems.push(`no column named "${name}"`);
      return " ";
    }
    tests.push(comparison(column, op, raw.replace(/^"|"$/g, "")));
    return " ";
  });
  const words = rest.toLowerCase().split(/\s+/).filter(Boolean);
  return { tests, words, problems };
}

function comparison(column, op, wanted) {
  const number = wanted.trim() !== "" && !Number.isNaN(Number(wanted)) ? Number(wanted) : null;
  const lower = wanted.toLowerCase();
  const asText = (t) => {
    const value = column.get(t);
    return value === null || value === undefined ? "" : String(value).toLowerCase();
  };
  if (op === ":") return (t) => asText(t).includes(lower);
  if (number !== null) {
    const get = (t) => {
      const value = column.get(t);
      return typeof value === "number"
        ? value
        : value === null || value === undefined
          ? NaN
          : Number(value);
    };
    const tests = {
      "<": (t) => get(t) < number,
      "<=": (t) => get(t) <= number,
      ">": (t) => get(t) > number,
      ">=": (t) => get(t) >= number,
      "=": (t) => get(t) === number,
      "==": (t) => get(t) === number,
      "!=": (t) => get(t) !== number,
    };
    return tests[op];
  }
  if (op === "!=") return (t) => asText(t) !== lower;
  if (op === "=" || op === "==") return (t) => asText(t) === lower;
  return (t) => {
    const text = asText(t);
    return op.startsWith("<") ? text < lower : text > lower;
  };
}

// ---- the table -------------------------------------------------------------------------------

/**
 * Make the table in `container`. Returns {setData(trials, columns), redraw()}:
 * `trials` is an array the caller owns and may change between calls (call setData again).
 */
export function trialsTable(container, experimentName) {
  const state = {
    trials: [],
    columns: [],
    sortKey: "trial_id",
    descending: true,
    status: "",
    filterText: "",
    order: null, // Uint32Array: trial positions in sort order (all trials)
    shown: new Uint32Array(0), // positions that pass the filter, in sort order
    texts: new WeakMap(), // trial -> its row as lowercase text, for free-word filtering
    columnsSignature: "",
  };
  const parts = tableParts(container);
  const { count, problems, head, body, scroller } = parts;
  const refilter = () => {
    const started = performance.now();
    applyFilter(state, problems);
    scroller.scrollTop = Math.min(scroller.scrollTop, state.shown.length * ROW);
    drawRows(state, body, scroller, experimentName);
    const total = state.trials.length.toLocaleString("en");
    count.textContent = `${state.shown.length.toLocaleString("en")} of ${total} trials`;
    container.dataset.filterMs = (performance.now() - started).toFixed(1);
  };
  listen(state, parts, refilter, () => drawRows(state, body, scroller, experimentName));
  return {
    setData(trials, columns) {
      state.trials = trials;
      // A column's version changes when its values do without the trials changing (the
      // Pareto front): the rows' texts are made again.
      const signature = columns.map((c) => c.key + c.label + (c.version ?? "")).join("|");
      if (signature !== state.columnsSignature) {
        state.columns = columns;
        state.columnsSignature = signature;
        state.texts = new WeakMap();
        drawHead(state, head);
      }
      state.order = null;
      refilter();
    },
  };
}

/** The table's elements in `container`: its filters, count, head and scrolling body. */
function tableParts(container) {
  const count = el("span", { class: "muted", "data-role": "count" });
  const problems = el("span", { class: "filter-error" });
  const statusSelect = el(
    "select",
    { "aria-label": "status", "data-role": "status-filter" },
    ["", "done", "running", "failed", "pruned", "cancelled", "interrupted"].map((s) =>
      el("option", { value: s }, s || "all statuses"),
    ),
  );
  const search = el("input", {
    type: "search",
    "data-role": "text-filter",
    "aria-label": "filter",
    placeholder: "filter: x > 0.5  kind = adam  error:memory  or any words",
  });
  const head = el("div", { class: "vt-head", role: "row" });
  const body = el("div", { class: "vt-body" });
  const scroller = el("div", { class: "vt", role: "table", "data-role": "trials" }, head, body);
  container.replaceChildren(
    el("div", { class: "toolbar" }, statusSelect, search, count, problems),
    scroller,
  );
  return { count, problems, statusSelect, search, head, body, scroller };
}

/** Filter as the filters change, sort on a click on a heading, draw the rows in view as
 * the table scrolls (once per frame). */
function listen(state, parts, refilter, redraw) {
  const { statusSelect, search, head, scroller } = parts;
  statusSelect.addEventListener("change", () => {
    state.status = statusSelect.value;
    refilter();
  });
  search.addEventListener("input", () => {
    state.filterText = search.value;
    refilter();
  });
  head.addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]")?.dataset.key;
    if (!key) return;
    state.descending = state.sortKey === key ? !state.descending : false;
    state.sortKey = key;
    state.order = null;
    drawHead(state, head);
    refilter();
  });
  let frame = 0;
  scroller.addEventListener("scroll", () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      redraw();
    });
  });
}

function template(columns) {
  return columns.map((c) => `${c.width}px`).join(" ");
}

function drawHead(state, head) {
  head.style.gridTemplateColumns = template(state.columns);
  head.replaceChildren(
    ...state.columns.map((c) =>
      el(
        "div",
        {
          "data-key": c.key,
          role: "columnheader",
          title: `sort by ${c.label}`,
          "aria-sort":
            c.key === state.sortKey ? (state.descending ? "descending" : "ascending") : null,
        },
        c.label,
      ),
    ),
  );
}

/** Positions of all trials in the order of the sort column (missing values last). */
function sortOrder(state) {
  const { trials, columns, sortKey, descending } = state;
  const column = columns.find((c) => c.key === sortKey) || columns[0];
  const n = trials.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  const values = new Array(n);
  let numeric = true;
  for (let i = 0; i < n; i += 1) {
    const value = column.get(trials[i]);
    values[i] = value;
    if (numeric && value !== null && value !== undefined && typeof value !== "number")
      numeric = false;
  }
  const sign = descending ? -1 : 1;
  let compare;
  if (numeric) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i += 1)
      keys[i] = values[i] === null || values[i] === undefined ? NaN : values[i];
    compare = (a, b) => {
      const x = keys[a];
      const y = keys[b];
      if (x !== x || y !== y) return x !== x ? (y !== y ? a - b : 1) : -1; // NaN last
      return x === y ? a - b : x < y ? -sign : sign;
    };
  } else {
    const keys = values.map((v) =>
      v === null || v === undefined ? null : typeof v === "object" ? JSON.stringify(v) : String(v),
    );
    compare = (a, b) => {
      const x = keys[a];
      const y = keys[b];
      if (x === null || y === null) return x === null ? (y === null ? a - b : 1) : -1;
      return x === y ? a - b : x < y ? -sign : sign;
    };
  }
  return order.sort(compare);
}

function rowText(state, trial) {
  let text = state.texts.get(trial);
  if (text === undefined) {
    text = state.columns
      .map((c) => cellText(c, trial))
      .join("\u0001")
      .toLowerCase();
    state.texts.set(trial, text);
  }
  return text;
}

/** Recompute the shown rows from the status, the text filter and the sort order. */
function applyFilter(state, problemsNode) {
  if (!state.order) state.order = sortOrder(state);
  const { tests, words, problems } = parseFilter(state.filterText, state.columns);
  problemsNode.textContent = problems.join("; ");
  const status = state.status;
  const { order, trials } = state;
  const shown = new Uint32Array(order.length);
  let kept = 0;
  for (let i = 0; i < order.length; i += 1) {
    const trial = trials[order[i]];
    if (status && trial.status !== status) continue;
    let pass = true;
    for (let k = 0; k < tests.length && pass; k += 1) pass = tests[k](trial);
    if (pass && words.length) {
      const text = rowText(state, trial);
      for (let k = 0; k < words.length && pass; k += 1) pass = text.includes(words[k]);
    }
    if (pass) shown[kept++] = order[i];
  }
  state.shown = shown.subarray(0, kept);
}

/** Put the rows in view (and a few around) in the DOM, each a link to its trial's page. */
function drawRows(state, body, scroller, experimentName) {
  const { shown, trials, columns } = state;
  body.style.height = `${shown.length * ROW}px`;
  const headHeight = body.offsetTop;
  const top = Math.max(0, scroller.scrollTop - headHeight);
  const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil((top + scroller.clientHeight) / ROW) + OVERSCAN);
  const columnsTemplate = template(columns);
  const rows = [];
  for (let i = first; i < last; i += 1) {
    const trial = trials[shown[i]];
    const row = el("a", {
      class: "vt-row",
      role: "row",
      href: `/trial/${seg(experimentName)}/${trial.trial_id}`,
      "data-trial-id": trial.trial_id,
      "data-status": trial.status,
    });
    row.style.top = `${i * ROW}px`;
    row.style.gridTemplateColumns = columnsTemplate;
    for (const column of columns) {
      const value = column.get(trial);
      const cell = el(
        "div",
        { role: "cell", class: typeof value === "number" ? "num" : null },
        cellText(column, trial),
      );
      if (column.key === "status") cell.className = `st ${trial.status}`;
      if (column.flag && value === column.flag) cell.className = `flag ${value}`;
      if (column.key === "error" && value) cell.title = value;
      row.append(cell);
    }
    rows.push(row);
  }
  body.replaceChildren(...rows);
}
