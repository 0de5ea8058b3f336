"""The HTTP server of a local stack's results tree (``public_html``).

A plain static file server with two things a packager following a build needs:

* logs are text a browser shows: ``*.log`` is ``text/plain``, and the gzipped logs a
  finished build keeps (``builder-live.log.gz``, ``backend.log.gz``) are ``text/plain``
  with ``Content-Encoding: gzip``, so the browser unpacks and shows them instead of
  downloading them;
* the URL of the live log keeps working after the build: when ``<name>.log`` is gone
  (the backend gzipped it) and ``<name>.log.gz`` is there, the request is redirected to
  it — the redirect Copr's results servers are configured with.

Run as ``python -m copr_local.results_server PORT --bind HOST --directory DIR``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TEXT = "text/plain; charset=utf-8"


class ResultsHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, with logs as text and gone live logs redirected to their ``.gz``."""

    # Filled per request by send_head for end_headers: the body is gzip bytes.
    _gzip_body = False

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
    args = parser.parse_args(argv)
    handler = functools.partial(ResultsHandler, directory=str(args.directory))
    server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
