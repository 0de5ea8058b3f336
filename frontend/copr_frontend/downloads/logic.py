"""Counting downloads from access logs, and reading the counts back.

The results server (nginx in production, ``copr_local.results_server`` locally) writes
one line per request in the *combined* log format::

    127.0.0.1 - - [02/Dec/2026:16:50:00 +0000] "GET /results/alice/hello/fedora-42-x86_64/
    repodata/repomd.xml HTTP/1.1" 200 3042 "-" "libdnf (Fedora 42; ...)"

(one line in the file, broken here).

What counts: successful (200) GETs under the results URL of an RPM in a chroot's build
dir (per project, chroot and package, the name from the RPM file name) and of a chroot's
``repodata/repomd.xml`` (per project and chroot: one dnf metadata refresh), per UTC day.
A ``HEAD``, a ``304`` (dnf's metadata is still fresh) or a ``206`` part of a download
does not count.
"""

from __future__ import annotations

import calendar
import os
import re
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.names import SRPM_BUILDS_DIR
from copr_frontend.downloads.models import DownloadCount, DownloadLogPosition
from copr_frontend.projects.models import Project

RPM = "rpm"
REPOMD = "repomd"
KINDS = (RPM, REPOMD)
DAY = 86400

_LINE = re.compile(
    r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[0-9.]+" '
    r"(?P<status>\d{3}) "
)
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
# Lines read per transaction: a huge log is counted in bounded steps, each step's offset
# stored with its counts, so an interrupted run neither loses nor repeats lines.
_BATCH = 5000


@dataclass(frozen=True)
class Download:
    """One counted request."""

    ownername: str
    dirname: str
    chroot: str
    package: str
    kind: str
    day: int


def _day_of(stamp: str) -> int | None:
    """The UTC day (Unix time of 00:00) of a log time ``02/Dec/2026:16:50:00 +0000``."""
    match = re.fullmatch(
        r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})", stamp
    )
    if not match or match[2] not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, off_h, off_m = match.groups()
    try:
        local = calendar.timegm(
            (int(year), _MONTHS[match[2]], int(day), int(hour), int(minute), int(second))
        )
    except ValueError:
        return None
    offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
    utc = local - offset
    return utc - utc % DAY


def package_name(filename: str) -> str | None:
    """The name of ``<name>-<version>-<release>.<arch>.rpm``, None for anything else."""
    if not filename.endswith(".rpm"):
        return None
    stem, _, arch = filename[: -len(".rpm")].rpartition(".")
    parts = stem.rsplit("-", 2)
    if not arch or len(parts) != 3 or not all(parts):
        return None
    return parts[0]


def parse_line(line: str, results_path: str) -> Download | None:
    """The download ``line`` records, or None when it is not one that counts.

    ``results_path`` is the path part of the results URL (``/results``).
    """
    match = _LINE.match(line)
    if not match or match["method"] != "GET" or match["status"] != "200":
        return None
    path = urllib.parse.unquote(urllib.parse.urlsplit(match["target"]).path)
    prefix = results_path.rstrip("/") + "/"
    if not path.startswith(prefix) or "/../" in path + "/":
        return None
    parts = path[len(prefix) :].split("/")
    if len(parts) < 4 or parts[2] == SRPM_BUILDS_DIR or not all(parts):
        return None
    owner, dirname, chroot = parts[:3]
    day = _day_of(match["time"])
    if day is None:
        return None
    if parts[3:] == ["repodata", "repomd.xml"]:
        return Download(owner, dirname, chroot, "", REPOMD, day)
    if len(parts) == 5:
        name = package_name(parts[4])
        if name is not None:
            return Download(owner, dirname, chroot, name, RPM, day)
    return None


def _position(session: Session, log: str, inode: int) -> DownloadLogPosition | None:
    """Where counting stopped in the file ``log`` names (inode ``inode``): its own row, or
    that of the log the file had another name in (rotated: ``access.log`` is
    ``access.log.1`` now), among the logs of the same source (see :func:`source_of`).
    """
    position = session.get(DownloadLogPosition, log)
    if position is None or position.inode != inode:
        query = select(DownloadLogPosition).where(DownloadLogPosition.inode == inode)
        candidates = session.scalars(query.order_by(DownloadLogPosition.path))
        source = source_of(log)
        position = next((p for p in candidates if source_of(p.path) == source), None)
    return position


def source_of(log: str) -> str:
    """The host a log's name names: ``host`` of a log a backend ships
    (``host:/var/log/…``), ``""`` for a file of this machine.
    """
    host, colon, _path = log.partition(":")
    return host if colon and host and "/" not in host else ""


def _set_position(session: Session, log: str, inode: int, offset: int) -> None:
    position = session.get(DownloadLogPosition, log)
    if position is None:
        session.add(DownloadLogPosition(path=log, inode=inode, offset=offset))
    else:
        position.inode, position.offset = inode, offset


