"""rpmlint after the RPM phase: rpmlint.txt, the findings in results.json, and a project
that fails builds on rpmlint errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from copr_rpmbuild.testing import Builder, HttpServer, publish_distgit, rpm_task, write_config

# No %changelog: rpmlint's error no-changelogname-tag (and a few warnings).
SPEC = """Name: linted
Version: 1.0
Release: 1
Summary: A package rpmlint finds things in
License: MIT
BuildArch: noarch

%description
A package rpmlint finds things in.

%install
mkdir -p %{buildroot}/usr/share/linted
echo ok > %{buildroot}/usr/share/linted/data

%files
/usr/share/linted/data
"""
CHROOT = "fedora-41-x86_64"


def _build(builder: Builder, http_server: HttpServer, tmp_path: Path, **task: object):  # type: ignore[no-untyped-def]
    url, commit = publish_distgit(http_server, tmp_path, "linted", SPEC)
    task_file = tmp_path / "task.json"
    task_file.write_text(
        json.dumps(rpm_task(31, CHROOT, url, commit, package_name="linted", **task))
    )
    return builder.run("--task-file", str(task_file), "--drop-resultdir")


def _results(builder: Builder) -> dict[str, object]:
    return json.loads((builder.resultdir / "results.json").read_text())  # type: ignore[no-any-return]


def test_rpmlint_findings_are_kept_beside_the_packages(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    result = _build(builder, http_server, tmp_path)
    assert result.returncode == 0, builder.log()
    report = (builder.resultdir / "rpmlint.txt").read_text()
    lint = _results(builder)["rpmlint"]
    assert isinstance(lint, dict)
    assert lint["ran"] is True
    listed = re.findall(r"^\S+: ([EW]): (\S+)", report, re.MULTILINE)
    assert lint["errors"] == sum(1 for level, _ in listed if level == "E") >= 1
    assert lint["warnings"] == sum(1 for level, _ in listed if level == "W")
    checks = {(f["package"], f["level"], f["check"]) for f in lint["findings"]}
    assert ("linted.noarch", "E", "no-changelogname-tag") in checks
    assert ("linted.src", "E", "no-changelogname-tag") in checks
    # The backend signs the packages later: their signature is not asked for here.
    assert "no-signature" not in report
    assert f"rpmlint: {lint['errors']} error(s), {lint['warnings']} warning(s)" in builder.log()


def test_a_project_that_fails_on_rpmlint_errors_fails_the_build_naming_one(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    result = _build(builder, http_server, tmp_path, rpmlint_fail_on_errors=True)
    assert result.returncode == 1, builder.log()
    reason = (builder.resultdir / "fail-reason.txt").read_text()
    assert "rpmlint found" in reason
    assert "and the project fails builds on them" in reason
    assert "(all in rpmlint.txt)" in reason
    lint = _results(builder)["rpmlint"]
    assert isinstance(lint, dict)
    assert lint["errors"] >= 1
    assert (builder.resultdir / "rpmlint.txt").exists()


def test_without_rpmlint_the_build_says_so_and_fails_only_if_the_project_asks(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    write_config(
        builder.config, builder.config.parent, http_server, rpmlint_command="no-such-rpmlint"
    )
    result = _build(builder, http_server, tmp_path)
    assert result.returncode == 0, builder.log()
    why = "no-such-rpmlint is not installed on this builder"
    assert _results(builder)["rpmlint"] == {"ran": False, "reason": why}
    assert f"rpmlint: not run: {why}" in builder.log()

    failed = _build(builder, http_server, tmp_path / "again", rpmlint_fail_on_errors=True)
    assert failed.returncode != 0, builder.log()
    reason = (builder.resultdir / "fail-reason.txt").read_text()
    assert f"the project fails builds on rpmlint errors, but {why}" in reason
