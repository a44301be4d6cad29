"""A run as a trace in the Chrome / Perfetto trace event format (its JSON Object Format), to
open in ui.perfetto.dev or chrome://tracing: `build_trace`.

The store keeps each trial's latest state, not every job it ran, so the trace draws what
that state holds and says where it holds less:

- a process per host (one process when the run had one host), a thread per worker; each
  trial's latest job is a complete event on its worker's thread, from its stored start to
  its stored end, its ``args`` holding the config, budget, rung, attempt, status, value and
  error. The other jobs of a trial (the lower rungs of a promoted trial, the failed
  attempts of a retried one, a continuation a stop cancelled) are not stored and are not
  drawn: ``args`` gives the worker time they took.
- instant events on the worker's thread: ``promoted`` (the stored settings show the job
  continued the trial at a higher rung), ``continued`` (the trial ran before without
  failing, though the settings do not show a promotion: a promotion, or a run again after
  an interrupted session), ``retry`` (the job is a later attempt), ``pruned``,
  ``cancelled`` and ``interrupted``, and ``report`` for each stored report of the job.
- the driver's process: each job's submission as an instant event; ``dispatch`` slices,
  where a worker waited between the end of its job and the submission of the next one it
  ran (drawn only when every job is drawn: a job left out could have run in such a gap);
  the cancellation of trials that never reached a worker; and, on a thread of their own,
  the stored reports of jobs that are not drawn (their worker is not stored).
"""

from __future__ import annotations

import ast
import itertools
import math
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .trial import Report, Status, Trial

if TYPE_CHECKING:
    from .result import TuneResult

DRIVER_PID = 1
"""The driver's process in a trace; the workers' processes (one per host) follow it."""

DRIVER_TID = 1
"""The driver's thread: submissions, dispatch slices, cancellations before a worker."""

UNDRAWN_TID = 2
"""The driver's thread of the reports of jobs that are not drawn."""

TOLERANCE = 1e-6
"""Seconds: worker time beyond a trial's drawn job by less than this is rounding."""

# How the scheduler of a run given as an object is stored: its repr, read back here.
_REPRS = {
    "ASHA": "asha",
    "Hyperband": "hyperband",
    "SuccessiveHalving": "successive_halving",
    "FIFO": "fifo",
}


class Track(NamedTuple):
    """Where an event goes: a process and a thread of the trace."""

    pid: int
    tid: int


class Ladder(NamedTuple):
    """The rungs of a multi-fidelity run, as its settings give them.

    Attributes:
        budgets: the rungs' budgets, lowest first.
        continues: whether a promotion continues a trial at the next rung (False for the
            stopping variant, which starts every trial at the top rung).
        start_rung: the rung a trial starts at, by its id (Hyperband's brackets start higher).
    """

    budgets: tuple[float, ...]
    continues: bool
    start_rung: Callable[[int], int]

    def rung(self, budget: float | None) -> int | None:
        """The index of ``budget`` on the ladder, or None where it is not a rung."""
        if budget is None:
            return None
        for index, rung in enumerate(self.budgets):
            if math.isclose(rung, budget, rel_tol=1e-9):
                return index
        return None


