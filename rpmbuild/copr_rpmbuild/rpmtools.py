"""rpm and rpmbuild, as a build uses them: spec queries and builds run in the sandbox
(a spec is code: ``%(...)`` runs at parse time), header queries of finished packages run
on the host.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from copr_common.chroots import ChrootName
from copr_rpmbuild import diagnosis, proctree, runner
from copr_rpmbuild.errors import BuildFailure, InfrastructureError
from copr_rpmbuild.sandbox import Sandbox

_SOURCE_LINE = re.compile(r"^\s*(Source|Patch)(\d*)\s*:\s*(\S+)", re.IGNORECASE)
_DISTROS_RHEL = {"epel", "centos-stream", "rhel", "almalinux", "rocky", "oraclelinux"}


@dataclass(frozen=True)
class Nevra:
    """An RPM's name, epoch, version, release and arch."""

    name: str
    epoch: int | None
    version: str
    release: str
    arch: str

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "epoch": self.epoch,
            "version": self.version,
            "release": self.release,
            "arch": self.arch,
        }


def write_fallback_macros(path: Path, task_macros: Mapping[str, str] | None = None) -> None:
    """Definitions for macros a Fedora buildroot has and the host's rpm may lack, then
    the build's own (``task_macros``, name without ``%``).

    ``%autorelease``/``%autochangelog`` (rpmautospec) are what pyp2spec and many Fedora
    specs use; without them the spec does not even parse.
    """
    stamp = time.strftime("%a %b %d %Y", time.gmtime())
    own = "".join(
        f"%{name} {value}\n" if value else f"%{name} %{{nil}}\n"
        for name, value in (task_macros or {}).items()
        if "\n" not in value
    )
    path.write_text(
        # The sandbox has its own host name, which no resolver knows.
        "%_buildhost copr-builder\n"
        "%autorelease(e:s:pb:n) %{?-b*}%{!?-b:1}%{?-e:.%{-e*}}%{?-s:.%{-s*}}%{!?-n:%{?dist}}\n"
        f"%autochangelog * {stamp} Copr Build System <copr@localhost> - %{{version}}-1\\\n"
        "- Built by Copr (rpmautospec is not available on this builder)\n" + own
    )


def distro_macros(chroot: ChrootName, rawhide_version: int | None) -> dict[str, str]:
    """``%dist`` and the distro-version macros (``%fedora``, ``%rhel``) for ``chroot``."""
    macros = {"dist": chroot.dist_tag(rawhide_version)}
    version = chroot.version
    if version == "rawhide" and rawhide_version is not None:
        version = str(rawhide_version)
    major = version.split(".", 1)[0]
    if chroot.os == "fedora" and major.isdigit():
        macros["fedora"] = major
    elif chroot.os in _DISTROS_RHEL and major.isdigit():
        macros["rhel"] = major
        if chroot.os == "epel":
            macros["epel"] = major
    return macros


