"""Fetching a results directory over HTTP: recursion, filters, nothing outside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copr.v3 import CoprRequestException
from copr_cli.download import LOG_PATTERNS, RPM_PATTERNS, SPEC_PATTERNS, download_tree


@pytest.fixture
def tree(results_server: Any) -> str:
    build = results_server.root / "alice" / "proj" / "fedora-42-x86_64" / "00000007-hello"
    (build / "sub").mkdir(parents=True)
    files = {
        "hello-1.0-1.noarch.rpm": b"rpm" * 1000,
        "hello-1.0-1.src.rpm": b"srpm",
        "hello.spec": b"Name: hello\n",
        "builder-live.log.gz": b"\x1f\x8blog",
        "backend.log": b"log\n",
        "results.json": b"{}",
        "sub/extra.txt": b"x",
    }
    for name, content in files.items():
        (build / name).write_bytes(content)
    (results_server.root / "alice" / "proj" / "secret.txt").write_text("not below the dir")
    return f"{results_server.url}/alice/proj/fedora-42-x86_64/00000007-hello/"


def names(paths: list[Path], base: Path) -> list[str]:
    return sorted(str(path.relative_to(base)) for path in paths)


def test_everything(tree: str, tmp_path: Path) -> None:
    dest = tmp_path / "out"
    written = download_tree(tree, dest, [], progress=False)
    assert names(written, dest) == [
        "backend.log", "builder-live.log.gz", "hello-1.0-1.noarch.rpm", "hello-1.0-1.src.rpm",
        "hello.spec", "results.json", "sub/extra.txt",
    ]  # fmt: skip
    assert (dest / "hello-1.0-1.noarch.rpm").read_bytes() == b"rpm" * 1000
    # Served with Content-Encoding: gzip, saved as the bytes of the .gz file.
    assert (dest / "builder-live.log.gz").read_bytes() == b"\x1f\x8blog"


def test_filters(tree: str, tmp_path: Path) -> None:
    rpms = download_tree(tree, tmp_path / "a", RPM_PATTERNS, progress=False)
    assert names(rpms, tmp_path / "a") == ["hello-1.0-1.noarch.rpm", "hello-1.0-1.src.rpm"]
    other = download_tree(tree, tmp_path / "b", SPEC_PATTERNS + LOG_PATTERNS, progress=False)
    assert names(other, tmp_path / "b") == ["backend.log", "builder-live.log.gz", "hello.spec"]


def test_missing_directory_gives_nothing(results_server: Any, tmp_path: Path) -> None:
    assert download_tree(f"{results_server.url}/nothing/", tmp_path, [], progress=False) == []


def test_unreachable_server(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(CoprRequestException, match="Download from"):
        download_tree(f"http://127.0.0.1:{port}/results/", tmp_path, [], progress=False)


@pytest.fixture
def settings(settings: Any, results_server: Any) -> Any:
    """The frontend's settings with its results URL on the test's results server."""
    return settings.model_copy(update={"results_url": results_server.url})


def test_download_build_command(
    cli: Any, factory: Any, user: Any, results_server: Any, tmp_path: Path
) -> None:
    from copr_common.enums import StatusEnum

    project = factory.project(user, "proj", chroots=("fedora-42-x86_64", "epel-9-x86_64"))
    package = factory.package(project, "hello")
    build = factory.build(
        project, package=package, source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.succeeded,
    )  # fmt: skip
    for chroot in ("fedora-42-x86_64", "epel-9-x86_64"):
        directory = results_server.root / "alice" / "proj" / chroot / f"{build.id:08d}-hello"
        directory.mkdir(parents=True)
        (directory / f"hello-1.0-1.{chroot}.rpm").write_bytes(b"rpm")
        (directory / "hello.spec").write_text("Name: hello\n")
        (directory / "builder-live.log.gz").write_bytes(b"\x1f\x8b")
    dest = tmp_path / "out"
    result = cli("download-build", str(build.id), "--rpms", "--spec", "-r", "epel-9-x86_64",
                 "--dest", str(dest))  # fmt: skip
    assert result.code == 0, result
    assert result.out == f"epel-9-x86_64: 2 file(s) in {dest / 'epel-9-x86_64'}\n"
    assert sorted(p.name for p in (dest / "epel-9-x86_64").iterdir()) == [
        "hello-1.0-1.epel-9-x86_64.rpm", "hello.spec",
    ]  # fmt: skip
    assert not (dest / "fedora-42-x86_64").exists()
    result = cli("download-build", str(build.id), "--logs", "-d", str(dest))
    assert result.code == 0, result
    assert (dest / "fedora-42-x86_64" / "builder-live.log.gz").exists()


def test_download_build_without_results(cli: Any, factory: Any, user: Any, tmp_path: Path) -> None:
    project = factory.project(user, "proj")
    build = factory.build(project)
    result = cli("download-build", str(build.id), "-d", str(tmp_path))
    assert result.code == 0
    assert result.err == f"No data for build id: {build.id} and chroot: fedora-42-x86_64.\n"
