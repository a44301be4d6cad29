"""A dataclass field for every trial of a run: a list of `Trial` records, or the trials kept
column by column until something reads them as a list."""

from __future__ import annotations

from typing import Any, Protocol

from .trial import Trial


class KeptTrials(Protocol):
    """Trials kept another way than as a list (`TrialColumns` read from a store, or a
    `CompactTrials`)."""

    def trials(self) -> list[Trial]:
        """The trials as `Trial` records, in id order."""
        ...

    def __len__(self) -> int: ...


class TrialList:
    """A field of a frozen dataclass that reads as a list of trials: given a list, it is
    that list; given `KeptTrials`, the list is built from them on its first reading, and
    they stay for readers that need no `Trial` per row (`kept_trials`). It has no default:
    the field stays required."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.built = f"_{name}"  # the list, once built
        self.kept = f"_kept_{name}"

    def __get__(self, instance: object | None, owner: type | None = None) -> list[Trial]:
        if instance is None:
            raise AttributeError(self.name)  # a dataclass reads this as "no default"
        held = instance.__dict__
        if self.built not in held:
            held[self.built] = held[self.kept].trials()
        trials: list[Trial] = held[self.built]
        return trials

    def __set__(self, instance: object, value: list[Trial] | KeptTrials) -> None:
        key = self.built if isinstance(value, list) else self.kept
        instance.__dict__[key] = value


def kept_trials(instance: object, name: str) -> Any:
    """What field ``name`` of ``instance`` (a `TrialList`) was given other than a list, or
    None."""
    return instance.__dict__.get(f"_kept_{name}")
