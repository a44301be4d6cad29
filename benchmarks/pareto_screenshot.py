"""The Pareto-front figure that docs/multiobjective.md shows: a small ZDT1 run (two metrics,
both minimised) tuned by the nsga2 searcher on the simulated executor, its HTML report, and
the report's own front figure taken out of the page (the PNG it embeds), so the picture is
what the report shows.

    python benchmarks/pareto_screenshot.py [--trials N] [--variables N] [--out PNG] [--page HTML]

It takes about ten seconds on two cores (1,000 trials of ZDT1 in 5 variables by default).
"""

from __future__ import annotations

import argparse
import base64
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _mo_problems import zdt1

import paratune as pt
from paratune.report import write_report

CAPTION = "The Pareto front"
"""The caption of the report's front figure."""


def objective(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """ZDT1 of the config's variables, each evaluation a virtual second."""
    ctx.elapse(1.0)
    f1, f2 = zdt1([config[name] for name in sorted(config)])
    return {"f1": f1, "f2": f2}


def run(trials: int, variables: int) -> pt.TuneResult:
    """ZDT1 of ``variables`` variables tuned by nsga2 for ``trials`` trials on 4 workers."""
    space = {f"x{i:02d}": pt.Float(0.0, 1.0) for i in range(variables)}
    return pt.tune(objective, space, metric=["f1", "f2"], mode="min", searcher="nsga2",
                   executor="simulated", workers=4, max_trials=trials, seed=7, store=None,
                   name="zdt1-nsga2")  # fmt: skip


def front_figure(page: Path) -> bytes:
    """The PNG of the report's front figure, as the page embeds it.

    Raises:
        SystemExit: the page has no such figure.
    """
    found = re.search(
        r'<figure><img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="">'
        rf"<figcaption>{CAPTION}</figcaption>",
        page.read_text(encoding="utf-8"),
    )
    if found is None:
        raise SystemExit(f"{page} has no figure captioned {CAPTION!r}")
    return base64.b64decode(found.group(1))


def shoot(trials: int, variables: int, page: Path, picture: Path) -> str:
    """Run, write the report to ``page`` and its front figure to ``picture``; returns a
    line saying what was written."""
    start = time.perf_counter()
    result = run(trials, variables)
    write_report(result, page)
    picture.parent.mkdir(parents=True, exist_ok=True)
    picture.write_bytes(front_figure(page))
    seconds = time.perf_counter() - start
    front = len(result.pareto_front)
    return f"{trials} trials, front of {front}: {seconds:.1f} s; report {page}, figure {picture}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--variables", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("pareto-front.png"))
    parser.add_argument("--page", type=Path, default=Path("zdt1-nsga2.html"))
    args = parser.parse_args(argv)
    print(shoot(args.trials, args.variables, args.page, args.out))


if __name__ == "__main__":
    main()
