"""A port of Copr's own end-to-end sanity suite (the copr-cli basic operations that need
real builds), run with the real copr-cli 2.6 against the whole local stack.

One stack for the module (its frontend on PostgreSQL); every build is submitted at the
start (``--nowait``) so that the stack's two builder slots work through them while the
tests wait for theirs.
Each test checks what Copr does, as its sanity scripts check it:

- ``--disable_createrepo on``: builds land in ``<chroot>/devel`` only, the public repo
  stays empty until ``regenerate-repos``;
- a package whose SRPM holds another name is imported and built under the package's name;
- ``--timeout`` stops a build, and its log says what was sent to the build;
- a package name too long for Copr fails with "Too long package name";
- ``%copr_username``/``%copr_projectname`` exist in the source phase, ``%vendor`` and
  ``%buildtag`` are Copr's in the RPM phase;
- per-distribution ExclusiveArch/ExcludeArch skip the chroots they exclude;
- ``--appstream on`` gives the repos an AppStream catalog.

One more is ours, not Copr's: a new version of a package rebuilds its dependents, in
dependency order (``rebuild_dependents``, set with our copr-cli).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
COPR_CLI = ROOT / ".venv-upstream" / "bin" / "copr-cli"
EXAMPLE_SPEC = ROOT / "local" / "example" / "hello.spec"
X86 = "fedora-42-x86_64"
ARM = "fedora-42-aarch64"
BUILD_WAIT = 600
LONG_NAME = "8393c911463547b196d8914faa0b0084" * 3 + "12345678"  # Copr's: 104 characters

pytestmark = pytest.mark.slow

SPECS = {
    # Copr's pkg-with-macros.spec: the preamble itself needs the source phase's macros.
    "macros": """\
%if 0%{?copr_username:1} && 0%{?copr_projectname:1}
Name: pkg-with-macros
%else
Name: pkg-without-macros
%endif
Version: 1.0
Release: 1%{?dist}%{?buildtag}
Summary: Copr's macros
License: MIT
BuildArch: noarch
%description
Macros.
%build
echo "COPR VENDOR: %{vendor}"
echo "COPR BUILDTAG: %{buildtag}"
echo "COPR PROJECT: %{copr_username}/%{copr_projectname}"
%files
%changelog
""",
    # Copr's test-timeout.spec.
    "timeout": """\
Name: test-timeout
Version: 1.0
Release: 1
Summary: Runs forever
License: MIT
BuildArch: noarch
%description
Forever.
%build
while :; do sleep 1; done
%files
%changelog
""",
    # Arch tags that only the distro's macros set, as Fedora specs do (%{?fedora}).
    "arches": """\
Name: arch-tags
Version: 1.0
Release: 1
Summary: Fedora-only arch tags
License: MIT
BuildArch: noarch
%if 0%{?fedora}
ExclusiveArch: x86_64 ppc64le
ExcludeArch: ppc64le
%endif
%description
Arch tags.
%files
%changelog
""",
    # A console tool with a metainfo file: the repo's AppStream catalog lists it.
    "appstream": """\
Name: hello-appstream
Version: 1.0
Release: 1
Summary: A console tool with AppStream metadata
License: MIT
BuildArch: noarch
%description
AppStream.
%install
mkdir -p %{buildroot}%{_bindir} %{buildroot}%{_datadir}/metainfo
echo 'echo hello' > %{buildroot}%{_bindir}/hello-appstream
chmod 755 %{buildroot}%{_bindir}/hello-appstream
cat > %{buildroot}%{_datadir}/metainfo/org.example.HelloAppstream.metainfo.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<component type="console-application">
  <id>org.example.HelloAppstream</id>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>MIT</project_license>
  <name>Hello AppStream</name>
  <summary>Says hello from a Copr repository</summary>
  <description><p>A tiny console tool whose metadata a software center can show.</p></description>
  <provides><binary>hello-appstream</binary></provides>
</component>
XML
%files
%{_bindir}/hello-appstream
%{_datadir}/metainfo/org.example.HelloAppstream.metainfo.xml
%changelog
""",
    "long": f"""\
