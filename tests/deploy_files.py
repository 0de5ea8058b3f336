"""What the deployment tests read: the packages, their specs, units and SELinux contexts.

A package is a top-level folder with ``<Name>.spec`` (``tools/srpm`` finds them the same
way); its units are ``<folder>/systemd/*``. ``tools/unitrun`` and ``tools/srpm`` are
loaded as modules so the tests use the very code the deployment uses.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import subprocess
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
# Fedora's values: the specs install there (Debian's rpm has other defaults).
FEDORA_MACROS = {
    "_unitdir": "/usr/lib/systemd/system",
    "_sharedstatedir": "/var/lib",
    "_localstatedir": "/var",
    "_libexecdir": "/usr/libexec",
    "_datadir": "/usr/share",
    "_sysconfdir": "/etc",
    "_bindir": "/usr/bin",
    "_mandir": "/usr/share/man",
    "python3_sitelib": "/usr/lib/python3/site-packages",
    "pyproject_files": "/dev/null",
}


SECTION = re.compile(
    r"^%(files|changelog|description|package|prep|build|install|check|pre|post|preun|postun"
    r"|pretrans|posttrans|generate_buildrequires)\b"
)


def load_tool(name: str) -> ModuleType:
    """``tools/<name>`` (a script without a .py suffix) as a module."""
    path = ROOT / "tools" / name
    loader = importlib.machinery.SourceFileLoader(f"copr_tool_{name}", str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@cache
def packages() -> dict[str, Path]:
    found: dict[str, Path] = load_tool("srpm").packages()
    return found


def spec_path(name: str) -> Path:
    return packages()[name] / f"{name}.spec"


@cache
def parsed_spec(name: str) -> str:
    """The spec with its macros expanded as on Fedora."""
    defines = [arg for item in FEDORA_MACROS.items() for arg in ("--define", " ".join(item))]
    return subprocess.run(
        ["rpmspec", "-P", *defines, str(spec_path(name))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def files_section(name: str, *, dirs: bool = True) -> list[str]:
    """The paths of every %files section of the spec (directives stripped); without the
    ``%dir`` entries when not ``dirs``."""
    paths = []
    in_files = False
    for line in parsed_spec(name).splitlines():
        if SECTION.match(line):
            in_files = line.startswith("%files")
            continue
        if not in_files or not line.strip() or (not dirs and "%dir" in line):
            continue
        words = re.sub(r"%(dir|config\([^)]*\)|attr\([^)]*\)|doc|license|ghost)\s*", "", line)
        for word in words.split():
            if word.startswith("/"):
                paths.append(word)
    return paths


def units(name: str) -> list[Path]:
    folder = packages()[name] / "systemd"
    return sorted(p for p in folder.glob("*") if p.suffix in (".service", ".timer", ".target"))


def all_units() -> list[Path]:
    return [unit for name in packages() for unit in units(name)]


def file_contexts() -> list[tuple[str, str]]:
    """(path regex, type) of every line of selinux/*.fc."""
    entries = []
    for fc in sorted((ROOT / "selinux").glob("*.fc")):
        for line in fc.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            match = re.search(r"gen_context\(system_u:object_r:(\w+),s0\)", line)
            assert match, f"{fc.name}: {line}"
            entries.append((line.split()[0], match.group(1)))
    return entries


def context_of(path: str) -> str | None:
    """The type the file contexts give ``path``: the last matching entry that is most
    specific, as setfiles picks (here: the longest regex that matches)."""
    matches = [(len(regex), kind) for regex, kind in file_contexts() if re.fullmatch(regex, path)]
    return max(matches)[1] if matches else None
