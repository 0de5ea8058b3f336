"""The keyring itself (python-gnupg under it): names gpg prints in UTF-8, and a gpg that
hangs is stopped instead of holding a request forever."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from copr_keygen.gpg import GpgError, KeyRing

HANGING_GPG = """#!/bin/sh
# Answers python-gnupg's start-up question like gpg, then hangs on every real call.
for arg in "$@"; do
    [ "$arg" = --list-config ] && exec {gpg} "$@"
done
echo $$ >> {pids}
exec sleep 120
"""


def test_user_ids_keep_non_ascii_names(tmp_path: Path) -> None:
    keyring = KeyRing(tmp_path / "gnupg")
    keyring.prepare()
    try:
        fingerprint = keyring.generate("Zoë Ærøskøbing: ünïcode", "zoe#p@copr.example.org", 2048, 0)
        (key,) = keyring.find("zoe#p@copr.example.org")
        assert key.fingerprint == fingerprint
        assert key.uids == ("Zoë Ærøskøbing: ünïcode <zoe#p@copr.example.org>",)
        assert key.expires is None
        assert keyring.all_keys() == [key]
        # Stored as OpenPGP wants it (UTF-8), so that rpm, dnf and gpg elsewhere read it.
        raw = subprocess.run(
            ["gpg", "--homedir", str(keyring.home), "--with-colons", "--list-keys"],
            capture_output=True,
            check=True,
        )
        assert "Zoë Ærøskøbing".encode() in raw.stdout
    finally:
        keyring.stop_agent()


def test_a_hanging_gpg_is_killed_after_the_timeout(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    fake = tmp_path / "gpg"
    fake.write_text(HANGING_GPG.format(gpg=shutil.which("gpg"), pids=pids))
    fake.chmod(0o755)
    keyring = KeyRing(tmp_path / "gnupg", gpg_binary=str(fake), timeout=1)
    with pytest.raises(GpgError, match=r"gpg \(list keys\) did not finish in 1s"):
        keyring.find("a#b@copr.example.org")
    with pytest.raises(GpgError, match=r"gpg \(sign\) did not finish in 1s"):
        keyring.sign_detached("0" * 40, b"data", "SHA256")
    for pid in pids.read_text().split():
        # The killed gpg is gone (reaped by python-gnupg), not left running.
        alive = subprocess.run(["kill", "-0", pid], capture_output=True, check=False)
        assert alive.returncode != 0
