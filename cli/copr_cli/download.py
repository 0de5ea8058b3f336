"""``download-build``: fetch a build's results per chroot, optionally only some files.

The results directory of a chroot is served as an HTML index; it is walked link by link
(never above the chroot's directory) and files are streamed to disk with a progress bar.
"""

from __future__ import annotations

import fnmatch
import sys
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import requests

from copr.v3 import CoprRequestException
from copr_cli.progress import ProgressBar

CHUNK = 64 * 1024
TIMEOUT = (30, 300)
RPM_PATTERNS = ["*.rpm"]
SPEC_PATTERNS = ["*.spec"]
LOG_PATTERNS = ["*.log", "*.log.gz"]
REVIEW_PATTERNS = ["licensecheck.txt", "review.txt", "review.json", "rpmlint.txt"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def list_files(session: requests.Session, url: str) -> list[str]:
    """Paths (relative to ``url``, a directory) of every file below it."""
    base = url if url.endswith("/") else url + "/"
    found: list[str] = []
    todo = [""]
    seen = {""}
    while todo:
        relative = todo.pop()
        response = session.get(base + relative, timeout=TIMEOUT)
        if response.status_code == 404:
            continue
        response.raise_for_status()
        parser = _Links()
        parser.feed(response.text)
        for href in parser.links:
            target = urljoin(base + relative, href)
            if not target.startswith(base) or "?" in href or href.startswith("#"):
                continue
            path = unquote(urlsplit(target).path[len(urlsplit(base).path) :])
            if not path or path in seen or path.startswith("index.html"):
                continue
            seen.add(path)
            if path.endswith("/"):
                todo.append(path)
            elif PurePosixPath(path).name.startswith("index.html"):
                continue
            else:
                found.append(path)
    return sorted(found)


def wanted(path: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatch(PurePosixPath(path).name, p) for p in patterns)


def download_tree(
    url: str, destination: Path, patterns: list[str], progress: bool | None = None
) -> list[Path]:
    """Download the files below ``url`` matching ``patterns`` (all when empty)."""
    written: list[Path] = []
    base = url if url.endswith("/") else url + "/"
    with requests.Session() as session:
        try:
            paths = [path for path in list_files(session, base) if wanted(path, patterns)]
            for path in paths:
                target = destination.joinpath(*PurePosixPath(path).parts)
                if ".." in PurePosixPath(path).parts:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with session.get(base + path, stream=True, timeout=TIMEOUT) as response:
                    response.raise_for_status()
                    total = int(response.headers.get("Content-Length") or 0)
                    bar = ProgressBar(total, enabled=progress)
                    if bar.enabled:
                        sys.stderr.write(f"{path}\n")
                    done = 0
                    with target.open("wb") as file:
                        # Raw bytes: a .log.gz served with Content-Encoding: gzip (so that a
                        # browser shows it) is saved as the gzip file it is.
                        for chunk in response.raw.stream(CHUNK, decode_content=False):
                            file.write(chunk)
                            done += len(chunk)
                            bar.update(done)
                    bar.finish()
                written.append(target)
        except requests.RequestException as error:
            raise CoprRequestException(f"Download from {base} failed: {error}") from None
    return written
