"""Importing real SRPMs into real git repos and the lookaside cache."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from copr_distgit.importer import import_srpm
from copr_distgit.settings import DistGitSettings
from copr_distgit.srpm import SrpmError
from copr_distgit.task import ImportTask

MakeSrpm = Callable[..., Path]
MakeTask = Callable[..., ImportTask]


def branch_files(repo: pygit2.Repository, branch: str) -> dict[str, bytes]:
    commit = repo.branches.local[branch].peel(pygit2.Commit)
    return {entry.name: repo[entry.id].data for entry in commit.tree}


def sha512(path: Path) -> str:
    return hashlib.sha512(path.read_bytes()).hexdigest()


def test_import_commits_spec_and_patch_and_stores_the_tarball(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    srpm = make_srpm("hello", "1.0")
    result = import_srpm(settings, make_task(1), srpm)

    assert result.reponame == "alice/demo/hello"
    assert result.pkg_version == "1.0-1"
    assert set(result.branch_commits) == {"f41", "f42"}
    # Both branches got the same content; as both are new, they share one commit.
    assert result.branch_commits["f41"] == result.branch_commits["f42"]

    repo = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    assert repo.is_bare
    files = branch_files(repo, "f41")
    assert sorted(files) == ["hello-fix.patch", "hello.spec", "sources"]
    assert b"Version:        1.0" in files["hello.spec"]
    assert b"+hello 1.0, patched" in files["hello-fix.patch"]

    tarball = (
        settings.lookaside_root / "alice/demo/hello/hello-1.0.tar.gz/sha512"
    ).iterdir().__next__() / "hello-1.0.tar.gz"
    digest = sha512(tarball)
    assert tarball.parent.name == digest
    assert files["sources"] == f"SHA512 (hello-1.0.tar.gz) = {digest}\n".encode()
    commit = repo[result.branch_commits["f41"]]
    assert commit.message.startswith("automatic import of hello-1.0-1")
    assert commit.author.name == settings.git_author_name


def test_new_version_updates_both_branches(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    first = import_srpm(settings, make_task(1), make_srpm("hello", "1.0"))
    second = import_srpm(settings, make_task(2), make_srpm("hello", "2.0"))

    repo = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    for branch in ("f41", "f42"):
        assert second.branch_commits[branch] != first.branch_commits[branch]
        tip = repo[second.branch_commits[branch]]
        assert [str(p) for p in tip.parent_ids] == [first.branch_commits[branch]]
        files = branch_files(repo, branch)
        assert b"Version:        2.0" in files["hello.spec"]
        assert b"hello-2.0.tar.gz" in files["sources"]
    assert second.pkg_version == "2.0-1"
    # Both tarballs stay in the lookaside cache: older commits still point at theirs.
    stored = sorted(p.name for p in (settings.lookaside_root / "alice/demo/hello").iterdir())
    assert stored == ["hello-1.0.tar.gz", "hello-2.0.tar.gz"]


def test_identical_reimport_is_a_no_op(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    srpm = make_srpm("hello", "1.0")
    first = import_srpm(settings, make_task(1), srpm)
    again = import_srpm(settings, make_task(2), srpm)
    assert again.branch_commits == first.branch_commits
    repo = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    assert len(list(repo.walk(repo.branches.local["f41"].target))) == 1


def test_added_branch_joins_the_existing_history(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    srpm = make_srpm("hello", "1.0")
    first = import_srpm(settings, make_task(1, branches=("f41",)), srpm)
    second = import_srpm(settings, make_task(2, branches=("f41", "el9")), srpm)
    assert second.branch_commits == {
        "f41": first.branch_commits["f41"],
        "el9": second.branch_commits["el9"],
    }
    assert second.branch_commits["el9"] != first.branch_commits["f41"]


def test_packages_and_projects_get_separate_repos(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    import_srpm(settings, make_task(1), make_srpm("hello", "1.0"))
    import_srpm(settings, make_task(2, pkg_name="other"), make_srpm("other", "3"))
    import_srpm(settings, make_task(3, project="demo:pr:12"), make_srpm("hello", "1.0"))
    import_srpm(settings, make_task(4, owner="@team"), make_srpm("hello", "1.0"))
    repos = sorted(
        str(p.relative_to(settings.git_root)) for p in settings.git_root.glob("*/*/*.git")
    )
    assert repos == [
        "@team/demo/hello.git",
        "alice/demo/hello.git",
        "alice/demo/other.git",
        "alice/demo:pr:12/hello.git",
    ]


def test_srpm_of_another_package_goes_into_the_package_of_the_build(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    # As in Copr: a build submitted for package 'hello' stays hello's, whatever its
    # spec calls itself; the spec keeps its own name in hello's repo.
    result = import_srpm(settings, make_task(1), make_srpm("other", "1"))
    assert result.pkg_name == "hello"
    assert result.reponame == "alice/demo/hello"
    repos = [str(p.relative_to(settings.git_root)) for p in settings.git_root.rglob("*.git")]
    assert repos == ["alice/demo/hello.git"]
    tree = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    commit = tree.get(next(iter(result.branch_commits.values())))
    assert "other.spec" in {entry.name for entry in commit.tree}


# --- bad SRPMs: a clear message and nothing stored ------------------------------------


def assert_nothing_stored(settings: DistGitSettings) -> None:
    assert list(settings.git_root.rglob("*.git")) == [] if settings.git_root.exists() else True
    if settings.git_root.exists():
        leftovers = [p for p in settings.git_root.rglob("*") if p.suffix != ".lock" and p.is_file()]
        assert leftovers == []
    if settings.lookaside_root.exists():
        assert [p for p in settings.lookaside_root.rglob("*") if p.is_file()] == []
    assert list(settings.work_root.iterdir()) == []


def test_not_an_rpm(settings: DistGitSettings, make_task: MakeTask, tmp_path: Path) -> None:
    fake = tmp_path / "hello.src.rpm"
    fake.write_text("<html>this is an error page, not a package</html>\n" * 10)
    with pytest.raises(SrpmError, match=r"^the file is not an RPM package \(no RPM lead\)$"):
        import_srpm(settings, make_task(1), fake)
    assert_nothing_stored(settings)


def test_binary_rpm(settings: DistGitSettings, make_task: MakeTask, binary_rpm: Path) -> None:
    with pytest.raises(SrpmError, match=r"^tool is a binary RPM, not a source RPM"):
        import_srpm(settings, make_task(1, pkg_name="tool"), binary_rpm)
    assert_nothing_stored(settings)


def test_damaged_payload(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask, tmp_path: Path
) -> None:
    data = bytearray(make_srpm("hello", "1.0").read_bytes())
    data[-40:-36] = b"XXXX"
    damaged = tmp_path / "damaged.src.rpm"
    damaged.write_bytes(bytes(data))
    with pytest.raises(SrpmError, match=r"^the SRPM is damaged \(digest check failed\)"):
        import_srpm(settings, make_task(1), damaged)
    assert_nothing_stored(settings)


def test_truncated_srpm(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask, tmp_path: Path
) -> None:
    data = make_srpm("hello", "1.0").read_bytes()
    truncated = tmp_path / "truncated.src.rpm"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(SrpmError, match=r"^(cannot read the SRPM's header|the SRPM is damaged)"):
        import_srpm(settings, make_task(1), truncated)
    assert_nothing_stored(settings)


def test_unreadable_spec(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    # A Latin-1 comment: rpmbuild packs it, but the spec is not UTF-8 text.
    srpm = make_srpm("hello", "1.0", spec_prefix="# Gr\xfc\xdfe\n".encode("latin-1"))
    with pytest.raises(SrpmError, match=r"^the spec file hello.spec is not readable text"):
        import_srpm(settings, make_task(1), srpm)
    assert_nothing_stored(settings)


def test_too_large(settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask) -> None:
    srpm = make_srpm("hello", "1.0")
    small = settings.model_copy(update={"max_srpm_size": 1000})
    with pytest.raises(SrpmError, match=r"^the SRPM is \d+ bytes, larger than the limit of 1000"):
        import_srpm(small, make_task(1), srpm)
    assert_nothing_stored(settings)


def test_failed_reimport_leaves_the_repo_as_it_was(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask, tmp_path: Path
) -> None:
    good = import_srpm(settings, make_task(1), make_srpm("hello", "1.0"))
    fake = tmp_path / "hello.src.rpm"
    fake.write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 200)
    with pytest.raises(SrpmError):
        import_srpm(settings, make_task(2), fake)
    repo = pygit2.Repository(str(settings.git_root / "alice/demo/hello.git"))
    assert {b: str(repo.branches.local[b].target) for b in ("f41", "f42")} == good.branch_commits


# --- concurrency ----------------------------------------------------------------------


def test_concurrent_imports_of_one_package_end_consistent(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    srpms = [make_srpm("hello", f"{v}.0") for v in (1, 2, 3, 4)]
    env = {**os.environ, "COPR_DISTGIT_STATE_DIR": str(settings.state_dir)}
    # Four real import commands at once, each its own process.
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "copr_distgit.cli",
                "import",
                str(srpm),
                "--owner",
                "alice",
                "--project",
                "demo",
                "--package",
                "hello",
                "--branch",
                "f41",
                "--branch",
                "f42",
                "--build-id",
                str(i + 1),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, srpm in enumerate(srpms)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out)["branch_commits"])
    path = settings.git_root / "alice/demo/hello.git"
    fsck = subprocess.run(
        ["git", "-C", str(path), "fsck", "--strict"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    repo = pygit2.Repository(str(path))
    f41 = str(repo.branches.local["f41"].target)
    f42 = str(repo.branches.local["f42"].target)
    # The last import wins on both branches, and each branch's history is one line with
    # one commit per distinct import (the imports ran one after another).
    assert f41 == f42
    assert f41 in {r["f41"] for r in results}
    history = list(repo.walk(repo.branches.local["f41"].target))
    assert len(history) == 4
    assert all(len(c.parent_ids) <= 1 for c in history)
    versions = {
        line.split(b":", 1)[1].strip()
        for c in history
        for line in repo[c.tree["hello.spec"].id].data.splitlines()
        if line.startswith(b"Version:")
    }
    assert versions == {b"1.0", b"2.0", b"3.0", b"4.0"}
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
