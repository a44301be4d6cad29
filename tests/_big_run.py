"""A large run built directly, trial by trial, for the tests of figures and reports at
scale: 100,000 trials in well under a second, where tuning them would take a minute."""

from __future__ import annotations

import heapq

import numpy as np

import paratune as pt
from paratune.trial import Report
from paratune.tuner import StopReason


def big_run(trials: int, workers: int = 64, *, failures: bool = True) -> pt.TuneResult:
    """``trials`` trials of a two-parameter space (``x`` in [0, 1], ``kind`` a, b or c) run
    in order on ``workers`` workers as the simulated executor would run them: each starts
    when the first worker is free and takes ``0.5 + x`` seconds. Trials of kind c with
    ``x > 0.95`` fail (unless ``failures`` is False); the others are done with the value
    ``(x - 0.3) ** 2`` (plus 1 for kind b). The same arguments give the same run."""
    rng = np.random.default_rng(7)
    xs = rng.random(trials)
    kinds = rng.choice(np.array(["a", "b", "c"]), trials)
    free = [(0.0, worker) for worker in range(workers)]
    made = []
    for trial_id, (x, kind) in enumerate(zip(xs.tolist(), kinds.tolist(), strict=True)):
        started, worker = heapq.heappop(free)
        finished = started + 0.5 + x
        heapq.heappush(free, (finished, worker))
        failed = failures and kind == "c" and x > 0.95
        made.append(
            pt.Trial(
                trial_id,
                {"x": x, "kind": kind},
                seed=trial_id,
                status=pt.Status.FAILED if failed else pt.Status.DONE,
                value=None if failed else (x - 0.3) ** 2 + (kind == "b"),
                submitted=started,
                started=started,
                finished=finished,
                worker_time=finished - started,
                worker=worker,
                error="fails on purpose" if failed else None,
            )
        )
    return pt.TuneResult(
        trial_list=made,
        metric="value",
        mode="min",
        workers=workers,
        wall_time=max(finished for finished, _ in free),
        busy_time=sum(t.worker_time for t in made),
        cancelled_time=0.0,
        stop_reason=StopReason.MAX_TRIALS,
        name="big",
    )


def with_reports(result: pt.TuneResult, steps: int = 3) -> pt.TuneResult:
    """``result`` with ``steps`` intermediate results for each of its trials."""
    import dataclasses

    reports = [
        Report(t.trial_id, 1, step, {"value": (t.value or 0.0) + 1.0 / step}, step * 0.1)
        for t in result.trial_list
        for step in range(1, steps + 1)
    ]
    return dataclasses.replace(result, report_list=reports)
