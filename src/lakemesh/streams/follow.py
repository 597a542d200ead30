"""The follow loop: drain a source, hand on what came, wait, again; back off on errors; stop when asked.

It lives in the library, not the CLI, so a server or a scheduler runs a source the same way `lakemesh cdc
run` does; the caller brings the drain and what to do with each result (render, apply downstream).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import TypeVar

from lakemesh.errors import LakemeshError

MAX_BACKOFF = 60.0  # seconds: a source that stays down is retried this often at most
R = TypeVar("R")


def follow(
    drain: Callable[[], R],
    handle: Callable[[R], bool],
    *,
    interval: float,
    once: bool = False,
    stop: Callable[[], bool] = lambda: False,
    retrying: Callable[[LakemeshError, float], None] = lambda exc, delay: None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Drain and handle until `stop()` or Ctrl-C (`once`: one drain, its errors raised); says whether the
    last handled result was good. A failed drain (LakemeshError) is retried after `interval`, doubling
    up to MAX_BACKOFF, with `retrying(error, delay)` told first; a good drain resets the delay."""
    delay, ok = interval, True
    while True:
        try:
            result = drain()
        except LakemeshError as exc:
            if once:
                raise
            retrying(exc, delay)
            if _paused(sleep, delay) or stop():
                return ok
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        except KeyboardInterrupt:
            return ok
        delay = interval
        ok = handle(result)
        if once or _paused(sleep, interval) or stop():
            return ok


def _paused(sleep: Callable[[float], None], seconds: float) -> bool:
    """Sleep; True when Ctrl-C cut it short."""
    try:
        sleep(seconds)
    except KeyboardInterrupt:
        return True
    return False


def stop_on_sigterm() -> Callable[[], bool]:
    """A stop callable that turns true once the process is sent SIGTERM (main thread only)."""
    stopping = {"now": False}

    def on_term(*_: object) -> None:
        stopping["now"] = True

    signal.signal(signal.SIGTERM, on_term)
    return lambda: stopping["now"]
