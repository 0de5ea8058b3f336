"""Dist-git ``sources`` files and the lookaside cache they point into.

A ``sources`` line is ``SHA512 (name.tar.gz) = <hash>`` or the older ``<md5>  name.tar.gz``.
Each file is downloaded from ``<lookaside_url>/<pattern>`` and its checksum verified.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure

_NEW = re.compile(r"^(?P<type>[A-Za-z0-9]+) \((?P<name>[^/)]+)\) = (?P<hash>[0-9a-fA-F]+)$")
_OLD = re.compile(r"^(?P<hash>[0-9a-fA-F]+)\s+(?P<name>[^/\s]+)$")
_HASHES = ("md5", "sha1", "sha256", "sha512")


@dataclass(frozen=True)
class SourceEntry:
    """One line of a ``sources`` file: a file name and its checksum."""

    filename: str
    hashtype: str
    hash: str


@dataclass(frozen=True)
class Lookaside:
    """Where one repository's sources live: base URL, URI pattern, name and namespace."""

    url: str
    pattern: str
    name: str
    namespace: str
    default_hashtype: str = "md5"

    def url_for(self, entry: SourceEntry) -> str:
        path = self.pattern.format(
            name=self.name,
            namespace=self.namespace,
            filename=entry.filename,
            hashtype=entry.hashtype,
            hash=entry.hash,
        )
        return f"{self.url.rstrip('/')}/{path.lstrip('/')}"


def parse_sources(text: str, default_hashtype: str = "md5") -> list[SourceEntry]:
    entries: list[SourceEntry] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = _NEW.match(line)
        if match:
            hashtype = match["type"].lower()
        else:
            match = _OLD.match(line)
            hashtype = default_hashtype
        if not match or hashtype not in _HASHES or match["name"] in (".", ".."):
            raise BuildFailure(f"line {number} of the sources file is not understood: {line!r}")
        entries.append(SourceEntry(match["name"], hashtype, match["hash"].lower()))
    return entries


def split_repo_path(clone_url: str, base: str | None = None) -> tuple[str, str]:
    """``(namespace, name)`` of a clone URL, e.g. ``("owner/project", "pkg")``.

    The part after ``base`` when the URL starts with it, else the URL's path without a
    leading ``/git/`` (Copr's and Fedora's clone URL layout).
    """
    url = clone_url.rstrip("/")
    if base and url.startswith(base.rstrip("/") + "/"):
        path = url[len(base.rstrip("/")) + 1 :]
    else:
        path = urllib.parse.urlsplit(url).path.lstrip("/")
        for prefix in ("git/", "cgit/"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
                break
    path = path.removesuffix(".git")
    parts = PurePosixPath(path)
    return str(parts.parent) if str(parts.parent) != "." else "", parts.name


def fetch_sources(ctx: BuildContext, repo: Path, lookaside: Lookaside, sources_file: str) -> int:
    """Download every file ``sources_file`` lists into ``repo``; how many there were."""
    listing = repo / sources_file
    if not listing.is_file():
        ctx.log.line(f"No {sources_file} file: no lookaside sources to fetch")
        return 0
    entries = parse_sources(listing.read_text(errors="replace"), lookaside.default_hashtype)
    for entry in entries:
        dest = repo / entry.filename
        ctx.download(lookaside.url_for(entry), dest)
        digest = hashlib.new(entry.hashtype)
        with dest.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                digest.update(chunk)
        if digest.hexdigest() != entry.hash:
            raise BuildFailure(
                f"{entry.filename} from the lookaside cache has the wrong {entry.hashtype} "
                f"checksum {digest.hexdigest()} (expected {entry.hash})"
            )
    return len(entries)
