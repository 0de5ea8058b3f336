from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from copr_common.chroots import ChrootNameError
from copr_common.names import (
    InvalidNameError,
    ProjectDirName,
    build_dir_name,
    build_results_path,
    parse_build_dir_name,
    srpm_build_dir,
    srpm_results_path,
    validate_owner,
    validate_package_name,
    validate_project_name,
)


@pytest.mark.parametrize(
    ("build_id", "package", "expected"),
    [(1, "hello", "00000001-hello"), (12345678, "python-foo", "12345678-python-foo"),
     (123456789, "x", "123456789-x"), (0, "gcc-c++", "00000000-gcc-c++")],
)  # fmt: skip
def test_build_dir_name(build_id: int, package: str, expected: str) -> None:
    assert build_dir_name(build_id, package) == expected
    assert parse_build_dir_name(expected) == (build_id, package)


@pytest.mark.parametrize(
    ("build_id", "package"), [(-1, "hello"), (1, ""), (1, "../etc"), (1, "a/b"), (1, "..")]
)
def test_bad_build_dir_name(build_id: int, package: str) -> None:
    with pytest.raises(InvalidNameError):
        build_dir_name(build_id, package)


@pytest.mark.parametrize("name", ["hello", "1-hello", "0000001-hello", "00000001", "00000001-"])
def test_unparseable_build_dir(name: str) -> None:
    with pytest.raises(InvalidNameError, match="not a build directory"):
        parse_build_dir_name(name)


def test_srpm_build_dir() -> None:
    assert srpm_build_dir(42) == "srpm-builds/00000042"
    with pytest.raises(InvalidNameError):
        srpm_build_dir(-3)


def test_results_paths() -> None:
    assert build_results_path("alice", "hello:pr:3", "fedora-41-x86_64", 7, "hello") == (
        PurePosixPath("alice/hello:pr:3/fedora-41-x86_64/00000007-hello")
    )
    assert srpm_results_path("@copr", "tools", 7) == PurePosixPath(
        "@copr/tools/srpm-builds/00000007"
    )
    with pytest.raises(InvalidNameError):
        build_results_path("../root", "p", "fedora-41-x86_64", 1, "x")
    with pytest.raises(ChrootNameError):
        build_results_path("alice", "p", "../..", 1, "x")


@pytest.mark.parametrize(
    ("dirname", "kind", "suffix"),
    [("hello", "main", ""), ("hello:pr:12", "pr", "12"), ("hello:pr:007", "pr", "7"),
     ("hello:custom:my-feature_1.0", "custom", "my-feature_1.0")],
)  # fmt: skip
def test_project_dirs(dirname: str, kind: str, suffix: str) -> None:
    parsed = ProjectDirName.parse(dirname)
    assert (parsed.project, parsed.kind, parsed.suffix) == ("hello", kind, suffix)
    assert parsed.is_main == (kind == "main")
    assert str(parsed) == dirname.replace(":007", ":7")


def test_project_dir_constructors() -> None:
    assert str(ProjectDirName.pull_request("hello", 5)) == "hello:pr:5"
    assert str(ProjectDirName.custom("hello", "x")) == "hello:custom:x"
    with pytest.raises(InvalidNameError, match="negative"):
        ProjectDirName.pull_request("hello", -1)


@pytest.mark.parametrize(
    ("dirname", "message"),
    [("hello:pr:abc", "ends with a number"), ("hello:pr:", "expected"), ("hello:pr", "expected"),
     ("hello:foo:1", "must be 'pr' or 'custom'"), ("hello:custom:a/b", "custom suffix"),
     (":pr:1", "project name ''"), ("bad/name", "project name"), ("hello:custom:", "expected")],
)  # fmt: skip
def test_bad_project_dirs(dirname: str, message: str) -> None:
    with pytest.raises(InvalidNameError, match=message):
        ProjectDirName.parse(dirname)


@pytest.mark.parametrize("name", ["hello", "my_project", "gcc-13.2", "c++", "A.B-c_d"])
def test_good_project_names(name: str) -> None:
    assert validate_project_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "invalid"), ("a b", "invalid"), ("a/b", "invalid"), ("..", "reserved"),
     ("12345", "just a number"), ("proj:pr", "invalid"), ("hello\n", "invalid")],
)  # fmt: skip
def test_bad_project_names(name: str, message: str) -> None:
    with pytest.raises(InvalidNameError, match=message):
        validate_project_name(name)


def test_owners() -> None:
    assert validate_owner("alice") == "alice"
    assert validate_owner("@copr-team") == "@copr-team"
    for bad in ["", "@", "@@x", "a b", "../x", "-x", "bob\n"]:
        with pytest.raises(InvalidNameError):
            validate_owner(bad)


def test_package_names() -> None:
    assert validate_package_name("python3-foo+bar") == "python3-foo+bar"
    for bad in ["", ".", "a b", "a/b", "x\n"]:
        with pytest.raises(InvalidNameError):
            validate_package_name(bad)
