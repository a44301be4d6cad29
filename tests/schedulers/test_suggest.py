"""`Suggestions`, the `Suggest` protocol, and what `paratune.schedulers` exports."""

from __future__ import annotations

import functools

import pytest

import paratune.schedulers as schedulers
from paratune.schedulers import Proposal, Suggest, Suggestions
from paratune.trial import Config


def test_each_configuration_takes_the_next_id_and_none_takes_none() -> None:
    pool = iter([{"i": 0}, {"i": 1}])
    suggest = Suggestions(functools.partial(next, pool, None), first_id=5)
    assert suggest.trial_id == 5
    assert suggest() == {"i": 0} and suggest.trial_id == 6
    assert suggest() == {"i": 1} and suggest.trial_id == 7
    assert suggest() is None and suggest.trial_id == 7
    assert suggest() is None and suggest.trial_id == 7
    assert "next trial_id=7" in repr(suggest)


def test_ids_count_from_zero_by_default() -> None:
    suggest = Suggestions(lambda: {"x": 1})
    ids = []
    for _ in range(3):
        ids.append(suggest.trial_id)
        suggest()
    assert ids == [0, 1, 2]


@pytest.mark.parametrize("first_id", [-1, 1.0, True, "0"])
def test_a_first_id_that_is_not_a_whole_number_is_refused(first_id: object) -> None:
    with pytest.raises(ValueError, match="first_id must be an integer >= 0"):
        Suggestions(lambda: None, first_id=first_id)  # type: ignore[arg-type]


def test_suggestions_is_a_suggest() -> None:
    def configs() -> Config | None:
        return {"x": 2}

    suggest: Suggest = Suggestions(configs)  # checked by mypy as well
    assert suggest() == {"x": 2} and suggest.trial_id == 1


def test_the_scheduler_api_is_exported() -> None:
    assert {"Proposal", "Scheduler", "Suggest", "Suggestions"} <= set(schedulers.__all__)
    assert schedulers.Proposal is Proposal
    from paratune.trial import Proposal as proposal_in_trial

    assert Proposal is proposal_in_trial
    assert all(getattr(schedulers, name) is not None for name in schedulers.__all__)
