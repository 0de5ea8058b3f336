"""``link`` and ``upload`` sources: a URL of an SRPM, or of a spec file."""

from __future__ import annotations

import urllib.parse
from pathlib import PurePosixPath
from typing import Any

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.providers.base import SourceResult, text_field


def produce(ctx: BuildContext, source: dict[str, Any]) -> SourceResult:
    url = text_field(source, "url")
    name = PurePosixPath(urllib.parse.urlsplit(url).path).name
    if not name or name in (".", ".."):
        raise BuildFailure(f"{url!r} does not name a file")
    if name.endswith(".src.rpm"):
        srpm = ctx.download(url, ctx.subdir("srpm") / name)
        return SourceResult(srpm=srpm)
    if name.endswith(".spec"):
        sourcedir = ctx.subdir("sources")
        spec = ctx.download(url, sourcedir / name)
        return SourceResult(spec=spec, sourcedir=sourcedir)
    raise BuildFailure(f"{url!r} is neither a .src.rpm nor a .spec file")
