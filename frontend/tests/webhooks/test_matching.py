"""Copr's matching rules, as pure functions."""

from __future__ import annotations

import pytest

from copr_frontend.webhooks.matching import in_subdirectory, normalize_clone_url, tag_names_package


@pytest.mark.parametrize(
    "spelling",
    [
        "https://github.com/owner/repo",
        "https://github.com/owner/repo.git",
        "https://github.com/owner/repo/",
        "https://github.com/owner/repo.git/",
        "http://github.com/owner/repo",
        "git://github.com/owner/repo.git",
        "https://user:token@github.com/owner/repo.git",
        "https://GitHub.com:443/owner/repo",
        " https://github.com/owner/repo ",
    ],
)
def test_clone_url_spellings_of_one_repository(spelling: str) -> None:
    assert normalize_clone_url(spelling) == "github.com/owner/repo"


@pytest.mark.parametrize(
    "other",
    [
        "https://github.com/owner/repo2",
        "https://github.com/other/repo",
        "https://gitlab.com/owner/repo",
        "https://github.com:8443/owner/repo",
        "https://github.com/owner/repo/sub",
    ],
)
def test_other_repositories_differ(other: str) -> None:
    assert normalize_clone_url(other) != normalize_clone_url("https://github.com/owner/repo")


@pytest.mark.parametrize(
    ("subdir", "path", "expected"),
    [
        ("", "anything/at/all", True),
        ("pkg", "pkg/hello.spec", True),
        ("pkg/", "pkg/deep/file", True),
        ("./pkg", "pkg/hello.spec", True),
        ("pkg", "pkgs/hello.spec", False),
        ("pkg", "other/pkg/hello.spec", False),
        ("pkg", "pkg", False),
        ("pkg", "", False),
    ],
)
def test_in_subdirectory(subdir: str, path: str, expected: bool) -> None:
    assert in_subdirectory(subdir, path) is expected


@pytest.mark.parametrize(
    ("tag", "package", "expected"),
    [
        ("hello-1.0", "hello", True),
        ("hello-1.0-1", "hello", True),
        ("hello_1.0", "hello", True),
        ("my-pkg-2.3-4", "my-pkg", True),
        ("my_pkg_2.3", "my-pkg", True),
        ("my-pkg-2.3", "my_pkg", True),
        ("hello-v1.0", "hello", True),
        ("v1.0", "hello", False),
        ("1.0", "hello", False),
        ("hello", "hello", False),
        ("hello-world", "hello", False),
        ("hello-world-1.0", "hello", False),
        ("hellox-1.0", "hello", False),
        ("hello-1.0-1-2", "hello", False),
    ],
)
def test_tag_names_package(tag: str, package: str, expected: bool) -> None:
    assert tag_names_package(tag, package) is expected
