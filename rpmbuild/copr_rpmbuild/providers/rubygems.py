"""``rubygems`` sources: ``gem2rpm --fetch <gem> --srpm`` where gem2rpm is installed."""

from __future__ import annotations

import re
import shutil
from typing import Any

from copr_rpmbuild import runner
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.providers.base import SourceResult, regular_file, text_field

_GEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def produce(ctx: BuildContext, source: dict[str, Any]) -> SourceResult:
    gem = text_field(source, "gem_name")
    if not _GEM.match(gem):
        raise BuildFailure(f"{gem!r} is not a valid gem name")
    gem2rpm = shutil.which(ctx.settings.gem2rpm_command)
    if gem2rpm is None:
        raise BuildFailure("RubyGems builds need gem2rpm, which is not installed on this builder")
    if "https" not in ctx.settings.enabled_protocols:
        raise BuildFailure("RubyGems builds need the https protocol, which is disabled")
    outdir = ctx.subdir("gem2rpm")
    ctx.log.line(f"Making an SRPM of gem {gem} with gem2rpm")
    status = runner.run(
        [gem2rpm, "--fetch", gem, "--srpm", "-C", str(outdir)],
        ctx.limits,
        cwd=outdir,
        describe="gem2rpm",
    )
    srpms = sorted(p for p in outdir.glob("*.src.rpm") if regular_file(p))
    if status != 0 or len(srpms) != 1:
        raise BuildFailure(f"gem2rpm could not make an SRPM of {gem} (exit status {status})")
    return SourceResult(srpm=srpms[0])
