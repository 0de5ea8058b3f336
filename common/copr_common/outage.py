"""Riding out an outage of something a service depends on (Redis, the frontend, keygen).

A long-running service that loses a dependency keeps trying, with growing pauses
(:class:`Backoff`), and says so twice: one line when the outage starts and one when it
ends (:class:`Outage`), however many attempts fail in between.  A log with a line per
failed attempt hides the rest of the service's story and fills the disk.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

__all__ = ["Backoff", "Outage"]


class Backoff:
    """Pauses that start at ``first`` seconds and double up to ``cap``, with some jitter.

    The jitter keeps services that lost the same dependency at the same moment from
    coming back at the same moment too.
    """

    def __init__(
        self, first: float = 0.5, cap: float = 30.0, factor: float = 2.0, jitter: float = 0.2
    ) -> None:
        if first <= 0 or cap < first or factor < 1:
            raise ValueError("a backoff needs 0 < first <= cap and factor >= 1")
        self.first = first
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self._next = first

    def next(self) -> float:
        """The next pause, in seconds (each call grows the one after it)."""
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        spread = delay * self.jitter
        return max(0.0, delay + random.uniform(-spread, spread))

    def reset(self) -> None:
        self._next = self.first


class Outage:
    """Tracks whether ``what`` is out: logs when it starts failing and when it is back.

    ::

        outage = Outage("redis", log)
        try:
            do_something()
        except RedisError as error:
            outage.failed(error)     # logged once, on the first failure
        else:
            outage.recovered()       # logged once, when an outage ends
    """

    def __init__(
        self,
        what: str,
        log: logging.Logger,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.log = log
        self.clock = clock
        self.since: float | None = None
        self.failures = 0
        self.last_error: str | None = None

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, error: object, doing: str = "") -> bool:
        """Record a failure; True (and one warning logged) when it starts an outage."""
        self.failures += 1
        self.last_error = str(error)
        if self.since is not None:
            return False
        self.since = self.clock()
        context = f" ({doing})" if doing else ""
        self.log.warning(
            "%s is unavailable%s: %s; retrying with backoff until it is back",
            self.what,
            context,
            error,
        )
        return True

    def recovered(self) -> bool:
        """Record a success; True (and one line logged) when it ends an outage."""
        if self.since is None:
            return False
        lasted = self.clock() - self.since
        self.log.warning(
            "%s is back after %.1f s (%d failed attempts)", self.what, lasted, self.failures
        )
        self.since = None
        self.failures = 0
        return True
