"""One kill sequence the random harness found, replayed step by step: a promotion that a
SIGKILL left running, resumed, then interrupted by SIGINT, must run again once on the next
resume, and the scheduler must not promote its trial a second time meanwhile."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .._wait import poll, wait_until
from .harness import DEADLINE, Driver
from .scenarios import EVALUATIONS_LOG, HELD, HELD_LOG, HOLD, write_run
from .store_view import count_lines, read_evaluations, snapshot


def status_of(store: Path, trial_id: int) -> tuple[str, float | None] | None:
    """The stored (status, budget) of one trial, or None while it is not stored."""
    row = snapshot(store, HELD.name).trials.get(trial_id)
    return None if row is None else (row.status, row.budget)


def wait_held(folder: Path, driver: Driver, times: int) -> None:
    """Wait until a promotion has been held ``times`` times in all, the last time by
    ``driver``'s session."""
    reached = poll(
        lambda: count_lines(folder / HELD_LOG) >= times or not driver.running(), DEADLINE
    )
    assert reached and driver.running(), driver.stderr()


def test_an_interrupted_promotion_resumed_after_a_kill_runs_once(tmp_path: Path) -> None:
    spec = write_run(tmp_path, HELD, seed=0)
    store = tmp_path / "runs.db"
    run = ["run", str(spec), "--store", str(store), "-q", "--json"]
    resume = ["resume", HELD.name, "--store", str(store), "-q", "--json"]
    (tmp_path / HOLD).touch()
    # 1: SIGKILL while trial 0's promotion to budget 3 is held (stored as running at 3).
    with Driver(tmp_path, run, 1) as driver:
        wait_held(tmp_path, driver, 1)
        wait_until(
            lambda: status_of(store, 0) == ("running", 3.0),
            DEADLINE,
            "trial 0 stored as running at budget 3",
        )
        driver.send("SIGKILL")
        assert driver.wait() is not None
    # 2: resumed, the promotion is held again; SIGINT records it interrupted at 3.
    with Driver(tmp_path, resume, 2) as driver:
        wait_held(tmp_path, driver, 2)
        driver.send("SIGINT")
        assert driver.wait() is not None, driver.stderr()
    assert status_of(store, 0) == ("interrupted", 3.0)
    # 3: resumed again, the promotion is held a third time while the other trials end.
    with Driver(tmp_path, resume, 3) as driver:
        wait_held(tmp_path, driver, 3)
        others = [1, 2, 3]
        wait_until(
            lambda: (
                all((status_of(store, t) or ("",))[0] == "done" for t in others)
                or not driver.running()
            ),
            DEADLINE,
            "trials 1 to 3 done, or the driver's exit",
        )
        (tmp_path / HOLD).unlink()
        code = driver.wait()
        assert code == 0, driver.stderr()
    final = snapshot(store, HELD.name)
    assert {t: (row.status, row.budget) for t, row in final.trials.items()} == {
        0: ("done", 3.0), 1: ("done", 1.0), 2: ("done", 1.0), 3: ("done", 1.0)
    }  # fmt: skip
    evaluations = Counter(
        (e.trial_id, e.budget) for e in read_evaluations(tmp_path / EVALUATIONS_LOG)
    )
    assert evaluations[(0, 3)] == 1  # once: a held job never finished
