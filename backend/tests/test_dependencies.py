"""What a build chroot provides and requires: read from real RPMs with ``rpm`` and sent
to the frontend with the chroot's final report (the frontend keeps it per package)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from copr_backend.dependencies import read_dependencies
from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum

CHROOT = "fedora-42-x86_64"
TAGS = (
    "BuildRequires:  libfoo-devel >= 1.2\nBuildRequires:  /usr/bin/true\nProvides: hello-api = 3\n"
)


def test_provides_files_and_buildrequires_are_read(tmp_path: Path) -> None:
    spec = tmp_path / "dep.spec"
    spec.write_text(
        "Name: dep\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\nBuildArch: noarch\n"
        + TAGS
        + "%description\nd\n%install\nmkdir -p %{buildroot}/usr/share/dep\n"
        "touch %{buildroot}/usr/share/dep/data\n%files\n/usr/share/dep/data\n"
    )
    out = tmp_path / "out"
    result = subprocess.run(
        ["rpmbuild", "-ba", "--nodeps", "--define", f"_topdir {tmp_path / 'top'}",
         "--define", f"_rpmdir {out}", "--define", f"_srcrpmdir {out}",
         "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
         str(spec)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = read_dependencies(out)
    assert {"dep = 1-1", "hello-api = 3", "/usr/share/dep/data"} <= set(found["provides"])
    assert found["requires"] == ["/usr/bin/true", "libfoo-devel >= 1.2"]

    assert read_dependencies(tmp_path / "top") == {}  # no RPMs: nothing to say
    (out / "broken.noarch.rpm").write_text("not an rpm")
    assert read_dependencies(out) == {}  # unreadable: the frontend keeps what it had


@pytest.mark.slow
def test_the_final_report_carries_them_to_the_frontend(
    factory, db_session, make_backend, make_srpm, distgit, frontend
):
    from copr_frontend.builds.models import PackageDependencies

    backend = make_backend()
    project = factory.project(name="deps", chroots=[CHROOT])
    url = make_srpm("hello", "2.5", tags=TAGS)
    build = factory.build(project, source_type=BuildSourceEnum.link, source_json={"url": url})

    def finished() -> bool:
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed)

    with running_build_dispatcher(backend):
        wait_for(finished, 180, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    (row,) = db_session.scalars(select(PackageDependencies)).all()
    assert row.package_id == build.package_id
    assert row.build_id == build.id
    assert {"hello = 2.5-1", "hello-api = 3", "/usr/share/hello/README"} <= set(row.provides)
    assert row.requires == ["/usr/bin/true", "libfoo-devel >= 1.2"]
