"""A small run with everything a report shows: trials of varied length on 4 threads, a few
failures (one retried), intermediate results per step; then the HTML report, and with
``--screenshot`` a picture of it taken in headless Chromium (how docs/report-screenshot.png
is made).

    python examples/report_demo.py [--trials N] [--out DIR] [--screenshot PNG]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import paratune as pt
from paratune.report import write_report


def train(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """A stand-in for training: 4 steps whose length grows with the width; the loss falls
    fastest near lr = 0.01. A wide model with a high rate diverges on its first attempt."""
    loss = 1.0
    for step in range(1, 5):
        ctx.elapse(0.005 + 0.02 * config["width"] / 64)
        loss *= 0.6 + 0.3 * abs(config["lr"] - 0.01) ** 0.5
        ctx.report(step, loss=loss)
    if config["width"] == 64 and config["lr"] > 0.05 and ctx.attempt == 1:
        raise FloatingPointError("diverged")
    return {"loss": loss + 0.01 * (config["activation"] == "tanh")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    space = {
        "lr": pt.Float(1e-4, 1e-1, log=True),
        "width": pt.Choice([16, 32, 64]),
        "activation": ["relu", "tanh"],
    }
    result = pt.tune(
        train,
        space,
        metric="loss",
        searcher="sobol",
        executor="threads",
        workers=4,
        max_trials=args.trials,
        retries=1,
        seed=0,
        store=args.out / "demo.db",
        name="demo",
        overwrite=True,
    )
    spec = {
        "space": pt.Space(space).to_dict(),
        "metric": "loss",
        "searcher": "sobol",
        "executor": "threads",
        "workers": 4,
        "max_trials": args.trials,
        "retries": 1,
    }
    page = write_report(result, args.out / "demo.html", spec=spec)
    trials = len(result.trial_list)
    print(f"report: {page} ({trials} trials, utilisation {result.utilisation:.3f})")
    if args.screenshot is not None:
        from paratune._browser import check_page

        check = check_page(page, screenshot=args.screenshot, width=1100)
        if check.console_errors or not all(image["ok"] for image in check.images):
            raise SystemExit(f"the page did not load cleanly: {check}")
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
