"""``verify-rpm``: check RPM files against their build's signed provenance.

A build chroot's results hold ``provenance.intoto.json`` — an in-toto statement whose
subjects are the SHA-256 digests of the packages it produced — and its detached
signature by the project's key.  A file verifies when the signature is good under the
project's ``pubkey.gpg`` (read from the results, checked by gpg in a keyring of its own)
and the file's digest is one of the statement's subjects.  Anything else — a changed
package, a changed statement, another key — fails with the reason.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import requests

from copr.v3 import CoprException

TIMEOUT = (30, 120)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class VerificationFailed(CoprException):
    """A package does not match its build's signed provenance."""


def _fetch(session: requests.Session, url: str, what: str) -> bytes:
    try:
        response = session.get(url, timeout=TIMEOUT)
    except requests.RequestException as error:
        raise VerificationFailed(f"cannot fetch the {what} ({url}): {error}") from None
    if response.status_code != 200:
        raise VerificationFailed(f"cannot fetch the {what} ({url}): HTTP {response.status_code}")
    return response.content


def check_signature(statement: bytes, signature: bytes, pubkey: bytes) -> None:
    """Raise :class:`VerificationFailed` unless ``signature`` is a good one of
    ``statement`` by the key in ``pubkey``.
    """
    with tempfile.TemporaryDirectory(prefix="copr-verify-") as home:
        base = Path(home)
        (base / "pubkey.gpg").write_bytes(pubkey)
        (base / "statement").write_bytes(statement)
        (base / "statement.asc").write_bytes(signature)
        gpg = ["gpg", "--homedir", home, "--batch", "--quiet", "--no-tty"]
        try:
            imported = subprocess.run(
                [*gpg, "--import", str(base / "pubkey.gpg")],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
            checked = subprocess.run(
                [*gpg, "--status-fd", "1", "--verify", str(base / "statement.asc"),
                 str(base / "statement")],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise VerificationFailed(f"cannot run gpg: {error}") from None
        if imported.returncode != 0:
            raise VerificationFailed("the project's pubkey.gpg is not an OpenPGP key")
        if checked.returncode != 0 or "[GNUPG:] VALIDSIG" not in checked.stdout:
            raise VerificationFailed(
                "the provenance's signature does not verify with the project's key"
            )


def _subjects(statement: bytes) -> dict[str, str]:
    """sha256 digest -> subject name of an in-toto statement."""
    try:
        data: Any = json.loads(statement)
    except ValueError:
        raise VerificationFailed("the provenance is not JSON") from None
    if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
        raise VerificationFailed("the provenance is not an in-toto statement")
    found: dict[str, str] = {}
    for subject in data.get("subject") or []:
        if isinstance(subject, dict) and isinstance(subject.get("digest"), dict):
            digest = subject["digest"].get("sha256")
            if isinstance(digest, str):
                found[digest.lower()] = str(subject.get("name") or "")
    return found


def verify_files(
    chroot: Any, pubkey_url: str, files: list[Path], session: requests.Session | None = None
) -> list[str]:
    """Verify ``files`` against the build chroot's provenance; a line per file."""
    session = session or requests.Session()
    attestations = chroot.get("attestations") or {}
    if not attestations.get("provenance") or not attestations.get("provenance_signature"):
        raise VerificationFailed(
            f"chroot {chroot.get('name')} of the build has no signed provenance"
        )
    statement = _fetch(session, attestations["provenance"], "provenance")
    signature = _fetch(session, attestations["provenance_signature"], "provenance's signature")
    pubkey = _fetch(session, pubkey_url, "project's key")
    check_signature(statement, signature, pubkey)
    subjects = _subjects(statement)
    lines = []
    for path in files:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise VerificationFailed(f"cannot read {path}: {error.strerror}") from None
        if digest not in subjects:
            raise VerificationFailed(
                f"{path.name}: its sha256 {digest} is none the provenance of chroot "
                f"{chroot.get('name')} names: not a package this build produced"
            )
        lines.append(f"{path.name}: verified ({subjects[digest]}, chroot {chroot.get('name')})")
    return lines
