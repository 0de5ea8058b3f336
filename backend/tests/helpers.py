"""Helpers shared by the backend tests (imported through the tests' sys.path entry)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from copr_backend.actions.dispatcher import create_action_dispatcher
from copr_backend.builds.dispatcher import create_build_dispatcher


@contextmanager
def running_build_dispatcher(backend) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """The build dispatcher in a thread of the test (its workers are real processes)."""
    dispatcher = create_build_dispatcher(backend.settings, config_file=backend.config)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        thread.join(timeout=30)


@contextmanager
def running_action_dispatcher(backend) -> Iterator[object]:  # type: ignore[no-untyped-def]
    dispatcher = create_action_dispatcher(backend.settings, config_file=backend.config)
    thread = threading.Thread(target=dispatcher.run, daemon=True)
    thread.start()
    try:
        yield dispatcher
    finally:
        dispatcher.stop()
        thread.join(timeout=30)


def rpm_verify(package: Path, pubkey: Path, dbpath: Path) -> str:
    """``rpm -K`` of ``package`` against a private rpmdb holding only ``pubkey``."""
    dbpath.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "--import", str(pubkey)], check=True, capture_output=True
    )
    result = subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "-K", str(package)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout + result.stderr
