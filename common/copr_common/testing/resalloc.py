"""A real resalloc-server for tests, on a random loopback port, with pools the test names.

resalloc is neither on PyPI nor in Debian: ``make setup`` installs it into
``.venv-resalloc`` from its release tarball, unless an installed ``resalloc-server`` is
on PATH (Fedora's package).  :func:`find_resalloc` says where it is, or why it is not
there (the tests that need it skip with that reason).  It and
:func:`builder_host_commands` (a pool whose resources are builder hosts) live in
:mod:`copr_common.resalloc_hosts`, which ``copr-local`` uses too.

Each server has a config directory of its own (``server.yaml``, ``pools.yaml``, its
SQLite database and logs) under the session's scratch dir.  A pool is a dict as in
``pools.yaml``: ``max``, ``max_starting``, ``max_prealloc``, ``cmd_new`` (prints the
resource's data, e.g. a builder's address), ``cmd_delete``, ``tags``, ...
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copr_common.resalloc_hosts import builder_host_commands, find_resalloc
from copr_common.testing.services import (
    ServiceRun,
    ServiceStartError,
    _start_on_free_port,
)

__all__ = ["ResallocServer", "builder_host_commands", "find_resalloc", "start_resalloc"]


@dataclass
class ResallocServer:
    """A running resalloc-server: its XML-RPC URL, config dir and process."""

    run: ServiceRun
    name: str
    bindir: Path
    config_dir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/RPC2"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONFIG_DIR": str(self.config_dir)}

    def maint(self, *args: str) -> str:
        """The output of ``resalloc-maint ARGS`` against this server's database."""
        result = subprocess.run(
            [str(self.bindir / "resalloc-maint"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def open_tickets(self) -> list[str]:
        """``resalloc-maint ticket-list``: a line per ticket not yet closed."""
        return [line for line in self.maint("ticket-list").splitlines() if line.strip()]

    def resources(self) -> list[str]:
        """``resalloc-maint resource-list``: a line per resource not yet deleted."""
        return [line for line in self.maint("resource-list").splitlines() if line.strip()]

    def proxy(self) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(self.url, allow_none=True)

    def stop(self) -> None:
        """Stop the server (its resources stay as they are, as in an outage)."""
        self.run.stop(self.process)

    def start(self, timeout: float = 60) -> None:
        """Start the server again on its port, with its database (after :meth:`stop`)."""
        self.process = _launch(self.run, self.name, self.bindir, self.config_dir)
        _wait_ready(self, timeout)


def _launch(run: ServiceRun, name: str, bindir: Path, config_dir: Path) -> subprocess.Popen[bytes]:
    return run.spawn(
        name,
        [str(bindir / "resalloc-server")],
        env={**os.environ, "CONFIG_DIR": str(config_dir)},
        cwd=config_dir,
    )


def _answers(url: str) -> bool:
    proxy = xmlrpc.client.ServerProxy(url, allow_none=True)
    try:
        proxy.collectTicket(0)
    except (OSError, xmlrpc.client.Error):
        return False
    return True


def _wait_ready(server: ResallocServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(server.url):
        if server.process.poll() is not None:
            raise ServiceStartError(
                f"{server.name} exited with {server.process.returncode}:\n"
                f"{server.run.log_tail(server.name)}"
            )
        if time.monotonic() > deadline:
            raise ServiceStartError(
                f"{server.name} did not answer within {timeout:g} s:\n"
                f"{server.run.log_tail(server.name)}"
            )
        time.sleep(0.2)


def start_resalloc(
    run: ServiceRun,
    pools: dict[str, dict[str, Any]],
    *,
    name: str = "resalloc",
    sleeptime: float = 1.0,
    timeout: float = 60,
) -> ResallocServer:
    """A new resalloc-server with ``pools``; it answers XML-RPC when this returns.

    ``sleeptime`` is how long its manager sleeps between rounds: short, so that tickets
    get their resources within a second or two.
    """
    bindir, why = find_resalloc()
    if bindir is None:
        raise ServiceStartError(why)
    config_dir = run.root / name
    (config_dir / "logs").mkdir(parents=True)
    # JSON is YAML: no YAML library needed here.
    (config_dir / "pools.yaml").write_text(json.dumps(pools, indent=1))

    def launch(port: int) -> subprocess.Popen[bytes]:
        settings = {
            "db_url": f"sqlite:///{config_dir / 'db.sqlite'}",
            "logdir": str(config_dir / "logs"),
            "hostname": "127.0.0.1",
            "port": port,
            "sleeptime": sleeptime,
            "loglevel": "debug",
        }
        (config_dir / "server.yaml").write_text(json.dumps(settings, indent=1))
        return _launch(run, name, bindir, config_dir)

    def ready(port: int) -> bool:
        return _answers(f"http://127.0.0.1:{port}/RPC2")

    port, proc = _start_on_free_port(run, name, launch, ready, "Address already in use", timeout)
    return ResallocServer(run, name, bindir, config_dir, port, proc)


def kill(server: ResallocServer) -> None:
    """Kill -9 the server."""
    server.run.stop(server.process, signal.SIGKILL)
