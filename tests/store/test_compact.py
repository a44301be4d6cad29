"""Trials kept column by column (`CompactTrials`): each comes back exactly as it was saved,
types included, and a run of plain trials costs a few bytes per field."""

from __future__ import annotations

import gc
import math
import random
import tracemalloc
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest

from paratune.store import Experiment, MemoryStore
from paratune.store._columns import Ints, JsonColumns, TrialColumns
from paratune.store._compact import _GROUP, CompactTrials
from paratune.store._compact_column import Column
from paratune.trial import _NO_METRICS, Status, Trial


def exactly(found: Trial | None, expected: Trial) -> None:
    """``found`` is ``expected``, field by field, with the same types (in dicts too)."""
    assert found is not None and repr(found) == repr(expected)
    for mine, theirs in zip(found, expected, strict=True):
        assert type(mine) is type(theirs)
    for mine, theirs in ((found.config, expected.config), (found.metrics, expected.metrics)):
        assert [(k, type(v)) for k, v in mine.items()] == [(k, type(v)) for k, v in theirs.items()]


def plain(trial_id: int, rng: random.Random) -> Trial:
    """A trial as a trivial run ends it."""
    return Trial(
        trial_id, {"x": rng.random(), "y": rng.random()}, rng.getrandbits(63), Status.DONE,
        rng.random(), attempts=1, submitted=rng.random(), started=rng.random(),
        finished=rng.random(), worker_time=rng.random(), worker=0, host="here", pid=7,
    )  # fmt: skip


ODD_VALUES = [1, 1.0, True, None, "a", (1, 2), float("nan"), -0.0, 2**70, -(2**63), [3]]


def varied(trial_id: int, rng: random.Random) -> Trial:
    """A trial with whatever a field may hold: mixed types, None, NaN, huge integers."""
    config: Any = {"x": rng.choice(ODD_VALUES), "y": rng.random()}
    if rng.random() < 0.3:
        config = {"z": rng.choice(ODD_VALUES)}  # another shape
    if rng.random() < 0.02:
        config = MappingProxyType(config)  # not a plain dict: kept whole
    metrics: Any = rng.choice(
        [_NO_METRICS, {}, {"value": rng.random(), "n": rng.choice([1, 2.0])}]
    )
    return Trial(
        trial_id, config, rng.getrandbits(63), rng.choice(list(Status)),
        rng.choice([None, rng.random(), -0.0]), metrics, rng.choice([1, 2]),
        rng.choice([None, 1, 3, 9.0, 2.5]), rng.random(), rng.choice([None, rng.random()]),
        rng.choice([None, rng.random()]), rng.random(), rng.choice([None, 0, 3]),
        rng.choice([None, "host"]), rng.choice([None, 123]), rng.choice([None, "error"]),
        rng.choice([None, "traceback"]), rng.choice([None, 4]), rng.choice([None, 0.5]),
        rng.choice([None, 10**6]), rng.choice([0, 1]),
    )  # fmt: skip


def fill(make: Any, count: int, seed: int) -> tuple[CompactTrials, dict[int, Trial]]:
    """Trials saved as a run saves them: when they start and again when they end, a few
    changed later (a promotion), a few out of order."""
    rng = random.Random(seed)
    kept, latest = CompactTrials(), {}
    for trial_id in range(count):
        trial = latest[trial_id] = make(trial_id, rng)
        kept.put([trial._replace(status=Status.RUNNING, value=None)])
        kept.put([trial])
        if rng.random() < 0.01:
            again = make(rng.randrange(trial_id + 1), rng)
            kept.put([again])
            latest[again.trial_id] = again
        if rng.random() < 0.002:
            ahead = make(trial_id + rng.randint(2, 40), rng)
            kept.put([ahead])
            latest[ahead.trial_id] = ahead
    return kept, latest


