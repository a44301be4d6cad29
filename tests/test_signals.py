"""A user's stop during a run: SIGINT and SIGTERM raise KeyboardInterrupt, except inside the
steps that must not be cut in half, after which they are raised."""

from __future__ import annotations

import os
import signal

import pytest

from paratune._signals import signals_held, user_stops, winding_down


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_raises_at_once_outside_held_steps(number: int) -> None:
    with user_stops(), pytest.raises(KeyboardInterrupt, match=signal.Signals(number).name):
        os.kill(os.getpid(), number)


def test_a_stop_inside_held_steps_is_raised_when_they_end() -> None:
    reached = []
    with user_stops(), pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        with signals_held():
            with signals_held():  # nested: raised only when the outermost ends
                os.kill(os.getpid(), signal.SIGTERM)
                reached.append("inner")
            reached.append("outer")
        reached.append("after")
    assert reached == ["inner", "outer"]


def test_a_held_step_that_raises_keeps_its_own_error() -> None:
    with user_stops(), pytest.raises(ValueError, match="its own"):
        with signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            raise ValueError("its own")


def test_the_handlers_are_put_back_after_the_run() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with user_stops():
        assert signal.getsignal(signal.SIGTERM) is not before[1]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_first_stop_while_the_run_winds_down_is_dropped() -> None:
    with user_stops():
        with winding_down():
            os.kill(os.getpid(), signal.SIGINT)
            with signals_held():  # the wind-down records things too
                pass
        reached = True
    assert reached


def test_a_second_stop_is_raised_at_once_even_inside_held_steps() -> None:
    with user_stops(), pytest.raises(KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # the first: the run stops
        with winding_down():
            os.kill(os.getpid(), signal.SIGINT)  # the second: at once
            raise AssertionError("not reached")
