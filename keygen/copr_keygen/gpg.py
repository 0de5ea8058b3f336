"""The keyring: a GnuPG home driven through python-gnupg.

Only this module runs ``gpg``.  Every call is ``--batch`` with a private ``--homedir``;
keys are made without a passphrase because the home itself is the secret (it lives on
the keygen host, readable only by the service).  Nothing here exports secret keys.

python-gnupg runs gpg and parses its status and colon output; :class:`_BoundedGPG` adds
the two things it lacks: a time limit on every gpg run, and ``--quick-set-expire``.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# python-gnupg ships no type hints (no py.typed, no stubs package).
import gnupg  # type: ignore[import-untyped]

__all__ = ["GpgError", "KeyRecord", "KeyRing"]

DAY = 24 * 3600


class GpgError(RuntimeError):
    """``gpg`` failed; the message carries the operation and the end of its stderr."""


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
        self._gpg: _BoundedGPG | None = None
        self._gpg_lock = threading.Lock()
        # find()'s answers, for as long as the keyring is in the state they were read in.
        self._found_state: tuple[object, ...] | None = None
        self._found: dict[str, list[KeyRecord]] = {}

    def prepare(self) -> None:
        """Create the home with owner-only permissions (gpg warns about anything wider),
        and tighten whatever an older version left readable to others in it.
        """
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.home.chmod(0o700)
        _owner_only(self.home.rglob("*"))

    # --- reading ---------------------------------------------------------------------

    def _state(self) -> tuple[object, ...]:
        """What changes whenever any gpg (this process or another: ``extend-keys``)
        changes the keyring: pubring.kbx is rewritten and renamed, and the secret keys'
        directory gets an entry per new key.
        """
        found: list[object] = []
        for path in (self.home / "pubring.kbx", self.home / "private-keys-v1.d"):
            try:
                info = path.stat()
            except OSError:
                found.append(None)
            else:
                found.append((info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
        return tuple(found)

    def find(self, email: str) -> list[KeyRecord]:
        """Secret keys with a user id whose e-mail is exactly ``email`` (oldest first).

        Remembered until the keyring changes: each signature looks its key up, and a gpg
        run for it would double the gpg runs of signing.
        """
        state = self._state()
        with self._gpg_lock:
            if self._found_state != state:
                self._found_state, self._found = state, {}
            if email in self._found:
                return list(self._found[email])
        keys = self._list(email)
        with self._gpg_lock:
            if self._found_state == state:
                self._found[email] = keys
        return list(keys)

    def _list(self, email: str) -> list[KeyRecord]:
        listing = self._call("list keys", lambda gpg: gpg.list_keys(secret=True, keys=f"<{email}>"))
        if listing.returncode != 0:
            # gpg exits 2 when nothing matches; anything else is a real failure.
            if "No secret key" in listing.stderr or "No public key" in listing.stderr:
                return []
            raise _error("list keys", listing)
        wanted = email.lower()
        keys = [k for k in _records(listing) if wanted in k.emails]
        return sorted(keys, key=lambda k: k.created)

    def all_keys(self) -> list[KeyRecord]:
        listing = self._call("list keys", lambda gpg: gpg.list_keys(secret=True))
        if listing.returncode != 0 and listing.data.strip():
            raise _error("list keys", listing)
        return _records(listing)

    def export_public(self, fingerprint: str) -> str:
        """The ASCII-armored public key (with its user ids and self-signatures)."""
        armored: str = self._call("export", lambda gpg: gpg.export_keys(fingerprint, armor=True))
        if not armored.strip():
            raise GpgError(f"gpg exported nothing for {fingerprint}")
        return armored

    # --- writing ---------------------------------------------------------------------

    def generate(self, name_real: str, email: str, length: int, expire_days: int) -> str:
        """Make an RSA signing key for ``name_real <email>``; return its fingerprint."""
        for value in (name_real, email):
            if any(ch in value for ch in "\r\n\0"):
                raise ValueError("user id parts cannot hold line breaks or NUL")

        def generate(gpg: _BoundedGPG) -> Any:
            params = gpg.gen_key_input(
                key_type="RSA",
                key_length=int(length),
                key_usage="sign",
                name_real=name_real,
                name_email=email,
                expire_date=_expire_arg(expire_days),
                no_protection=True,
            )
            return gpg.gen_key(params)

        made = self._call("generate key", generate)
        self._tighten_keyring()
        if made.returncode != 0 or not made.fingerprint:
            raise _error("generate key (no KEY_CREATED status)", made)
        return str(made.fingerprint)

    def set_expiry(self, key: KeyRecord, expire_days: int) -> None:
        """Move the expiry of ``key`` and of its subkeys to ``expire_days`` from now."""
        expire = _expire_arg(expire_days)
        runs = [[key.fingerprint, expire]]
        if key.subkey_fingerprints:
            runs.append([key.fingerprint, expire, *key.subkey_fingerprints])
        for args in runs:
            done = self._call("set expiry", lambda gpg, a=args: gpg.quick_set_expire(a))
            self._tighten_keyring()
            if done.returncode != 0:
                raise _error("set expiry", done)

    def sign_detached(
        self, fingerprint: str, data: bytes, digest_algo: str, armor: bool = False
    ) -> bytes:
        """A detached signature of ``data`` made by exactly the key ``fingerprint``."""
        signed = self._call(
            "sign",
            lambda gpg: gpg.sign(
                data,
                clearsign=False,
                detach=True,
                binary=not armor,
                # "!" makes gpg use this very key, never a subkey or another match.
                extra_args=["--local-user", f"{fingerprint}!", "--digest-algo", digest_algo],
            ),
        )
        if signed.returncode != 0 or not signed.data:
            raise _error("sign", signed)
        if (signed.fingerprint or "").upper() != fingerprint.upper():
            raise GpgError(f"gpg signed with {signed.fingerprint}, not with {fingerprint}")
        signature: bytes = signed.data
        return signature

    def stop_agent(self) -> None:
        """Stop the gpg-agent this home started (tests, and a clean service shutdown).

        gpgconf, not gpg: python-gnupg has no call for it.
        """
        subprocess.run(
            ["gpgconf", "--homedir", str(self.home), "--kill", "all"],
            capture_output=True,
            check=False,
            timeout=30,
        )

    # --- plumbing --------------------------------------------------------------------

    def _call(self, what: str, operation: Any) -> Any:
        """Run ``operation(gpg)``; a gpg that cannot start or runs too long is a GpgError."""
        gpg = self._instance()
        try:
            result = operation(gpg)
        except OSError as error:
            raise GpgError(f"cannot run {self.gpg_binary}: {error}") from None
        if getattr(result, "timed_out", False):
            raise GpgError(f"gpg ({what}) did not finish in {self.timeout:.0f}s")
        return result

    def _tighten_keyring(self) -> None:
        """Make pubring.kbx (and its backup) readable by this service alone.

        gpg rewrites them under the process umask, 0644 as a rule.
        """
        _owner_only(self.home.glob("pubring.kbx*"))

    def _instance(self) -> _BoundedGPG:
        # Made on first use, not in __init__: python-gnupg runs gpg when it is made, and a
        # service with a missing gpg must still start and answer 500 with the reason.
        with self._gpg_lock:
            if self._gpg is None:
                self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
                env = {**os.environ, "LC_ALL": "C", "GNUPGHOME": str(self.home)}
                env.pop("GPG_AGENT_INFO", None)
                try:
                    self._gpg = _BoundedGPG(
                        timeout=self.timeout,
                        gpgbinary=self.gpg_binary,
                        gnupghome=str(self.home),
                        env=env,
                        options=[
                            "--no-greeting",
                            "--yes",
                            # Trust is not ours to compute: skipping the trustdb also spares
                            # every call a write that concurrent calls would fight over.
                            "--trust-model",
                            "always",
                            "--no-auto-check-trustdb",
                        ],
                    )
                except (OSError, ValueError) as error:
                    raise GpgError(f"cannot run {self.gpg_binary}: {error}") from None
                # gpg's listings and user ids are UTF-8 (python-gnupg assumes Latin-1).
                self._gpg.encoding = "utf-8"
            return self._gpg


# gnupg.GPG is Any to mypy (untyped module): subclassing Any needs the ignore.
class _BoundedGPG(gnupg.GPG):  # type: ignore[misc]
    """python-gnupg's GPG with a time limit per gpg run and ``--quick-set-expire``.

    python-gnupg waits for gpg without a limit; a gpg stuck on its agent would hold a
    request (and its identity lock) forever.  A timer kills a gpg that outlives
    ``timeout`` and marks the result ``timed_out``.  These overrides use two internal
    hooks of python-gnupg (``_open_subprocess``, ``_collect_output``) that every one of
    its calls goes through; pyproject pins the 0.5 series they were written against.
    """

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        self.timeout = timeout  # before super(): python-gnupg runs gpg while it is made
        super().__init__(**kwargs)

    def quick_set_expire(self, args: list[str]) -> Any:
        """``gpg --quick-set-expire FPR EXPIRE [SUBKEY-FPRS]`` (no python-gnupg call has it)."""
        result = _StatusRecorder(self)
        process = self._open_subprocess(["--quick-set-expire", *args])
        self._collect_output(process, result, stdin=process.stdin)
        return result

    def _open_subprocess(self, args: list[str], passphrase: bool = False) -> Any:
        process = super()._open_subprocess(args, passphrase)
        process.copr_timer = threading.Timer(self.timeout, _kill, (process,))
        process.copr_timer.daemon = True
        process.copr_timer.start()
        return process

    def _collect_output(
        self, process: Any, result: Any, writer: Any = None, stdin: Any = None
    ) -> Any:
        try:
            return super()._collect_output(process, result, writer, stdin)
        finally:
            process.copr_timer.cancel()
            result.timed_out = getattr(process, "copr_killed", False)


# As _BoundedGPG: the base class is Any to mypy.
class _StatusRecorder(gnupg.StatusHandler):  # type: ignore[misc]
    """The result of a gpg run whose only outcome is its exit code and status lines."""

    returncode: int | None = None

    def __init__(self, gpg: gnupg.GPG) -> None:
        super().__init__(gpg)
        self.status: list[tuple[str, str]] = []

    def handle_status(self, key: str, value: str) -> None:
        self.status.append((key, value))


def _owner_only(paths: Any) -> None:
    """Take group and other permissions off these files and dirs (sockets are left)."""
    for path in paths:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            path.chmod(mode & 0o700)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        # Popen has no field for why it ended; _BoundedGPG reads this mark back.
        # A mark of our own on the Popen object: mypy knows only Popen's own fields.
        process.copr_killed = True  # type: ignore[attr-defined]
        process.kill()


def _error(what: str, result: Any) -> GpgError:
    tail = [
        line
        for line in str(getattr(result, "stderr", "") or "").strip().splitlines()
        if not line.startswith("[GNUPG:] ") or "ERROR" in line or "FAILURE" in line
    ][-5:]
    return GpgError(f"gpg failed ({what}), exit {result.returncode}: " + " | ".join(tail))


def _expire_arg(expire_days: int) -> str:
    return "0" if expire_days == 0 else f"{int(expire_days)}d"


def _email_of(uid: str) -> str:
    start, end = uid.rfind("<"), uid.rfind(">")
    if start == -1 or end < start:
        return uid.strip().lower()
    return uid[start + 1 : end].strip().lower()


def _records(listing: Any) -> list[KeyRecord]:
    """KeyRecords from python-gnupg's listing of secret keys (revoked user ids left out)."""
    records = []
    for key in listing:
        if not key.get("fingerprint"):
            continue
        uids = [
            uid for uid in key.get("uids", []) if listing.uid_map.get(uid, {}).get("trust") != "r"
        ]
        records.append(
            KeyRecord(
                fingerprint=key["fingerprint"],
                key_id=key["keyid"],
                algorithm=int(key.get("algo") or 0),
                length=int(key.get("length") or 0),
                created=int(key.get("date") or 0),
                expires=int(key["expires"]) if key.get("expires") else None,
                uids=tuple(uids),
                emails=tuple(_email_of(u) for u in uids),
                subkey_fingerprints=tuple(sk[2] for sk in key.get("subkeys", []) if sk[2]),
                revoked=key.get("trust") == "r",
            )
        )
    return records
