"""What a build chroot ships, described: an SBOM in two formats and a signed provenance.

Written by the build worker into the build chroot's results dir once the packages are
signed, before the repodata is made:

``<package>.spdx.json``
    SPDX 2.3: every RPM and the SRPM with their SHA-256, declared licence (when the
    ``License`` tag is an SPDX expression) and provides; the sources inside the SRPM
    (spec, tarballs, patches) as files with their checksums; the buildroot as far as it
    is known (copr-rpmbuild's ``buildroot.json``: mock or the host, the tools' versions).
``<package>.cdx.json``
    The same as CycloneDX 1.5.
``provenance.intoto.json`` and ``provenance.intoto.json.asc``
    An in-toto statement (v1) with an SLSA provenance predicate (v1): the RPMs' digests
    as subjects, the task, its source and the SRPM as materials, the builder — and a
    detached signature by the project's key, made by keygen.  ``copr-cli verify-rpm``
    checks a package against them.

The RPMs are described as signed (their digests are of the published files).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from license_expression import ExpressionError, Licensing, get_spdx_licensing

PROVENANCE_FILE = "provenance.intoto.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PROVENANCE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://copr.fedorainfracloud.org/build-types/rpm/v1"
_QUERY = "\\n".join(
    ["%{NAME}", "%{EPOCHNUM}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{SOURCERPM}",
     "%{LICENSE}", "%{SUMMARY}", ""]
)  # fmt: skip


class SbomError(OSError):
    """A package could not be read to describe it.

    The build then fails, as it does when its packages cannot be published.
    """


@dataclass
class RpmInfo:
    """What an SBOM says of one RPM or SRPM."""

    path: Path
    name: str
    epoch: int
    version: str
    release: str
    arch: str
    license: str
    summary: str
    sha256: str
    provides: list[str] = field(default_factory=list)

    @property
    def evr(self) -> str:
        return (
            f"{self.epoch}:{self.version}-{self.release}"
            if self.epoch
            else (f"{self.version}-{self.release}")
        )

    @property
    def purl(self) -> str:
        query = f"arch={self.arch}" + (f"&epoch={self.epoch}" if self.epoch else "")
        return f"pkg:rpm/copr/{self.name}@{self.version}-{self.release}?{query}"


@dataclass
class SourceFile:
    """One file inside the SRPM (the spec, a tarball, a patch)."""

    name: str
    sha1: str
    sha256: str


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rpm(*args: str) -> str:
    try:
        done = subprocess.run(
            ["rpm", *args], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SbomError(f"cannot run rpm: {error}") from None
    if done.returncode != 0:
        raise SbomError(f"rpm {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def read_rpm(path: Path) -> RpmInfo:
    """The header fields an SBOM names, and the file's SHA-256."""
    fields = _rpm("-qp", "--nosignature", "--nodigest", "--qf", _QUERY, str(path)).split("\n")
    if len(fields) < 8:
        raise SbomError(f"{path.name}: rpm gave no header")
    name, epoch, version, release, arch, source_rpm, license_tag, summary = fields[:8]
    provides = _rpm("-qp", "--nosignature", "--nodigest", "--provides", str(path)).splitlines()
    return RpmInfo(
        path=path,
        name=name,
        epoch=int(epoch) if epoch.isdigit() else 0,
        version=version,
        release=release,
        arch="src" if source_rpm == "(none)" else arch,
        license=license_tag,
        summary=summary,
        sha256=_digest(path, "sha256"),
        provides=[p.strip() for p in provides if p.strip()],
    )


