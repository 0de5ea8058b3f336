"""Checking and unpacking a source RPM before anything of it is stored.

Every way an SRPM can be unusable ends in :class:`SrpmError` with a message meant for the
build's owner: not an RPM, a binary RPM, damaged (digest mismatch), too large, no spec or
several, a spec that is not text, or a payload that does not match its header.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

RPM_MAGIC = b"\xed\xab\xee\xdb"
# rpmfileAttrs: the file is the package's spec.
RPMFILE_SPECFILE = 1 << 5
# File names inside an SRPM end up as files in a flat git tree and lookaside paths.
_FILE_NAME = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9._+~%@=,-]*$")
# The name dist-git itself uses for the list of lookaside files.
SOURCES_FILE = "sources"

_FIELD_SEP = "\x1f"


class SrpmError(Exception):
    """The SRPM cannot be imported; ``str()`` is the message for the build's owner."""


@dataclass(frozen=True)
class SourcePackage:
    """An unpacked, checked SRPM: its identity and its files by role."""

    name: str
    epoch: int | None
    version: str
    release: str
    directory: Path
    spec: str
    patches: tuple[str, ...]
    sources: tuple[str, ...]
    # The spec's License tag, as written.
    license: str = ""

    @property
    def evr(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{epoch}{self.version}-{self.release}"

    @property
    def nevr(self) -> str:
        return f"{self.name}-{self.evr}"

    def path(self, filename: str) -> Path:
        return self.directory / filename


def check_size(path: Path, max_size: int) -> None:
    size = path.stat().st_size
    if size > max_size:
        raise SrpmError(f"the SRPM is {size} bytes, larger than the limit of {max_size} bytes")


def _rpm_query(path: Path, query: str) -> str:
    result = subprocess.run(
        ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", query, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        raise SrpmError(
            "cannot read the SRPM's header: " + (detail[-1] if detail else "rpm failed")
        )
    return result.stdout


def _check_lead(path: Path) -> None:
    with path.open("rb") as stream:
        lead = stream.read(96)
    if len(lead) < 96 or not lead.startswith(RPM_MAGIC):
        raise SrpmError("the file is not an RPM package (no RPM lead)")


def _check_digests(path: Path) -> None:
    # Digests only: the SRPM may be signed by a key this host does not have.
    result = subprocess.run(
        ["rpm", "-K", "--nosignature", str(path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().replace(str(path), "SRPM")
        raise SrpmError(f"the SRPM is damaged (digest check failed): {detail}")


def inspect_and_unpack(path: Path, destination: Path, max_size: int) -> SourcePackage:
    """Check ``path`` and unpack its files into ``destination`` (an empty directory)."""
    check_size(path, max_size)
    _check_lead(path)
    header = _rpm_query(
        path,
        _FIELD_SEP.join(["%{SOURCEPACKAGE}", "%{NAME}", "%{EPOCHNUM}", "%{EPOCH}", "%{VERSION}"])
        + _FIELD_SEP
        + "%{RELEASE}"
        + _FIELD_SEP
        + "%{LICENSE}\\n",
    )
    fields = header.rstrip("\n").split(_FIELD_SEP)
    if len(fields) != 7:
        raise SrpmError("cannot read the SRPM's header: unexpected query output")
    source_flag, name, _, epoch, version, release, license_tag = fields
    if source_flag != "1":
        raise SrpmError(
            f"{name or 'the package'} is a binary RPM, not a source RPM (.src.rpm): "
            "dist-git imports source packages only"
        )
    _check_digests(path)

    listing = _rpm_query(path, "[%{FILENAMES}\\t%{FILEFLAGS}\\t%{FILEMODES}\\t%{FILESIZES}\\n]")
    patches = {
        line for line in _rpm_query(path, "[%{PATCH}\\n]").splitlines() if line and line != "(none)"
    }
    files: dict[str, int] = {}
    specs: list[str] = []
    for line in listing.splitlines():
        if not line:
            continue
        filename, flags, mode, size = line.split("\t")
        if "/" in filename or not _FILE_NAME.match(filename) or filename == SOURCES_FILE:
            raise SrpmError(f"the SRPM holds a file with an unusable name: {filename!r}")
        if not stat.S_ISREG(int(mode) & 0xFFFF):
            raise SrpmError(f"the SRPM holds {filename!r}, which is not a regular file")
        files[filename] = int(size)
        if int(flags) & RPMFILE_SPECFILE:
            specs.append(filename)
    if not specs:
        raise SrpmError("the SRPM holds no spec file")
    if len(specs) > 1:
        raise SrpmError(f"the SRPM holds more than one spec file: {', '.join(sorted(specs))}")
    spec = specs[0]

    _unpack(path, destination, files)
    _check_spec_text(destination / spec, spec)
    return SourcePackage(
        name=name,
        epoch=int(epoch) if epoch and epoch != "(none)" else None,
        version=version,
        release=release,
        directory=destination,
        spec=spec,
        patches=tuple(sorted(f for f in files if f in patches and f != spec)),
        sources=tuple(sorted(f for f in files if f not in patches and f != spec)),
        license="" if license_tag == "(none)" else license_tag,
    )


def _unpack(path: Path, destination: Path, expected: dict[str, int]) -> None:
    archive = destination.parent / f".{destination.name}.tar"
    try:
        with path.open("rb") as rpm_in, archive.open("wb") as tar_out:
            result = subprocess.run(
                ["rpm2archive", "-n", "-"],
                stdin=rpm_in,
                stdout=tar_out,
                stderr=subprocess.PIPE,
                check=False,
            )
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()
            raise SrpmError(f"cannot unpack the SRPM's payload: {detail or 'rpm2archive failed'}")
        destination.mkdir(parents=True, exist_ok=True)
        found: set[str] = set()
        try:
            with tarfile.open(archive) as tar:
                for member in tar:
                    name = member.name.removeprefix("./")
                    if name not in expected or not member.isfile():
                        raise SrpmError(
                            f"the SRPM's payload holds {name!r}, which its header does not list"
                        )
                    if member.size != expected[name]:
                        raise SrpmError(f"the SRPM's payload has a wrong size for {name!r}")
                    if "/" in name or name in {"", ".", ".."}:
                        raise SrpmError(f"the SRPM's payload holds a bad file name {name!r}")
                    # Copy the bytes ourselves: only plain files with checked names are
                    # written, and Python before 3.11.4 (Debian 12) has no extract filter.
                    source = tar.extractfile(member)
                    if source is None:
                        raise SrpmError(f"cannot read {name!r} from the SRPM's payload")
                    with source, (destination / name).open("xb") as target:
                        shutil.copyfileobj(source, target)
                    found.add(name)
        except (tarfile.TarError, OSError) as error:
            raise SrpmError(f"cannot unpack the SRPM's payload: {error}") from None
        if found != set(expected):
            missing = ", ".join(sorted(set(expected) - found))
            raise SrpmError(f"the SRPM's payload lacks files its header lists: {missing}")
    finally:
        archive.unlink(missing_ok=True)


def _check_spec_text(path: Path, name: str) -> None:
    data = path.read_bytes()
    if not data.strip():
        raise SrpmError(f"the spec file {name} is empty")
    if b"\0" in data:
        raise SrpmError(f"the spec file {name} is not readable text (it holds NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SrpmError(
            f"the spec file {name} is not readable text (not UTF-8 at byte {error.start})"
        ) from None
    if not re.search(r"(?im)^\s*name\s*:", text):
        raise SrpmError(f"the spec file {name} is not readable: it has no Name: tag")
