"""Our copr-cli's uploadrpm against a frontend that allows direct RPM uploads."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.builds.models import Build

SPEC = """\
Name:      uploaded
Version:   1.0
Release:   1
Summary:   Built elsewhere
License:   MIT
BuildArch: noarch

%description
Published as it is.

%files
"""


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(update={"direct_rpm_upload": True})


@pytest.fixture
def rpm(tmp_path: Path) -> Path:
    spec = tmp_path / "uploaded.spec"
    spec.write_text(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {tmp_path}", str(spec)],
                   check=True, capture_output=True)  # fmt: skip
    (found,) = (tmp_path / "RPMS" / "noarch").glob("uploaded-1.0-1*.noarch.rpm")
    return found


def test_uploadrpm(cli: Any, factory: Any, rpm: Path, live_server: Any) -> None:
    factory.mock_chroot("fedora-42-x86_64")
    factory.mock_chroot("epel-9-x86_64")
    assert cli("create", "proj", "--chroot", "fedora-42-x86_64", "--chroot",
               "epel-9-x86_64").code == 0  # fmt: skip
    result = cli("uploadrpm", "proj", str(rpm), "-r", "epel-9-x86_64", "--nowait")
    assert result.code == 0, result
    lines = result.out.splitlines()
    assert lines[0] == f"Uploading package {rpm}"
    assert lines[1] == "Build was added to proj:"
    build_id = int(result.out.split("Created builds: ")[1].split()[0])
    assert lines[2] == f"  {live_server.url}/coprs/build/{build_id}"
    build = factory.session.get(Build, build_id)
    assert build.source_type == BuildSourceEnum.rpm_upload
    assert build.state == StatusEnum.pending
    assert [c.name for c in build.chroots] == ["epel-9-x86_64"]

    # Two chroots and none named: which one is the user's to say.
    result = cli("uploadrpm", "proj", str(rpm), "--nowait")
    assert result.code == 1
    assert "An uploaded RPM is published into one chroot" in result.err
