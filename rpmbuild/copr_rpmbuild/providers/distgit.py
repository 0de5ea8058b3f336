"""``distgit`` sources: a package in a dist-git (Fedora's, CentOS', another Copr's).

The instance is the one in ``distgit_instances`` whose ``clone_hostnames`` holds the clone
URL's host (``distgit`` in the source names it when several match); its lookaside cache
gives the sources listed in the repository's ``sources`` file.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from copr_rpmbuild.config import DistGitInstance
from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.lookaside import Lookaside, fetch_sources, split_repo_path
from copr_rpmbuild.providers.base import SourceResult, single_spec, text_field


def produce(ctx: BuildContext, source: dict[str, Any]) -> SourceResult:
    clone_url = text_field(source, "clone_url")
    committish = text_field(source, "committish", required=False) or None
    wanted = text_field(source, "distgit", required=False)
    instance = _instance(ctx.settings.distgit_instances, clone_url, wanted)
    repo = ctx.workspace / "repo"
    ctx.clone(clone_url, repo, committish)
    namespace, name = split_repo_path(clone_url)
    lookaside = Lookaside(
        url=instance.lookaside_url,
        pattern=instance.lookaside_uri_pattern,
        name=name,
        namespace=namespace,
        default_hashtype=instance.default_hashtype,
    )
    fetch_sources(ctx, repo, lookaside, instance.sources_file)
    spec = single_spec(repo, f"{name}.spec" if (repo / f"{name}.spec").is_file() else "")
    return SourceResult(spec=spec, sourcedir=repo)


def _instance(
    instances: dict[str, DistGitInstance], clone_url: str, wanted: str
) -> DistGitInstance:
    if wanted and wanted in instances:
        return instances[wanted]
    host = urllib.parse.urlsplit(clone_url).hostname or ""
    for instance in instances.values():
        if host in instance.clone_hostnames:
            return instance
    known = ", ".join(sorted(instances)) or "none"
    raise BuildFailure(
        f"no dist-git instance is configured for {clone_url!r} (known instances: {known})"
    )