def define_args(macros: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for name, value in macros.items():
        args += ["--define", f"{name} {value}" if value else f"{name} %{{nil}}"]
    return args


def _sandboxed_output(
    sandbox: Sandbox,
    limits: runner.Limits,
    argv: list[str],
    *,
    cwd: str,
    what: str,
) -> str:
    """Run a short query in the sandbox; its stdout, its stderr into the live log.

    A cancel stops it at once: copr-rpmbuild must get to removing its workspace before
    copr-rpmbuild-cancel's grace runs out.
    """
    limits.check()
    command = sandbox.command(argv, cwd=cwd)
    timeout = max(1.0, min(300.0, limits.remaining()))
    deadline = time.monotonic() + timeout
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise InfrastructureError(f"cannot run {what}: {error.strerror}") from None
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if not limits.cancel and time.monotonic() < deadline:
                continue
            proctree.terminate_tree(proc.pid, grace=limits.grace)
            proc.communicate()
            limits.cancel.check()
            raise BuildFailure(f"{what} did not finish within {int(timeout)} s") from None
    if stderr:
        limits.log.write(stderr[:65536])
    if proc.returncode != 0:
        tail = stderr[-65536:].decode(errors="replace")
        raise BuildFailure(diagnosis.command_failed(what, proc.returncode, tail))
    return stdout.decode(errors="replace")


def spec_sources(
    sandbox: Sandbox,
    limits: runner.Limits,
    spec: Path,
    macros: Mapping[str, str],
    load: Path,
) -> list[str]:
    """The Source and Patch values of ``spec``, macros expanded."""
    parsed = _sandboxed_output(
        sandbox,
        limits,
        [
            "rpmspec",
            "--load",
            sandbox.inside(load),
            *define_args(macros),
            "-P",
            sandbox.inside(spec),
        ],
        cwd=sandbox.inside(spec.parent),
        what=f"parsing {spec.name}",
    )
    return [m.group(3) for line in parsed.splitlines() if (m := _SOURCE_LINE.match(line))]


def spec_buildrequires(
    sandbox: Sandbox,
    limits: runner.Limits,
    spec: Path,
    macros: Mapping[str, str],
    load: Path,
) -> list[str]:
    out = _sandboxed_output(
        sandbox,
        limits,
        [
            "rpmspec",
            "--load",
            sandbox.inside(load),
            *define_args(macros),
            "-q",
            "--buildrequires",
            sandbox.inside(spec),
        ],
        cwd=sandbox.inside(spec.parent),
        what=f"querying the BuildRequires of {spec.name}",
    )
    return [line.strip() for line in out.splitlines() if line.strip()]


_NEXT_QUERY = "@@copr-rpmbuild: next macros@@"
"""The line between two rpmspec answers of :func:`spec_arch_tags` (no answer line can be
it: each starts with its tag's name)."""


def spec_arch_tags(
    sandbox: Sandbox,
    limits: runner.Limits,
    spec: Path,
    macro_sets: Sequence[Mapping[str, str]],
    load: Path,
) -> list[dict[str, list[str]]]:
    """ExclusiveArch, ExcludeArch and BuildArch of ``spec`` under each of ``macro_sets``,
    in one sandbox run (each run of its own would cost a sandbox's start).
    """
    fmt = (
        "exclusivearch:[%{EXCLUSIVEARCH} ]\n"
        "excludearch:[%{EXCLUDEARCH} ]\n"
        "buildarch:[%{BUILDARCHS} ]\n"
    )
    queries = [
        shlex.join(
            [
                "rpmspec",
                "--load",
                sandbox.inside(load),
                *define_args(macros),
                "-q",
                "--srpm",
                "--qf",
                fmt,
                sandbox.inside(spec),
            ]
        )
        for macros in macro_sets
    ]
    out = _sandboxed_output(
        sandbox,
        limits,
        ["sh", "-c", f" && echo {shlex.quote(_NEXT_QUERY)} && ".join(queries)],
        cwd=sandbox.inside(spec.parent),
        what=f"querying the architectures of {spec.name}",
    )
    answers = out.split(f"{_NEXT_QUERY}\n")
    if len(answers) != len(macro_sets):
        raise BuildFailure(f"rpmspec gave {len(answers)} answers for {len(macro_sets)} queries")
    return [_arch_tags(limits, answer) for answer in answers]


def _arch_tags(limits: runner.Limits, out: str) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {"exclusivearch": [], "excludearch": [], "buildarch": []}
    for line in out.splitlines():
        key, _, values = line.partition(":")
        if key in tags:
            # A macro this host's rpm does not know (say %java_arches) stays unexpanded:
            # it names no architecture, so it is left out rather than reported as one.
            known = {v for v in values.split() if "%" not in v}
            unknown = sorted(set(values.split()) - known)
            if unknown:
                limits.log.line(f"{key}: cannot expand {' '.join(unknown)} on this builder")
            tags[key] = sorted(known)
    return tags


def query_package(path: Path) -> Nevra:
    """NEVRA from the header of a built package (arch ``src`` for SRPMs)."""
    fmt = "%{NAME}\\n%{EPOCH}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n%{SOURCERPM}\\n"
    result = subprocess.run(
        ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", fmt, str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    lines = result.stdout.split("\n")
    if result.returncode != 0 or len(lines) < 6:
        raise BuildFailure(f"{path.name} is not a readable RPM package: {result.stderr.strip()}")
    name, epoch, version, release, arch, source_rpm = lines[:6]
    is_source = source_rpm == "(none)"
    return Nevra(
        name=name,
        epoch=int(epoch) if epoch.isdigit() else None,
        version=version,
        release=release,
        arch="src" if is_source else arch,
    )


def query_url(path: Path) -> str | None:
    """The ``URL`` tag of a package (the upstream project's home), ``None`` when it has
    none. It is the packager's text, not checked here: whoever shows it as a link must.
    """
    result = subprocess.run(
        ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", "%{URL}", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise BuildFailure(f"{path.name} is not a readable RPM package: {result.stderr.strip()}")
    url = result.stdout.strip()
    return None if url in ("", "(none)") else url


def check_digests(path: Path) -> None:
    """Refuse a package whose header or payload does not match its digests (a damaged or
    tampered file); signatures are not checked here — the backend signs it anew.
    """
    result = subprocess.run(
        ["rpmkeys", "--checksig", "--nosignature", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        said = (result.stdout + result.stderr).strip().replace(str(path), path.name)
        raise BuildFailure(f"{path.name} is damaged: its digests do not match ({said})")


def host_arch() -> str:
    result = subprocess.run(["rpm", "--eval", "%{_arch}"], capture_output=True, text=True)
    if result.returncode != 0:
        raise InfrastructureError("rpm is not installed on this builder")
    return result.stdout.strip()
