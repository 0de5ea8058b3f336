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
