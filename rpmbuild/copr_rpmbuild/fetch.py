"""Fetching what a build asks for: HTTP(S)/FTP downloads and git clones, within limits.

Only the protocols enabled in the settings are allowed, every download is capped at
``max_download_size`` and stops at the build's deadline or on cancel.  A download that
meets a server that is briefly away (no connection, a broken one, a 5xx answer) and a
clone that fails are tried again a few times with growing pauses, each retry said in
the build log: a frontend or dist-git that restarts must not fail the build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from copr_rpmbuild import runner
from copr_rpmbuild.errors import BuildFailure, CoprBuildError, LimitExceeded

T = TypeVar("T")
_CHUNK = 1024 * 1024
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


class FetchError(BuildFailure):
    """A URL the build names could not be fetched."""


def url_protocol(url: str) -> str:
    """The protocol of a download or clone URL (``user@host:path`` is ssh)."""
    if _SCP_LIKE.match(url):
        return "ssh"
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("git+ssh", "ssh+git"):
        return "ssh"
    return scheme or "file"


def check_protocol(url: str, enabled: list[str]) -> None:
    protocol = url_protocol(url)
    if protocol not in enabled:
        raise FetchError(
            f"{url!r} uses the {protocol} protocol, which this builder does not allow "
            f"(allowed: {', '.join(enabled) or 'none'})"
        )


class _Transient(FetchError):
    """A failure that may pass: worth another try."""


def _with_retries(what: str, limits: runner.Limits, attempt: Callable[[], T]) -> T:
    pause = limits.fetch_pause
    attempts = max(1, limits.fetch_attempts)
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except _Transient as error:
            if number == attempts or pause > limits.remaining():
                raise FetchError(str(error)) from None
            limits.log.line(f"{error}; trying {what} again in {pause:g} s")
            deadline = time.monotonic() + pause
            while time.monotonic() < deadline:
                limits.check()
                time.sleep(0.1)
            pause *= 2
    raise AssertionError("unreachable")


def download(
    url: str,
    dest: Path,
    *,
    enabled: list[str],
    max_size: int,
    limits: runner.Limits,
) -> Path:
    """Save ``url`` as ``dest``; a partial file never stays behind."""
    check_protocol(url, enabled)
    if url_protocol(url) not in ("http", "https", "ftp"):
        raise FetchError(f"{url!r}: only http, https and ftp URLs can be downloaded")
    limits.check()
    limits.log.line(f"Downloading {url}")
    return _with_retries(
        "the download", limits, lambda: _download_once(url, dest, max_size, limits)
    )


def _download_once(url: str, dest: Path, max_size: int, limits: runner.Limits) -> Path:
    # The scheme is one of http, https and ftp: checked above.
    request = urllib.request.Request(url, headers={"User-Agent": "copr-rpmbuild"})  # noqa: S310
    partial = dest.with_name(dest.name + ".part")
    timeout = max(1.0, min(120.0, limits.remaining()))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_size:
                raise LimitExceeded(
                    f"{url} is {length} bytes, over the download limit of {max_size} bytes"
                )
            size = 0
            # The directory may come from an untrusted repository: never follow a link.
            partial.unlink(missing_ok=True)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                while True:
                    limits.check()
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_size:
                        raise LimitExceeded(
                            f"{url} is larger than the download limit of {max_size} bytes"
                        )
                    out.write(chunk)
    except urllib.error.HTTPError as error:
        partial.unlink(missing_ok=True)
        failure = _Transient if error.code >= 500 else FetchError
        raise failure(f"cannot download {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise _Transient(f"cannot download {url}: {reason}") from None
    except CoprBuildError:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(dest)
    limits.log.line(f"Downloaded {dest.name} ({size} bytes)")
    return dest


def git_clone(
    url: str,
    dest: Path,
    *,
    committish: str | None,
    enabled: list[str],
    limits: runner.Limits,
) -> str:
    """Clone ``url`` into ``dest``, check out ``committish``; the commit hash checked out."""
    check_protocol(url, enabled)
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/true",
        "GIT_CONFIG_NOSYSTEM": "1",
        # No git protocol beyond the enabled ones, also for submodules and redirects.
        "GIT_ALLOW_PROTOCOL": ":".join(p for p in enabled if p != "ftp") or "none",
    }
    limits.log.line(f"Cloning {url}")

    def clone() -> None:
        if dest.exists():
            shutil.rmtree(dest)  # what a failed try left
        status = runner.run(
            ["git", "clone", "--no-checkout", "--", url, str(dest)],
            limits,
            env=env,
            describe="git clone",
        )
        if status != 0:
            raise _Transient(f"cannot clone {url} (git exited with {status})")

    _with_retries("the clone", limits, clone)
    target = committish or "HEAD"
    commit = ""
    for candidate in (target, f"origin/{target}"):
        found = subprocess.run(
            ["git", "-C", str(dest), "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if found.returncode == 0:
            commit = found.stdout.strip()
            break
    if not commit:
        raise FetchError(f"{url} has no branch, tag or commit {target!r}")
    status = runner.run(
        ["git", "-C", str(dest), "checkout", "--quiet", "--detach", commit],
        limits,
        env=env,
        describe="git checkout",
    )
    if status != 0:
        raise FetchError(f"cannot check out {target!r} in {url}")
    limits.log.line(
        f"Checked out {commit}" if target == commit else f"Checked out {target} ({commit})"
    )
    return commit