@pytest.mark.parametrize("make", [plain, varied])
@pytest.mark.parametrize("count", [5, 5000])
def test_trials_come_back_exactly_as_saved(make: Any, count: int) -> None:
    kept, latest = fill(make, count, seed=count)
    expected = [latest[i] for i in sorted(latest)]
    found = kept.trials()
    assert len(found) == len(kept) == len(expected)
    for mine, theirs in zip(found, expected, strict=True):
        exactly(mine, theirs)
    for trial_id in random.Random(1).sample(sorted(latest), 5):
        exactly(kept.get(trial_id), latest[trial_id])
    assert kept.get(-1) is None and kept.get(max(latest) + 1) is None


def test_more_trials_running_than_a_group_and_continued_ones_come_back_as_last_saved() -> None:
    # As ASHA on thousands of workers saves them: each job's trial when it starts and when
    # it ends, ended trials continued long after they joined the columns; the trials kept
    # waiting are those running and at most two groups more.
    rng, workers = random.Random(3), 3000
    kept, running, most = CompactTrials(), [], 0
    latest: dict[int, Trial] = {}
    ended: list[int] = []
    for _ in range(12_000):
        again = ended and rng.random() < 0.4
        start = ended.pop(rng.randrange(len(ended))) if again else len(latest)
        latest[start] = (latest.get(start) or plain(start, rng))._replace(status=Status.RUNNING)
        kept.put([latest[start]])
        running.append(start)
        if len(running) >= workers:
            done = running.pop(rng.randrange(len(running)))
            latest[done] = plain(done, rng)
            kept.put([latest[done]])
            ended.append(done)
        most = max(most, len(kept._waiting) - workers)
    assert most <= 2 * _GROUP
    for trial_id in sorted(latest):
        exactly(kept.get(trial_id), latest[trial_id])
    assert [t.trial_id for t in kept.trials()] == sorted(latest)


def same_columns(found: TrialColumns, expected: TrialColumns) -> None:
    for name in Trial._fields:
        mine, theirs = getattr(found, name), getattr(expected, name)
        if isinstance(theirs, np.ndarray):
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs, equal_nan=True)
        elif isinstance(theirs, Ints):
            assert np.array_equal(mine.values, theirs.values)
            assert np.array_equal(mine.missing, theirs.missing)
        elif isinstance(theirs, JsonColumns):
            assert mine.shapes == theirs.shapes and np.array_equal(mine.shape, theirs.shape)
            assert {k: list(map(repr, v)) for k, v in mine.values.items()} == {
                k: list(map(repr, v)) for k, v in theirs.values.items()
            }
        else:
            assert mine == theirs, name


@pytest.mark.parametrize("make", [plain, varied])
def test_columns_are_those_of_the_trials(make: Any) -> None:
    kept, latest = fill(make, 3000, seed=5)
    expected = [latest[i] for i in sorted(latest)]
    same_columns(kept.columns(), TrialColumns.from_trials(expected))
    part = kept.columns(after=10, before=20)
    same_columns(part, TrialColumns.from_trials([t for t in expected if 10 < t.trial_id < 20]))
    assert len(kept.columns(after=5000)) == 0


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("make", [plain, varied])
def test_the_best_is_the_earliest_done_trial_with_the_best_value(mode: str, make: Any) -> None:
    kept, latest = fill(make, 3000, seed=9)
    done = [t for t in latest.values() if t.status is Status.DONE and t.value is not None]
    sign = 1.0 if mode == "min" else -1.0
    best = min(done, key=lambda t: (sign * t.value, t.trial_id))  # type: ignore[operator]
    assert kept.best(mode) == best
    assert CompactTrials().best(mode) is None


def test_a_frozen_copy_stays_as_it_was_and_its_arrays_are_read_only() -> None:
    kept, latest = fill(plain, 3000, seed=3)
    frozen = kept.frozen()
    columns = frozen.columns()
    before = columns.value.copy()
    kept.put([latest[0]._replace(value=-1.0, config={"x": "changed"})])
    kept.put([plain(i, random.Random(i)) for i in range(3000, 6000)])
    assert kept.get(0).value == -1.0 and len(kept) == 6000  # type: ignore[union-attr]
    assert frozen.get(0) == latest[0] and len(frozen) == 3000
    assert np.array_equal(columns.value, before) and not columns.value.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        columns.value[0] = 1.0


