"""Shared fixtures and helpers of the dashboard's tests: a real store written by real runs,
a dashboard served from a store on 127.0.0.1 (a free port, a thread of the test process,
stopped after the test), requests with `urllib`, and a page's merging of what it polls."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import paratune as pt

SPACE = {"x": pt.Float(0, 1), "kind": pt.Choice(["a", "b"])}


def reporting(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """Reports two steps of a falling loss; trial 2 fails."""
    for step in (1, 2):
        ctx.report(step, loss=config["x"] + 1 / step)
    if ctx.trial_id == 2:
        raise RuntimeError("fails on purpose")
    return {"loss": config["x"], "size": 10 * config["x"]}


def by_budget(config: dict[str, Any], ctx: pt.Context) -> dict[str, float]:
    """A loss that falls with the budget (ASHA continues the best trials)."""
    budget = ctx.budget or 1
    for step in range(ctx.start_step + 1, int(budget) + 1):
        ctx.report(step, loss=config["x"] + 1 / step)
    return {"loss": config["x"] + 1 / budget}


@pytest.fixture(scope="session")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of two ended experiments: "quadratic" (12 trials on 2 threads, each with two
    reports, trial 2 failed) and "asha" (ASHA on budgets 1 to 4: trials continued)."""
    path = tmp_path_factory.mktemp("dashboard") / "runs.db"
    pt.tune(reporting, SPACE, metric="loss", executor="threads", workers=2, max_trials=12,
            store=str(path), name="quadratic", seed=1, progress=False)  # fmt: skip
    asha = pt.schedulers.ASHA(min_budget=1, max_budget=4, eta=2)
    pt.tune(by_budget, SPACE, metric="loss", scheduler=asha, executor="serial", max_trials=8,
            store=str(path), name="asha", seed=2, progress=False)  # fmt: skip
    return path


@pytest.fixture
def dashboard(run_store: Path) -> Iterator[Any]:
    """The dashboard of `run_store`, served while the test runs."""
    from paratune.dashboard import start

    board = start(run_store)
    yield board
    board.stop()


@dataclass
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(url: str, headers: dict[str, str] | None = None) -> Reply:
    """GET ``url``, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Reply(answer.status, answer.read(), dict(answer.headers.items()))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read(), dict(error.headers.items()))


def base(url: str) -> str:
    """The dashboard's address without its query (the token) or final slash."""
    return url.split("?")[0].rstrip("/")


@dataclass
class Page:
    """What a page holds of one experiment, merged poll after poll as the contract says:
    a reset drops it all; trials replace by id, reports by trial and step."""

    cursor: str = ""
    trials: dict[int, dict[str, Any]] = field(default_factory=dict)
    reports: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    resets: int = 0
    experiment: dict[str, Any] = field(default_factory=dict)

    def merge(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Take one answer of ``GET /api/experiments/{name}?since=``; returns it."""
        if answer["reset"]:
            self.trials.clear()
            self.reports.clear()
            self.resets += 1
        self.trials.update((t["trial_id"], t) for t in answer["trials"])
        self.reports.update(((r["trial_id"], r["step"]), r) for r in answer["reports"])
        self.cursor, self.experiment = answer["cursor"], answer["experiment"]
        return answer

    def poll(self, ask: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """Ask with this page's cursor (``ask(cursor)`` gives the answer) and merge it."""
        return self.merge(ask(self.cursor))

    def same_as(self, full: dict[str, Any]) -> bool:
        """Whether this page holds exactly what a fresh load (``full``) gives."""
        trials = {t["trial_id"]: t for t in full["trials"]}
        reports = {(r["trial_id"], r["step"]): r for r in full["reports"]}
        return self.trials == trials and self.reports == reports
