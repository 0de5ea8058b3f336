"""What the backend reads from copr-rpmbuild's commands, wherever the builder is.

A pool drives a builder through ``copr-rpmbuild``, ``copr-rpmbuild-log``,
``copr-rpmbuild-cancel`` and ``copr-rpmbuild-status`` alone (run here or over SSH) and
never imports copr-rpmbuild or reads its files: this module parses what they print.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from copr_backend.pools import PoolError

# The exit code a build that never ran (or whose follower lost it) is reported with:
# copr-rpmbuild's "infrastructure failure", worth retrying elsewhere.
EXIT_INFRASTRUCTURE = 3


@dataclass(frozen=True)
class BuilderStatus:
    """``copr-rpmbuild-status``'s answer: the build that runs on a builder, or ran last."""

    task_id: str | None
    busy: bool
    running: bool
    pids: list[int] = field(default_factory=list)
    exit_code: int | None = None
    resultdir: str = ""
    result_files: list[str] = field(default_factory=list)
    version: str = ""

    @classmethod
    def parse(cls, text: str, where: str) -> BuilderStatus:
        try:
            data: Any = json.loads(text)
        except ValueError as error:
            raise PoolError(f"{where}: copr-rpmbuild-status said something else: {error}") from None
        return cls.of(data, where)

    @classmethod
    def of(cls, data: Any, where: str) -> BuilderStatus:
        """The status from copr-rpmbuild-status's object (already decoded)."""
        try:
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            pids = [int(pid) for pid in data.get("pids") or []]
            exit_code = data.get("exit_code")
            return cls(
                task_id=str(data["task_id"]) if data.get("task_id") else None,
                busy=bool(data["busy"]),
                running=bool(data["running"]),
                pids=pids,
                exit_code=int(exit_code) if exit_code is not None else None,
                resultdir=str(data.get("resultdir") or ""),
                result_files=[str(name) for name in data.get("result_files") or []],
                version=str(data.get("version") or ""),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise PoolError(f"{where}: copr-rpmbuild-status said something else: {error}") from None


_VERSION = re.compile(r"copr-rpmbuild (\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` from ``copr-rpmbuild --version``'s output, or None."""
    found = _VERSION.search(text)
    if found is None:
        return None
    major, minor, patch = found.groups()
    return int(major), int(minor), int(patch or 0)


def check_version(text: str, minimum: str, where: str) -> None:
    """Refuse a builder whose copr-rpmbuild is older than ``minimum`` or of another major
    version (its commands or their output may differ from what the pools expect).
    """
    found = parse_version(text)
    wanted = parse_version(f"copr-rpmbuild {minimum}")
    if found is None:
        shown = text.strip()[:200] or "nothing"
        raise PoolError(f"{where}: not a copr-rpmbuild: --version printed {shown!r}")
    if wanted is None:
        raise PoolError(f"bad minimum copr-rpmbuild version {minimum!r}")
    if found[0] != wanted[0] or found < wanted:
        shown = ".".join(map(str, found))
        raise PoolError(
            f"{where}: copr-rpmbuild {shown} is not compatible "
            f"(this backend needs {minimum} or later of major version {wanted[0]})"
        )
