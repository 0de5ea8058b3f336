"""Download statistics: real dnf against the results server, the counting job, API v3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from copr_common.testing.services import free_port
from copr_frontend.cli import main
from copr_frontend.downloads.logic import package_name, parse_line
from copr_frontend.downloads.models import DownloadCount, DownloadLogPosition
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

CHROOT = "fedora-42-x86_64"
LINE = '127.0.0.1 - - [02/Dec/2026:23:30:00 -0100] "{method} {path} HTTP/1.1" {status} 10 "-" "dnf"'
API = "/api_3/project/downloads?ownername=alice&projectname=hello"


def _line(path: str, method: str = "GET", status: int = 200) -> str:
    return LINE.format(method=method, path=path, status=status)


def test_what_a_log_line_counts() -> None:
    rpm = parse_line(
        _line(f"/results/alice/hello:pr:3/{CHROOT}/00000001-hello/hello-1.0-1.noarch.rpm"),
        "/results",
    )
    assert rpm is not None
    # 23:30 at -01:00 is 00:30 UTC of the next day.
    assert (rpm.ownername, rpm.dirname, rpm.chroot, rpm.package, rpm.kind) == (
        "alice", "hello:pr:3", CHROOT, "hello", "rpm",
    )  # fmt: skip
    assert rpm.day == 1796256000  # 2026-12-03 00:00 UTC
    repomd = parse_line(_line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml"), "/results")
    assert repomd is not None
    assert (repomd.kind, repomd.package) == ("repomd", "")
    for line in (
        _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml", method="HEAD"),
        _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml", status=304),
        _line(f"/results/alice/hello/{CHROOT}/00000001-hello/hello-1.0-1.noarch.rpm", status=206),
        _line(f"/results/alice/hello/{CHROOT}/00000001-hello/hello-1.0-1.noarch.rpm", status=404),
        _line("/results/alice/hello/srpm-builds/00000001/hello-1.0-1.src.rpm"),
        _line(f"/results/alice/hello/{CHROOT}/00000001-hello/builder-live.log.gz"),
        _line(f"/elsewhere/alice/hello/{CHROOT}/repodata/repomd.xml"),
        _line(f"/results/alice/hello/{CHROOT}/00000001-hello/../x/y.noarch.rpm"),
        "garbage",
        _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml").replace("02/Dec", "99/Foo"),
    ):
        assert parse_line(line, "/results") is None, line


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("hello-1.0-1.fc42.x86_64.rpm", "hello"),
        ("python3-foo-bar-2.1-3.noarch.rpm", "python3-foo-bar"),
        ("hello.rpm", None),
        ("hello-1.0.noarch.rpm", None),
        ("hello-1.0-1.noarch.txt", None),
    ],
)
def test_package_name(filename: str, name: str | None) -> None:
    assert package_name(filename) == name


def _count(settings: FrontendSettings, *logs: Path, expect: int = 0) -> str:
    env = {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
        "COPR_FRONTEND_RESULTS_URL": settings.results_url,
    }
    result = CliRunner().invoke(main, ["count-downloads", *map(str, logs)], env=env)
    assert result.exit_code == expect, result.output
    return result.output


def test_offsets_rotation_and_partial_lines(
    client: FlaskClient, factory: Factory, settings: FrontendSettings, tmp_path: Path
) -> None:
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    today = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
    target = f"/results/alice/hello/{CHROOT}/repodata/repomd.xml"
    repomd = f'1.2.3.4 - - [{today}] "GET {target} HTTP/1.1" 200 5 "-" "dnf"\n'
    log = tmp_path / "access.log"
    log.write_text(repomd * 2 + repomd[:20])  # the last line still being written
    assert "2 downloads" in _count(settings, log)
    assert "0 downloads" in _count(settings, log)  # nothing new: nothing counted twice
    with log.open("a") as stream:
        stream.write(repomd[20:] + repomd)
    assert "2 downloads" in _count(settings, log)
    # Rotation: the old file gains a line before it is renamed, the new one starts empty.
    with log.open("a") as stream:
        stream.write(repomd)
    log.rename(tmp_path / "access.log.1")
    log.write_text(repomd)
    out = _count(settings, tmp_path / "access.log.1", log)
    assert "access.log.1: 1 downloads" in out
    assert "access.log: 1 downloads" in out
    days = client.get(API + "&days=1").get_json()["days"]
    assert [d["repomd"] for d in days] == [6]
    page = client.get("/coprs/alice/hello/").get_data(as_text=True)
    assert "RPM downloads: 0 · repository refreshes: 6" in page
    # Today's bar is the highest: the full 64 px of the chart.
    assert 'y="0" width="3" height="64"' in page
    assert page.count("<rect ") == 60  # two bars for each of the 30 days
    # A missing log is a clear error, and counts nothing.
    missing = _count(settings, tmp_path / "nope.log", expect=1)
    assert "cannot read" in missing


def test_bad_queries(client: FlaskClient, factory: Factory) -> None:
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    for query, status in (
        ("&days=0", 400),
        ("&days=367", 400),
        ("&days=many", 400),
        ("&chrootname=" + "x" * 201, 400),
    ):
        response = client.get(API + query)
        assert response.status_code == status, query
        assert "error" in response.get_json()
    assert client.get("/api_3/project/downloads?ownername=alice&projectname=no").status_code == 404
    assert client.get("/api_3/project/downloads?ownername=alice").status_code == 400


@pytest.fixture
def results_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """``copr_local.results_server`` on a tree with one noarch RPM in a real repository."""
    public = tmp_path / "public_html"
    chroot = public / "results" / "alice" / "hello" / CHROOT
    build = chroot / "00000001-hello"
    build.mkdir(parents=True)
    spec = tmp_path / "hello.spec"
    spec.write_text(
        textwrap.dedent("""\
            Name: hello
            Version: 1.0
            Release: 1
            Summary: s
            License: MIT
            BuildArch: noarch
            %description
            d
            %files
        """)
    )
    top = tmp_path / "rpmbuild"
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}",
         "--define", "__os_install_post %{nil}", str(spec)],
        check=True, capture_output=True,
    )  # fmt: skip
    (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
    (build / rpm.name).write_bytes(rpm.read_bytes())
    subprocess.run(["createrepo_c", "-q", str(chroot)], check=True)
    log = tmp_path / "access.log"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "copr_local.results_server", str(port), "--directory", str(public),
         "--access-log", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", log, chroot
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _dnf(root: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    repos = root / "repos"
    for directory in (repos, root / "log", root / "cache"):
        directory.mkdir(parents=True, exist_ok=True)
    (repos / "copr.repo").write_text(
        f"[copr-hello]\nname=hello\nbaseurl={url}/results/alice/hello/{CHROOT}/\ngpgcheck=0\n"
    )
    return subprocess.run(
        ["dnf", "--disableplugin=local", f"--installroot={root}", "--releasever=42", "-y",
         f"--setopt=reposdir={repos}", f"--setopt=cachedir={root / 'cache'}",
         f"--setopt=logdir={root / 'log'}", "--setopt=metadata_expire=0", *args],
        capture_output=True, text=True, timeout=180, check=False, cwd=root,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )  # fmt: skip


def test_downloads_made_by_dnf_show_up_in_the_statistics(
    client: FlaskClient,
    factory: Factory,
    settings: FrontendSettings,
    results_server: tuple[str, Path, Path],
    tmp_path: Path,
) -> None:
    url, log, _ = results_server
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    settings_for_job = settings.model_copy(update={"results_url": f"{url}/results"})
    root = tmp_path / "root"
    done = _dnf(root, url, "download", f"--destdir={tmp_path / 'got'}", "hello")
    assert done.returncode == 0, done.stdout + done.stderr
    assert list((tmp_path / "got").glob("hello-1.0-1.noarch.rpm"))
    _count(settings_for_job, log)

    answer = client.get(API).get_json()
    assert len(answer["days"]) == 30
    today = answer["days"][-1]
    assert today["rpm"] == 1
    assert today["repomd"] >= 1
    assert {(c["chroot"], c["package"], c["kind"]) for c in answer["counts"]} == {
        (CHROOT, "hello", "rpm"),
        (CHROOT, None, "repomd"),
    }
    only = client.get(API + f"&chrootname={CHROOT}&packagename=hello&days=7").get_json()
    assert [(c["package"], c["count"]) for c in only["counts"]] == [("hello", 1)]
    assert client.get(API + "&chrootname=epel-9-x86_64").get_json()["counts"] == []


def test_shipped_lines_bad_input_is_400_and_stores_nothing(
    client: FlaskClient, factory: Factory, db_session: Any, backend_headers: dict[str, str]
) -> None:
    factory.project(factory.user("alice"), "hello", chroots=[CHROOT])
    line = _line(f"/results/alice/hello/{CHROOT}/repodata/repomd.xml") + "\n"
    good = {"log": "be1:/var/log/access.log", "inode": 7, "size": 1000, "start": 0,
            "end": len(line), "lines": [line]}  # fmt: skip
    for bad, field in (
        ({"log": "/var/log/access.log"}, "'log'"),  # no host: a log of the frontend's own
        ({"log": ""}, "'log'"),
        ({"log": "be1:" + "x" * 1000}, "'log'"),
        ({"inode": -1}, "inode"),
        ({"size": "big"}, "size"),
        ({"start": None}, "start"),
        ({"end": 1001}, "end"),
        ({"start": 50, "end": 40}, "end"),
        ({"lines": "one"}, "'lines'"),
        ({"lines": [1]}, "'lines'"),
        ({"lines": ["x" * 20000]}, "'lines'"),
        ({"lines": ["x"] * 10001}, "'lines'"),
    ):
        answer = client.post("/backend/access-log/", json={**good, **bad}, headers=backend_headers)
        assert answer.status_code == 400, (bad, answer.get_json())
        assert field in answer.get_json()["error"], bad
    assert client.post("/backend/access-log/", json=good).status_code == 401
    assert (
        client.post("/backend/access-log/", data="[]", headers=backend_headers).status_code == 400
    )
    for query in ("log=/x&inode=1&size=1", "log=be1:/x&inode=-1&size=1", "log=be1:/x&inode=1"):
        assert client.get(f"/backend/access-log/?{query}").status_code == 400, query
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(DownloadLogPosition)) == 0
    assert db_session.scalar(select(func.count()).select_from(DownloadCount)) == 0
    # The good one counts, and where to go on from is where it ended.
    assert client.post("/backend/access-log/", json=good, headers=backend_headers).get_json() == {
        "counted": 1
    }
    offset = client.get("/backend/access-log/?log=be1:/var/log/access.log&inode=7&size=1000")
    assert offset.get_json() == {"offset": len(line)}
    # A file shorter than where counting stopped was truncated: from the start again.
    shorter = client.get("/backend/access-log/?log=be1:/var/log/access.log&inode=7&size=10")
    assert shorter.get_json() == {"offset": 0}
