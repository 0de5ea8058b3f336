"""``builder-live.log``: everything a build prints, capped at a size limit.

Past the limit nothing more is written except one marker line, and ``write`` reports the
overflow so the caller can stop the build: a package that prints without end fills neither
the disk nor the backend's copy of the log.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import BinaryIO

TRUNCATED_MARKER = "\n*** copr-rpmbuild: log truncated at {limit} bytes; the build is stopped ***\n"


class LiveLog:
    """The build's live log file, appended to until its size limit."""

    def __init__(self, path: Path, limit: int, *, echo: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.limit = limit
        self.written = 0
        self.truncated = False
        self._echo = echo
        self._file: BinaryIO = path.open("ab", buffering=0)

    def write(self, data: bytes) -> bool:
        """Append ``data``; False once the limit is reached (the rest is dropped)."""
        if self.truncated:
            return False
        room = self.limit - self.written
        chunk = data[:room] if len(data) > room else data
        self._emit(chunk)
        if len(data) > room:
            self.truncated = True
            self._emit(TRUNCATED_MARKER.format(limit=self.limit).encode())
            return False
        return True

    def line(self, text: str) -> None:
        """One line of copr-rpmbuild's own, time-stamped; always written, even past the cap."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        data = f"[{stamp}] {text}\n".encode(errors="replace")
        if self.truncated:
            self._file.write(data)
            if self._echo:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            return
        self.write(data)

    def _emit(self, data: bytes) -> None:
        self._file.write(data)
        self.written += len(data)
        if self._echo:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()

    def close(self) -> None:
        self._file.close()

    def fileno(self) -> int:
        return self._file.fileno()


class LiveLogHandler(logging.Handler):
    """Routes copr-rpmbuild's logger into the live log."""

    def __init__(self, live: LiveLog) -> None:
        super().__init__()
        self.live = live

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.live.line(self.format(record))
        except OSError:
            self.handleError(record)
