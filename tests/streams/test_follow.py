"""The follow loop's logic: backoff on errors up to a minute, reset after a good drain, stop when asked."""

from __future__ import annotations

import pytest

from lakemesh.errors import LakemeshError
from lakemesh.streams import MAX_BACKOFF, follow


class Script:
    """A drain that plays a list of outcomes (an int result or an error), recording the loop's sleeps."""

    def __init__(self, outcomes: list[int | LakemeshError]) -> None:
        self.outcomes = list(outcomes)
        self.sleeps: list[float] = []
        self.handled: list[int] = []
        self.retries: list[float] = []

    def drain(self) -> int:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, LakemeshError):
            raise outcome
        return outcome

    def stop(self) -> bool:
        return not self.outcomes

    def handle(self, result: int) -> bool:
        self.handled.append(result)
        return result > 0


def test_backoff_doubles_to_the_cap_and_resets_after_a_good_drain() -> None:
    down = LakemeshError("connection lost")
    script = Script([down] * 8 + [5, down, 7])
    ok = follow(
        script.drain,
        script.handle,
        interval=2,
        stop=script.stop,
        retrying=lambda exc, delay: script.retries.append(delay),
        sleep=script.sleeps.append,
    )
    assert ok
    assert script.retries == [2, 4, 8, 16, 32, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, 2]
    assert script.sleeps == [2, 4, 8, 16, 32, 60, 60, 60, 2, 2, 2]
    assert script.handled == [5, 7]


def test_stop_ends_the_loop_after_the_current_drain() -> None:
    script = Script([1, 2, 3])
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] >= 2

    follow(script.drain, script.handle, interval=1, stop=stop, sleep=script.sleeps.append)
    assert script.handled == [1, 2]
    assert script.outcomes == [3]


def test_stop_is_heeded_while_backing_off() -> None:
    down = LakemeshError("down")
    script = Script([down, down, down])
    stopped = iter([False, True])
    follow(script.drain, script.handle, interval=1, stop=lambda: next(stopped), sleep=script.sleeps.append)
    assert script.sleeps == [1, 2]
    assert script.outcomes == [down]


def test_ctrl_c_while_waiting_returns_the_last_outcome() -> None:
    script = Script([0, 9])

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    assert follow(script.drain, script.handle, interval=1, sleep=interrupted) is False
    assert script.handled == [0]


def test_once_drains_one_time_and_raises_its_error() -> None:
    script = Script([LakemeshError("no server"), 3])
    with pytest.raises(LakemeshError, match="no server"):
        follow(script.drain, script.handle, interval=1, once=True, sleep=script.sleeps.append)
    assert script.sleeps == []
    assert follow(script.drain, script.handle, interval=1, once=True, sleep=script.sleeps.append)
    assert script.handled == [3] and script.sleeps == []
