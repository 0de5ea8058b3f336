"""A client of a resalloc server's tickets, over its XML-RPC API (``<url>/RPC2``).

A ticket asks for a resource (a builder) with some tags; the server assigns one that has
them all — one a pool's ``cmd_new`` started — and the ticket becomes *ready*, its output
being what ``cmd_new`` printed (for a builder: its address).  Closing the ticket gives the
resource back (the pool's ``cmd_delete`` removes it, or the server reuses it for another
ticket of the same sandbox).  A ticket whose resource died is *failed*.

Every call has a timeout.  A server that cannot be reached (restarting, say) is tried
again with growing pauses for ``patience`` seconds and logged once, when the outage
starts, and once when it ends; a fault the server answers with is not retried.  Every
failure is a :class:`~copr_backend.pools.PoolError`.
"""

from __future__ import annotations

import http.client
import logging
import time
import xmlrpc.client
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from copr_backend.pools import PoolError
from copr_common.outage import Backoff, Outage

log = logging.getLogger(__name__)


class TicketFailed(PoolError):
    """The ticket failed, was closed or is unknown: its resource is gone."""


@dataclass(frozen=True)
class TicketState:
    """What ``collectTicket`` says of a ticket."""

    exists: bool
    ready: bool
    closed: bool
    failed: bool
    output: str

    @property
    def usable(self) -> bool:
        """Whether the ticket still holds (or may still get) a live resource."""
        return self.exists and not self.closed and not self.failed


class _TimeoutTransport(xmlrpc.client.Transport):
    """The standard transport, with a timeout on the connection and every read."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


class ResallocClient:
    """Takes, collects and closes tickets of the resalloc server at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        patience: float = 300.0,
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        url = url.rstrip("/")
        self.url = url if url.endswith("/RPC2") else f"{url}/RPC2"
        self.timeout = timeout
        self.patience = patience
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._outage = Outage(f"the resalloc server at {self.url}", log)

    def _call(
        self, method: str, *params: Any, patience: float | None = None, once: bool = False
    ) -> Any:
        """``method(*params)`` on the server, retried while it cannot be reached.

        With ``once`` (a call that must not be done twice), only a refused connection is
        retried: after a timeout or a broken connection the server may have done it.
        """
        patience = self.patience if patience is None else patience
        deadline = time.monotonic() + patience
        backoff = Backoff(first=0.5, cap=10.0)
        while True:
            # A proxy per call: a proxy is not thread-safe, and a broken connection
            # is not reused.
            proxy = xmlrpc.client.ServerProxy(
                self.url, transport=_TimeoutTransport(self.timeout), allow_none=True
            )
            try:
                result = getattr(proxy, method)(*params)
            except xmlrpc.client.Fault as fault:
                self._outage.recovered()
                raise PoolError(f"resalloc {method}: {fault.faultString}") from None
            except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as error:
                # socket.timeout is an OSError: a server that does not answer in time.  Of
                # HTTP errors, only a proxy's "the server is away" may pass.
                transient = not isinstance(error, xmlrpc.client.ProtocolError) or (
                    error.errcode in (502, 503, 504)
                )
                if once and not isinstance(error, ConnectionRefusedError):
                    transient = False
                if not transient:
                    raise PoolError(f"resalloc {method}: {error}") from None
                self._outage.failed(error, f"{method}")
                pause = backoff.next()
                if time.monotonic() + pause > deadline:
                    raise PoolError(
                        f"the resalloc server at {self.url} did not answer {method} "
                        f"for {patience:g} s: {error}"
                    ) from None
                self._sleep(pause)
                continue
            finally:
                proxy("close")()
            self._outage.recovered()
            return result

    def take(self, tags: Sequence[str], sandbox: str | None = None) -> int:
        """A new ticket for a resource with every one of ``tags``; its id."""
        # Once: a ticket taken twice would be one nobody closes.
        ticket = self._call("takeTicket", list(tags), sandbox or None, once=True)
        if not isinstance(ticket, int):
            raise PoolError(f"resalloc takeTicket answered {ticket!r}, not a ticket id")
        return ticket

    def collect(self, ticket: int, patience: float | None = None) -> TicketState:
        """The ticket's state now (``patience``: how long an unreachable server is retried)."""
        answer = self._call("collectTicket", ticket, patience=patience)
        if not isinstance(answer, dict):
            raise PoolError(f"resalloc collectTicket answered {answer!r}")
        output = answer.get("output")
        if isinstance(output, xmlrpc.client.Binary):
            text = output.data.decode(errors="replace")
        else:
            text = str(output or "")
        return TicketState(
            exists=answer.get("ready") is not None,
            ready=bool(answer.get("ready")),
            closed=bool(answer.get("closed")),
            failed=bool(answer.get("failed")),
            output=text.strip(),
        )

    def wait(self, ticket: int, timeout: float) -> str:
        """The ticket's output once it is ready (the builder's address)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.collect(ticket)
            if not state.usable:
                what = "unknown" if not state.exists else "closed" if state.closed else "failed"
                raise TicketFailed(f"resalloc ticket {ticket} is {what}")
            if state.ready:
                if not state.output:
                    raise PoolError(f"resalloc ticket {ticket} is ready but names no builder")
                return state.output.splitlines()[-1].strip()
            if time.monotonic() > deadline:
                raise PoolError(f"resalloc ticket {ticket} was not ready within {timeout:g} s")
            self._sleep(self.poll_interval)

    def close(self, ticket: int) -> None:
        """Give the ticket's resource back; closing an unknown ticket is not an error."""
        try:
            self._call("closeTicket", ticket)
        except PoolError as error:
            if "no such ticket" in str(error):
                return
            raise


def ping(url: str, timeout: float = 2.0) -> bool:
    """Whether a resalloc server answers at ``url`` (for start-up checks and tests)."""
    client = ResallocClient(url, timeout=timeout, patience=0)
    try:
        client.collect(0)
    except PoolError:
        return False
    return True


__all__ = ["ResallocClient", "TicketFailed", "TicketState", "ping"]
