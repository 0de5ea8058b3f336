"""SBOMs and signed provenance of a build chroot: SPDX that spdx-tools validates,
CycloneDX, a statement whose signature verifies with the project's key, and our
copr-cli's verify-rpm passing the built package and failing a tampered one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from copr_backend.sbom import PROVENANCE_FILE, PROVENANCE_TYPE, STATEMENT_TYPE, spdx_license
from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_cli.verify import VerificationFailed, check_signature
from copr_common.enums import BuildSourceEnum, StatusEnum

CHROOT = "fedora-42-x86_64"
COPR_CLI = Path(sys.executable).parent / "copr-cli"


def _copr_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COPR_CLI), "--config", str(config), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_a_build_chroot_is_described_signed_and_verifiable(
    factory, db_session, make_backend, make_srpm, distgit, frontend, tmp_path
):
    backend = make_backend()
    project = factory.project(name="hello", chroots=[CHROOT])
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("hello", "2.5")}
    )

    def finished() -> bool:
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed)

    with running_build_dispatcher(backend):
        wait_for(finished, 180, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    project_dir = backend.settings.results_dir / project.ownername / "hello"
    build_dir = project_dir / CHROOT / f"{build.id:08d}-hello"

    # SPDX 2.3, valid by spdx-tools: both packages with their digests, the spec inside.
    spdx = build_dir / "hello.spdx.json"
    document = parse_file(str(spdx))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    raw = json.loads(spdx.read_text())
    names = {p["packageFileName"]: p for p in raw["packages"] if "packageFileName" in p}
    assert set(names) == {"hello-2.5-1.noarch.rpm", "hello-2.5-1.src.rpm"}
    binary = names["hello-2.5-1.noarch.rpm"]
    assert binary["licenseDeclared"] == "MIT"
    assert "hello = 2.5-1" in binary["comment"]
    assert [f["fileName"] for f in raw["files"]] == ["./hello.spec"]
    assert any(p["name"] == "rpmbuild" for p in raw["packages"])  # the buildroot's tool
    cdx = json.loads((build_dir / "hello.cdx.json").read_text())
    assert cdx["bomFormat"] == "CycloneDX"
    assert cdx["specVersion"] == "1.5"
    assert {c["name"] for c in cdx["components"]} >= {"hello", "hello.spec"}

    # The provenance: the packages' digests as subjects, signed by the project's key.
    provenance = build_dir / PROVENANCE_FILE
    statement = json.loads(provenance.read_text())
    assert statement["_type"] == STATEMENT_TYPE
    assert statement["predicateType"] == PROVENANCE_TYPE
    assert {s["name"] for s in statement["subject"]} == set(names)
    run = statement["predicate"]["runDetails"]["metadata"]
    assert run["startedOn"] <= run["finishedOn"]
    pubkey = (project_dir / "pubkey.gpg").read_bytes()
    signature = (build_dir / f"{PROVENANCE_FILE}.asc").read_bytes()
    check_signature(provenance.read_bytes(), signature, pubkey)

    # API v3 links them; our copr-cli checks a package against them.
    answer = requests.get(f"{frontend.url}/api_3/build-chroot/{build.id}/{CHROOT}", timeout=30)
    chroot = answer.json()
    result_url = chroot["result_url"]
    assert chroot["attestations"] == {
        "spdx": f"{result_url}hello.spdx.json",
        "cyclonedx": f"{result_url}hello.cdx.json",
        "provenance": f"{result_url}{PROVENANCE_FILE}",
        "provenance_signature": f"{result_url}{PROVENANCE_FILE}.asc",
    }
    config = tmp_path / "copr.conf"
    config.write_text(
        f"[copr-cli]\nlogin = x\nusername = nobody\ntoken = x\ncopr_url = {frontend.url}\n"
        "encrypted = False\n"
    )
    rpm = build_dir / "hello-2.5-1.noarch.rpm"
    good = _copr_cli(config, "verify-rpm", str(build.id), str(rpm))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "hello-2.5-1.noarch.rpm: verified" in good.stdout

    tampered = tmp_path / rpm.name
    tampered.write_bytes(rpm.read_bytes() + b"\0")
    bad = _copr_cli(config, "verify-rpm", str(build.id), str(tampered))
    assert bad.returncode == 3, bad.stdout + bad.stderr
    assert "not a package this build produced" in bad.stderr

    # A statement changed after it was signed no longer verifies.
    provenance.write_text(provenance.read_text().replace("hello-2.5-1", "hello-6.6-1"))
    forged = _copr_cli(config, "verify-rpm", str(build.id), str(rpm))
    assert forged.returncode == 3
    assert "does not verify with the project's key" in forged.stderr
    with pytest.raises(VerificationFailed):
        check_signature(provenance.read_bytes(), signature, pubkey)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("MIT", "MIT"),
        ("GPL-2.0-or-later AND (MIT OR Apache-2.0)", "GPL-2.0-or-later AND (MIT OR Apache-2.0)"),
        ("GPLv2+", None),  # the old Fedora short names are no SPDX
        ("", None),
        ("MIT AND", None),
    ],
)
def test_only_spdx_license_tags_are_declared(tag: str, expected: str | None) -> None:
    assert spdx_license(tag) == expected
