"""Batched, incremental createrepo_c runs on real RPMs."""

from __future__ import annotations

import gzip
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from copr_backend.createrepo import Createrepo, CreaterepoError
from copr_backend.testing.helpers import listed


def place(chroot_dir: Path, build_id: int, rpm: Path) -> str:
    build_dir = chroot_dir / f"{build_id:08d}-{rpm.name.split('-')[0]}"
    build_dir.mkdir(parents=True)
    shutil.copyfile(rpm, build_dir / rpm.name)
    return build_dir.name


def test_thirty_builds_into_one_chroot_are_batched(tmp_path, tiny_rpms):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "alice" / "proj" / "fedora-42-x86_64"
    dirs = [place(chroot_dir, n + 1, rpm) for n, rpm in enumerate(tiny_rpms[:30])]

    def finish(build_dir: str) -> None:
        # Each thread is one finishing build worker with its own connection.
        Createrepo(tmp_path / "state", timeout=120).update(chroot_dir, [build_dir])

    with ThreadPoolExecutor(max_workers=30) as pool:
        list(pool.map(finish, dirs))

    runs = createrepo.runs(chroot_dir)
    assert 1 <= runs < 30
    assert listed(chroot_dir) == sorted(
        f"{d}/{rpm.name}" for d, rpm in zip(dirs, tiny_rpms, strict=False)
    )


def test_adding_one_build_reads_only_its_packages(tmp_path, tiny_rpms):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "repo"
    first = place(chroot_dir, 1, tiny_rpms[0])
    createrepo.update(chroot_dir, [first])
    # Spoil the old package on disk: a run that re-read it would fail or drop it.
    old = chroot_dir / first / tiny_rpms[0].name
    old.write_bytes(b"not an rpm any more")
    second = place(chroot_dir, 2, tiny_rpms[1])
    createrepo.update(chroot_dir, [second])
    assert listed(chroot_dir) == [f"{first}/{tiny_rpms[0].name}", f"{second}/{tiny_rpms[1].name}"]
    assert createrepo.runs(chroot_dir) == 2


def test_full_run_drops_removed_packages(tmp_path, tiny_rpms):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "repo"
    dirs = [place(chroot_dir, n + 1, rpm) for n, rpm in enumerate(tiny_rpms[:3])]
    createrepo.update(chroot_dir, dirs)
    shutil.rmtree(chroot_dir / dirs[1])
    createrepo.update(chroot_dir, full=True)
    assert listed(chroot_dir) == [
        f"{dirs[0]}/{tiny_rpms[0].name}",
        f"{dirs[2]}/{tiny_rpms[2].name}",
    ]


def test_empty_chroot_gets_empty_repodata(tmp_path):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "new" / "fedora-42-x86_64"
    createrepo.update(chroot_dir)
    assert (chroot_dir / "repodata" / "repomd.xml").exists()
    assert listed(chroot_dir) == []


def test_failed_run_is_reported_to_every_waiter(tmp_path):
    createrepo = Createrepo(tmp_path / "state", command="false", timeout=30)
    with pytest.raises(CreaterepoError, match="createrepo_c failed"):
        createrepo.update(tmp_path / "repo")
    assert not (tmp_path / "repo" / "repodata").exists()


def test_a_run_killed_halfway_does_not_block_the_next(tmp_path, tiny_rpms):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "repo"
    first = place(chroot_dir, 1, tiny_rpms[0])
    createrepo.update(chroot_dir, [first])
    # What createrepo_c leaves when it is killed: its scratch repodata.
    (chroot_dir / ".repodata").mkdir()
    (chroot_dir / ".repodata" / "primary.xml.gz").write_bytes(b"half written")
    second = place(chroot_dir, 2, tiny_rpms[1])
    createrepo.update(chroot_dir, [second])
    assert listed(chroot_dir) == [f"{first}/{tiny_rpms[0].name}", f"{second}/{tiny_rpms[1].name}"]
    assert not (chroot_dir / ".repodata").exists()


def test_devel_repo_lists_the_builds_the_public_repo_does_not(tmp_path, tiny_rpms):
    createrepo = Createrepo(tmp_path / "state", timeout=120)
    chroot_dir = tmp_path / "alice" / "proj" / "fedora-42-x86_64"
    createrepo.update(chroot_dir, full=True)  # the new project's empty public repo
    base = "http://results.test/results/alice/proj/fedora-42-x86_64/"
    first = place(chroot_dir, 1, tiny_rpms[0])
    createrepo.update(chroot_dir, [first], devel_baseurl=base)
    second = place(chroot_dir, 2, tiny_rpms[1])
    createrepo.update(chroot_dir, [second], devel_baseurl=base)
    assert listed(chroot_dir) == []
    assert listed(chroot_dir / "devel") == [
        f"{first}/{tiny_rpms[0].name}",
        f"{second}/{tiny_rpms[1].name}",
    ]
    (primary,) = (chroot_dir / "devel" / "repodata").glob("*primary.xml.gz")
    assert f'xml:base="{base}"' in gzip.decompress(primary.read_bytes()).decode()
    # Incremental: the second run recycled the first one's list, as for the public repo.
    assert createrepo.runs(chroot_dir / "devel") == 2
    # Regenerating the public repo publishes both.
    createrepo.update(chroot_dir, full=True)
    assert len(listed(chroot_dir)) == 2
