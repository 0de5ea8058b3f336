"""Shipping the results server's access log to the frontend, which counts the downloads.

The results server (nginx) writes its access log on the backend's host; the frontend
keeps the download statistics (see the frontend's ``downloads``).  Each run asks the
frontend where its counting of a log stopped (``GET /backend/access-log/``), reads the
whole lines the file gained since and sends them in batches (``POST``), each naming the
byte range it covers, so a batch sent twice counts once and nothing is lost when a run
stops half-way: the next run starts where the frontend's count is.  A log is named
``<host>:<absolute path>``; after a rotation, ship the rotated file first
(``access.log.1 access.log``): the frontend knows it by its inode.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from copr_common.backend_api import BackendApiClient, BackendApiError

log = logging.getLogger(__name__)

BATCH_LINES = 5000


def ship(
    client: BackendApiClient,
    paths: Iterable[Path],
    *,
    host: str | None = None,
    batch_lines: int = BATCH_LINES,
) -> dict[Path, int]:
    """Ship what each log gained; the downloads counted per log."""
    host = host or socket.gethostname()
    return {path: _ship_file(client, host, path, batch_lines) for path in paths}


def _ship_file(client: BackendApiClient, host: str, path: Path, batch_lines: int) -> int:
    name = f"{host}:{path.absolute()}"
    with path.open("rb") as stream:
        stat = os.fstat(stream.fileno())
        try:
            return _send(client, stream, name, stat, batch_lines)
        except BackendApiError as error:
            if error.status != 409:
                raise
            # Another run shipped part of it meanwhile: go on from where that one got.
            log.info("%s: %s; asking again where to go on from", name, error)
            return _send(client, stream, name, stat, batch_lines)


def _send(
    client: BackendApiClient, stream: BinaryIO, name: str, stat: os.stat_result, batch: int
) -> int:
    start = client.access_log_offset(name, stat.st_ino, stat.st_size)
    stream.seek(start)
    offset, counted = start, 0
    lines: list[str] = []
    for raw in stream:
        if not raw.endswith(b"\n") or offset + len(raw) > stat.st_size:
            break  # a line being written, or past the size the frontend was told: next run
        lines.append(raw.decode("utf-8", errors="replace"))
        offset += len(raw)
        if len(lines) >= batch:
            counted += _post(client, name, stat, start, offset, lines)
            start, lines = offset, []
    if lines:
        counted += _post(client, name, stat, start, offset, lines)
    return counted


def _post(
    client: BackendApiClient,
    name: str,
    stat: os.stat_result,
    start: int,
    end: int,
    lines: list[str],
) -> int:
    payload = {"log": name, "inode": stat.st_ino, "size": stat.st_size, "start": start,
               "end": end, "lines": lines}  # fmt: skip
    return client.access_log_lines(payload)
