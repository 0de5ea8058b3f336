"""Parsing the frontend's import tasks: every bad field gets a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from copr_distgit.task import ImportTask, InvalidTaskError

GOOD: dict[str, Any] = {
    "build_id": 42,
    "owner": "@team",
    "project": "demo:pr:3",
    "branches": ["f41", "el9", "f41"],
    "pkg_name": "hello",
    "srpm_url": "https://backend.example/results/@team/demo:pr:3/srpm-builds/00000042/hello.src.rpm",
    "sandbox": "team--alice",
    "background": True,
}


def test_a_frontend_task_round_trips() -> None:
    task = ImportTask.from_dict(GOOD)
    assert task.id == "42"
    assert task.reponame == "@team/demo:pr:3/hello"
    assert task.branches == ("f41", "el9")
    assert task.priority == 100
    assert ImportTask.from_dict(task.to_dict()) == task


def test_foreground_builds_come_first() -> None:
    assert ImportTask.from_dict({**GOOD, "background": False}).priority == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"build_id": "42"}, "'build_id' must be a non-negative integer, got '42'"),
        ({"build_id": -1}, "'build_id' must be a non-negative integer"),
        ({"build_id": True}, "'build_id' must be a non-negative integer"),
        ({"owner": "../etc"}, "build 42: owner '../etc' is invalid"),
        ({"project": "demo:xx:1"}, "build 42: project dir 'demo:xx:1' is invalid"),
        ({"pkg_name": "a/b"}, "build 42: package name 'a/b' is invalid"),
        ({"pkg_name": ""}, "build 42: 'pkg_name' must be a non-empty string"),
        ({"branches": []}, "build 42: 'branches' must be a non-empty list"),
        ({"branches": "f41"}, "build 42: 'branches' must be a non-empty list"),
        ({"branches": ["f41", "../x"]}, "build 42: invalid branch name '../x'"),
        ({"branches": ["a..b"]}, "build 42: invalid branch name 'a..b'"),
        ({"srpm_url": "file:///etc/passwd"}, "build 42: 'srpm_url' must be an http(s) URL"),
    ],
)
def test_bad_fields(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTaskError) as error:
        ImportTask.from_dict({**GOOD, **change})
    assert str(error.value).startswith(message)


def test_missing_fields_are_named() -> None:
    data = {k: v for k, v in GOOD.items() if k not in ("branches", "srpm_url")}
    with pytest.raises(InvalidTaskError, match="build 42: missing branches, srpm_url"):
        ImportTask.from_dict(data)


def test_not_an_object() -> None:
    with pytest.raises(InvalidTaskError, match="must be a JSON object"):
        ImportTask.from_dict(["build_id", 42])
