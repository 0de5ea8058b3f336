"""Source providers: each turns one ``source_type``'s ``source_json`` into sources.

A provider returns either a finished SRPM or a spec file with a directory of sources
(some possibly still remote); the source phase (``copr_rpmbuild.srpm``) makes the SRPM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from copr_common.enums import BuildSourceEnum
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.providers import custom, distgit, pypi, rubygems, scm, url
from copr_rpmbuild.providers.base import SourceResult

Provider = Callable[[BuildContext, dict[str, Any]], SourceResult]

PROVIDERS: dict[BuildSourceEnum, Provider] = {
    BuildSourceEnum.link: url.produce,
    BuildSourceEnum.upload: url.produce,
    BuildSourceEnum.scm: scm.produce,
    BuildSourceEnum.pypi: pypi.produce,
    BuildSourceEnum.rubygems: rubygems.produce,
    BuildSourceEnum.custom: custom.produce,
    BuildSourceEnum.distgit: distgit.produce,
}


def provider_for(source_type: BuildSourceEnum) -> Provider:
    try:
        return PROVIDERS[source_type]
    except KeyError:
        raise BuildFailure(
            f"source type {source_type.label!r} cannot be built into an SRPM by copr-rpmbuild"
        ) from None


__all__ = ["PROVIDERS", "SourceResult", "provider_for"]