def srpm_sources(srpm: Path) -> list[SourceFile]:
    """The files inside the SRPM (spec, tarballs, patches) with their checksums."""
    with tempfile.TemporaryDirectory(prefix="copr-sbom-") as scratch:
        try:
            with subprocess.Popen(["rpm2cpio", str(srpm)], stdout=subprocess.PIPE) as cpio_in:
                done = subprocess.run(
                    ["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
                    stdin=cpio_in.stdout, cwd=scratch, capture_output=True, timeout=300,
                    check=False,
                )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SbomError(f"cannot unpack {srpm.name}: {error}") from None
        if done.returncode != 0 or cpio_in.returncode != 0:
            raise SbomError(f"cannot unpack {srpm.name}: {done.stderr.decode().strip()}")
        files = sorted(p for p in Path(scratch).rglob("*") if p.is_file() and not p.is_symlink())
        return [
            SourceFile(str(p.relative_to(scratch)), _digest(p, "sha1"), _digest(p, "sha256"))
            for p in files
        ]


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def spdx_license(tag: str) -> str | None:
    """The License tag as an SPDX expression, or None when it is not one."""
    if not tag.strip():
        return None
    try:
        info = _licensing().validate(tag, strict=True)
    except (ExpressionError, AttributeError):
        # Some malformed expressions make license-expression fail inside its own error.
        return None
    if info.errors or info.invalid_symbols:
        return None
    return str(info.normalized_expression or tag)


@dataclass
class BuildFacts:
    """Who built what from what: the task's side of the SBOM and provenance."""

    build_id: int
    task_id: str
    owner: str
    project: str
    chroot: str
    package: str
    results_url: str  # the build chroot's results dir, with a trailing slash
    builder_id: str
    started_on: int | None = None
    ended_on: int | None = None
    git_repo: str | None = None
    git_hash: str | None = None
    buildroot: dict[str, Any] = field(default_factory=dict)


def _download_location(url: str) -> str:
    """``url`` as an SPDX download location: SPDX's grammar has no port in the host part,
    so a results server on a port (a local stack) gives NOASSERTION; the URL is in the
    package's ``download-url`` reference either way.
    """
    return url if urlsplit(url).port is None else "NOASSERTION"


def _ref(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text)


def spdx_document(
    facts: BuildFacts, rpms: list[RpmInfo], sources: list[SourceFile]
) -> dict[str, Any]:
    """The SPDX 2.3 document of the build chroot."""
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    packages: list[dict[str, Any]] = []
    relationships: list[dict[str, str]] = []
    srpm_ref = None
    for rpm in rpms:
        ref = f"SPDXRef-Package-{_ref(rpm.path.name)}"
        declared = spdx_license(rpm.license)
        entry: dict[str, Any] = {
            "SPDXID": ref,
            "name": rpm.name,
            "versionInfo": rpm.evr,
            "packageFileName": rpm.path.name,
            "downloadLocation": _download_location(facts.results_url + rpm.path.name),
            "filesAnalyzed": False,
            "checksums": [{"algorithm": "SHA256", "checksumValue": rpm.sha256}],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared or "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "supplier": f"Organization: Copr project {facts.owner}/{facts.project}",
            "summary": rpm.summary,
            "primaryPackagePurpose": "SOURCE" if rpm.arch == "src" else "INSTALL",
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                 "referenceLocator": rpm.purl},
                {"referenceCategory": "OTHER", "referenceType": "download-url",
                 "referenceLocator": facts.results_url + rpm.path.name},
            ],
        }  # fmt: skip
        comments = []
        if declared is None:
            comments.append(f"License tag (not an SPDX expression): {rpm.license}")
        if rpm.provides:
            comments.append("Provides: " + ", ".join(rpm.provides))
        if comments:
            entry["comment"] = "\n".join(comments)
        packages.append(entry)
        relationships.append(
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
             "relatedSpdxElement": ref}
        )  # fmt: skip
        if rpm.arch == "src":
            srpm_ref = ref
            if sources:
                # The SRPM contains the source files: SPDX then wants them analysed.
                code = hashlib.sha1("".join(sorted(s.sha1 for s in sources)).encode())  # noqa: S324 - SPDX's algorithm
                entry["filesAnalyzed"] = True
                entry["packageVerificationCode"] = {
                    "packageVerificationCodeValue": code.hexdigest()
                }
                entry["licenseInfoFromFiles"] = ["NOASSERTION"]
    files = [
        {
            "SPDXID": f"SPDXRef-File-{index}",
            "fileName": f"./{source.name}",
            "checksums": [
                {"algorithm": "SHA1", "checksumValue": source.sha1},
                {"algorithm": "SHA256", "checksumValue": source.sha256},
            ],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }
        for index, source in enumerate(sources)
    ]
    if srpm_ref is not None:
        for rpm in rpms:
            if rpm.arch != "src":
                relationships.append(
                    {"spdxElementId": f"SPDXRef-Package-{_ref(rpm.path.name)}",
                     "relationshipType": "GENERATED_FROM", "relatedSpdxElement": srpm_ref}
                )  # fmt: skip
        for entry in files:
            relationships.append(
                {"spdxElementId": srpm_ref, "relationshipType": "CONTAINS",
                 "relatedSpdxElement": str(entry["SPDXID"])}
            )  # fmt: skip
    for index, (tool, version) in enumerate(sorted(_tools(facts).items())):
        ref = f"SPDXRef-Tool-{index}"
        packages.append(
            {"SPDXID": ref, "name": tool, "versionInfo": version, "downloadLocation": "NOASSERTION",
             "filesAnalyzed": False, "licenseConcluded": "NOASSERTION",
             "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
             "primaryPackagePurpose": "APPLICATION"}
        )  # fmt: skip
        for rpm in rpms:
            relationships.append(
                {"spdxElementId": ref, "relationshipType": "BUILD_TOOL_OF",
                 "relatedSpdxElement": f"SPDXRef-Package-{_ref(rpm.path.name)}"}
            )  # fmt: skip
    buildroot = str(facts.buildroot.get("buildroot") or "unknown")
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{facts.owner}/{facts.project} build {facts.build_id} {facts.chroot}",
        "documentNamespace": f"{facts.results_url}{facts.package}.spdx.json/{uuid.uuid4()}",
        "creationInfo": {
            "created": created,
            "creators": ["Tool: copr-backend", "Organization: Copr"],
            "comment": f"Built in the {buildroot} buildroot of task {facts.task_id}",
        },
        "packages": packages,
        "files": files,
        "relationships": relationships,
    }


