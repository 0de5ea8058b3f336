"""Where a package's upstream project and its spec are, as links a page may show."""

from __future__ import annotations

import urllib.parse

from copr_frontend.packages.models import Package


def spec_url(package: Package, dist_git_url: str) -> str | None:
    """The spec as dist-git serves it at the main dir's newest import, or None before one.

    dist-git's ``plain`` view at a fixed commit, so the link keeps showing the spec that
    was built even after later imports.
    """
    if not package.spec_commit:
        return None
    owner = package.project.ownername
    repo = f"{owner}/{package.project.name}/{package.name}.git"
    query = urllib.parse.urlencode({"id": package.spec_commit})
    return f"{dist_git_url}/{repo}/plain/{package.name}.spec?{query}"


def safe_link(url: str | None) -> str | None:
    """``url`` when a browser may follow it as a link: http(s) with a host, nothing else.

    The URL tag is whatever the packager wrote; ``javascript:`` or ``data:`` in an
    ``href`` would run in the viewer's session.
    """
    if not url:
        return None
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return None
    return url.strip()
