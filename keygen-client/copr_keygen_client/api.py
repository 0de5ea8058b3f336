"""Talking to keygen over HTTP, and signing RPMs with rpmsign through it.

Only what is to be signed travels to keygen (for an RPM: the header rpmsign hands to
"gpg"); signatures and public keys come back.  The standard library's ``urllib`` keeps
this light, because rpmsign starts the ``copr-sign-gpg`` program once per package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from copr_keygen_client.names import CLIENT_ENV_PREFIX, DEFAULT_CLIENT_SETTINGS_FILE

if TYPE_CHECKING:
    from copr_keygen_client.settings import SignClientSettings

__all__ = ["KeygenClient", "KeygenError", "SigningError", "load_client_settings", "sign_rpms"]

GPG_COMPAT_PROGRAM = "copr-sign-gpg"


class KeygenError(RuntimeError):
    """keygen refused or failed a request, or could not be reached (``status`` None)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class SigningError(RuntimeError):
    """rpmsign could not sign; the message carries its output."""


def load_client_settings(
    file: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> SignClientSettings:
    """Settings from ``file``, else ``$COPR_SIGN_CONFIG``, else ``/etc/copr/sign.toml`` if
    present; and ``COPR_SIGN_*``.  Raises :class:`copr_common.settings.SettingsError`.
    """
    # Imported here: the settings model (pydantic) is not what copr-sign-gpg starts with.
    from copr_common.settings import load_service_settings
    from copr_keygen_client.settings import SignClientSettings

    return load_service_settings(
        SignClientSettings, CLIENT_ENV_PREFIX, DEFAULT_CLIENT_SETTINGS_FILE, file, environ=environ
    )


@dataclass(frozen=True)
class GenKeyResult:
    created: bool
    key: dict[str, Any]


class KeygenClient:
    """One keygen service, reached at ``url`` with the shared ``secret``."""

    def __init__(self, url: str, secret: str, timeout: float = 300.0):
        self.url = url.rstrip("/")
        self._secret = secret
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: SignClientSettings) -> KeygenClient:
        try:
            secret = settings.secret_value()
        except ValueError as error:
            raise KeygenError(str(error)) from None
        return cls(settings.keygen_url, secret, settings.timeout)

    @classmethod
    def handed_over(cls, environ: Mapping[str, str]) -> KeygenClient | None:
        """The client whose :meth:`environment` ``environ`` holds (what ``sign_rpms`` gives
        the ``copr-sign-gpg`` rpmsign runs), or None when it holds none.
        """
        url = environ.get(f"{CLIENT_ENV_PREFIX}KEYGEN_URL")
        secret = environ.get(f"{CLIENT_ENV_PREFIX}SECRET")
        timeout = environ.get(f"{CLIENT_ENV_PREFIX}TIMEOUT")
        if not url or not secret or timeout is None:
            return None
        if not url.startswith(("http://", "https://")):
            raise KeygenError(f"{CLIENT_ENV_PREFIX}KEYGEN_URL must be an http(s) URL: {url!r}")
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = 0.0
        if not seconds > 0:
            raise KeygenError(f"{CLIENT_ENV_PREFIX}TIMEOUT must be seconds > 0: {timeout!r}")
        return cls(url, secret, seconds)

    # --- the service's routes ------------------------------------------------------------

    def gen_key(
        self,
        identity: str,
        name_real: str | None = None,
        key_length: int | None = None,
        expire_days: int | None = None,
    ) -> GenKeyResult:
        """Make the identity's key unless it exists (``created`` says which happened)."""
        body: dict[str, Any] = {"name_email": identity}
        for name, value in (
            ("name_real", name_real),
            ("key_length", key_length),
            ("expire_days", expire_days),
        ):
            if value is not None:
                body[name] = value
        status, data = self._request(
            "POST", "/gen_key", json.dumps(body).encode(), "application/json"
        )
        return GenKeyResult(created=status == 201, key=json.loads(data))

    def key_info(self, identity: str) -> dict[str, Any]:
        _, data = self._request("GET", f"/keys/{_segment(identity)}")
        info: dict[str, Any] = json.loads(data)
        return info

    def public_key(self, identity: str) -> str:
        """The ASCII-armored public key (what a project's ``pubkey.gpg`` holds)."""
        _, data = self._request("GET", f"/keys/{_segment(identity)}/pubkey.gpg")
        return data.decode("ascii")

    def sign(
        self, identity: str, data: bytes, digest_algo: str | None = None, armor: bool = False
    ) -> bytes:
        """A detached OpenPGP signature of ``data`` by the identity's key."""
        query: dict[str, str] = {"armor": "1" if armor else "0"}
        if digest_algo:
            query["digest_algo"] = digest_algo.upper()
        path = f"/keys/{_segment(identity)}/sign?{urlencode(query)}"
        _, signature = self._request("POST", path, data, "application/octet-stream")
        return signature

    # --- conveniences ----------------------------------------------------------------------

    def sign_file(
        self,
        path: Path,
        identity: str,
        output: Path | None = None,
        armor: bool = True,
        digest_algo: str | None = None,
    ) -> Path:
        """Sign ``path`` whole; the signature goes to ``output`` or next to it (.asc/.sig)."""
        target = output or path.with_name(path.name + (".asc" if armor else ".sig"))
        signature = self.sign(identity, path.read_bytes(), digest_algo, armor=armor)
        _write_atomically(target, signature)
        return target

    def sign_rpms(
        self, paths: Iterable[str | os.PathLike[str]], identity: str, digest_algo: str = "sha256"
    ) -> None:
        """Sign RPMs in place with rpmsign; see :func:`sign_rpms`."""
        sign_rpms(paths, identity, self, digest_algo=digest_algo)

    # --- plumbing ----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self._secret}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310 - the URL is ours and checked http(s)
            self.url + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            raise KeygenError(_error_text(error), error.code) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if body and isinstance(reason, BrokenPipeError | ConnectionResetError):
                # keygen answers 413 on Content-Length alone and stops reading the body.
                raise KeygenError(
                    f"keygen at {self.url} closed the connection while receiving "
                    f"{len(body)} bytes: more than its max_sign_bytes?"
                ) from None
            raise KeygenError(f"cannot reach keygen at {self.url}: {reason}") from None

    def environment(self) -> dict[str, str]:
        """Variables that let ``copr-sign-gpg`` (run by rpmsign) reach this keygen."""
        return {
            f"{CLIENT_ENV_PREFIX}KEYGEN_URL": self.url,
            f"{CLIENT_ENV_PREFIX}SECRET": self._secret,
            f"{CLIENT_ENV_PREFIX}TIMEOUT": str(self.timeout),
        }