def build_trace(result: TuneResult, settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The trace of ``result``, as a JSON-ready dict (see this module's docstring).

    Args:
        result: the run (`paratune.tune`'s result, or `paratune.load`'s).
        settings: the experiment's stored settings (`stored_settings`); with them a
            multi-fidelity run's rungs are indexes on its ladder, and promotions are known
            as such. Without them, a rung is given as its budget.
    """
    ladder = scheduler_ladder(settings)
    trials = result.trial_list
    drawn = [trial for trial in trials if _drawn(trial)]
    several = len({trial.host for trial in drawn}) > 1
    tracks, events = _worker_tracks(result.workers, drawn, several)
    events += _named(DRIVER_PID, None, "driver", 0) + _named(DRIVER_PID, DRIVER_TID, "driver", 0)
    latest: dict[int, float] = {}  # each trial's latest report time
    for report in result.report_list:
        latest[report.trial_id] = max(report.time, latest.get(report.trial_id, -math.inf))
    for trial in drawn:
        track = tracks[_key(trial, several)]
        events.append(_slice(trial, track, ladder))
        events += _marks(trial, track, ladder, latest.get(trial.trial_id, -math.inf))
    events += _driver_marks(trials, {trial.trial_id for trial in drawn}, ladder)
    by_id = {trial.trial_id: trial for trial in drawn}
    placed = _report_marks(result.report_list, by_id, lambda t: tracks[_key(t, several)])
    if any(event["tid"] == UNDRAWN_TID and event["pid"] == DRIVER_PID for event in placed):
        events += _named(DRIVER_PID, UNDRAWN_TID, "reports of jobs not drawn", 1)
    events += placed
    undrawn = sum(_undrawn_time(trial) for trial in trials)
    complete = undrawn <= TOLERANCE and not any(trial.moved for trial in trials)
    if complete:
        events += _dispatch(drawn, several)
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": _other_data(result, len(drawn), undrawn, complete),
    }


def stored_settings(store: str | os.PathLike[str], name: str) -> dict[str, Any]:
    """The settings experiment ``name`` was stored with in ``store`` (opened read-only).

    Raises:
        StoreError: the file is not a paratune store, or has no such experiment.
    """
    from .store import SQLiteStore

    db = SQLiteStore(store, readonly=True)
    try:
        db.select(name)
        return dict(db.experiment().settings)
    finally:
        db.close()


def scheduler_ladder(settings: Mapping[str, Any] | None) -> Ladder | None:
    """The ladder of the scheduler in ``settings`` (stored as a name, a dict, or an ASHA,
    Hyperband, SuccessiveHalving or FIFO object's repr); None for a run of one budget, or
    a scheduler it cannot read back (one of the user's own)."""
    from .schedulers import make_scheduler

    stored = None if settings is None else settings.get("scheduler")
    if isinstance(stored, str) and not stored.isidentifier():
        stored = _from_repr(stored)
    if stored is None:
        return None
    try:
        scheduler = make_scheduler(stored)
    except (ValueError, TypeError):
        return None
    budgets = getattr(scheduler, "budgets", None)
    if not isinstance(budgets, list) or len(budgets) < 2:
        return None
    bracket_of = getattr(scheduler, "bracket_of", None)
    start: Callable[[int], int] = bracket_of if callable(bracket_of) else _first_rung
    stopping = bool(getattr(scheduler, "stopping", False))
    return Ladder(tuple(float(budget) for budget in budgets), not stopping, start)


def _first_rung(trial_id: int) -> int:
    return 0


def _from_repr(text: str) -> dict[str, Any] | None:
    """A scheduler's repr (``ASHA(budget='epochs', min_budget=1, ...)``) as the dict
    `make_scheduler` takes, or None for any other text."""
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)) or call.args:
        return None
    kind = _REPRS.get(call.func.id)
    if kind is None or any(keyword.arg is None for keyword in call.keywords):
        return None
    try:
        return {"type": kind} | {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    except (ValueError, TypeError, SyntaxError):
        return None


def _drawn(trial: Trial) -> bool:
    """Whether the trial's latest job ran on a worker and ended (what a slice needs)."""
    return (
        trial.started is not None
        and trial.finished is not None
        and trial.worker is not None
        and trial.worker >= 0
    )


def _key(trial: Trial, several: bool) -> tuple[str | None, int]:
    assert trial.worker is not None  # only drawn trials have a track
    return (trial.host if several else None, trial.worker)


def _worker_tracks(
    workers: int, drawn: list[Trial], several: bool
) -> tuple[dict[tuple[str | None, int], Track], list[dict[str, Any]]]:
    """A thread per worker, in a process per host where the jobs ran on several (else one
    process with a thread for every worker of the run, idle ones too), and their names."""
    seen: dict[str | None, set[int]] = {}
    for trial in drawn:
        host, worker = _key(trial, several)
        seen.setdefault(host, set()).add(worker)
    if not several:
        host = drawn[0].host if drawn else None
        top = max(seen.get(None, {-1}))
        seen = {None: set(range(max(workers, top + 1)))}
    tracks: dict[tuple[str | None, int], Track] = {}
    events: list[dict[str, Any]] = []
    for index, group in enumerate(sorted(seen, key=lambda name: (name is None, str(name)))):
        pid = DRIVER_PID + 1 + index
        if several:
            title = f"host {group}" if group is not None else "host not known"
        else:
            title = "workers" if host is None else f"workers on {host}"
        events += _named(pid, None, title, 1 + index)
        for worker in sorted(seen[group]):
            tracks[(group, worker)] = Track(pid, worker + 1)  # thread 0 reads as none
            events += _named(pid, worker + 1, f"worker {worker}", worker)
    return tracks, events


def _named(pid: int, tid: int | None, name: str, order: int) -> list[dict[str, Any]]:
    """The metadata events that name a process (``tid`` None) or a thread, and order it
    among the others."""
    kind = "process" if tid is None else "thread"
    where = {"pid": pid} if tid is None else {"pid": pid, "tid": tid}
    return [
        {"name": f"{kind}_name", "ph": "M", **where, "args": {"name": name}},
        {"name": f"{kind}_sort_index", "ph": "M", **where, "args": {"sort_index": order}},
    ]


def _us(seconds: float) -> float:
    """Seconds as microseconds, rounded to the nanosecond, so that a job that starts where
    the one before it ended starts at the same number."""
    return round(seconds * 1e9) / 1000


def _span(start: float, end: float) -> dict[str, float]:
    """The ``ts`` and ``dur`` (microseconds) of a slice from ``start`` to ``end``
    (seconds), both whole nanoseconds: ``ts + dur`` is the end, rounded as a start is."""
    first = round(start * 1e9)
    last = max(first, round(end * 1e9))
    return {"ts": first / 1000, "dur": (last - first) / 1000}


def _event(
    ph: str, name: str, cat: str, track: Track, args: dict[str, Any], **times: Any
) -> dict[str, Any]:
    """An event of phase ``ph`` on ``track``; ``times``: its ``ts``, and more (``dur``)."""
    where = {"pid": track.pid, "tid": track.tid}
    return {"name": name, "cat": cat, "ph": ph, **times, **where, "args": args}


def _instant(
    name: str, seconds: float, track: Track, args: dict[str, Any], cat: str = "trial"
) -> dict[str, Any]:
    """An instant event on ``track``'s thread (scope ``t``) at ``seconds``."""
    return _event("i", name, cat, track, args, s="t", ts=_us(seconds))


def _slice(trial: Trial, track: Track, ladder: Ladder | None) -> dict[str, Any]:
    """The complete event of the trial's latest job, from its stored start to its end."""
    assert trial.started is not None and trial.finished is not None
    outcome = trial.status.value
    if trial.status is Status.RUNNING:  # its job failed, and a retry waits to run
        outcome = "failed, retry queued"
    args = _trial_args(trial, ladder)
    name = f"trial {trial.trial_id} {outcome}"
    return _event("X", name, "trial", track, args, **_span(trial.started, trial.finished))


def _trial_args(trial: Trial, ladder: Ladder | None) -> dict[str, Any]:
    """What the slice of a trial's job carries: the trial as stored, in seconds."""
    args: dict[str, Any] = {
        "trial_id": trial.trial_id,
        "status": trial.status.value,
        "attempt": trial.attempts,
        "config": _plain(trial.config),
        "budget": _plain(trial.budget),
    }
    if trial.budget is not None:
        rung = None if ladder is None else ladder.rung(trial.budget)
        args["rung"] = _plain(trial.budget) if rung is None else rung
    args["value"] = _plain(trial.value)
    if trial.metrics:
        args["metrics"] = _plain(trial.metrics)
    args["error"] = trial.error
    args |= {
        "submitted_s": trial.submitted,
        "started_s": trial.started,
        "finished_s": trial.finished,
        "worker": trial.worker,
        "host": trial.host,
        "worker_time_s": trial.worker_time,
    }
    if (other := _undrawn_time(trial)) > 0.0:  # lower rungs, failed attempts, a cancelled
        args["other_jobs_worker_time_s"] = other  # continuation: jobs the store does not keep
    return args


def _marks(
    trial: Trial, track: Track, ladder: Ladder | None, reported: float
) -> list[dict[str, Any]]:
    """The instant events of a drawn job on its worker's thread: how it came to run (a
    retry, a promotion, a continuation) at its submission, and how it was stopped (pruned,
    cancelled, interrupted) at its end. ``reported``: the trial's latest report time."""
    marks = []
    asked = trial.submitted if trial.submitted is not None else trial.started
    assert asked is not None and trial.finished is not None
    ids = {"trial_id": trial.trial_id}
    if trial.attempts > 1:
        marks.append(_instant("retry", asked, track, ids | {"attempt": trial.attempts}))
    elif (how := _continuation(trial, ladder, reported)) is not None:
        rung = None if ladder is None else ladder.rung(trial.budget)
        where = {"budget": _plain(trial.budget)} | ({} if rung is None else {"rung": rung})
        marks.append(_instant(how, asked, track, ids | where))
    if trial.status is Status.PRUNED:
        stop = {"step": _plain(trial.budget), "value": _plain(trial.value)}
        marks.append(_instant("pruned", trial.finished, track, ids | stop))
    elif trial.status in (Status.CANCELLED, Status.INTERRUPTED):
        why = {"error": trial.error}
        marks.append(_instant(trial.status.value, trial.finished, track, ids | why))
    return marks


def _continuation(trial: Trial, ladder: Ladder | None, reported: float) -> str | None:
    """``"promoted"`` where the ladder shows the job ran the trial above the rung it
    started at; else ``"continued"`` where the trial ran before this job without failing:
    its first attempt, with worker time beyond this job's and no report after the job
    ended (which a later continuation, cancelled by a stop, would have made); else None."""
    assert trial.finished is not None
    if ladder is not None and ladder.continues:
        rung = ladder.rung(trial.budget)
        if rung is not None and rung > ladder.start_rung(trial.trial_id):
            return "promoted"
    later = reported > trial.finished + TOLERANCE
    return "continued" if _undrawn_time(trial) > 0.0 and not later else None


def _undrawn_time(trial: Trial) -> float:
    """The worker time of the trial's jobs that are not drawn (all but its latest)."""
    drawn = 0.0
    if _drawn(trial):
        assert trial.started is not None and trial.finished is not None
        drawn = trial.finished - trial.started
    spent = trial.worker_time - drawn
    return spent if spent > TOLERANCE else 0.0


def _driver_marks(
    trials: Iterable[Trial], drawn: set[int], ladder: Ladder | None
) -> list[dict[str, Any]]:
    """On the driver's thread: each latest job's submission, and the trials a stop ended
    before they reached a worker."""
    driver = Track(DRIVER_PID, DRIVER_TID)
    marks = []
    for trial in trials:
        ids = {"trial_id": trial.trial_id}
        if trial.submitted is not None:
            rung = None if ladder is None else ladder.rung(trial.budget)
            what = {"attempt": trial.attempts, "budget": _plain(trial.budget)}
            what |= {} if rung is None else {"rung": rung}
            name = f"submit trial {trial.trial_id}"
            marks.append(_instant(name, trial.submitted, driver, ids | what, "driver"))
        ended = trial.status in (Status.CANCELLED, Status.INTERRUPTED)
        if ended and trial.trial_id not in drawn and trial.finished is not None:
            why = {"error": trial.error, "note": "it had not started on a worker"}
            name = trial.status.value
            marks.append(_instant(name, trial.finished, driver, ids | why, "driver"))
    return marks


def _report_marks(
    reports: Iterable[Report], drawn: Mapping[int, Trial], track_of: Callable[[Trial], Track]
) -> list[dict[str, Any]]:
    """Each stored report as an instant event: on the worker's thread where it came from
    the drawn job (that attempt, at or after the job's start), else on the driver's thread
    of the reports of jobs not drawn."""
    marks = []
    undrawn = Track(DRIVER_PID, UNDRAWN_TID)
    for report in reports:
        if report.time is None:
            continue
        what = {"trial_id": report.trial_id, "step": report.step}
        what["metrics"] = _plain(report.metrics)
        trial = drawn.get(report.trial_id)
        if trial is not None and _from_drawn_job(report, trial):
            marks.append(_instant("report", report.time, track_of(trial), what))
        else:
            name = f"trial {report.trial_id} step {report.step}"
            what["attempt"] = report.attempt
            marks.append(_instant(name, report.time, undrawn, what, "report"))
    return marks


def _from_drawn_job(report: Report, trial: Trial) -> bool:
    """Whether ``report`` came from the trial's drawn (latest) job: the same attempt (0:
    not stored), and within the job's time; after its start, where the trial ran another
    job, which may have reported as it ended, at the instant the drawn job started (on
    the simulated executor's clock)."""
    assert trial.started is not None and trial.finished is not None
    if report.attempt not in (0, trial.attempts) or report.time > trial.finished + TOLERANCE:
        return False
    if _undrawn_time(trial) > 0.0:
        return report.time > trial.started + TOLERANCE
    return report.time >= trial.started - TOLERANCE


def _dispatch(drawn: list[Trial], several: bool) -> list[dict[str, Any]]:
    """The driver's ``dispatch`` slices: the times while at least one worker waited
    between the end of its job and the submission of the next job it ran, the waits
    that overlap merged into one slice (a thread's slices may not overlap)."""
    jobs: dict[tuple[str | None, int], list[Trial]] = {}
    for trial in drawn:
        jobs.setdefault(_key(trial, several), []).append(trial)
    waits: list[tuple[float, float, int, int]] = []
    for (_, worker), ran in jobs.items():
        ran.sort(key=lambda trial: (trial.started, trial.trial_id))
        for before, after in itertools.pairwise(ran):
            freed, asked = before.finished, after.submitted
            assert freed is not None
            if asked is not None and asked > freed:
                waits.append((freed, asked, worker, after.trial_id))
    waits.sort()
    merged: list[list[Any]] = []
    for start, end, worker, trial_id in waits:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2].append(worker)
            merged[-1][3].append(trial_id)
        else:
            merged.append([start, end, [worker], [trial_id]])
    driver = Track(DRIVER_PID, DRIVER_TID)
    return [
        _event("X", "dispatch", "driver", driver, {"workers_waiting": workers,
               "trials_submitted": trial_ids}, **_span(start, end))
        for start, end, workers, trial_ids in merged
    ]  # fmt: skip


def _other_data(result: TuneResult, drawn: int, undrawn: float, complete: bool) -> dict[str, Any]:
    """The run as a whole, for the trace's metadata."""
    other: dict[str, Any] = {
        "experiment": result.name,
        "metric": result.metric,
        "mode": result.mode,
        "workers": result.workers,
        "trials": len(result.trial_list),
        "jobs_drawn": drawn,
        "worker_time_not_drawn_s": undrawn,
        "dispatch": "drawn" if complete else "not drawn: some jobs are not stored",
        "wall_time_s": result.wall_time,
        "busy_time_s": result.busy_time,
        "stop_reason": result.stop_reason.value,
    }
    if result.objectives is not None:  # several metrics, or constraints: each of them
        other["objectives"] = result.objectives.to_dict()
    if result.searcher_time is not None:
        other["searcher_time_s"] = result.searcher_time
        other["suggestions"] = result.suggestions
    return other


def _plain(value: Any) -> Any:
    """``value`` as strict JSON holds it: NumPy scalars as numbers, a NaN or an infinity
    as text, and anything else JSON has no type for as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    item = getattr(value, "item", None)  # a NumPy scalar
    if callable(item):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            pass
    return str(value)
