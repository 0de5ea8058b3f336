"""copr-rpmbuild's command line: task sources, usage errors, bad tasks and bad settings."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from copr_common.settings import EXIT_CONFIG
from copr_rpmbuild.errors import EXIT_BUILD_FAILED, EXIT_INFRASTRUCTURE, EXIT_USAGE
from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    hostile_spec,
    make_spec,
    make_tarball,
    publish_distgit,
    rpm_task,
    srpm_task,
    write_config,
)


def test_build_id_fetches_both_task_kinds_from_the_frontend(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    tarball = make_tarball(tmp_path, "fehello", "1.0")
    source_url = http_server.put("fe/fehello-1.0.tar.gz", tarball.read_bytes())
    spec_url = http_server.put("fe/fehello.spec", make_spec("fehello", source0=source_url))
    http_server.put_task("backend/get-srpm-build-task/81", srpm_task(81, "link", {"url": spec_url}))
    assert builder.run("--srpm", "--build-id", "81").returncode == 0, builder.log()
    assert builder.results()["name"] == "fehello"
    assert json.loads((builder.resultdir / "task.json").read_text())["build_id"] == 81

    url, commit = publish_distgit(
        http_server,
        tmp_path,
        "fehello",
        make_spec("fehello"),
        {"fehello-1.0.tar.gz": tarball.read_bytes()},
    )
    http_server.put_task(
        "backend/get-build-task/81-epel-9-x86_64",
        rpm_task(81, "epel-9-x86_64", url, commit, package_name="fehello"),
    )
    result = builder.run("--build-id", "81", "--chroot", "epel-9-x86_64", "--drop-resultdir")
    assert result.returncode == 0, builder.log()
    names = {(p["name"], p["release"], p["arch"]) for p in builder.results()["packages"]}
    assert names == {
        ("fehello", "1.el9", "src"),
        ("fehello", "1.el9", "x86_64"),
        ("fehello-extras", "1.el9", "noarch"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --build-id, --task-url and --task-file"),
        (["--build-id", "1", "--task-file", "x.json"], "give exactly one of"),
        (["--srpm", "--chroot", "fedora-41-x86_64", "--build-id", "1"], "--chroot cannot be used"),
        (["--build-id", "1"], "--build-id needs --chroot"),
        (["--build-id", "abc", "--srpm"], "invalid int value"),
    ],
)
def test_usage_errors(builder: Builder, args: list[str], message: str) -> None:
    result = builder.run(*args)
    assert result.returncode == EXIT_USAGE
    assert message in result.stderr
    assert not builder.resultdir.exists()


def test_bad_settings(builder: Builder, tmp_path: Path) -> None:
    builder.config.write_text('resultdir = "/tmp/x"\nno_such_key = 1\nmax_log_size = -5\n')
    result = builder.run("--srpm", "--build-id", "1")
    assert result.returncode == EXIT_CONFIG
    assert "'no_such_key'" in result.stderr
    assert "not a known setting" in result.stderr
    assert "'max_log_size'" in result.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"sandbox_uid": 0}, "uid between 1 and 2147483647"),
        ({"sandbox_uid": 65535}, "uid between 1 and 2147483647"),
        ({"sandbox_uid": 3000000000}, "uid between 1 and 2147483647"),
        ({"blocked_networks": ["10.0.0.0/33"]}, "is not an IP network"),
    ],
)
def test_bad_sandbox_settings(
    builder: Builder, http_server: HttpServer, setting: dict[str, Any], message: str
) -> None:
    write_config(builder.config, builder.config.parent, http_server, **setting)
    result = builder.run("--srpm", "--build-id", "1")
    assert result.returncode == EXIT_CONFIG
    assert message in result.stderr
    assert not builder.resultdir.exists()


def _bad_task(builder: Builder, tmp_path: Path, task: Any, *args: str) -> str:
    path = tmp_path / "task.json"
    path.write_text(task if isinstance(task, str) else json.dumps(task))
    result = builder.run("--task-file", str(path), *args)
    assert result.returncode == EXIT_INFRASTRUCTURE
    assert not (builder.resultdir / "results.json").exists()
    assert not (builder.resultdir / "success").exists()
    return builder.log()


def test_task_file_problems(builder: Builder, tmp_path: Path) -> None:
    missing = builder.run("--task-file", str(tmp_path / "nope.json"))
    assert missing.returncode == EXIT_INFRASTRUCTURE
    assert "cannot read task file" in builder.log()
    assert "is not valid JSON" in _bad_task(builder, tmp_path, "{not json")
    assert "expected a JSON object" in _bad_task(builder, tmp_path, "[]")
    log = _bad_task(builder, tmp_path, {"task_id": "1-x", "build_id": 1, "chroot": "f"})
    assert "invalid RPM task" in log
    assert "is not of the form <os>-<version>-<arch>" in log
    task = {"task_id": "1-fedora-41-x86_64", "build_id": 1, "chroot": "fedora-41-x86_64"}
    log = _bad_task(builder, tmp_path, task)
    assert "the task has neither a git_repo to build nor prebuilt_rpm_urls" in log
    log = _bad_task(
        builder,
        tmp_path,
        {"task_id": "1", "build_id": 1, "source_type": 77, "source_json": "{}"},
        "--srpm",
    )
    assert "invalid SRPM task" in log
    assert "source_type" in log
    log = _bad_task(
        builder,
        tmp_path,
        {"task_id": "1", "build_id": 1, "source_type": 1, "source_json": "{broken"},
        "--srpm",
    )
    assert "source_json is not valid JSON" in log
    log = _bad_task(
        builder, tmp_path, {**rpm_task(1, "fedora-41-x86_64", "x", None), "timeout": -1}
    )
    assert "timeout must not be a negative number" in log


def test_task_url_not_found(builder: Builder, http_server: HttpServer) -> None:
    result = builder.run("--srpm", "--task-url", f"{http_server.url}/no/such/task/")
    assert result.returncode == EXIT_INFRASTRUCTURE
    assert "cannot get the task from" in builder.log()
    assert "HTTP 404" in builder.log()


def test_frontend_unreachable(builder: Builder, http_server: HttpServer) -> None:
    write_config(
        builder.config,
        builder.config.parent,
        http_server,
        frontend_url="http://127.0.0.1:9",
        task_fetch_retry_for=1.0,
    )
    result = builder.run("--srpm", "--build-id", "5")
    assert result.returncode == EXIT_INFRASTRUCTURE
    assert "http://127.0.0.1:9/backend/get-srpm-build-task/5/" in builder.log()


def test_a_frontend_that_is_down_for_a_while_is_waited_for(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    import functools
    import http.server
    import socket
    import threading

    task = srpm_task(6, "link", {"url": f"{http_server.url}/missing.src.rpm"})
    served = tmp_path / "frontend"
    (served / "backend" / "get-srpm-build-task" / "6").mkdir(parents=True)
    (served / "backend" / "get-srpm-build-task" / "6" / "index.html").write_text(json.dumps(task))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(
        builder.config, builder.config.parent, http_server, frontend_url=f"http://127.0.0.1:{port}"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    servers: list[http.server.HTTPServer] = []

    def come_up_late() -> None:
        time.sleep(2)  # the frontend restarts: nothing listens on its port meanwhile
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        servers.append(server)
        server.serve_forever()

    thread = threading.Thread(target=come_up_late, daemon=True)
    thread.start()
    try:
        result = builder.run("--srpm", "--build-id", "6")
    finally:
        while not servers:
            time.sleep(0.05)
        servers[0].shutdown()
        servers[0].server_close()
    # The task was fetched once the frontend was back; the build itself then failed on
    # its missing SRPM, as it should.
    assert json.loads((builder.resultdir / "task.json").read_text())["task_id"] == "6"
    assert result.returncode != EXIT_INFRASTRUCTURE, builder.log()
    assert "missing.src.rpm" in builder.log()


def test_rpm_upload_source_type_is_refused(builder: Builder, tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    task = srpm_task(3, "link", {"url": "http://x/y.src.rpm"})
    task["source_type"] = 11
    path.write_text(json.dumps(task))
    assert builder.run("--srpm", "--task-file", str(path)).returncode == EXIT_BUILD_FAILED
    assert "'rpm_upload' cannot be built into an SRPM" in builder.log()


def _rpm(builder: Builder, tmp_path: Path, task: dict[str, Any]) -> int:
    path = tmp_path / "rpm-task.json"
    path.write_text(json.dumps(task))
    return builder.run("--task-file", str(path)).returncode


def test_missing_distgit_repo_is_an_infrastructure_failure(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    task = rpm_task(4, "fedora-41-x86_64", f"{http_server.url}/git/nobody/none/x.git", None)
    assert _rpm(builder, tmp_path, task) == EXIT_INFRASTRUCTURE
    assert "dist-git: cannot clone" in builder.log()


def test_lookaside_checksum_mismatch(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    tarball = make_tarball(tmp_path, "sumhello", "1.0")
    url, commit = publish_distgit(
        http_server,
        tmp_path,
        "sumhello",
        make_spec("sumhello"),
        {"sumhello-1.0.tar.gz": tarball.read_bytes()},
    )
    # Replace the cached file with other bytes under the same hash path.
    for cached in (http_server.root / "lookaside/alice/demo/sumhello").rglob("sumhello-1.0.tar.gz"):
        if cached.is_file():
            cached.write_bytes(b"tampered")
    task = rpm_task(5, "fedora-41-x86_64", url, commit, package_name="sumhello")
    assert _rpm(builder, tmp_path, task) == EXIT_BUILD_FAILED
    assert "has the wrong sha512 checksum" in builder.log()
    assert not (builder.resultdir / "results.json").exists()


def test_foreign_arch_needs_mock(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    url, commit = publish_distgit(http_server, tmp_path, "archy", hostile_spec("archy", "true"))
    task = rpm_task(6, "fedora-41-s390x", url, commit, package_name="archy")
    assert _rpm(builder, tmp_path, task) == EXIT_INFRASTRUCTURE
    assert "cannot build for s390x without mock" in builder.log()


def test_failing_build(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    url, commit = publish_distgit(http_server, tmp_path, "failer", hostile_spec("failer", "exit 7"))
    task = rpm_task(7, "fedora-41-x86_64", url, commit, package_name="failer")
    assert _rpm(builder, tmp_path, task) == EXIT_BUILD_FAILED
    assert "RPM build failed: %build failed" in builder.log()
    assert (
        builder.resultdir / "fail-reason.txt"
    ).read_text() == "RPM build failed: %build failed\n"
    assert not (builder.resultdir / "results.json").exists()
    assert "success" not in builder.files()
    assert list(builder.workspace.iterdir()) == []


def test_disk_quota(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    write_config(builder.config, builder.config.parent, http_server, max_result_size=8 * 1024**2)
    build = "head -c 64000000 /dev/zero > big.bin; sleep 5"
    url, commit = publish_distgit(http_server, tmp_path, "filler", hostile_spec("filler", build))
    task = rpm_task(8, "fedora-41-x86_64", url, commit, package_name="filler")
    assert _rpm(builder, tmp_path, task) == EXIT_BUILD_FAILED
    assert "over the limit of 8388608 bytes" in builder.log()
    assert list(builder.workspace.iterdir()) == []


def test_with_and_without_options(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    build = """
        echo with-foo=%{with foo} without-bar=%{with bar}
    """
    spec = hostile_spec("opts", build).replace(
        "%description", "%bcond_with foo\n%bcond_without bar\n\n%description", 1
    )
    url, commit = publish_distgit(http_server, tmp_path, "opts", spec)
    task = rpm_task(
        9,
        "fedora-41-x86_64",
        url,
        commit,
        package_name="opts",
        with_opts=["foo"],
        without_opts=["bar"],
    )
    assert _rpm(builder, tmp_path, task) == 0, builder.log()
    assert "with-foo=1 without-bar=0" in builder.log()


def test_unusable_state_dir(builder: Builder, http_server: HttpServer) -> None:
    write_config(builder.config, builder.config.parent, http_server, state_dir="/proc/none")
    result = builder.run("--srpm", "--build-id", "1")
    assert result.returncode == EXIT_INFRASTRUCTURE
    assert "cannot open the lock file /proc/none/lock" in result.stderr
    detached = builder.run("--srpm", "--build-id", "1", "--detached")
    assert detached.returncode == EXIT_INFRASTRUCTURE
    assert "cannot open the lock file" in detached.stderr


def test_missing_lookaside_file_is_an_infrastructure_failure(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    tarball = make_tarball(tmp_path, "gonehello", "1.0")
    url, commit = publish_distgit(
        http_server,
        tmp_path,
        "gonehello",
        make_spec("gonehello"),
        {"gonehello-1.0.tar.gz": tarball.read_bytes()},
    )
    for cached in (http_server.root / "lookaside/alice/demo/gonehello").rglob("*.tar.gz"):
        if cached.is_file():
            cached.unlink()
    task = rpm_task(10, "fedora-41-x86_64", url, commit, package_name="gonehello")
    assert _rpm(builder, tmp_path, task) == EXIT_INFRASTRUCTURE
    assert "dist-git lookaside: cannot download" in builder.log()
    assert "HTTP 404" in builder.log()