def test_plain_trials_cost_a_few_bytes_per_field() -> None:
    rng = random.Random(0)
    trials = [plain(i, rng) for i in range(20_000)]
    gc.collect()
    tracemalloc.start()
    try:
        kept = CompactTrials()
        for trial in trials:
            kept.put([trial])
        kept.frozen()
        del trials
        gc.collect()
        size, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 8 numbers a trial vary (seed, value, 4 times, x, y): 64 bytes; a Trial costs ~800.
    assert size / 20_000 < 100
    assert len(kept) == 20_000


def test_a_column_keeps_one_value_then_an_array_then_a_list_as_its_values_need() -> None:
    column = Column()
    column.extend([None, None])
    assert (column.kind, column.tolist()) == ("same", [None, None])
    column.extend([1.5, None])
    assert (column.kind, column.tolist()) == ("d", [None, None, 1.5, None])
    column.set(0, 2.5)
    column.extend([math.nan])  # a NaN of its own is not None
    assert column.kind == "list" and column.get(0) == 2.5 and math.isnan(column.get(4))
    ints = Column()
    ints.extend([3, None, 2**62])
    assert ints.kind == "q" and ints.tolist() == [3, None, 2**62]
    ints.set(1, 2**64)  # too large for the array
    assert ints.kind == "list" and ints.tolist() == [3, 2**64, 2**62]
    mixed = Column()
    mixed.extend([1, 1])
    mixed.extend([True])  # equal to 1, not the same
    assert [type(v) for v in mixed.tolist()] == [int, int, bool]


@pytest.mark.parametrize(
    ("start", "rows", "values"),
    [
        ([0.5, 1.5, 2.5], [2, 0], [None, 7.5]),  # an array keeps both: one step
        ([0.5, 1.5, 2.5], [1], [math.nan]),  # a NaN of its own: a list from then on
        ([1, 2, 3], [0, 2], [None, 2**62]),
        ([1, 2, 3], [1], [True]),  # equal to 1, not the same: a list
        ([1, 2, 3], [2], [2**64]),  # too large for the array
        (["a", "a", "a"], [0, 1], ["a", "a"]),  # the shared value: nothing to store
        (["a", "a", "a"], [1], ["b"]),
        ([None, None], [1], [0.25]),
    ],
)
def test_setting_many_rows_at_once_is_setting_each(
    start: list[Any], rows: list[int], values: list[Any]
) -> None:
    many, each = Column(), Column()
    many.extend(start)
    each.extend(start)
    many.set_many(rows, values)
    for row, value in zip(rows, values, strict=True):
        each.set(row, value)
    assert many.kind == each.kind
    got, want = many.tolist(), each.tolist()
    assert [type(v) for v in got] == [type(v) for v in want]
    assert [repr(v) for v in got] == [repr(v) for v in want]  # NaN, -0.0 and types alike


def test_a_memory_store_keeps_its_trials_in_columns_and_gives_them_read_only() -> None:
    store = MemoryStore()
    store.open(Experiment("demo", {}, "value", "min", 0), resume=False, overwrite=False)
    _, latest = fill(plain, 3000, seed=2)
    store.save(latest.values())
    kept = store.compact_trials()
    assert kept.get(7) == latest[7] and len(kept) == len(latest)
    assert store.trials() == [latest[i] for i in sorted(latest)]
    columns = store.trial_columns(after=99, before=200)
    assert columns.trial_id.tolist() == list(range(100, 200))
    assert not columns.value.flags.writeable
    store.save([latest[150]._replace(value=-1.0)])  # the columns given out stay as they were
    assert columns.value[50] == latest[150].value and store.trials()[150].value == -1.0
