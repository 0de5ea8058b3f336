"""AppStream metadata for a chroot's repo, for projects with ``appstream`` on.

Software centers (GNOME Software, KDE Discover through PackageKit) show what a repo
offers from its AppStream catalog: the components (applications, console tools, fonts...)
that packages describe in their ``/usr/share/metainfo`` files and ``.desktop`` files, each
with its ``<pkgname>``.  Copr runs appstream-builder for that, which appstream-glib 0.8
no longer ships; ``appstream-generator`` (Debian and Fedora package it) reads rpm-md
repos with its ``rpmmd`` backend and writes the same kind of catalog.

It runs over the chroot directory after createrepo_c (a createrepo_c run drops the extra
metadata of the old ``repomd.xml``), in a scratch workspace, and the catalog
(``appstream``, with Copr's origin ``<owner>/<project>``) and the 64x64 icon cache
(``appstream-icons``) are added to the repodata with ``modifyrepo_c``.  A ``devel/`` repo
gets none, as in Copr.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

SUITE, SECTION = "copr", "main"
_ORIGIN = re.compile(rb'(<components\b[^>]*?\borigin=")[^"]*(")')


class AppstreamError(RuntimeError):
    """The AppStream metadata could not be made; the message has the tool's output."""


def has_appstream(directory: Path) -> bool:
    """Whether the repodata of ``directory`` carries an AppStream catalog now."""
    try:
        repomd = (directory / "repodata" / "repomd.xml").read_text(errors="replace")
    except OSError:
        return False
    return '<data type="appstream">' in repomd


def _config(archive: Path, arch: str) -> dict[str, object]:
    return {
        "ProjectName": "Copr",
        "Backend": "rpmmd",
        "MetadataType": "XML",
        "ArchiveRoot": str(archive),
        # Nothing is fetched from the network (screenshots stay remote links).
        "Features": {
            "noDownloads": True,
            "optimizePNGSize": False,
            "immutableSuites": False,
            "screenshotVideos": False,
        },
        "Suites": {SUITE: {"sections": [SECTION], "architectures": [arch]}},
        "Icons": {"64x64": {"cached": True, "remote": False}},
    }


def _run(argv: list[str], timeout: float) -> None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AppstreamError(f"{argv[0]} did not run: {error}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-2000:]
        raise AppstreamError(f"{argv[0]} failed (exit {result.returncode}): {output}")


def add_appstream(
    directory: Path,
    origin: str,
    arch: str,
    *,
    generator: str = "appstream-generator",
    modifyrepo: str = "modifyrepo_c",
    timeout: float = 600.0,
) -> int:
    """Make the AppStream catalog of the repo in ``directory`` (packages of ``arch`` and
    noarch) and add it to its repodata; how many components it lists."""
    with tempfile.TemporaryDirectory(prefix="copr-appstream-") as scratch:
        workspace = Path(scratch)
        archive = workspace / "archive"
        suite_dir = archive / SUITE / SECTION / arch
        suite_dir.mkdir(parents=True)
        # The generator reads <root>/<suite>/<section>/<arch>/os/repodata.
        (suite_dir / "os").symlink_to(directory.resolve(), target_is_directory=True)
        (workspace / "asgen-config.json").write_text(json.dumps(_config(archive, arch)))
        _run([generator, "--workspace", str(workspace), "run", SUITE, SECTION], timeout)
        data = workspace / "export" / "data" / SUITE / SECTION
        catalog = data / f"Components-{arch}.xml.gz"
        if not catalog.is_file():
            raise AppstreamError(f"{generator} wrote no catalog for {arch}")
        xml = gzip.decompress(catalog.read_bytes())
        xml = _ORIGIN.sub(lambda m: m.group(1) + origin.encode() + m.group(2), xml, count=1)
        out = workspace / "out"
        out.mkdir()
        # modifyrepo_c compresses them (gz, as the rest of the repodata) and records them
        # as "appstream" and "appstream-icons".
        (out / "appstream.xml").write_bytes(xml)
        added = [("appstream", out / "appstream.xml")]
        icons = data / "icons-64x64.tar.gz"
        if icons.is_file():
            (out / "appstream-icons.tar").write_bytes(gzip.decompress(icons.read_bytes()))
            added.append(("appstream-icons", out / "appstream-icons.tar"))
        for mdtype, path in added:
            _run(
                [modifyrepo, "--compress-type=gz", f"--mdtype={mdtype}", str(path),
                 str(directory / "repodata")],
                timeout,
            )  # fmt: skip
    components = xml.count(b"<component ")
    log.info("appstream: %d components in %s", components, directory)
    return components
