"""The dashboard's routes over HTTP, on a real store of ended runs: the page on its three
paths, its static files and Plotly's own script, the API's answers and errors (JSON, 404
and 400), and who may ask: with a token, only a request that shows it (once, then by its
cookie); without one, only a request that names this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paratune.dashboard._app import COMPILE_HINT, plotly_script

from .conftest import base, fetch


def api(board: Any, path: str) -> Any:
    reply = fetch(f"{base(board.url)}/api/{path}")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    return reply.json()


def test_the_page_is_served_on_its_paths(dashboard: Any) -> None:
    for path in ("/", "/experiment/quadratic", "/experiment/a%2Fb", "/trial/quadratic/3"):
        reply = fetch(base(dashboard.url) + path)
        assert reply.status == 200 and b"<!doctype html>" in reply.body.lower(), path
    script = fetch(f"{base(dashboard.url)}/static/plotly.min.js")
    assert script.status == 200 and b"plotly.js" in script.body[:200]
    # Plotly's own file, after the hint that has Chromium compile it off the page's thread.
    installed = plotly_script()
    assert installed is not None
    assert script.body == COMPILE_HINT + installed.read_bytes()
    assert script.headers["content-type"].startswith("text/javascript")
    assert fetch(f"{base(dashboard.url)}/static/index.html").status == 200


def test_the_experiments_list(dashboard: Any) -> None:
    listed = api(dashboard, "experiments")
    assert listed["store"] == "runs.db"
    quadratic, asha = listed["experiments"]
    assert (quadratic["name"], asha["name"]) == ("quadratic", "asha")
    assert quadratic["state"] == "ended" and quadratic["stop_reason"] == "max_trials"
    assert quadratic["trials"] == 12 and quadratic["done"] == 11 and quadratic["failed"] == 1
    assert quadratic["max_trials"] == 12 and quadratic["max_time"] is None
    assert quadratic["workers"] == 2 and quadratic["elapsed"] is None
    assert 0 < quadratic["efficiency"] <= 1
    assert quadratic["busy_time"] == pytest.approx(
        quadratic["efficiency"] * quadratic["wall_time"] * 2
    )
    expected = {
        "name", "metric", "mode", "state", "stop_reason", "created", "trials", "done",
        "failed", "pruned", "cancelled", "interrupted", "running", "max_trials", "max_time",
        "best_value", "best_trial_id", "workers", "wall_time", "busy_time", "efficiency",
        "elapsed", "metrics", "modes", "constraints", "front_size", "infeasible",
    }  # fmt: skip
    assert set(quadratic) == expected and set(asha) == expected
    # One metric, no constraint: its objectives said alike, and no front.
    assert (quadratic["metrics"], quadratic["modes"], quadratic["constraints"]) == (
        ["loss"],
        ["min"],
        [],
    )
    assert quadratic["front_size"] is None and quadratic["infeasible"] is None


def test_an_experiment_its_trials_and_reports(dashboard: Any) -> None:
    answer = api(dashboard, "experiments/quadratic")
    assert answer["reset"] and answer["space"]["kind"] == {"type": "choice", "values": ["a", "b"]}
    trials = {t["trial_id"]: t for t in answer["trials"]}
    assert sorted(trials) == list(range(12))
    failed = trials[2]
    assert failed["status"] == "failed" and "fails on purpose" in failed["error"]
    assert "traceback" not in failed
    best = min((t for t in trials.values() if t["status"] == "done"), key=lambda t: t["value"])
    assert answer["experiment"]["best_trial_id"] == best["trial_id"]
    assert answer["experiment"]["best_value"] == best["value"]
    assert best["metrics"] == {"loss": best["value"], "size": 10 * best["config"]["x"]}
    assert len(answer["reports"]) == 24 and set(answer["reports"][0]) == {
        "trial_id", "step", "time", "metrics",
    }  # fmt: skip
    again = api(dashboard, f"experiments/quadratic?since={answer['cursor']}")
    assert not again["reset"] and again["trials"] == [] and again["reports"] == []


def test_a_trial_in_detail(dashboard: Any) -> None:
    trial = api(dashboard, "experiments/quadratic/trials/2")
    assert trial["status"] == "failed" and "RuntimeError: fails on purpose" in trial["traceback"]
    assert isinstance(trial["seed"], str) and int(trial["seed"]) >= 0  # all its digits
    assert trial["pid"] is not None
    assert [r["step"] for r in trial["reports"]] == [1, 2]
    promoted = api(dashboard, "experiments/asha/trials/0")
    assert promoted["budget"] in (1, 2, 4) and promoted["reports"][0]["step"] == 1


def test_the_efficiency_of_an_experiment(dashboard: Any) -> None:
    found = api(dashboard, "experiments/quadratic/efficiency")
    breakdown = found["breakdown"]
    assert breakdown["workers"] == 2 and breakdown["busy_time"] > 0
    parts = sum(part["seconds"] for part in breakdown["parts"])
    assert parts == pytest.approx(breakdown["capacity"])
    assert [row["workers"] for row in found["what_if"]] == [1, 2, 4]
    assert found["what_if"][0]["speedup"] == pytest.approx(1.0)
    assert set(found["what_if"][1]) == {"workers", "time", "speedup", "efficiency"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/experiments/missing", 404),
        ("/api/experiments/quadratic/trials/99", 404),
        ("/api/experiments/missing/trials/0", 404),
        ("/api/experiments/missing/efficiency", 404),
        ("/api/nothing", 404),
        ("/nothing", 404),
        ("/static/missing.js", 404),
        ("/api/experiments/quadratic?since=not-a-cursor", 400),
    ],
)
def test_errors_are_json(dashboard: Any, path: str, status: int) -> None:
    reply = fetch(base(dashboard.url) + path)
    assert reply.status == status and reply.headers["content-type"] == "application/json"
    assert reply.json()["error"]


def test_without_a_token_only_requests_naming_this_machine_are_answered(dashboard: Any) -> None:
    url = f"{base(dashboard.url)}/api/experiments"
    port = url.split(":")[2].split("/")[0]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert fetch(url, headers={"Host": host}).status == 200, host
    refused = fetch(url, headers={"Host": f"attacker.example:{port}"})
    assert refused.status == 403 and "127.0.0.1" in refused.json()["error"]


def test_a_token_is_asked_once_then_its_cookie_serves(run_store: Path) -> None:
    from paratune.dashboard import start

    board = start(run_store, token="s3cret/+ token")
    try:
        assert board.url.endswith("/?token=s3cret%2F%2B%20token")
        root = base(board.url)
        for path in ("/", "/static/plotly.min.js", "/api/experiments"):
            refused = fetch(root + path)
            assert refused.status == 403 and "token" in refused.json()["error"], path
        assert fetch(f"{root}/api/experiments?token=wrong").status == 403
        first = fetch(board.url)
        assert first.status == 200
        cookie = first.headers["set-cookie"].split(";")[0]
        assert "s3cret" not in cookie  # the cookie holds a hash of the token
        assert fetch(f"{root}/api/experiments", headers={"Cookie": cookie}).status == 200
        forged = cookie.split("=")[0] + "=0" * 64
        assert fetch(f"{root}/api/experiments", headers={"Cookie": forged}).status == 403
        # With a token, any host name may reach it (it may listen beyond loopback).
        named = fetch(board.url, headers={"Host": "elsewhere.example"})
        assert named.status == 200
    finally:
        board.stop()