def _new_lines(session: Session, log: Path) -> Iterator[tuple[list[str], int, int]]:
    """Batches of whole lines ``log`` gained since the stored position, each with the
    offset just after it and the file's inode; the position starts over for a rotated or
    truncated log.  The last batch may be empty: the position is stored all the same.
    """
    with log.open("rb") as stream:
        stat = os.fstat(stream.fileno())
        start = start_offset(session, str(log), stat.st_ino, stat.st_size)
        stream.seek(start)
        offset = start
        batch: list[str] = []
        for raw in stream:
            if not raw.endswith(b"\n"):
                break  # a line the server is still writing: read it next time
            offset += len(raw)
            batch.append(raw.decode("utf-8", errors="replace"))
            if len(batch) >= _BATCH:
                yield batch, offset, stat.st_ino
                batch = []
        yield batch, offset, stat.st_ino


def _projects(session: Session, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Project ids by (owner, project name), for the names that exist, in one query."""
    wanted = set(names)
    if not wanted:
        return {}
    owners = {owner for owner, _ in wanted}
    rows = session.execute(
        select(Project.id, Project.ownername, Project.name).where(Project.ownername.in_(owners))
    )
    return {(o, n): i for i, o, n in rows if (o, n) in wanted}


def _store(session: Session, counts: Counter[Download]) -> int:
    projects = _projects(session, {(d.ownername, d.dirname.split(":", 1)[0]) for d in counts})
    stored = 0
    for download, count in counts.items():
        project_id = projects.get((download.ownername, download.dirname.split(":", 1)[0]))
        if project_id is None:
            continue  # a project deleted since, or a path that names none
        key = (project_id, download.chroot, download.package, download.kind, download.day)
        row = session.get(DownloadCount, key)
        if row is None:
            row = DownloadCount(
                project_id=project_id,
                chroot=download.chroot,
                package=download.package,
                kind=download.kind,
                day=download.day,
                count=0,
            )
            session.add(row)
        row.count += count
        stored += count
    return stored


def count_log(session: Session, log: Path, results_path: str) -> int:
    """Add the downloads of ``log``'s new lines to the counts; returns how many.

    After a rotation, count the rotated file (``access.log.1``) first, then the new one:
    the rotated file is found by its inode and read on from where the job stopped, so the
    lines written between the last run and the rotation are counted too.

    Commits after each batch together with the new position: the counts and the offset
    never disagree.
    """
    total = 0
    for lines, offset, inode in _new_lines(session, log):
        counts = Counter(d for line in lines if (d := parse_line(line, results_path)))
        total += _store(session, counts)
        _set_position(session, str(log), inode, offset)
        session.commit()
    return total


class PositionConflict(Exception):
    """Shipped lines that do not start where counting stopped (``offset``)."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"counting of this log stopped at offset {offset}")
        self.offset = offset


def start_offset(session: Session, log: str, inode: int, size: int) -> int:
    """Where the next lines of ``log`` (a file of ``size`` bytes) start: where counting
    stopped, 0 for a new, rotated-in or truncated file.
    """
    position = _position(session, log, inode)
    if position is None or position.offset > size:
        return 0
    return position.offset


def count_shipped(
    session: Session,
    log: str,
    *,
    inode: int,
    size: int,
    start: int,
    end: int,
    lines: Iterable[str],
    results_path: str,
) -> int:
    """Count the ``lines`` a backend read from ``log`` between offsets ``start`` and
    ``end``; returns how many downloads.  Lines counted before (a batch sent again after
    a lost answer) count nothing; lines that do not start where counting stopped raise
    :class:`PositionConflict`.  Never commits.
    """
    expected = start_offset(session, log, inode, size)
    if start != expected:
        if start < expected and end <= expected:
            return 0
        raise PositionConflict(expected)
    counts = Counter(d for line in lines if (d := parse_line(line, results_path)))
    total = _store(session, counts)
    _set_position(session, log, inode, end)
    session.flush()
    return total


@dataclass(frozen=True)
class DayCount:
    """One stored count, as the API gives it."""

    day: int
    chroot: str
    package: str
    kind: str
    count: int


def download_counts(
    session: Session,
    project: Project,
    *,
    days: int,
    chroot: str | None = None,
    package: str | None = None,
    now: float | None = None,
) -> list[DayCount]:
    """The project's counts of the last ``days`` days (today included), oldest first."""
    today = int(now if now is not None else time.time())
    first = today - today % DAY - (days - 1) * DAY
    query = select(DownloadCount).where(
        DownloadCount.project_id == project.id, DownloadCount.day >= first
    )
    if chroot is not None:
        query = query.where(DownloadCount.chroot == chroot)
    if package is not None:
        query = query.where(DownloadCount.package == package, DownloadCount.kind == RPM)
    query = query.order_by(
        DownloadCount.day, DownloadCount.kind, DownloadCount.chroot, DownloadCount.package
    )
    return [
        DayCount(row.day, row.chroot, row.package, row.kind, row.count)
        for row in session.scalars(query)
    ]


def daily_totals(
    counts: Iterable[DayCount], days: int, now: float | None = None
) -> list[dict[str, int]]:
    """Per day of the window: ``{"day", "rpm", "repomd"}`` totals, days without any too."""
    today = int(now if now is not None else time.time())
    first = today - today % DAY - (days - 1) * DAY
    totals = {first + i * DAY: {"day": first + i * DAY, RPM: 0, REPOMD: 0} for i in range(days)}
    for count in counts:
        if count.day in totals:
            totals[count.day][count.kind] += count.count
    return list(totals.values())
