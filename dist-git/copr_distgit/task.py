"""An import task: what the frontend's ``GET /backend/importing/`` lists for each build.

The frontend sends ``build_id, owner, project`` (the project *dir* name), ``branches``
(dist-git branch names of the build's chroots), ``pkg_name``, ``srpm_url``, ``sandbox``
and ``background``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from copr_common.names import (
    InvalidNameError,
    ProjectDirName,
    validate_owner,
    validate_package_name,
)
from copr_common.worker_manager import QueueTask

# A branch becomes refs/heads/<branch>: keep to names git and URLs take without quoting.
_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class InvalidTaskError(ValueError):
    """A task the frontend sent that cannot be imported; the message says why."""


@dataclass(frozen=True)
class ImportTask(QueueTask):
    """One build's SRPM to import, as the frontend lists it."""

    build_id: int
    owner: str
    project: str
    branches: tuple[str, ...]
    pkg_name: str
    srpm_url: str
    sandbox: str | None = None
    background: bool = False

    @property
    def id(self) -> str:
        return str(self.build_id)

    @property
    def priority(self) -> int:
        # Background builds wait for everyone else's.
        return 100 if self.background else 0

    @property
    def reponame(self) -> str:
        """``<owner>/<dirname>/<package>``: the repo's path below the git and lookaside roots."""
        return f"{self.owner}/{self.project}/{self.pkg_name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_id": self.build_id,
            "owner": self.owner,
            "project": self.project,
            "branches": list(self.branches),
            "pkg_name": self.pkg_name,
            "srpm_url": self.srpm_url,
            "sandbox": self.sandbox,
            "background": self.background,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ImportTask:
        if not isinstance(data, dict):
            raise InvalidTaskError(f"an import task must be a JSON object, got {data!r}")
        build_id = data.get("build_id")
        if not isinstance(build_id, int) or isinstance(build_id, bool) or build_id < 0:
            raise InvalidTaskError(f"'build_id' must be a non-negative integer, got {build_id!r}")
        missing = [
            k for k in ("owner", "project", "branches", "pkg_name", "srpm_url") if k not in data
        ]
        if missing:
            raise InvalidTaskError(f"build {build_id}: missing {', '.join(missing)}")
        try:
            owner = validate_owner(_string(data, "owner"))
            project = str(ProjectDirName.parse(_string(data, "project")))
            pkg_name = validate_package_name(_string(data, "pkg_name"))
        except InvalidNameError as error:
            raise InvalidTaskError(f"build {build_id}: {error}") from None
        branches = data["branches"]
        if not isinstance(branches, list) or not branches:
            raise InvalidTaskError(f"build {build_id}: 'branches' must be a non-empty list")
        for branch in branches:
            if not isinstance(branch, str) or not _BRANCH.match(branch) or ".." in branch:
                raise InvalidTaskError(f"build {build_id}: invalid branch name {branch!r}")
        srpm_url = _string(data, "srpm_url")
        if not srpm_url.startswith(("http://", "https://")):
            raise InvalidTaskError(
                f"build {build_id}: 'srpm_url' must be an http(s) URL, got {srpm_url!r}"
            )
        sandbox = data.get("sandbox")
        return cls(
            build_id=build_id,
            owner=owner,
            project=project,
            branches=tuple(dict.fromkeys(branches)),
            pkg_name=pkg_name,
            srpm_url=srpm_url,
            sandbox=sandbox if isinstance(sandbox, str) else None,
            background=bool(data.get("background", False)),
        )


def _string(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise InvalidTaskError(f"build {data.get('build_id')}: {key!r} must be a non-empty string")
    return value
