"""watch-build: each change of a build's or a chroot's state, live, then the exit code."""

from __future__ import annotations

from typing import Any

import pytest

from copr_cli.context import Context
from copr_cli.errors import CoprBuildException
from copr_cli.watch import watch_builds
from copr_common.enums import StatusEnum
from copr_frontend.builds.states import set_chroot_status, set_source_status


def test_states_are_shown_as_they_change(
    config_file: Any, factory: Any, db_session: Any, user: Any, capsys: Any
) -> None:
    project = factory.project(user, "proj", chroots=("fedora-42-x86_64", "epel-9-x86_64"))
    build = factory.build(project)
    fedora, epel = sorted(build.chroots, key=lambda c: c.mock_chroot.name != "fedora-42-x86_64")
    steps = [
        lambda: set_source_status(build, StatusEnum.succeeded),
        lambda: [set_chroot_status(c, StatusEnum.running) for c in build.chroots],
        lambda: set_chroot_status(fedora, StatusEnum.succeeded),
        lambda: set_chroot_status(epel, StatusEnum.failed),
    ]

    def advance(_: float) -> None:
        steps.pop(0)()
        db_session.commit()

    ctx = Context(str(config_file), no_color=True)
    with pytest.raises(CoprBuildException) as error:
        watch_builds(ctx, [build.id], interval=0, sleep=advance)
    assert str(error.value) == f"Build(s) {build.id} failed."
    out = capsys.readouterr().out
    assert out.startswith("Watching build(s): (this may be safely interrupted)\n")
    assert f"Build {build.id}: failed" in out
    assert "  epel-9-x86_64: running" in out
    assert "  fedora-42-x86_64: succeeded" in out
    assert "  epel-9-x86_64: failed" in out
