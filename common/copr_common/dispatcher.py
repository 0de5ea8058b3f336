"""The dispatcher loop: ask a source for tasks, hand them to a worker manager, sleep, repeat.

One round is: reap finished and dead workers, fetch the current task list, start what
fits.  The order matters: a worker reports its result to the source before it marks
itself done, so a list fetched after the reap never offers the task of a worker that has
just ended, and a worker that ends after the fetch still holds its record while the list
is used.

Between rounds the dispatcher sleeps, but wakes early when something is published on the
manager's wakeup channel (see :func:`copr_common.worker_manager.wakeup_dispatcher`): a
worker that finishes frees a slot, a frontend that has new work says so.  Polling remains
the safety net for a lost message.

Outages do not end the loop.  When Redis or the task source (the frontend) fails, the
round is cut short, the failure is logged once when the outage starts and once when it
ends (:class:`~copr_common.outage.Outage`), and the next round comes after a growing
pause (capped at the sleep time) instead of at once.  The wakeup subscription is made
again once Redis is back.  Running workers are not affected: they do not need the
dispatcher, and Redis loses nothing they cannot write again (see
:mod:`copr_common.worker_manager`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Generic, Protocol, TypeVar, cast

from redis.client import PubSub
from redis.exceptions import RedisError

from copr_common.outage import Backoff, Outage
from copr_common.redis_keys import wakeup_channel
from copr_common.worker_manager import QueueTask, ReapReport, WorkerManager

__all__ = ["Dispatcher", "RoundReport", "TaskSource", "TaskSourceError"]

TaskT = TypeVar("TaskT", bound=QueueTask)
TaskT_co = TypeVar("TaskT_co", bound=QueueTask, covariant=True)


class TaskSourceError(RuntimeError):
    """The source could not give its tasks this time (e.g. the frontend is unreachable)."""


class TaskSource(Protocol[TaskT_co]):
    """Where tasks come from: usually a frontend's queue endpoint."""

    def get_tasks(self) -> Sequence[TaskT_co]:
        """The tasks that should run now, all of them (held ones included)."""
        ...


@dataclass
class RoundReport:
    """What one dispatcher round did: workers reaped, tasks offered and started, any error."""

    reaped: ReapReport
    offered: int
    started: list[str]
    error: str | None = None


class Dispatcher(Generic[TaskT]):
    """Runs rounds until stopped; see the module docstring."""

    def __init__(
        self,
        source: TaskSource[TaskT],
        manager: WorkerManager[TaskT],
        *,
        sleep_time: float = 10.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.source = source
        self.manager = manager
        self.sleep_time = sleep_time
        self.log = log or logging.getLogger(f"copr_common.dispatcher.{manager.name}")
        self._stop = threading.Event()
        self.redis_outage = Outage("redis", self.log)
        self.source_outage = Outage("the task source", self.log)
        first = min(0.5, sleep_time)
        self._backoff = Backoff(first, max(first, sleep_time))
        self._pubsub: PubSub | None = None

    def run_once(self) -> RoundReport:
        """One round; a Redis failure propagates (:meth:`run` rides it out)."""
        reaped = self.manager.reap()
        self.redis_outage.recovered()
        try:
            tasks = self.source.get_tasks()
        except TaskSourceError as error:
            self.source_outage.failed(error, "getting tasks")
            return RoundReport(reaped, 0, [], str(error))
        self.source_outage.recovered()
        started = self.manager.dispatch(tasks)
        if started:
            self.log.info("started %d of %d offered tasks: %s", len(started), len(tasks), started)
        return RoundReport(reaped, len(tasks), started)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current round (safe from a signal handler)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the loop; running workers are left alone, by design."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self.log.info("signal %d: stopping after this round", signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, max_rounds: int | None = None) -> None:
        """Loop until :meth:`stop` (or ``max_rounds`` rounds, for tests and tools)."""
        rounds = 0
        # Subscribed before the first round, so a wakeup sent during it is not missed.
        self._subscribed()
        self.manager.warm_up()
        try:
            while not self._stop.is_set():
                pause = self._round()
                rounds += 1
                if max_rounds is not None and rounds >= max_rounds:
                    break
                if pause is None:
                    self._sleep()
                else:
                    self._stop.wait(pause)
        finally:
            self._drop_pubsub()
            self.manager.close()

    def _round(self) -> float | None:
        """Run a round; the pause before the next one when something is out, else None."""
        try:
            report = self.run_once()
        except RedisError as error:
            self.redis_outage.failed(error, "dispatching")
            self._drop_pubsub()
            return self._backoff.next()
        except Exception:
            # A long-running service outlives a bad round (a bug in one task's data): log
            # it in full and try again after the sleep.
            self.log.exception("dispatch round failed")
            return None
        if report.error is not None:
            return self._backoff.next()
        self._backoff.reset()
        return None

    def _subscribed(self) -> PubSub | None:
        if self._pubsub is None:
            try:
                # redis-py before 8.2 leaves Redis.pubsub() unannotated; it returns a PubSub.
                make_pubsub = cast(Callable[..., PubSub], self.manager.redis.pubsub)
                pubsub = make_pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(wakeup_channel(self.manager.name))
            except RedisError as error:
                self.redis_outage.failed(error, "subscribing to wakeups")
                return None
            self._pubsub = pubsub
        return self._pubsub

    def _drop_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                self._pubsub.close()
            self._pubsub = None

    def _sleep(self) -> None:
        deadline = time.monotonic() + self.sleep_time
        pubsub = self._subscribed()
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if pubsub is None:
                self._stop.wait(left)
                return
            try:
                # Short slices so that stop() is noticed promptly even without a message.
                message = pubsub.get_message(timeout=min(left, 0.5))
                if message is not None:
                    # Let a burst of wakeups coalesce into one round.
                    while pubsub.get_message(timeout=0.01) is not None:
                        pass
                    return
            except RedisError as error:
                # Polling goes on; the next round finds out whether Redis is back.
                self.redis_outage.failed(error, "waiting for wakeups")
                self._drop_pubsub()
                pubsub = None
