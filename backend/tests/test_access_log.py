"""The results server's access log shipped to the frontend: counted once, whatever the
runs, batches, rotations and lost answers; the command a timer runs."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from copr_backend.access_log import ship
from copr_common.backend_api import BackendApiClient, BackendApiError
from copr_frontend.testing import BACKEND_PASSWORD

from .conftest import BIN

CHROOT = "fedora-42-x86_64"


def _line(target: str, method: str = "GET", status: int = 200) -> str:
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    return f'10.0.0.7 - - [{stamp}] "{method} {target} HTTP/1.1" {status} 9 "-" "dnf"\n'


REPOMD = _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml")
RPM = _line(f"/results/alice/hello/{CHROOT}/00000001-hello/hello-1.0-1.noarch.rpm")
HEAD = _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml", method="HEAD")


def _totals(frontend: Any) -> tuple[int, int]:
    answer = frontend.app.test_client().get(
        "/api_3/project/downloads?ownername=alice&projectname=hello&days=1"
    )
    day = answer.get_json()["days"][-1]
    return day["rpm"], day["repomd"]


def _ship(config: Path, *logs: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "copr-backend-ship-access-log"), "--config", str(config), "--host", "be1",
         *map(str, logs)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_the_timers_command_ships_new_lines_once_across_runs_and_rotations(
    factory: Any, frontend: Any, make_backend: Any, tmp_path: Path
) -> None:
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    backend = make_backend()
    log = tmp_path / "access.log"
    log.write_text(REPOMD + RPM + HEAD + REPOMD[:30])  # the last line still being written
    first = _ship(backend.config, log)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{log}: 2 downloads\n"
    assert _ship(backend.config, log).stdout == f"{log}: 0 downloads\n"  # nothing new
    with log.open("a") as stream:
        stream.write(REPOMD[30:] + RPM)
    assert _ship(backend.config, log).stdout == f"{log}: 2 downloads\n"
    # Rotation: the old file gains a line before it is renamed; the new one has one.
    with log.open("a") as stream:
        stream.write(REPOMD)
    rotated = tmp_path / "access.log.1"
    log.rename(rotated)
    log.write_text(RPM)
    both = _ship(backend.config, rotated, log)
    assert both.stdout == f"{rotated}: 1 downloads\n{log}: 1 downloads\n", both.stderr
    assert _totals(frontend) == (3, 3)
    # Another host's log of the same inode is another log.
    other = ship(_client(frontend), [log], host="be2")
    assert other == {log: 1}
    assert _totals(frontend) == (4, 3)
    # A log it cannot read: a clear error, exit 1.
    missing = _ship(backend.config, tmp_path / "nope.log")
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr


def _client(frontend: Any) -> BackendApiClient:
    return BackendApiClient(frontend.url, BACKEND_PASSWORD, timeout=10, report_patience=0)


def test_batches_sent_twice_count_once_and_gaps_are_refused(
    factory: Any, frontend: Any, tmp_path: Path
) -> None:
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    log = tmp_path / "access.log"
    log.write_text(REPOMD * 5)
    client = _client(frontend)
    assert ship(client, [log], host="be1", batch_lines=2) == {log: 5}  # three batches
    assert _totals(frontend) == (0, 5)
    stat = log.stat()
    name = f"be1:{log}"
    assert client.access_log_offset(name, stat.st_ino, stat.st_size) == stat.st_size
    # The last batch again (its answer was lost): counted once.
    size = len(REPOMD.encode())
    again = {"log": name, "inode": stat.st_ino, "size": stat.st_size,
             "start": 4 * size, "end": 5 * size, "lines": [REPOMD]}  # fmt: skip
    assert client.access_log_lines(again) == 0
    # Lines past a gap: refused, nothing counted.
    with log.open("a") as stream:
        stream.write(REPOMD * 2)
    stat = log.stat()
    gap = {**again, "size": stat.st_size, "start": 6 * size, "end": 7 * size}
    with pytest.raises(BackendApiError) as refused:
        client.access_log_lines(gap)
    assert refused.value.status == 409
    assert "not the next ones" in str(refused.value)
    assert _totals(frontend) == (0, 5)
    assert ship(client, [log], host="be1") == {log: 2}
