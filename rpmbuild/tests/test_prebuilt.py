"""Direct RPM uploads: the RPM phase publishes already-built RPMs as they are."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED, EXIT_SUCCESS
from copr_rpmbuild.testing import Builder, HttpServer, rpm_task

SPEC = """\
Name:           uploaded
Version:        2.0
Release:        3
Summary:        An RPM built elsewhere
License:        MIT
{arch}

%description
Built by its packager, published as it is.

%install
mkdir -p %{{buildroot}}/usr/share/uploaded
echo hi > %{{buildroot}}/usr/share/uploaded/hi

%files
/usr/share/uploaded/hi
"""


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A noarch RPM, an x86_64 one and the SRPM, built on the host as a packager would."""
    top = tmp_path_factory.mktemp("prebuilt")
    found: dict[str, Path] = {}
    for arch in ("noarch", "x86_64"):
        spec = top / f"{arch}.spec"
        spec.write_text(SPEC.format(arch="BuildArch: noarch" if arch == "noarch" else ""))
        subprocess.run(
            ["rpmbuild", "-ba", "--define", f"_topdir {top / arch}", "--define",
             "_build_id_links none", "--target", arch, str(spec)],
            check=True, capture_output=True,
        )  # fmt: skip
        (found[arch],) = (top / arch / "RPMS").glob(f"*/*.{arch}.rpm")
        (found["src"],) = (top / arch / "SRPMS").glob("*.src.rpm")
    damaged = bytearray(found["noarch"].read_bytes())
    damaged[-10] ^= 0xFF
    found["damaged"] = top / "damaged-2.0-3.noarch.rpm"
    found["damaged"].write_bytes(bytes(damaged))
    return found


def _publish(builder: Builder, http: HttpServer, tmp_path: Path, rpm: Path, chroot: str) -> int:
    url = http.put(f"uploads/{tmp_path.name}/{rpm.name}", rpm.read_bytes())
    task = rpm_task(51, chroot, "", None, package_name="uploaded", prebuilt_rpm_urls=[url])
    task.pop("git_repo")
    (tmp_path / "task.json").write_text(json.dumps(task))
    return builder.run("--task-file", str(tmp_path / "task.json")).returncode


def test_an_uploaded_rpm_is_published_as_it_is(
    builder: Builder, http_server: HttpServer, tmp_path: Path, packages: dict[str, Path]
) -> None:
    rpm = packages["noarch"]
    assert _publish(builder, http_server, tmp_path, rpm, "fedora-41-aarch64") == EXIT_SUCCESS
    assert (builder.resultdir / rpm.name).read_bytes() == rpm.read_bytes()
    results = builder.results()
    assert results["packages"] == [
        {"name": "uploaded", "epoch": None, "version": "2.0", "release": "3", "arch": "noarch"}
    ]
    # Uploaded packages are checked as built ones are.
    assert results["rpmlint"]["ran"] is True
    assert "publishing 1 uploaded RPM(s) as they are; nothing is built" in builder.log()
    assert "success" in builder.files()
    # Nothing was built, so no buildroot is named.
    assert "buildroot.json" not in builder.files()


@pytest.mark.parametrize(
    ("which", "chroot", "reason"),
    [
        ("x86_64", "fedora-41-aarch64",
         "the uploaded uploaded-2.0-3.x86_64.rpm is built for x86_64, not for fedora-41-aarch64"),
        ("src", "fedora-41-x86_64",
         "the uploaded uploaded-2.0-3.src.rpm is a source RPM, not a built package"),
        ("damaged", "fedora-41-x86_64",
         "damaged-2.0-3.noarch.rpm is damaged: its digests do not match "
         "(damaged-2.0-3.noarch.rpm: DIGESTS NOT OK)"),
    ],
)  # fmt: skip
def test_bad_uploads_fail_and_publish_nothing(
    builder: Builder,
    http_server: HttpServer,
    tmp_path: Path,
    packages: dict[str, Path],
    which: str,
    chroot: str,
    reason: str,
) -> None:
    code = _publish(builder, http_server, tmp_path, packages[which], chroot)
    assert code == EXIT_BUILD_FAILED, builder.log()
    assert (builder.resultdir / "fail-reason.txt").read_text() == f"RPM build failed: {reason}\n"
    assert not [name for name in builder.files() if name.endswith(".rpm")]
