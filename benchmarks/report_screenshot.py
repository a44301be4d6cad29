"""The screenshot of a report of 1,000,000 trials that docs/reporting.md shows: B16's run of
that size (64 workers, built in memory as the simulated executor would have run it), its
report, and the page opened in headless Chromium, which must load it with no console error
and decode every image.

    python benchmarks/report_screenshot.py [--trials N] [--out PNG] [--page HTML]

It takes about a minute on two cores; it needs Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from b16_report import build_run

from paratune._browser import check_page
from paratune.report import write_report


def shoot(trials: int, page: Path, picture: Path) -> str:
    """Write the report of a run of ``trials`` trials to ``page`` and its screenshot to
    ``picture``; returns a line saying what was written.

    Raises:
        SystemExit: the page did not load cleanly.
    """
    result = build_run(trials)
    start = time.perf_counter()
    write_report(result, page)
    seconds = time.perf_counter() - start
    check = check_page(page, screenshot=picture, width=1100)
    if check.console_errors or not all(image["ok"] for image in check.images):
        raise SystemExit(f"the page did not load cleanly: {check}")
    size = page.stat().st_size / 1e6
    return f"{trials:,} trials: report {seconds:.1f} s, {size:.2f} MB; screenshot: {picture}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("report-1m.png"))
    parser.add_argument("--page", type=Path, default=Path("report-1m.html"))
    args = parser.parse_args(argv)
    print(shoot(args.trials, args.page, args.out))


if __name__ == "__main__":
    main()