Name: {LONG_NAME}
Version: 0
Release: 0
Summary: A name too long for Copr
License: MIT
BuildArch: noarch
%description
Long.
%files
%changelog
""",
}

# A custom script whose spec calls itself 'example', built as package 'renamed'.
EXAMPLE_SCRIPT = """\
#!/bin/sh
cat > example.spec <<'EOF'
Name: example
Version: 2.0
Release: 1
Summary: A spec of another name than its package
License: MIT
BuildArch: noarch
%description
Example.
%files
%changelog
EOF
"""


@dataclass
class Stack:
    state_dir: Path
    url: str
    results_url: str
    results: Path
    config: Path

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(COPR_CLI), "--config", str(self.config), *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=30) as response:  # noqa: S310
            return json.load(response)

    def wait(self, build_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + BUILD_WAIT
        while True:
            build = self.get(f"/api_3/build/{build_id}")
            if build["state"] in ("succeeded", "failed", "canceled", "skipped"):
                return build  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"build {build_id} still {build['state']}"
            time.sleep(2)

    def chroot_state(self, build_id: int, chroot: str) -> str:
        return str(self.get(f"/api_3/build-chroot/{build_id}/{chroot}")["state"])

    def log(self, project: str, chroot: str, build_id: int, name: str) -> str:
        pattern = f"{build_id:08d}" if chroot == "srpm-builds" else f"{build_id:08d}-*"
        (build_dir,) = (self.results / project / chroot).glob(pattern)
        return gzip.decompress((build_dir / f"{name}.gz").read_bytes()).decode()


def created(result: subprocess.CompletedProcess[str]) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"^Created builds: (\d+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return int(match.group(1))


def repo_packages(chroot_dir: Path) -> int:
    """The packages count of a repo's primary metadata."""
    repomd = (chroot_dir / "repodata" / "repomd.xml").read_text()
    href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S)
    assert href, repomd
    primary = gzip.decompress((chroot_dir / href.group(1)).read_bytes()).decode()
    match = re.search(r'packages="(\d+)"', primary)
    assert match, primary[:300]
    return int(match.group(1))


