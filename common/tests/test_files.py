"""write_atomically: a reader sees the old file or the new one, never a mix."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from copr_common.files import lock_file, write_atomically


def test_replaces_with_the_given_mode(tmp_path: Path) -> None:
    target = tmp_path / "pubkey.gpg"
    target.write_text("old")
    write_atomically(target, "new key\n")
    assert target.read_text() == "new key\n"
    assert target.stat().st_mode & 0o777 == 0o644
    write_atomically(target, b"\x00bytes", mode=0o600)
    assert target.read_bytes() == b"\x00bytes"
    assert target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pubkey.gpg"]


def test_concurrent_writers_never_collide(tmp_path: Path) -> None:
    """Workers of one project publish its key at once: each rename is a whole file."""
    target = tmp_path / "pubkey.gpg"
    contents = [f"key {n}\n" * 5000 for n in range(8)]
    errors: list[BaseException] = []

    def writer(text: str) -> None:
        try:
            for _ in range(20):
                write_atomically(target, text)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(text,)) for text in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert target.read_text() in contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pubkey.gpg"]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        write_atomically(target, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_lock_file_is_exclusive_and_follows_an_unlinked_holder(tmp_path: Path) -> None:
    path = tmp_path / "task.lock"
    held = lock_file(path)
    assert held is not None
    assert lock_file(path) is None  # another descriptor of this process counts too
    # The holder lets go by unlinking: the next taker gets the new file, not the old.
    path.unlink()
    os.close(held)
    again = lock_file(path)
    assert again is not None
    assert os.fstat(again).st_ino == path.stat().st_ino
    os.close(again)


def test_lock_file_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("not a lock")
    (tmp_path / "task.lock").symlink_to(target)
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        lock_file(tmp_path / "task.lock")