def sign_rpms(
    paths: Iterable[str | os.PathLike[str]],
    identity: str,
    client: KeygenClient | None = None,
    *,
    digest_algo: str = "sha256",
    rpmsign: str = "rpmsign",
) -> None:
    """Sign RPMs in place: rpmsign runs ``copr-sign-gpg`` as its gpg, which asks keygen.

    The secret reaches ``copr-sign-gpg`` through the environment of rpmsign only, never
    on a command line.  On failure nothing is half-signed: rpmsign replaces a package
    only after signing it, and the error names the package and keygen's answer.
    Without ``client``, one is made from :func:`load_client_settings`.
    """
    if client is None:
        from copr_common.settings import SettingsError

        try:
            client = KeygenClient.from_settings(load_client_settings())
        except (SettingsError, KeygenError) as error:
            raise SigningError(f"cannot set up the keygen client: {error}") from None
    # Each once: two rpmsigns must not rewrite one file at the same time.
    files = list(dict.fromkeys(os.fspath(p) for p in paths))
    if not files:
        return
    for name in files:
        if not Path(name).is_file():
            raise SigningError(f"{name}: no such file")
    env = {key: value for key, value in os.environ.items() if not key.startswith(CLIENT_ENV_PREFIX)}
    env.update(client.environment())
    argv = [
        rpmsign,
        "--define",
        f"__gpg {gpg_compat_program()}",
        "--define",
        f"_gpg_name {identity}",
        "--define",
        f"_gpg_digest_algo {digest_algo}",
        "--addsign",
    ]
    # rpmsign signs one package after the other, each through a copr-sign-gpg of its
    # own: the packages are shared out over one rpmsign per core.
    shares = min(len(files), os.cpu_count() or 1)
    runs = []
    try:
        for share in range(shares):
            runs.append(
                subprocess.Popen(
                    [*argv, *files[share::shares]],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    env=env,
                )
            )
        deadline = time.monotonic() + client.timeout * 2
        outcomes = [run.communicate(timeout=max(deadline - time.monotonic(), 0)) for run in runs]
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SigningError(f"rpmsign did not run: {error}") from None
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    for run, (_, errors) in zip(runs, outcomes, strict=True):
        if run.returncode != 0:
            output = errors.decode(errors="replace").strip()
            raise SigningError(f"rpmsign failed (exit {run.returncode}): {output}")


def gpg_compat_program() -> str:
    """The ``copr-sign-gpg`` program: next to this Python first, then on ``PATH``."""
    beside = Path(sys.executable).with_name(GPG_COMPAT_PROGRAM)
    if beside.exists():
        return str(beside)
    found = shutil.which(GPG_COMPAT_PROGRAM)
    if found is None:
        raise SigningError(f"{GPG_COMPAT_PROGRAM} is not installed")
    return found


def _segment(identity: str) -> str:
    # '#' and '@' would end the path or look like credentials: always escape them.
    return quote(identity, safe="")


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(error.read())
        message = payload["error"] if isinstance(payload, dict) else str(payload)
    except (ValueError, KeyError, OSError):
        message = error.reason
    return f"keygen answered {error.code}: {message}"


def _write_atomically(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    partial.replace(target)
