// Small helpers shared by the pages: building elements, formatting numbers and times,
// asking the server, and polling it.

/** An element: el("a", {href: "/", class: "x"}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A number as text: 6 significant digits, integers with thousands separators. */
export function fmt(value) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "number")
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString("en");
  const text = value.toPrecision(6);
  return text.includes("e") ? text : String(Number(text));
}

/** Seconds as "3.2 ms", "12.3 s", "4 min 03 s" or "2 h 05 min". */
export function fmtSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds > 0 && seconds < 0.1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  const minutes = Math.floor(whole / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** A share as "87.5%". */
export function fmtShare(value) {
  return value === null || value === undefined ? "" : `${(100 * value).toFixed(1)}%`;
}

/** Bytes as "12.3 MiB". */
export function fmtBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${unit ? size.toFixed(1) : size} ${units[unit]}`;
}

/** A Unix time as a local date and time. */
export function fmtDate(unixSeconds) {
  if (!unixSeconds) return "";
  return new Date(unixSeconds * 1000).toLocaleString("en-GB", { hour12: false });
}

// The token given in the page's URL, if any: sent along with every request, as well as the
// cookie the server set when it served the page.
const TOKEN = new URLSearchParams(location.search).get("token");

/** A URL of this server, with the token when the page was opened with one. */
export function withToken(path) {
  if (!TOKEN) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(TOKEN)}`;
}

/** The answer index.html asked for early for `url`, once (null if it asked for another). */
function early(url) {
  const asked = window.paratuneEarly;
  if (!asked || asked.url !== url) return null;
  delete window.paratuneEarly;
  return asked.answer;
}

/** GET a JSON answer of the server's API; an error answer throws with its message. */
export async function api(path) {
  const url = withToken(path);
  const answer = await (early(url) ?? fetch(url, { headers: { Accept: "application/json" } }));
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error(body.error || `${answer.status} ${answer.statusText}`);
    error.status = answer.status;
    throw error;
  }
  return body;
}

/** The path segment for a name: encoded so that any experiment name is one segment. */
export function seg(name) {
  return encodeURIComponent(String(name));
}

/**
 * Call `step` about every `every` ms, each call after the previous one ended (so a slow
 * answer never piles requests up), more slowly while the tab is hidden; `alive()` false
 * stops it. `step` returns false to stop too.
 */
export function poll(step, alive, every = 1000) {
  const live = document.getElementById("live");
  const loop = async () => {
    if (!alive()) return;
    let again = true;
    try {
      again = (await step()) !== false;
      live?.classList.remove("stale");
    } catch (error) {
      live?.classList.add("stale");
      if (live) live.title = `last update failed: ${error.message}`;
    }
    if (again && alive()) setTimeout(loop, document.hidden ? 5 * every : every);
  };
  setTimeout(loop, every);
}

/** Replace the children of `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

/** A two-column table of label / value rows (values formatted; objects as JSON). */
export function keyValueTable(rows) {
  return el(
    "table",
    { class: "plain" },
    el(
      "tbody",
      {},
      rows.map(([key, value]) =>
        el(
          "tr",
          {},
          el("th", { class: "text" }, key),
          el("td", { class: cellClass(value) }, fmt(value)),
        ),
      ),
    ),
  );
}

/** "text" for a cell that is not a number (left-aligned). */
export function cellClass(value) {
  return typeof value === "number" ? null : "text";
}

/** A status word as a coloured badge. */
export function badge(status, label = status) {
  return el("span", { class: `badge ${status}` }, label);
}

/** The cards of a page's headline: [label, value] pairs. */
export function cards(items) {
  return el(
    "div",
    { class: "cards" },
    items.map(([label, value]) =>
      el("div", { class: "card" }, el("span", {}, label), el("b", {}, value)),
    ),
  );
}
