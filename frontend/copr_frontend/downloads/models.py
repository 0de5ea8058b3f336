"""Per-day download counts and how far the counting job has read each access log."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from copr_frontend.db import Base


class DownloadCount(Base):
    """Successful GETs of one kind on one UTC day: ``rpm`` per package, ``repomd`` (a
    ``repodata/repomd.xml``, i.e. a dnf metadata refresh) with ``package`` empty.
    """

    __tablename__ = "download_counts"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    chroot: Mapped[str] = mapped_column(String(100), primary_key=True)
    package: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[int] = mapped_column(primary_key=True)
    """Unix time of the day's 00:00 UTC."""
    count: Mapped[int] = mapped_column(default=0)


class DownloadLogPosition(Base):
    """Where the job stopped in one log file, so that each line is counted once.

    The inode tells a rotated log (a new file under the same name) from the one read
    before; a file shorter than the offset was truncated in place.
    """

    __tablename__ = "download_log_positions"

    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    inode: Mapped[int] = mapped_column(BigInteger, index=True)
    offset: Mapped[int] = mapped_column(BigInteger)
