"""The lookaside cache: source tarballs stored by content hash, next to the git repos.

A file lives at ``<root>/<owner>/<dirname>/<package>/<filename>/<hashtype>/<hash>/<filename>``
and is served over HTTP under ``/repo/pkgs/`` with the same path, which is what the
``sources`` file in each git branch points builders to.  Files are written once, by a
rename from a temporary name, and never changed: a path names one content.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LookasideEntry:
    """One source file in the lookaside cache: its name, hash type and digest."""

    filename: str
    hashtype: str
    digest: str

    def relative_path(self, reponame: str) -> PurePosixPath:
        return PurePosixPath(reponame, self.filename, self.hashtype, self.digest, self.filename)

    def sources_line(self) -> str:
        """The line of the git ``sources`` file for this entry (the BSD-style format)."""
        return f"{self.hashtype.upper()} ({self.filename}) = {self.digest}"


def file_digest(path: Path, hashtype: str) -> str:
    digest = hashlib.new(hashtype)
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class LookasideCache:
    """The lookaside cache on disk: stores source files by repository, name and hash."""

    def __init__(self, root: Path, hashtype: str = "sha512") -> None:
        self.root = root
        self.hashtype = hashtype

    def entry_for(self, path: Path) -> LookasideEntry:
        return LookasideEntry(path.name, self.hashtype, file_digest(path, self.hashtype))

    def store(
        self, reponame: str, path: Path, entry: LookasideEntry | None = None
    ) -> LookasideEntry:
        """Copy ``path`` into the cache (a no-op when that content is there already)."""
        entry = entry or self.entry_for(path)
        target = self.root / entry.relative_path(reponame)
        if target.exists():
            return entry
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{entry.filename}.")
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as stream:
                shutil.copyfileobj(stream, out, CHUNK)
            Path(temporary).chmod(0o644)
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return entry

    def path_of(self, reponame: str, entry: LookasideEntry) -> Path:
        return self.root / entry.relative_path(reponame)
