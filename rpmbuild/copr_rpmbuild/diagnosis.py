"""Why a build failed, in a packager's words: the ``fail_reason`` of the build.

rpmbuild (and mock, which runs it) says what went wrong in a few well-known lines: a
missing source file, files in the buildroot that ``%files`` does not list, ``%files``
entries that were never installed, a spec that does not parse, build dependencies that
are not there, a section (``%prep``, ``%build``, ``%install``, ``%check``) that exited
non-zero — and a process that ran out of memory says so too.  :func:`explain_output`
finds those lines in the end of the failing command's output; :func:`describe_failure`
turns any reason a build stopped into the one-paragraph reason copr-rpmbuild writes into
``fail-reason.txt`` for the backend, which reports it as the build's ``fail_reason``.
"""

from __future__ import annotations

import re
import signal

from copr_rpmbuild.errors import (
    BuildCanceled,
    BuildTimeout,
    CoprBuildError,
    InfrastructureError,
)

FAIL_REASON_FILE = "fail-reason.txt"
MAX_REASON = 2000
"""Characters of a reason: enough for a few lines, bounded for the database."""
_MAX_LINE = 300
_MAX_ITEMS = 10

_SECTION = re.compile(r"^Executing\((%\w+)\):.*$", re.MULTILINE)
_BAD_EXIT = re.compile(r"^error: Bad exit status from \S+ \((%\w+)\)", re.MULTILINE)
_BAD_SOURCE = re.compile(r"^error: Bad (?:source|file): (\S+): (.+)$", re.MULTILINE)
_NOT_FOUND = re.compile(r"^error: File not found(?: by glob)?: (\S+)$", re.MULTILINE)
# An error line followed by the indented lines it lists.
_LISTED = r"\n((?:[ \t]+\S.*\n?)+)"
_UNPACKAGED = re.compile(r"^error: Installed \(but unpackaged\) file\(s\) found:" + _LISTED, re.M)
_SPEC_LINE = re.compile(r"^error: (line \d+: .+)$", re.MULTILINE)
_SPEC_OTHER = re.compile(
    r"^error: ((?:parse error|Failed to parse|Unknown tag|Package has no %description).*)$", re.M
)
_BUILDDEPS = re.compile(r"^error: Failed build dependencies:" + _LISTED, re.M)
_NO_MATCH = re.compile(r"No matching package to install: '([^']+)'")
_BUILDROOT = re.compile(r"^.*?/BUILDROOT/[^/]+")
_MEMORY = re.compile(
    r"^.*\b(MemoryError|Cannot allocate memory|[Oo]ut of memory|virtual memory exhausted"
    r"|memory exhausted|std::bad_alloc|failed to allocate|cannot allocate)\b.*$",
    re.MULTILINE,
)


def _short(line: str) -> str:
    line = " ".join(line.split())
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"


def _items(values: list[str]) -> str:
    unique = list(dict.fromkeys(v for v in values if v))
    text = ", ".join(unique[:_MAX_ITEMS])
    if len(unique) > _MAX_ITEMS:
        text += f" and {len(unique) - _MAX_ITEMS} more"
    return text


def running_section(output: str) -> str | None:
    """The rpmbuild section (``%build``, ...) the output was in when it ended."""
    found = _SECTION.findall(output)
    return found[-1] if found else None


def _last_lines(output: str, before: int, count: int = 3) -> list[str]:
    """The last lines of the section's own output before ``before`` (not the shell trace)."""
    start = max((m.end() for m in _SECTION.finditer(output, 0, before)), default=0)
    lines = [
        line
        for line in output[start:before].splitlines()
        if line.strip() and not line.startswith(("+ ", "++ ")) and not line.startswith("error:")
    ]
    return [_short(line) for line in lines[-count:]]


def explain_output(output: str, memory_mb: int | None = None) -> str | None:
    """What the end of rpmbuild's or mock's output says went wrong; None if it does not.

    ``memory_mb`` is the memory limit of the build's processes, named when they ran out.
    """
    parts: list[str] = []
    bad_sources = _BAD_SOURCE.findall(output)
    if bad_sources:
        names = _items([path.rsplit("/", 1)[-1] for path, _why in bad_sources])
        why = bad_sources[0][1].strip()
        return (
            f"source file {names} not found ({why}): a Source or Patch must be in the SRPM, "
            "the package's repository, or at a URL the spec names"
        )
    spec_error = _SPEC_LINE.search(output) or _SPEC_OTHER.search(output)
    if spec_error and not _SECTION.search(output):
        return f"the spec file is invalid: {_short(spec_error.group(1))}"
    builddeps = _BUILDDEPS.search(output)
    if builddeps:
        lines = builddeps.group(1).splitlines()
        needed = [line.split(" is needed by ")[0].strip() for line in lines]
        return f"build dependencies are not available: {_items(needed)}"
    missing_packages = _NO_MATCH.findall(output)
    if missing_packages:
        return f"build dependencies are not available: {_items(missing_packages)}"
    missing_files = _NOT_FOUND.findall(output)
    if missing_files:
        paths = [_BUILDROOT.sub("", path) or path for path in missing_files]
        parts.append(f"files listed in %files were not installed by %install: {_items(paths)}")
    unpackaged = _UNPACKAGED.search(output)
    if unpackaged:
        paths = [line.strip() for line in unpackaged.group(1).splitlines()]
        parts.append(
            f"installed (but unpackaged) files found: {_items(paths)} — list them in %files "
            "or remove them in %install"
        )
    if parts:
        return "; ".join(parts)
    bad_exit = list(_BAD_EXIT.finditer(output))
    memory = _MEMORY.search(output)
    if memory:
        section = bad_exit[-1].group(1) if bad_exit else running_section(output)
        limit = f" (the build's processes may use {memory_mb} MiB)" if memory_mb else ""
        where = f" in {section}" if section else ""
        return f"out of memory{where}{limit}: {_short(memory.group(0))}"
    if bad_exit:
        last = bad_exit[-1]
        lines = _last_lines(output, last.start())
        said = f": {' / '.join(lines)}" if lines else ""
        return f"{last.group(1)} failed{said}"
    return None


def command_failed(what: str, status: int, output: str, memory_mb: int | None = None) -> str:
    """Why the command ``what`` exited with ``status``, from the end of its ``output``."""
    explained = explain_output(output, memory_mb)
    if explained:
        return explained
    if status > 128 and status - 128 in signal.valid_signals():
        name = signal.Signals(status - 128).name
        hint = " — out of memory?" if name == "SIGKILL" else ""
        reason = f"{what} was killed by {name}{hint}"
    else:
        reason = f"{what} failed (exit status {status})"
    lines = _last_lines(output, len(output))
    return reason + (f": {' / '.join(lines)}" if lines else "")


def describe_failure(error: CoprBuildError, phase: str, interrupted_output: str = "") -> str:
    """The ``fail_reason`` of a build ``phase`` ("SRPM build", "RPM build") that stopped
    with ``error``; ``interrupted_output`` is the end of the output of the command the
    stop interrupted, if it interrupted one (it tells the rpmbuild section)."""
    section = running_section(interrupted_output)
    during = f" during {section}" if section else ""
    if isinstance(error, BuildTimeout):
        reason = f"{phase} timed out{during}: {error}"
    elif isinstance(error, BuildCanceled):
        reason = f"{phase} canceled{during}: {error}"
    elif isinstance(error, InfrastructureError):
        reason = (
            f"Infrastructure failure in the {phase} (not the package's fault; resubmitting "
            f"may help): {error}"
        )
    else:
        reason = f"{phase} failed: {error}"
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
