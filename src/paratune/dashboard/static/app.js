// The paratune dashboard: one page that shows the experiments of a store, one experiment,
// or one trial, after location.pathname, and keeps what it shows live by polling the
// server's JSON API. Links inside the page change the view without reloading it.

import { el, fill } from "./dom.js";
import { experimentPage } from "./experiment.js";
import { listPage } from "./list.js";
import { trialPage } from "./trial.js";

const main = document.getElementById("main");
const crumbs = document.getElementById("crumbs");

const PLOTLY = "/static/plotly.min.js";
let plotlyLoading = null;

/** Plotly, once its script has run (loaded on the first call). */
function plotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  plotlyLoading ||= new Promise((resolve, reject) => {
    const script = el("script", { src: PLOTLY });
    script.addEventListener("load", () => resolve(window.Plotly));
    script.addEventListener("error", () => reject(new Error(`could not load ${PLOTLY}`)));
    document.head.append(script);
  });
  return plotlyLoading;
}

let generation = 0;

/** Free what the figures of the view being left hold (WebGL contexts are few). */
function purgeFigures() {
  if (!window.Plotly) return;
  for (const box of main.querySelectorAll(".js-plotly-plot")) window.Plotly.purge(box);
}

function route() {
  generation += 1;
  const mine = generation;
  const alive = () => mine === generation;
  purgeFigures();
  delete main.dataset.drawnAt;
  fill(main, el("p", { class: "muted" }, "Loading…"));
  const view = { main, crumbs, alive, navigate, plotly };
  const [, first] = location.pathname.split("/");
  if (first === "experiment") return experimentPage(view);
  if (first === "trial") return trialPage(view);
  return listPage(view);
}

/** Show `path` without reloading the page. */
export function navigate(path) {
  history.pushState(null, "", path + location.search);
  window.scrollTo(0, 0);
  route();
}

// Follow the page's own links in place; leave modified clicks (new tab) to the browser.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || link.target) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname);
});
window.addEventListener("popstate", route);
route();
// plotly.min.js (4.8 MB) starts loading at once, beside the page's data: the browser
// compiles it on another thread as it arrives (the server sends it with the hint to) and
// runs it once the page's thread is free, by when the data has mostly come and the table
// is drawn. The list needs no figure.
if (location.pathname.startsWith("/experiment/") || location.pathname.startsWith("/trial/")) {
  plotly().catch(() => {});
}