@pytest.fixture(scope="module")
def stack(postgres_server) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    # PostgreSQL, as Copr runs: six builds and their reports at once make the SQLite
    # default answer "database is locked" now and then, which is not what these test
    # (tests/test_local_stack.py runs the SQLite stack).
    assert COPR_CLI.exists(), f"the real copr-cli 2.6 is missing at {COPR_CLI}: run make setup"
    parent = Path(tempfile.mkdtemp(prefix="copr-sanity-"))
    parent.chmod(0o755)  # builds run as nobody, in slots under the state dir
    state_dir = parent / "stack"
    database = postgres_server.create_database("copr_sanity")
    result = subprocess.run(
        [str(COPR_LOCAL), "up", "--detach", "--state-dir", str(state_dir),
         "--database-url", database],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    try:
        assert result.returncode == 0, result.stderr + result.stdout
        env = dict(
            line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines()
        )
        yield Stack(
            state_dir, env["COPR_URL"], env["COPR_RESULTS_URL"],
            state_dir / "public_html" / "results" / "admin", Path(env["COPR_CLI_CONFIG"]),
        )  # fmt: skip
    finally:
        subprocess.run([str(COPR_LOCAL), "down", "--state-dir", str(state_dir)],
                       capture_output=True, timeout=300, check=False)  # fmt: skip
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def submitted(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every build of the module, submitted at once: name → copr-cli's answer (each test
    checks its own, so one refused submission fails only its test)."""
    work = tmp_path_factory.mktemp("sanity-sources")
    for name, text in SPECS.items():
        (work / f"{name}.spec").write_text(text)
    topdir = work / "rpmbuild"
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {topdir}", str(EXAMPLE_SPEC)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (hello,) = (topdir / "SRPMS").glob("hello-copr-*.src.rpm")
    (work / "script").write_text(EXAMPLE_SCRIPT)

    stack.ok("create", "devel", "--chroot", X86, "--disable_createrepo", "on")
    stack.ok("create", "sanity", "--chroot", X86)
    stack.ok("create", "arches", "--chroot", X86, "--chroot", ARM)
    stack.ok("create", "appstream", "--chroot", X86, "--appstream", "on")
    stack.ok("add-package-custom", "sanity", "--name", "renamed", "--script", str(work / "script"))

    def spec(project: str, name: str, *options: str) -> subprocess.CompletedProcess[str]:
        return stack.cli("build", project, str(work / f"{name}.spec"), *options, "--nowait")

    return {
        "devel": stack.cli("build", "devel", str(hello), "--nowait"),
        "macros": spec("sanity", "macros"),
        "arches": spec("arches", "arches"),
        "appstream": spec("appstream", "appstream"),
        "renamed": stack.cli("build-package", "sanity", "--name", "renamed", "--nowait"),
        "long": spec("sanity", "long"),
        "timeout": spec("sanity", "timeout", "--timeout", "10"),
    }


@pytest.fixture
def builds(submitted: dict[str, Any]) -> Any:
    """``builds[name]``: the id of a build of :func:`submitted`, checked there."""

    class Ids:
        def __getitem__(self, name: str) -> int:
            return created(submitted[name])

    return Ids()


def test_disable_createrepo_builds_into_the_devel_repo_until_regenerated(
    stack: Stack, builds: Any
) -> None:
    build_id = builds["devel"]
    assert stack.wait(build_id)["state"] == "succeeded"
    assert stack.get("/api_3/project?ownername=admin&projectname=devel")["devel_mode"] is True
    chroot_dir = stack.results / "devel" / X86
    # The public repo does not list the build; the devel repo (for the project's own
    # builds) does, with its packages where they are.
    assert repo_packages(chroot_dir) == 0
    assert repo_packages(chroot_dir / "devel") == 2
    repomd = (chroot_dir / "devel" / "repodata" / "repomd.xml").read_text()
    primary = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S)
    assert primary
    listed = gzip.decompress((chroot_dir / "devel" / primary.group(1)).read_bytes()).decode()
    assert f'xml:base="{stack.results_url}/admin/devel/{X86}/"' in listed
    # The builds of the project see it.
    task = stack.get(f"/backend/get-build-task/{build_id}-{X86}/")
    devel_repo = next(r for r in task["repos"] if r["id"] == "copr_base_devel")
    assert devel_repo["baseurl"].endswith(f"/admin/devel/{X86}/devel/")

    # Turning it on later makes the devel repos (Copr's auto-createrepo check).
    stack.ok("create", "flip", "--chroot", X86, "--disable_createrepo", "off")
    stack.ok("modify", "flip", "--disable_createrepo", "on")
    flipped = stack.results / "flip" / X86 / "devel" / "repodata" / "repomd.xml"
    deadline = time.monotonic() + 120
    while not flipped.is_file():
        assert time.monotonic() < deadline, "no devel repo after --disable_createrepo on"
        time.sleep(1)

    out = stack.ok("regenerate-repos", "devel")
    assert "Submitted action to regenerate repository metadata" in out
    deadline = time.monotonic() + 120
    while repo_packages(chroot_dir) != 2:
        assert time.monotonic() < deadline, "regenerate-repos did not publish the build"
        time.sleep(1)


def test_srpm_of_another_name_builds_as_the_package(stack: Stack, builds: Any) -> None:
    build_id = builds["renamed"]
    build = stack.wait(build_id)
    backend_log = stack.log("sanity", "srpm-builds", build_id, "backend.log")
    assert build["state"] == "succeeded", backend_log
    assert build["source_package"]["name"] == "renamed"
    build_dir = stack.results / "sanity" / X86 / f"{build_id:08d}-renamed"
    assert sorted(p.name for p in build_dir.glob("*.rpm")) == [
        "example-2.0-1.noarch.rpm",
        "example-2.0-1.src.rpm",
    ]


def test_timeout_stops_the_build_and_the_log_says_what_was_sent(stack: Stack, builds: Any) -> None:
    build_id = builds["timeout"]
    assert stack.wait(build_id)["state"] == "failed"
    assert stack.get(f"/backend/get-build-task/{build_id}-{X86}/")["timeout"] == 10
    log = stack.log("sanity", X86, build_id, "builder-live.log")
    assert re.search(r"timeout of 10 s .*: sending INT to rpmbuild -ba", log), log[-2000:]


def test_too_long_package_name_fails_the_build(stack: Stack, builds: Any) -> None:
    build_id = builds["long"]
    build = stack.wait(build_id)
    assert build["state"] == "failed"
    assert f"Too long package name: {LONG_NAME}" in stack.log(
        "sanity", "srpm-builds", build_id, "backend.log"
    )
    assert stack.chroot_state(build_id, X86) == "failed"


def test_copr_macros_in_both_phases(stack: Stack, builds: Any) -> None:
    build_id = builds["macros"]
    build = stack.wait(build_id)
    assert build["state"] == "succeeded"
    assert build["source_package"]["name"] == "pkg-with-macros"
    log = stack.log("sanity", X86, build_id, "builder-live.log")
    assert "COPR VENDOR: Copr - user admin" in log
    assert f"COPR BUILDTAG: .copr{build_id}" in log
    assert "COPR PROJECT: admin/sanity" in log
    build_dir = stack.results / "sanity" / X86 / f"{build_id:08d}-pkg-with-macros"
    assert (build_dir / f"pkg-with-macros-1.0-1.fc42.copr{build_id}.noarch.rpm").is_file()


def test_per_distribution_arch_tags_skip_chroots(stack: Stack, builds: Any) -> None:
    build_id = builds["arches"]
    assert stack.wait(build_id)["state"] == "succeeded"
    assert stack.chroot_state(build_id, X86) == "succeeded"
    # This builder cannot build for aarch64 at all: only the skip lets the build succeed.
    assert stack.chroot_state(build_id, ARM) == "skipped"


def test_appstream_on_gives_the_repo_a_catalog(stack: Stack, builds: Any) -> None:
    build_id = builds["appstream"]
    build = stack.wait(build_id)
    assert build["state"] == "succeeded", stack.log("appstream", X86, build_id, "backend.log")
    chroot_dir = stack.results / "appstream" / X86
    repomd = (chroot_dir / "repodata" / "repomd.xml").read_text()
    catalog = re.search(r'<data type="appstream">.*?<location href="([^"]+)"', repomd, re.S)
    assert catalog, repomd
    assert '<data type="appstream-icons">' in repomd
    xml = gzip.decompress((chroot_dir / catalog.group(1)).read_bytes()).decode()
    assert 'origin="admin/appstream"' in xml
    assert "<id>org.example.HelloAppstream</id>" in xml
    assert "<pkgname>hello-appstream</pkgname>" in xml
    # The packages are still listed next to it (the build's two and the project's release
    # package), and a project without appstream has none.
    assert repo_packages(chroot_dir) == 3
    assert (
        '"appstream"'
        not in (stack.results / "sanity" / X86 / "repodata" / "repomd.xml").read_text()
    )


WAVE_SPEC = """\
Name: {name}
Version: {version}
Release: 1
Summary: A link of a dependency chain
License: MIT
BuildArch: noarch
{requires}
%description
A link.
%files
%changelog
"""


def test_a_new_version_rebuilds_its_dependents_in_order(stack: Stack, tmp_path: Path) -> None:
    """Ours, not Copr's: with ``rebuild_dependents = transitive``, a new version of A
    rebuilds B (BuildRequires A) and then C (BuildRequires B), each once, in one wave;
    what they require and provide is read from the real RPMs the stack built."""
    ours = Path(sys.executable).parent / "copr-cli"
    made = subprocess.run(
        [str(ours), "--config", str(stack.config), "create", "wave", "--chroot", X86,
         "--rebuild-dependents", "transitive"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    project = stack.get("/api_3/project?ownername=admin&projectname=wave")
    assert project["rebuild_dependents"] == "transitive"

    def build(name: str, version: str, requires: str = "") -> dict[str, Any]:
        spec = tmp_path / f"{name}-{version}.spec"
        spec.write_text(WAVE_SPEC.format(name=name, version=version, requires=requires))
        built = stack.wait(created(stack.cli("build", "wave", str(spec), "--nowait")))
        assert built["state"] == "succeeded", built
        return built

    build("dep-a", "1")
    first_b = build("dep-b", "1", "BuildRequires: dep-a")
    first_c = build("dep-c", "1", "BuildRequires: dep-b")
    new_a = build("dep-a", "2")

    def rebuilds() -> dict[str, dict[str, Any]]:
        listed = stack.get("/api_3/build/list?ownername=admin&projectname=wave&limit=100")
        found: dict[str, dict[str, Any]] = {}
        for item in listed["items"]:
            if item["triggered_by"] is not None:
                name = item["source_package"]["name"]
                assert name not in found, f"{name} rebuilt twice: {listed['items']}"
                found[name] = item
        return found

    deadline = time.monotonic() + BUILD_WAIT
    while True:
        found = rebuilds()
        ended = all(b["state"] in ("succeeded", "failed", "canceled") for b in found.values())
        if set(found) == {"dep-b", "dep-c"} and ended:
            break
        assert time.monotonic() < deadline, f"the wave did not end: {found}"
        time.sleep(2)
    b, c = found["dep-b"], found["dep-c"]
    assert b["state"] == c["state"] == "succeeded", (b, c)
    for rebuild in (b, c):
        assert rebuild["triggered_by"]["build_id"] == new_a["id"]
        assert rebuild["triggered_by"]["package_name"] == "dep-a"
        assert rebuild["triggered_by"]["project"] == "admin/wave"
    assert b["triggered_by"]["wave_id"] == c["triggered_by"]["wave_id"]
    # A rebuild of each one's latest succeeded build, C's only once B's had ended.
    assert b["id"] > first_b["id"]
    assert c["id"] > first_c["id"]
    assert c["started_on"] >= b["ended_on"], (b, c)
    assert b["source_package"]["version"] == first_b["source_package"]["version"]
