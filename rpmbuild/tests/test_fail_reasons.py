"""A failed build says why in ``fail-reason.txt``, in words a packager understands without
opening the log: what failed and the lines that explain it.  (Timeouts, memory and cancel
are in test_hostile.py and test_detached.py, next to the limits they test.)"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED, EXIT_INFRASTRUCTURE
from copr_rpmbuild.testing import Builder, HttpServer, publish_distgit, rpm_task, srpm_task

CHROOT = "fedora-41-x86_64"

HEADER = """\
Name:           {name}
Version:        1
Release:        1
Summary:        A package that fails
License:        MIT
BuildArch:      noarch

%description
It fails on purpose.

"""


def _rpm_build(builder: Builder, http: HttpServer, tmp_path: Path, name: str, body: str) -> int:
    header = HEADER.format(name=name)
    if name == "badspec":
        header = header.replace("License:", "Bogus:          tag\nLicense:")
    url, commit = publish_distgit(http, tmp_path, name, header + body)
    task = tmp_path / f"{name}.json"
    task.write_text(json.dumps(rpm_task(41, CHROOT, url, commit, package_name=name)))
    return builder.run("--task-file", str(task)).returncode


def _reason(builder: Builder) -> str:
    reason = (builder.resultdir / "fail-reason.txt").read_text()
    assert reason.endswith("\n"), reason
    assert reason.count("\n") == 1, reason
    # The end of the live log says it too.
    assert reason.strip() in builder.log()
    assert "success" not in builder.files()
    return reason.strip()


CHECK = """\
%install
mkdir -p %{buildroot}/usr/share/checked
echo hi > %{buildroot}/usr/share/checked/greeting

%check
echo "running the test suite"
echo "FAIL: test_greeting (expected 'hello', got 'hi')"
exit 1

%files
/usr/share/checked/greeting
"""

UNPACKAGED = """\
%install
mkdir -p %{buildroot}/usr/share/extra
echo a > %{buildroot}/usr/share/extra/listed
echo b > %{buildroot}/usr/share/extra/forgotten

%files
/usr/share/extra/listed
"""

NOT_INSTALLED = """\
%install
mkdir -p %{buildroot}/usr/share/notthere

%files
/usr/share/notthere/hello.txt
/usr/bin/notthere
"""

BUILD_ERROR = """\
%build
echo "compiling hello.c"
echo "hello.c:3:1: error: expected ';' before '}' token"
exit 2

%files
"""


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("checked", CHECK,
         "RPM build failed: %check failed: running the test suite / "
         "FAIL: test_greeting (expected 'hello', got 'hi')"),
        ("extra", UNPACKAGED,
         "RPM build failed: installed (but unpackaged) files found: "
         "/usr/share/extra/forgotten — list them in %files or remove them in %install"),
        ("notthere", NOT_INSTALLED,
         "RPM build failed: files listed in %files were not installed by %install: "
         "/usr/share/notthere/hello.txt, /usr/bin/notthere"),
        ("broken", BUILD_ERROR,
         "RPM build failed: %build failed: compiling hello.c / "
         "hello.c:3:1: error: expected ';' before '}' token"),
        ("badspec", "%files\n",
         "RPM build failed: the spec file is invalid: line 5: Unknown tag: Bogus: tag"),
    ],
)  # fmt: skip
def test_rpm_build_failures(
    builder: Builder, http_server: HttpServer, tmp_path: Path, name: str, body: str, reason: str
) -> None:
    assert _rpm_build(builder, http_server, tmp_path, name, body) == EXIT_BUILD_FAILED
    assert _reason(builder) == reason


def test_missing_source_file(builder: Builder, tmp_path: Path) -> None:
    spec = HEADER.format(name="nosource").replace(
        "BuildArch:", "Source0:        nosource-1.tar.gz\nBuildArch:"
    )
    script = f"#!/bin/sh\ncat > nosource.spec <<'SPEC'\n{spec}%files\nSPEC\n"
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(42, "custom", {"script": script})))
    assert builder.run("--srpm", "--task-file", str(task)).returncode == EXIT_BUILD_FAILED
    assert _reason(builder) == (
        "SRPM build failed: source file nosource-1.tar.gz not found (No such file or "
        "directory): a Source or Patch must be in the SRPM, the package's repository, or at "
        "a URL the spec names"
    )


def test_infrastructure_failure(builder: Builder, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens there: dist-git is down.
    url = f"http://127.0.0.1:{port}/git/alice/demo/hello.git"
    task = tmp_path / "task.json"
    task.write_text(json.dumps(rpm_task(43, CHROOT, url, "0" * 40)))
    assert builder.run("--task-file", str(task)).returncode == EXIT_INFRASTRUCTURE
    reason = _reason(builder)
    assert reason.startswith(
        "Infrastructure failure in the RPM build (not the package's fault; resubmitting may "
        f"help): dist-git: cannot clone {url}"
    ), reason
