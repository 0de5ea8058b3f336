"""Hostile packages: what a %build does must stay inside the sandbox and its limits."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED, EXIT_SUCCESS, EXIT_TIMEOUT
from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    Listener,
    hostile_spec,
    publish_distgit,
    rpm_task,
    write_config,
)

CHROOT = "fedora-41-x86_64"


def build_hostile(
    builder: Builder,
    http: HttpServer,
    tmp_path: Path,
    name: str,
    build: str,
    *,
    wait: float = 60,
    **task: Any,
) -> tuple[int, float]:
    url, commit = publish_distgit(http, tmp_path, name, hostile_spec(name, build))
    task_file = tmp_path / f"{name}.json"
    task_file.write_text(json.dumps(rpm_task(31, CHROOT, url, commit, package_name=name, **task)))
    started = time.monotonic()
    result = builder.run("--task-file", str(task_file), timeout=wait)
    return result.returncode, time.monotonic() - started


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _connect_build(port: int) -> str:
    return f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' && echo CONNECTED"


def test_build_cannot_reach_host_loopback_without_enable_net(
    builder: Builder, http_server: HttpServer, tmp_path: Path, listener: Listener
) -> None:
    code, _ = build_hostile(
        builder, http_server, tmp_path, "netprobe", _connect_build(listener.port)
    )
    assert code == EXIT_BUILD_FAILED, builder.log()
    assert listener.connections == 0
    assert "CONNECTED" not in builder.log()
    assert "success" not in builder.files()


def test_enable_net_build_cannot_reach_host_loopback_either(
    builder: Builder, http_server: HttpServer, tmp_path: Path, listener: Listener
) -> None:
    # Its network is outbound only (test_sandbox_network.py has the internet side).
    code, _ = build_hostile(
        builder,
        http_server,
        tmp_path,
        "netprobe",
        _connect_build(listener.port),
        enable_net=True,
    )
    assert code == EXIT_BUILD_FAILED, builder.log()
    assert listener.connections == 0
    assert "CONNECTED" not in builder.log()
    assert "outbound-only network" in builder.log()


def test_writes_to_etc_and_home_do_not_reach_the_host(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    marker = f"copr-hostile-{uuid.uuid4().hex}"
    home = Path(os.environ.get("HOME", "/root"))
    build = f"""
        echo owned > /etc/{marker} && echo WROTE-ETC
        echo owned > $HOME/{marker} && echo WROTE-HOME
        echo owned > {home}/{marker} && echo WROTE-HOST-HOME
        echo owned > /root/{marker} && echo WROTE-ROOT
        mkdir -p $HOME/.config && echo owned > $HOME/.config/{marker}
        true
    """
    code, _ = build_hostile(builder, http_server, tmp_path, "writer", build)
    log = builder.log()
    assert code == EXIT_SUCCESS, log
    assert "WROTE-ETC" not in log
    assert "WROTE-HOST-HOME" not in log
    assert "WROTE-ROOT" not in log
    for path in (
        Path("/etc") / marker,
        home / marker,
        Path("/root") / marker,
        home / ".config" / marker,
    ):
        assert not path.exists(), path
    # The workspace, where the sandbox's $HOME writes could have landed, is gone too.
    assert list(builder.workspace.iterdir()) == []


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_endless_build_is_killed_at_its_timeout_with_its_children(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    seconds = str(900000 + os.getpid() % 1000)
    # A child that ignores INT and TERM, one in its own session, and the build itself.
    build = f"""
        bash -c "trap '' INT TERM HUP; sleep {seconds}; sleep {seconds}" &
        setsid sleep {seconds} &
        echo ALL-STARTED
        sleep {seconds}
    """
    code, took = build_hostile(builder, http_server, tmp_path, "forever", build, timeout=3)
    assert code == EXIT_TIMEOUT, builder.log()
    assert took < 30
    assert "ALL-STARTED" in builder.log()
    assert (builder.resultdir / "fail-reason.txt").read_text() == (
        "RPM build timed out during %build: it ran longer than its timeout of 3 s "
        "(rpmbuild -ba was killed)\n"
    )
    assert "success" not in builder.files()
    assert _processes_with(seconds) == []


def test_endless_output_is_truncated_and_fails_cleanly(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    write_config(
        builder.config,
        builder.config.parent,
        http_server,
        max_log_size=512 * 1024,
    )
    code, took = build_hostile(
        builder, http_server, tmp_path, "chatty", "yes 'copr hostile output, forever and ever'"
    )
    log = builder.log()
    assert code == EXIT_BUILD_FAILED, log[-2000:]
    assert took < 30
    assert "log truncated at 524288 bytes" in log
    assert (builder.resultdir / "builder-live.log").stat().st_size < 512 * 1024 + 4096
    assert "printed more than the log limit" in log
    assert "success" not in builder.files()


def test_links_planted_in_the_workspace_are_not_followed_by_the_host(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    from copr_rpmbuild.testing import make_spec, srpm_task

    script = f"""#!/bin/sh
