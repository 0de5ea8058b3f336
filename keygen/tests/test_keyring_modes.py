"""The keyring is the service's alone: nothing in the GnuPG home is readable by others."""

from __future__ import annotations

from pathlib import Path

from copr_keygen.gpg import KeyRing


def _open_to_others(home: Path) -> list[str]:
    return [
        f"{oct(path.stat().st_mode & 0o777)} {path.relative_to(home)}"
        for path in [home, *home.rglob("*")]
        if (path.is_file() or path.is_dir()) and path.stat().st_mode & 0o077
    ]


def test_keys_and_keyring_files_are_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    keyring = KeyRing(home)
    keyring.prepare()
    try:
        keyring.generate("Mode Test", "mode#test@copr.example.org", 2048, 30)
        files = {p.name for p in home.rglob("*") if p.is_file()}
        assert "pubring.kbx" in files
        assert any(p.suffix == ".key" for p in home.rglob("*"))
        assert _open_to_others(home) == []
    finally:
        keyring.stop_agent()


def test_prepare_tightens_an_old_home(tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o755)
    (home / "pubring.kbx").write_bytes(b"")
    (home / "pubring.kbx").chmod(0o644)
    (home / "private-keys-v1.d").mkdir(mode=0o755)
    KeyRing(home).prepare()
    assert _open_to_others(home) == []
