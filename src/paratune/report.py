"""One self-contained HTML page for a run: its figures (embedded PNG), the best
configurations (or, with several metrics, the Pareto front and its hypervolume), how well
it used its workers, and how it was set up. The page loads nothing from anywhere else, so
it opens offline and can be mailed or archived as one file.

>>> import paratune as pt
>>> from paratune.report import report_html
>>> result = pt.tune(lambda c: c["x"] ** 2, {"x": pt.Float(-1, 1)}, max_trials=5, store=None)
>>> page = report_html(result)
>>> page.startswith("<!DOCTYPE html>") and "Worker use" in page
True
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import analysis, plots
from ._hypervolume import FrontSummary, described, front_summary
from .pareto import pareto_order

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .result import TuneResult

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #212529; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #dee2e6; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #dee2e6; padding: 0.25em 0.6em; text-align: right; }
th { background: #f1f3f5; } td.text, th.text { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #6c757d; font-size: 0.9em; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
.card { border: 1px solid #dee2e6; border-radius: 6px; padding: 0.5em 0.9em; min-width: 9em; }
.card b { display: block; font-size: 1.35em; }
pre { background: #f8f9fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


def _image(figure: Figure) -> str:
    """The figure as an ``<img>`` holding its PNG (base64): no file beside the page."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="">'


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = "" if math.isnan(value) else f"{value:.6g}"
    elif value is None:
        text = ""
    else:
        text = str(value)
    kind = (
        "" if isinstance(value, int | float) and not isinstance(value, bool) else ' class="text"'
    )
    return f"<td{kind}>{html.escape(text)}</td>"


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _cards(items: Iterable[tuple[str, str]]) -> str:
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card">{html.escape(label)}<b>{html.escape(value)}</b></div>'
            for label, value in items
        )
        + "</div>"
    )


def best_configs(result: TuneResult, top: int = 10) -> pd.DataFrame:
    """The ``top`` finished trials, best first: ``trial_id``, the metric, every parameter
    and the trial's duration."""
    trials = result.trials
    columns = ["trial_id", "value", *(c for c in trials.columns if c.startswith("config.")),
               "duration"]  # fmt: skip
    table: pd.DataFrame = trials[columns].iloc[_best_positions(trials, result.mode, top)]
    return table.rename(
        columns={**{c: c.removeprefix("config.") for c in columns}, "value": result.metric}
    )


def _best_positions(trials: pd.DataFrame, mode: str, top: int) -> Any:
    """The rows of the ``top`` finished trials, best first (the earlier among equals; no
    value last), found without sorting every trial: those at most the ``top``-th value."""
    import numpy as np

    done = np.flatnonzero((trials["status"] == "done").to_numpy())
    value = trials["value"].to_numpy(dtype=float)[done]
    key = value if mode == "min" else -value
    if 0 < top < len(key):
        cut = np.partition(key, top - 1)[top - 1]
        if not np.isnan(cut):  # else fewer than top have values: keep them all
            keep = np.flatnonzero(key <= cut)
            done, key = done[keep], key[keep]
    order = np.lexsort((trials["trial_id"].to_numpy()[done], key))  # value, then id
    return done[order][:top]  # as DataFrame.head(top)


