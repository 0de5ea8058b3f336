"""The keyring: a GnuPG home driven through the ``gpg`` command line.

Only this module runs ``gpg``.  Every call is ``--batch`` with a private ``--homedir``;
keys are made without a passphrase because the home itself is the secret (it lives on
the keygen host, readable only by the service).  Nothing here exports secret keys.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["GpgError", "KeyRecord", "KeyRing"]

DAY = 24 * 3600


class GpgError(RuntimeError):
    """``gpg`` failed; the message carries the command and the end of its stderr."""


@dataclass(frozen=True)
class KeyRecord:
    """One secret key in the keyring, as ``gpg --with-colons`` lists it."""

    fingerprint: str
    key_id: str
    algorithm: int
    length: int
    created: int
    expires: int | None
    uids: tuple[str, ...]
    emails: tuple[str, ...]
    subkey_fingerprints: tuple[str, ...] = ()
    revoked: bool = False

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and self.expires <= (time.time() if now is None else now)

    def as_json(self) -> dict[str, object]:
        return {
            "fingerprint": self.fingerprint,
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "length": self.length,
            "uids": list(self.uids),
            "created_on": self.created,
            "expires_on": self.expires,
            "expired": self.expired(),
            "revoked": self.revoked,
        }


class KeyRing:
    """A GnuPG home directory owned by this service."""

    def __init__(self, home: Path, gpg_binary: str = "/usr/bin/gpg", timeout: float = 600.0):
        self.home = home
        self.gpg_binary = gpg_binary
        self.timeout = timeout

    def prepare(self) -> None:
        """Create the home with owner-only permissions (gpg warns about anything wider),
        and tighten whatever an older version left readable to others in it."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)
        for path in self.home.rglob("*"):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue  # gpg-agent's sockets live here too
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                path.chmod(mode & 0o700)

    # --- reading ---------------------------------------------------------------------

    def find(self, email: str) -> list[KeyRecord]:
        """Secret keys with a user id whose e-mail is exactly ``email`` (oldest first)."""
        result = self._run(
            ["--with-colons", "--fixed-list-mode", "--list-secret-keys", "--", f"<{email}>"],
            check=False,
        )
        if result.returncode != 0:
            # gpg exits 2 when nothing matches; anything else is a real failure.
            if b"No secret key" in result.stderr or b"No public key" in result.stderr:
                return []
            raise self._error("list keys", result)
        wanted = email.lower()
        keys = [k for k in _parse_colons(result.stdout) if wanted in k.emails]
        return sorted(keys, key=lambda k: k.created)

    def all_keys(self) -> list[KeyRecord]:
        result = self._run(
            ["--with-colons", "--fixed-list-mode", "--list-secret-keys"], check=False
        )
        if result.returncode != 0 and result.stdout.strip():
            raise self._error("list keys", result)
        return _parse_colons(result.stdout)

    def export_public(self, fingerprint: str) -> str:
        """The ASCII-armored public key (with its user ids and self-signatures)."""
        result = self._run(["--armor", "--export", "--", fingerprint])
        if not result.stdout.strip():
            raise GpgError(f"gpg exported nothing for {fingerprint}")
        return result.stdout.decode("ascii")

    # --- writing ---------------------------------------------------------------------

    def generate(self, name_real: str, email: str, length: int, expire_days: int) -> str:
        """Make an RSA signing key for ``name_real <email>``; return its fingerprint."""
        for value in (name_real, email):
            if any(ch in value for ch in "\r\n\0"):
                raise ValueError("user id parts cannot hold line breaks or NUL")
        params = "\n".join(
            [
                "Key-Type: RSA",
                f"Key-Length: {int(length)}",
                "Key-Usage: sign",
                f"Name-Real: {name_real}",
                f"Name-Email: {email}",
                f"Expire-Date: {_expire_arg(expire_days)}",
                "%no-protection",
                "%commit",
                "",
            ]
        )
        result = self._run(["--status-fd", "1", "--gen-key"], stdin=params.encode())
        for line in result.stdout.decode(errors="replace").splitlines():
            parts = line.split()
            if parts[:2] == ["[GNUPG:]", "KEY_CREATED"] and len(parts) >= 4:
                return parts[3]
        raise self._error("generate key (no KEY_CREATED status)", result)

    def set_expiry(self, key: KeyRecord, expire_days: int) -> None:
        """Move the expiry of ``key`` and of its subkeys to ``expire_days`` from now."""
        expire = _expire_arg(expire_days)
        self._run(["--quick-set-expire", key.fingerprint, expire])
        if key.subkey_fingerprints:
            self._run(["--quick-set-expire", key.fingerprint, expire, *key.subkey_fingerprints])

    def sign_detached(
        self, fingerprint: str, data: bytes, digest_algo: str, armor: bool = False
    ) -> bytes:
        """A detached signature of ``data`` made by exactly the key ``fingerprint``."""
        args = ["--local-user", f"{fingerprint}!", "--digest-algo", digest_algo]
        if armor:
            args.append("--armor")
        result = self._run([*args, "--output", "-", "--detach-sign"], stdin=data)
        if not result.stdout:
            raise self._error("sign", result)
        return result.stdout

    def stop_agent(self) -> None:
        """Stop the gpg-agent this home started (tests, and a clean service shutdown)."""
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "all"],
            capture_output=True,
            check=False,
            timeout=30,
        )

    # --- plumbing --------------------------------------------------------------------

    def _run(
        self, args: list[str], *, stdin: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        argv = [
            self.gpg_binary,
            "--homedir",
            str(self.home),
            "--batch",
            "--no-tty",
            "--no-greeting",
            "--yes",
            # Trust is not ours to compute: skipping the trustdb also spares every call
            # a write that concurrent calls would fight over.
            "--trust-model",
            "always",
            "--no-auto-check-trustdb",
            *args,
        ]
        env = {**os.environ, "LC_ALL": "C", "GNUPGHOME": str(self.home)}
        env.pop("GPG_AGENT_INFO", None)
        try:
            result = subprocess.run(
                argv,
                input=stdin if stdin is not None else b"",
                capture_output=True,
                env=env,
                timeout=self.timeout,
                check=False,
                # The keyring is for this service alone: gpg creates pubring.kbx 0644
                # under the usual umask.
                umask=0o077,
            )
        except subprocess.TimeoutExpired:
            raise GpgError(f"gpg {args[-2:]} did not finish in {self.timeout:.0f}s") from None
        except OSError as error:
            raise GpgError(f"cannot run {self.gpg_binary}: {error}") from None
        if check and result.returncode != 0:
            raise self._error(" ".join(a for a in args if not a.startswith("-"))[:80], result)
        return result

    @staticmethod
    def _error(what: str, result: subprocess.CompletedProcess[bytes]) -> GpgError:
        tail = result.stderr.decode(errors="replace").strip().splitlines()[-5:]
        return GpgError(f"gpg failed ({what}), exit {result.returncode}: " + " | ".join(tail))


def _expire_arg(expire_days: int) -> str:
    return "0" if expire_days == 0 else f"{int(expire_days)}d"


def _email_of(uid: str) -> str:
    start, end = uid.rfind("<"), uid.rfind(">")
    if start == -1 or end < start:
        return uid.strip().lower()
    return uid[start + 1 : end].strip().lower()


def _unescape(field: str) -> str:
    """gpg's colon listings escape ``:`` and control bytes as ``\\xNN``."""
    out = bytearray()
    i = 0
    raw = field.encode()
    while i < len(raw):
        if raw[i : i + 2] == b"\\x" and i + 4 <= len(raw):
            try:
                out.append(int(raw[i + 2 : i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return out.decode(errors="replace")


@dataclass
class _KeyBuilder:
    key_id: str
    algorithm: int
    length: int
    created: int
    expires: int | None
    revoked: bool
    fingerprint: str = ""
    uids: list[str] = field(default_factory=list)
    subkeys: list[str] = field(default_factory=list)

    def build(self) -> KeyRecord:
        return KeyRecord(
            fingerprint=self.fingerprint,
            key_id=self.key_id,
            algorithm=self.algorithm,
            length=self.length,
            created=self.created,
            expires=self.expires,
            uids=tuple(self.uids),
            emails=tuple(_email_of(u) for u in self.uids),
            subkey_fingerprints=tuple(self.subkeys),
            revoked=self.revoked,
        )


def _parse_colons(output: bytes) -> list[KeyRecord]:
    """Secret keys from ``--with-colons --fixed-list-mode --list-secret-keys``."""
    builders: list[_KeyBuilder] = []
    last_record = ""
    for line in output.decode(errors="replace").splitlines():
        fields = line.split(":")
        record = fields[0]
        if record == "sec" and len(fields) > 6:
            builders.append(
                _KeyBuilder(
                    key_id=fields[4],
                    algorithm=int(fields[3] or 0),
                    length=int(fields[2] or 0),
                    created=int(fields[5] or 0),
                    expires=int(fields[6]) if fields[6] else None,
                    revoked=fields[1] == "r",
                )
            )
        elif not builders:
            continue
        elif record == "fpr" and len(fields) > 9:
            if last_record == "sec":
                builders[-1].fingerprint = fields[9]
            elif last_record == "ssb":
                builders[-1].subkeys.append(fields[9])
        elif record == "uid" and len(fields) > 9 and fields[1] != "r":
            builders[-1].uids.append(_unescape(fields[9]))
        if record in {"sec", "ssb", "uid"}:
            last_record = record
    return [b.build() for b in builders if b.fingerprint]