def _tools(facts: BuildFacts) -> dict[str, str]:
    tools = facts.buildroot.get("tools")
    if not isinstance(tools, dict):
        return {}
    return {str(k): str(v) for k, v in tools.items() if isinstance(v, str | int | float)}


def cyclonedx_document(
    facts: BuildFacts, rpms: list[RpmInfo], sources: list[SourceFile]
) -> dict[str, Any]:
    """The CycloneDX 1.5 document of the build chroot."""
    components: list[dict[str, Any]] = []
    for rpm in rpms:
        component: dict[str, Any] = {
            "type": "library" if rpm.arch != "src" else "file",
            "bom-ref": rpm.purl,
            "name": rpm.name,
            "version": rpm.evr,
            "purl": rpm.purl,
            "description": rpm.summary,
            "hashes": [{"alg": "SHA-256", "content": rpm.sha256}],
            "properties": [{"name": "copr:provides", "value": p} for p in rpm.provides],
        }
        declared = spdx_license(rpm.license)
        component["licenses"] = (
            [{"expression": declared}] if declared else [{"license": {"name": rpm.license}}]
        )
        components.append(component)
    for source in sources:
        components.append(
            {"type": "file", "bom-ref": f"source:{source.name}", "name": source.name,
             "hashes": [{"alg": "SHA-1", "content": source.sha1},
                        {"alg": "SHA-256", "content": source.sha256}]}
        )  # fmt: skip
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tools": {"components": [{"type": "application", "name": "copr-backend"}]},
            "component": {
                "type": "application",
                "bom-ref": f"copr-build:{facts.build_id}:{facts.chroot}",
                "name": facts.package,
                "description": f"{facts.owner}/{facts.project} build {facts.build_id} "
                f"for {facts.chroot}",
            },
        },
        "components": components,
    }


def provenance_statement(facts: BuildFacts, rpms: list[RpmInfo]) -> dict[str, Any]:
    def when(stamp: int | None) -> str | None:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp)) if stamp else None

    materials: list[dict[str, Any]] = []
    if facts.git_repo:
        material: dict[str, Any] = {"uri": f"git+{facts.git_repo}"}
        if facts.git_hash:
            material["digest"] = {"gitCommit": facts.git_hash}
        materials.append(material)
    metadata: dict[str, str] = {"invocationId": facts.task_id}
    started, finished = when(facts.started_on), when(facts.ended_on)
    if started:
        metadata["startedOn"] = started
    if finished:
        metadata["finishedOn"] = finished
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": r.path.name, "digest": {"sha256": r.sha256}} for r in rpms],
        "predicateType": PROVENANCE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "build_id": facts.build_id,
                    "project": f"{facts.owner}/{facts.project}",
                    "chroot": facts.chroot,
                    "package": facts.package,
                },
                "internalParameters": {"buildroot": facts.buildroot.get("buildroot")},
                "resolvedDependencies": materials,
            },
            "runDetails": {
                "builder": {"id": facts.builder_id},
                "metadata": metadata,
            },
        },
    }


def write_documents(facts: BuildFacts, directory: Path) -> list[Path]:
    """Describe the packages in ``directory``; the files written (SBOMs, provenance)."""
    rpms = [read_rpm(p) for p in sorted(directory.glob("*.rpm"))]
    srpms = [r for r in rpms if r.arch == "src"]
    sources = srpm_sources(srpms[0].path) if srpms else []
    written = []
    for name, document in (
        (f"{facts.package}.spdx.json", spdx_document(facts, rpms, sources)),
        (f"{facts.package}.cdx.json", cyclonedx_document(facts, rpms, sources)),
        (PROVENANCE_FILE, provenance_statement(facts, rpms)),
    ):
        target = directory / name
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        partial.replace(target)
        written.append(target)
    return written
