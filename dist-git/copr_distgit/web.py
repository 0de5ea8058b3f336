"""What dist-git serves to builders over HTTP (a WSGI app, run by gunicorn).

``/git/<owner>/<dirname>/<package>.git/...``
    read-only git smart HTTP through ``git http-backend`` (clone and fetch; pushes are
    refused).  Smart rather than dumb HTTP so that builders can fetch one commit by its
    hash and make shallow clones, and so that no ``info/refs`` file has to be kept up to
    date after every import.
``/repo/pkgs/<owner>/<dirname>/<package>/<filename>/<hashtype>/<hash>/<filename>``
    lookaside cache downloads, as listed in each branch's ``sources`` file.
``/git/<owner>/<dirname>/<package>.git/plain/<file>?id=<commit>``
    one file of the repo's top directory (the spec, the ``sources`` list) as it is at
    ``commit``: what the frontend links as a package's spec, in the shape of cgit's
    ``plain`` view.  Only top-level files, only by a full commit hash: a link names a
    fixed version, not a branch that moves.
``/per-task-logs/<build_id>.log``
    the log of a build's import.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from copr_common.git_http import find_http_backend
from copr_distgit.settings import DistGitSettings

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

_SEGMENT = re.compile(r"^[A-Za-z0-9@_+~%=,:][A-Za-z0-9@._+~%=,:-]*$")
_LOG_NAME = re.compile(r"^(\d+)\.log$")
# The only git requests served: ref advertisement and pack negotiation for fetches.
_GIT_PATH = re.compile(
    r"^/git/(?P<repo>(?:[^/]+/){2}[^/]+?)(?:\.git)?/"
    r"(?P<rest>info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+)$"
)
_PLAIN_PATH = re.compile(r"^/git/(?P<repo>(?:[^/]+/){2}[^/]+?)(?:\.git)?/plain/(?P<file>[^/]+)$")
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
CHUNK = 64 * 1024
# A spec is a few kB; anything far larger is not what this view is for.
_MAX_PLAIN = 4 * 1024 * 1024


def _text(start_response: StartResponse, status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _safe_segments(parts: list[str]) -> bool:
    return all(_SEGMENT.match(part) for part in parts)


class DistGitApp:
    """The WSGI app serving git repositories, lookaside files and import logs."""

    def __init__(self, settings: DistGitSettings) -> None:
        self.git_root = settings.git_root
        self.lookaside_root = settings.lookaside_root
        self.log_root = settings.per_task_log_root
        self.http_backend = find_http_backend()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/git/") and "/plain/" in path:
            if method not in ("GET", "HEAD"):
                return _text(start_response, "405 Method Not Allowed", "read-only service\n")
            return self._plain(environ, start_response, path)
        if path.startswith("/git/"):
            return self._git(environ, start_response, path)
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "read-only service\n")
        if path.startswith("/repo/pkgs/"):
            return self._lookaside(environ, start_response, path)
        if path.startswith("/per-task-logs/"):
            return self._task_log(environ, start_response, path)
        if path == "/":
            return _text(start_response, "200 OK", "copr dist-git\n")
        return _text(start_response, "404 Not Found", "not found\n")

    # --- files --------------------------------------------------------------------------

    def _send_file(
        self, environ: Environ, start_response: StartResponse, path: Path, content_type: str
    ) -> Iterable[bytes]:
        try:
            stream = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return _text(start_response, "404 Not Found", "not found\n")
        size = os.fstat(stream.fileno()).st_size
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(size))])
        if environ.get("REQUEST_METHOD") == "HEAD":
            stream.close()
            return []
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is not None:
            # environ values are Any; PEP 3333's file_wrapper returns an iterable of bytes.
            return wrapper(stream, CHUNK)  # type: ignore[no-any-return]
        return _read_chunks(stream)

    def _lookaside(
        self, environ: Environ, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        parts = path.removeprefix("/repo/pkgs/").split("/")
        # owner / dirname / package / filename / hashtype / hash / filename
        if len(parts) != 7 or not _safe_segments(parts) or parts[3] != parts[6]:
            return _text(start_response, "404 Not Found", "not found\n")
        if parts[4] not in ("sha512", "sha256", "md5") or not re.fullmatch(r"[0-9a-f]+", parts[5]):
            return _text(start_response, "404 Not Found", "not found\n")
        return self._send_file(
            environ,
            start_response,
            self.lookaside_root.joinpath(*parts),
            "application/octet-stream",
        )

    def _task_log(
        self, environ: Environ, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        name = path.removeprefix("/per-task-logs/")
        if not _LOG_NAME.match(name):
            return _text(start_response, "404 Not Found", "not found\n")
        return self._send_file(
            environ, start_response, self.log_root / name, "text/plain; charset=utf-8"
        )

    def _plain(self, environ: Environ, start_response: StartResponse, path: str) -> Iterable[bytes]:
        match = _PLAIN_PATH.match(path)
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        commit = (query.get("id") or [""])[0]
        if (
            not match
            or not _safe_segments([*match["repo"].split("/"), match["file"]])
            or not _COMMIT.match(commit)
        ):
            return _text(start_response, "404 Not Found", "not found\n")
        repo = self.git_root / (match["repo"] + ".git")
        if not repo.is_dir():
            return _text(start_response, "404 Not Found", "no such repository\n")
        spec = f"{commit}:{match['file']}"
        kind = subprocess.run(
            ["git", "--git-dir", str(repo), "cat-file", "-t", spec],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if kind.returncode != 0 or kind.stdout.strip() != "blob":
            return _text(start_response, "404 Not Found", "no such file at that commit\n")
        blob = subprocess.run(
            ["git", "--git-dir", str(repo), "cat-file", "blob", spec],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if blob.returncode != 0 or len(blob.stdout) > _MAX_PLAIN:
            return _text(start_response, "404 Not Found", "no such file at that commit\n")
        start_response(
            "200 OK",
            [
                # Plain text whatever the file: a browser must never run it as a page.
                ("Content-Type", "text/plain; charset=utf-8"),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Length", str(len(blob.stdout))),
            ],
        )
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [blob.stdout]

    # --- git ----------------------------------------------------------------------------

    def _git(self, environ: Environ, start_response: StartResponse, path: str) -> Iterable[bytes]:
        match = _GIT_PATH.match(path)
        if not match or not _safe_segments(match["repo"].split("/")) or ".." in match["rest"]:
            return _text(start_response, "404 Not Found", "no such repository\n")
        query = environ.get("QUERY_STRING", "")
        if match["rest"] == "git-receive-pack" or "service=git-receive-pack" in query:
            return _text(start_response, "403 Forbidden", "dist-git is read-only over HTTP\n")
        repo = match["repo"] + ".git"
        if not (self.git_root / repo).is_dir():
            return _text(start_response, "404 Not Found", "no such repository\n")
        return self._run_http_backend(environ, start_response, f"/{repo}/{match['rest']}", query)

    def _run_http_backend(
        self, environ: Environ, start_response: StartResponse, path_info: str, query: str
    ) -> Iterable[bytes]:
        cgi_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "REQUEST_METHOD": environ.get("REQUEST_METHOD", "GET"),
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "REMOTE_ADDR": environ.get("REMOTE_ADDR", ""),
            "SERVER_PROTOCOL": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            # Builders check out the commit hash the frontend gave them.
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "uploadpack.allowAnySHA1InWant",
            "GIT_CONFIG_VALUE_0": "true",
        }
        for header in ("HTTP_CONTENT_ENCODING", "HTTP_GIT_PROTOCOL"):
            if environ.get(header):
                cgi_env[header] = environ[header]
        if environ.get("HTTP_GIT_PROTOCOL"):
            cgi_env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit():
            cgi_env["CONTENT_LENGTH"] = length

        proc = subprocess.Popen(
            [self.http_backend],
            env=cgi_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        feeder = threading.Thread(
            target=_feed,
            args=(environ["wsgi.input"], proc.stdin, int(length) if length.isdigit() else None),
            daemon=True,
        )
        feeder.start()
        status = "200 OK"
        headers: list[tuple[str, str]] = []
        while True:
            line = proc.stdout.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = value.strip()
            else:
                headers.append((name.strip(), value.strip()))
        start_response(status, headers)
        return _stream_output(proc, feeder)


def _feed(source: IO[bytes], sink: IO[bytes], length: int | None) -> None:
    """Copy the request body into the CGI's stdin (in a thread, so neither side blocks)."""
    try:
        left = length
        while left is None or left > 0:
            chunk = source.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            sink.write(chunk)
            if left is not None:
                left -= len(chunk)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.close()


def _stream_output(proc: subprocess.Popen[bytes], feeder: threading.Thread) -> Iterator[bytes]:
    assert proc.stdout is not None
    # read1: pass on whatever git has written so far instead of waiting for a full chunk.
    stdout = cast(io.BufferedReader, proc.stdout)
    try:
        while chunk := stdout.read1(CHUNK):
            yield chunk
    finally:
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        feeder.join(timeout=5)


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


def create_app(settings: DistGitSettings) -> DistGitApp:
    return DistGitApp(settings)
