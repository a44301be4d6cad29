"""Problems that hostile use of conditional spaces found outside the spaces themselves (in
TPE, the run's start-up and the store), each reproduced."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import paratune as pt
from paratune.searchers import make_searcher
from paratune.space import Choice, Int, Space
from paratune.trial import Status, Trial


def test_tpe_does_not_end_a_conditional_search_with_configs_left() -> None:
    space = Space({"a": Int(0, 30), **{f"c{i}": Int(0, 19, when={"a": 0}) for i in range(4)}})
    assert space.grid().size == 30 + 20**4
    tpe = make_searcher("tpe")
    tpe.setup(space, seed=0, workers=1, max_trials=None)
    for trial_id in range(100):
        config = tpe.suggest()
        assert config is not None, f"no suggestion after {trial_id} of {space.grid().size}"
        value = -float(config["a"])
        tpe.observe(
            Trial(trial_id=trial_id, config=config, seed=0, status=Status.DONE, value=value)
        )


def test_a_space_the_store_cannot_keep_leaves_no_store_behind(tmp_path: Path) -> None:
    space = {"d": [datetime.date(2020, 1, 1), "x"], "y": pt.Float(0, 1, when={"d": "x"})}
    with pytest.raises(pt.ParatuneError, match="JSON"):
        pt.tune(lambda c: 0.0, space, store=str(tmp_path / "s.db"), max_trials=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_space_with_tuple_values_and_conditions_resumes(tmp_path: Path) -> None:
    space = Space({"layers": Choice([(64, 64), (32,)], branches={(64, 64): {"width": Int(1, 4)}})})

    def run(trials: int) -> pt.TuneResult:
        return pt.tune(
            lambda c: float(len(c["layers"])),
            space,
            max_trials=trials,
            store=str(tmp_path / "s.db"),
            name="tuples",
            executor="serial",
            resume=trials > 2,
        )

    run(2)
    assert len(run(4).trial_list) == 4


def test_a_refused_initial_point_stores_no_experiment(tmp_path: Path) -> None:
    space = {"o": Choice(["a", "b"], branches={"a": {"m": pt.Float(0, 1)}})}

    def run(point: dict[str, object]) -> pt.TuneResult:
        return pt.tune(
            lambda c: 0.0,
            space,
            points_to_evaluate=[point],
            store=str(tmp_path / "s.db"),
            name="points",
            max_trials=2,
            executor="serial",
        )

    with pytest.raises(pt.SpaceError, match=r"^initial point 0: parameter 'm' is inactive here"):
        run({"o": "b", "m": 0.5})
    assert len(run({"o": "b"}).trial_list) == 2


def test_tpe_finds_the_rare_float_branch_once_the_common_configs_are_used_up() -> None:
    space = Space({"a": Int(0, 40), "x": pt.Float(0, 1, when={"a": 0})})
    tpe = make_searcher("tpe")
    tpe.setup(space, seed=0, workers=1, max_trials=None)
    configs = []
    for trial_id in range(60):  # the 40 configs without x, then x's branch, again and again
        config = tpe.suggest()
        assert config is not None, f"no suggestion after {trial_id}"
        configs.append(config)
        tpe.observe(Trial(trial_id=trial_id, config=config, seed=0, status=Status.DONE,
                          value=float(config["a"])))  # fmt: skip
    assert sum("x" in config for config in configs) >= 19
    assert len({tuple(sorted(c.items())) for c in configs}) == 60
