"""Kill the driver of real runs at seeded random points, resume each time, and lose nothing;
and a second driver on a running experiment is refused.

The fixed-seed, short version of ``benchmarks/faults.py``: 6 runs of 4 kill points each.
"""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from .._wait import wait_until
from .harness import DEADLINE, KINDS, Driver, run_with_faults
from .scenarios import EVALUATIONS_LOG, GATE, OWNED, SCENARIOS, write_run
from .store_view import Watch, read_evaluations, snapshot

SEED = 20240607
KILLS = 4


@pytest.mark.parametrize("signals", ["sigkill", "mixed"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_killed_and_resumed_runs_lose_nothing(tmp_path: Path, name: str, signals: str) -> None:
    """SIGKILL only, or a mix of SIGKILL, SIGTERM, SIGINT and Ctrl-C to the process group:
    after the last resume there are exactly max_trials trials, each ended as expected, every
    committed result and report unchanged and never evaluated again, no gap in a learning
    curve, and the file passes its integrity check after every kill."""
    kinds = ("SIGKILL",) if signals == "sigkill" else KINDS
    outcome = run_with_faults(SCENARIOS[name], tmp_path, seed=SEED, kinds=kinds, kills=KILLS)
    assert outcome.problems == [], "\n".join(outcome.problems)
    assert sum(outcome.injected.values()) == outcome.survived == KILLS
    assert set(outcome.injected) == set(kinds)
    assert outcome.lost == outcome.twice == 0
    assert outcome.cut_short > 0  # the kills landed with trials in flight
    assert outcome.integrity == Counter(ok=KILLS + 1)


def test_a_second_driver_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    """A second ``paratune run`` of the same spec and store exits non-zero at once, naming
    the first driver's host and pid; the first then completes, each trial run once."""
    spec = write_run(tmp_path, OWNED, seed=1)
    args = ["run", str(spec), "--store", str(tmp_path / "runs.db"), "-q", "--json"]
    with Driver(tmp_path, args, 1) as first:
        watch = Watch(tmp_path / "runs.db", OWNED.name)
        try:
            wait_until(
                lambda: watch.progress("trials") >= 1 or not first.running(),
                DEADLINE,
                "a first committed trial, or the first driver's exit",
            )
        finally:
            watch.close()
        assert first.running(), first.stderr()
        with Driver(tmp_path, args, 2) as second:
            code = second.wait(20.0)
            err = second.stderr()
        assert code is not None and code != 0, err
        assert socket.gethostname() in err and str(first.pid) in err, err
        assert "Traceback" not in err
        (tmp_path / GATE).touch()
        assert first.wait() == 0, first.stderr()
    final = snapshot(tmp_path / "runs.db", OWNED.name)
    assert final.integrity == "ok"
    assert {t: row.status for t, row in final.trials.items()} == dict.fromkeys(range(8), "done")
    ran = Counter(e.trial_id for e in read_evaluations(tmp_path / EVALUATIONS_LOG))
    assert ran == dict.fromkeys(range(8), 1)