cat > hello.spec <<'SPEC'
{make_spec()}SPEC
mkdir hello-1.0 && echo hi > hello-1.0/hello.txt && tar czf hello-1.0.tar.gz hello-1.0
ln -s /etc /builddir/srpm-out
ln -s /root /builddir/sources
"""
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(33, "custom", {"script": script})))
    before = sorted(p.name for p in Path("/etc").iterdir())
    result = builder.run("--srpm", "--task-file", str(task))
    assert result.returncode == EXIT_BUILD_FAILED
    assert "srpm-out in the build workspace is not a directory" in builder.log()
    assert sorted(p.name for p in Path("/etc").iterdir()) == before
    assert "success" not in builder.files()


def test_memory_limit(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    write_config(builder.config, builder.config.parent, http_server, min_memory_mb=256)
    build = """
        python3 -c 'bytearray(700 * 1024 * 1024)' && echo ALLOCATED
        exit 1
    """
    code, _ = build_hostile(builder, http_server, tmp_path, "hungry", build, memory_reqs=128)
    log = builder.log()
    assert code == EXIT_BUILD_FAILED, log
    assert "MemoryError" in log
    assert "ALLOCATED" not in log
    assert (builder.resultdir / "fail-reason.txt").read_text() == (
        "RPM build failed: out of memory in %build (the build's processes may use 256 MiB): "
        "MemoryError\n"
    )


def test_endless_custom_script_is_killed_at_its_timeout(builder: Builder, tmp_path: Path) -> None:
    from copr_rpmbuild.testing import srpm_task

    seconds = str(700000 + os.getpid() % 1000)
    script = f"#!/bin/sh\nsleep {seconds} &\nsleep {seconds}\n"
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(34, "custom", {"script": script}, timeout=2)))
    started = time.monotonic()
    result = builder.run("--srpm", "--task-file", str(task))
    assert result.returncode == EXIT_TIMEOUT, builder.log()
    assert time.monotonic() - started < 20
    assert "SRPM build timed out: it ran longer than its timeout of 2 s" in builder.log()
    assert _processes_with(seconds) == []


def test_fork_bomb_is_capped_and_cleaned_up(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    write_config(builder.config, builder.config.parent, http_server, max_processes=40)
    seconds = str(600000 + os.getpid() % 1000)
    build = f"""
        i=0
        while [ $i -lt 400 ]; do sleep {seconds} & i=$((i+1)); done
        echo FORKED-ALL
    """
    code, took = build_hostile(builder, http_server, tmp_path, "forker", build)
    log = builder.log()
    assert code == EXIT_BUILD_FAILED, log
    assert "FORKED-ALL" not in log
    assert "fork" in log.lower()
    assert took < 30
    assert _processes_with(seconds) == []
