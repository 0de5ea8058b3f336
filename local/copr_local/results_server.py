"""The HTTP server of a local stack's results tree (``public_html``).

A plain static file server with two things a packager following a build needs:

* logs are text a browser shows: ``*.log`` is ``text/plain``, and the gzipped logs a
  finished build keeps (``builder-live.log.gz``, ``backend.log.gz``) are ``text/plain``
  with ``Content-Encoding: gzip``, so the browser unpacks and shows them instead of
  downloading them;
* the URL of the live log keeps working after the build: when ``<name>.log`` is gone
  (the backend gzipped it) and ``<name>.log.gz`` is there, the request is redirected to
  it — the redirect Copr's results servers are configured with.

With ``--access-log FILE`` it writes one line per request in the combined log format
nginx writes in production: ``copr-frontend count-downloads FILE`` counts the downloads.

Run as ``python -m copr_local.results_server PORT --bind HOST --directory DIR
[--access-log FILE]``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

TEXT = "text/plain; charset=utf-8"
# Not strftime's %b: that follows the locale, and the log format is English.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """The combined-format access log, shared by the server's threads."""

    def __init__(self, path: Path) -> None:
        # Private, as the stack's other logs are: it names who downloaded what.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._stream: TextIO = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(
        self, client: str, request: str, status: int, size: str, referer: str, agent: str
    ) -> None:
        now = time.gmtime()
        stamp = (
            f"{now.tm_mday:02d}/{_MONTHS[now.tm_mon - 1]}/{now.tm_year}:"
            f"{now.tm_hour:02d}:{now.tm_min:02d}:{now.tm_sec:02d} +0000"
        )
        fields = [_quoted(request), str(status), size, _quoted(referer), _quoted(agent)]
        with self._lock:
            self._stream.write(f"{client} - - [{stamp}] {' '.join(fields)}\n")

    def close(self) -> None:
        self._stream.close()


def _quoted(value: str) -> str:
    """``value`` in double quotes, escaped as nginx does, so a line always parses."""
    cleaned = "".join(c if c.isprintable() else f"\\x{ord(c):02X}" for c in value)
    return '"' + cleaned.replace("\\", "\\x5C").replace('"', "\\x22") + '"'


class ResultsHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, with logs as text and gone live logs redirected to their ``.gz``."""

    # Filled per request by send_head for end_headers: the body is gzip bytes.
    _gzip_body = False
    _length = "-"
    access_log: AccessLog | None = None

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "content-length":
            self._length = str(value)
        super().send_header(keyword, value)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.access_log is None:
            super().log_request(code, size)
            return
        status = (
            code.value
            if isinstance(code, http.HTTPStatus)
            else int(code)
            if str(code).isdigit()
            else 0
        )
        self.access_log.write(
            self.client_address[0],
            getattr(self, "requestline", ""),
            status,
            self._length,
            self.headers.get("Referer", "-") if self.headers else "-",
            self.headers.get("User-Agent", "-") if self.headers else "-",
        )

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        name = os.fspath(path)
        if name.endswith((".log", ".log.gz")):
            return TEXT
        if name.endswith(".rpm"):
            return "application/x-rpm"
        return super().guess_type(path)

    def send_head(self):  # type: ignore[no-untyped-def]  # (the base class is untyped)
        path = Path(self.translate_path(self.path))
        self._gzip_body = path.name.endswith(".log.gz") and path.is_file()
        gzipped = path.with_name(path.name + ".gz")
        if path.name.endswith(".log") and not path.exists() and gzipped.is_file():
            parts = urlsplit(self.path)
            self.send_response(http.HTTPStatus.FOUND)
            self.send_header("Location", urlunsplit(("", "", parts.path + ".gz", parts.query, "")))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().send_head()

    def end_headers(self) -> None:
        if self._gzip_body:
            self.send_header("Content-Encoding", "gzip")
        super().end_headers()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copr-local-results", description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--directory", type=Path, required=True)
    parser.add_argument("--access-log", type=Path, help="append a combined-format access log")
    args = parser.parse_args(argv)
    access_log = AccessLog(args.access_log) if args.access_log else None
    handler_class = type("LoggingResultsHandler", (ResultsHandler,), {"access_log": access_log})
    handler = functools.partial(handler_class, directory=str(args.directory))
    server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if access_log is not None:
            access_log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
