"""Buildroots for the RPM phase: mock where installed, else rpmbuild in bubblewrap."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import InfrastructureError
from copr_rpmbuild.task import BuildTask


class Builder(Protocol):
    """What turns a spec into an SRPM and RPMs: a mock chroot, or the host in a sandbox."""

    name: str
    buildroot: str
    """What builds the packages: ``mock`` (a mock chroot) or ``host`` (this system)."""

    def describe(self, task: BuildTask) -> str:
        """The buildroot in one line, for the top of the log."""
        ...

    def missing_buildrequires(self, ctx: BuildContext, task: BuildTask, spec: Path) -> list[str]:
        """The BuildRequires of ``spec`` this buildroot does not install."""
        ...

    def build(self, ctx: BuildContext, task: BuildTask, spec: Path, sourcedir: Path) -> Path:
        """Build ``spec``; the directory holding the SRPM and RPMs it made."""
        ...


def choose_builder(ctx: BuildContext) -> Builder:
    wanted = ctx.settings.buildroot
    has_mock = shutil.which("mock") is not None
    if wanted == "mock" and not has_mock:
        raise InfrastructureError("buildroot = mock, but mock is not installed on this builder")
    # Each imported only when chosen: mock's templates (jinja2) cost a bwrap build 50 ms.
    if wanted == "mock" or (wanted == "auto" and has_mock):
        from copr_rpmbuild.builders.mock import MockBuilder

        return MockBuilder()
    from copr_rpmbuild.builders.bwrap import BwrapBuilder

    return BwrapBuilder()