def report_html(
    result: TuneResult,
    *,
    spec: Mapping[str, Any] | None = None,
    what_if_workers: Iterable[int] | None = None,
) -> str:
    """The report page as a string (see `write_report`)."""
    summary = analysis.efficiency_summary(result)
    scaling = analysis.what_if(result, what_if_workers)
    scaling_figure = plots.plot_scaling(scaling, title="What-if replay", label="predicted")
    front = None if result.goals.plain else front_summary(result.trials, result.goals)
    sections = [
        *_headline(result, summary, front),
        *(_best_section(result) if front is None or not result.goals.several else []),
        *(_front_section(result, front) if front is not None and result.goals.several else []),
        *_efficiency(result, summary),
        "<h2>Resources</h2>",
        _table(_resources_table(analysis.resources(result))),
        "<h2>What if: the same trials on other worker counts</h2>",
        "<p>The recorded trial durations replayed in trial order on the simulated executor "
        "(no overhead): predicted wall time, and speedup and efficiency against the "
        "predicted 1-worker time (the durations one after another).</p>",
        _table(scaling),
        f"<figure>{_image(scaling_figure)}</figure>",
        "<h2>Parameters</h2>",
        _figures(
            [
                (f"{result.metric} against each parameter", plots.plot_parameters),
                ("Parallel coordinates", plots.plot_parallel_coordinates),
            ],
            result,
        ),
        *_curves_and_spec(result, spec),
    ]
    title = html.escape(f"paratune report: {result.name or 'experiment'}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _best_section(result: TuneResult) -> list[str]:
    """The best finished trials (a few rows, however many trials), of how many, and the
    best so far against wall time."""
    table = best_configs(result)
    done = int((result.trials["status"] == "done").sum())
    return [
        "<h2>Best configurations</h2>",
        f"<p>The {len(table)} best of {done:,} finished trials.</p>",
        _table(table),
        _figures([("Best so far against wall time", plots.plot_best_so_far)], result),
    ]


def _headline(
    result: TuneResult, summary: analysis.EfficiencySummary, front: FrontSummary | None
) -> list[str]:
    """The title, the trial counts by status and why the run stopped, the trials that
    broke a constraint, and the summary cards."""
    counts = result.trials["status"].value_counts()
    seen = ", ".join(f"{int(n)} {status}" for status, n in counts.items() if n)
    lines = [
        f"<h1>paratune report: {html.escape(result.name or 'experiment')}</h1>",
        f"<p>{len(result.trial_list)} trials ({html.escape(seen or 'none')}); stopped: "
        f"{html.escape(result.stop_reason.value)}.</p>",
    ]
    goals = result.goals
    if front is not None and goals.constraints:
        rules = ", ".join(map(str, goals.constraints))
        lines.append(
            f"<p>Constraints: {html.escape(rules)}. {_trials(front.infeasible, 'finished')} "
            "broke one: kept, with every metric, but never best nor on the Pareto front.</p>"
        )
    if front is not None and goals.several:
        shown = described(goals)
        volume = "-" if front.hypervolume is None else f"{front.hypervolume:.6g}"
        first = [("metrics", shown), ("Pareto front", _trials(len(front.front))),
                 ("hypervolume", volume)]  # fmt: skip
    else:
        best = "-" if result.best_value is None else f"{result.best_value:.6g}"
        first = [(f"best {result.metric} ({result.mode})", best)]
    cards = [
        *first,
        ("wall time", f"{result.wall_time:.2f} s"),
        ("workers", str(result.workers)),
        ("busy workers (average)", f"{summary.concurrency:.2f}"),
        ("utilisation", f"{summary.utilisation:.1%}"),
    ]
    return [*lines, _cards(cards)]


def _trials(count: int, kind: str = "") -> str:
    """``"1 trial"``, ``"12 finished trials"``."""
    return f"{count:,} {kind + ' ' if kind else ''}trial{'' if count == 1 else 's'}"


FRONT_ROWS = 20
"""The most trials of the Pareto front the report's table lists."""


def front_configs(result: TuneResult, top: int = FRONT_ROWS) -> pd.DataFrame:
    """The trials of the Pareto front (`TuneResult.pareto_front`), by the first metric
    (best first): ``trial_id``, every tuned metric, every parameter and the trial's
    duration. Past ``top`` trials, the ``top`` that `paratune.pareto.pareto_order` puts
    first (the extremes of each metric, then the least crowded) are kept."""
    from ._front import frame_losses

    goals = result.goals
    front = result.pareto_front
    losses = frame_losses(front, goals)[0]
    kept = pareto_order(losses)[:top] if len(front) > top else range(len(front))
    rows = front.iloc[sorted(kept, key=lambda at: (losses[at, 0], int(front["trial_id"][at])))]
    metrics = [f"metric.{name}" for name in goals.metrics]
    for column in metrics:  # one metric returned as a number is the value; none, no column
        if column not in rows:
            rows = rows.assign(**{column: rows["value"] if column == metrics[0] else None})
    configs = [c for c in rows.columns if c.startswith("config.")]
    table: pd.DataFrame = rows[["trial_id", *metrics, *configs, "duration"]]
    return table.rename(columns={c: c.split(".", 1)[1] for c in [*metrics, *configs]})


def _front_section(result: TuneResult, front: FrontSummary) -> list[str]:
    """The Pareto front: its figure, its trials, and the hypervolume against wall time."""
    table = front_configs(result)
    done = int((result.trials["status"] == "done").sum())
    listed = (
        f"its {_trials(len(table))}"
        if len(table) == len(front.front)
        else f"{len(table)} of its {len(front.front):,} trials, the extremes and the least "
        "crowded (crowding distance)"
    )
    reference = front.reference
    where = (
        ""
        if reference is None
        else " (reference point: "
        + ", ".join(f"{name} {value:.6g}" for name, value in reference.items())
        + ", each metric's worst over the feasible trials and a tenth of its range beyond)"
    )
    return [
        "<h2>Pareto front</h2>",
        f"<p>The trials no other feasible trial beats in every metric: {len(front.front):,} "
        f"of {done:,} finished trials. The table lists {listed}, by "
        f"{html.escape(result.goals.metrics[0])}.</p>",
        _figures([("The Pareto front", plots.plot_pareto_front)], result),
        _table(table),
        f"<p>Hypervolume: what the front dominates{html.escape(where)}.</p>",
        _figures([("Hypervolume against wall time", plots.plot_hypervolume)], result),
    ]


def _efficiency(result: TuneResult, summary: analysis.EfficiencySummary) -> list[str]:
    """How busy the workers were, where the worker-time went, and the worker timeline."""
    return [
        "<h2>Worker use</h2>",
        f"<p>On average {summary.concurrency:.2f} of the {summary.workers} workers were busy "
        f"(busy worker-time {summary.busy_time:.2f} s over wall time "
        f"{summary.wall_time:.2f} s): utilisation {summary.utilisation:.1%}. This is not a "
        "speedup, which compares with a sequential run: the what-if replay below predicts "
        "it, and <code>paratune scaling</code> measures it. Where the capacity of "
        f"{summary.capacity:.2f} worker-seconds went:</p>",
        _table(_breakdown(summary)),
        _figures([("Worker timeline and busy workers", plots.plot_timeline)], result),
    ]


def _curves_and_spec(result: TuneResult, spec: Mapping[str, Any] | None) -> list[str]:
    """The learning curves when trials reported intermediate results, and the spec when
    given: the sections only some pages have."""
    sections = []
    if not result.reports.empty:
        curves = plots.plot_learning_curves(result)
        sections += [
            "<h2>Learning curves</h2>",
            f"<figure>{_image(curves)}<figcaption>Intermediate results per trial"
            "</figcaption></figure>",
        ]
    if spec is not None:
        text = json.dumps(dict(spec), indent=2, sort_keys=True, default=str)
        sections += ["<h2>Spec and settings</h2>", f"<pre>{html.escape(text, quote=False)}</pre>"]
    return sections


def _figures(items: list[tuple[str, Callable[[TuneResult], Figure]]], result: TuneResult) -> str:
    return "".join(
        f"<figure>{_image(draw(result))}<figcaption>{html.escape(caption)}</figcaption></figure>"
        for caption, draw in items
    )


def _breakdown(summary: analysis.EfficiencySummary) -> pd.DataFrame:
    table = summary.breakdown()
    table["seconds"] = table["seconds"].round(3) + 0.0  # + 0.0: no "-0" from rounding
    table["share"] = (100 * table["share"]).round(1) + 0.0
    return table.rename(columns={"seconds": "worker-seconds", "share": "% of capacity"})


def _resources_table(resources: analysis.Resources) -> pd.DataFrame:
    import pandas as pd

    memory = resources.peak_memory
    rows = [
        ("core-hours held by the run (workers x wall time)", f"{resources.run_core_hours:.4f}"),
        ("core-hours in trials (busy worker-time)", f"{resources.trial_core_hours:.4f}"),
        (
            "CPU hours of the trials",
            "not recorded" if resources.cpu_hours is None else f"{resources.cpu_hours:.4f}",
        ),
        (
            "largest peak memory of a trial",
            "not recorded" if memory is None else f"{memory / 2**20:.1f} MiB",
        ),
    ]
    return pd.DataFrame(rows, columns=["resource", "amount"])


def write_report(
    result: TuneResult,
    path: str | os.PathLike[str],
    *,
    spec: Mapping[str, Any] | None = None,
    what_if_workers: Iterable[int] | None = None,
) -> Path:
    """Write one self-contained HTML page about ``result``: summary cards, the best
    configurations and the best so far (with several metrics: the Pareto front's figure
    and trials, and the hypervolume against wall time; with constraints, how many trials
    broke one), how busy the workers were (where their time went, and the worker
    timeline), resources, a what-if replay on other worker counts (predicted time, speedup
    and efficiency), the parameter figures, learning curves (when trials reported
    intermediate results) and the spec. Figures are embedded as PNG; nothing is
    fetched when the page opens. Past a few thousand trials the figures draw the best
    trials and a seeded sample of the rest, and the timeline busy bands, and say so: the
    page stays about a megabyte, and the same run gives the same page.

    Args:
        result: the run, from `paratune.tune` or `paratune.load`.
        path: the HTML file to write (its folder is created).
        spec: the run's spec and settings, shown as JSON (None: left out).
        what_if_workers: worker counts for the what-if replay (default: 1, 2, 4, ... up to
            twice the run's workers).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        report_html(result, spec=spec, what_if_workers=what_if_workers),
        encoding="utf-8",
    )
    return target
