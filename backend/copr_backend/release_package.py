"""The project's release package: ``copr-<owner>-<project>-release``, one per chroot.

Installing it enables the project as ``dnf copr enable`` would: it holds the project's
``.repo`` file for the chroot's release — exactly the frontend's
``/coprs/<owner>/<project>/repo/<distro>-<version>/dnf.repo``, with gpgcheck on — and the
project's public key (``/etc/pki/rpm-gpg/RPM-GPG-KEY-copr-<owner>-<project>``, for
``rpm --import`` by hand).  The build worker makes it while it publishes a build into
the chroot (:meth:`ReleasePackages.refresh`), signs it with the project's key and puts
it into ``<chroot>/copr-release/``, so the same createrepo run lists it, and under a
name that stays into ``<project>/copr-release/<chroot>/`` (which no repodata lists), which
the project's overview links to.

It is made again only when what it holds changed (the ``.repo`` file — priority, runtime
dependencies — or the key): ``copr-release/state.json`` keeps the digest of the last
one, and each new one has the next release number, so ``dnf upgrade`` takes it.  The
package is noarch and built from a spec written here, by rpmbuild on the backend's host:
nothing of a user's build goes into it.  Only a project's main directory has one (the
repos of a pull-request dir are short-lived).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from copr_backend.results import read_json_object
from copr_backend.signing import Signer
from copr_common.names import RELEASE_PACKAGES_DIR, release_package_name, release_package_path

log = logging.getLogger(__name__)

_STATE = "state.json"


class ReleasePackageError(RuntimeError):
    """The release package could not be made (the build itself is not affected)."""


def _spec(name: str, owner: str, project: str, release: int, repo_name: str) -> str:
    key = f"RPM-GPG-KEY-{name.removesuffix('-release')}"
    return f"""Name: {name}
Version: 1
Release: {release}
Summary: Enables the Copr project {owner}/{project}
License: MIT
BuildArch: noarch
Source0: {repo_name}
Source1: pubkey.gpg

%description
The dnf repository of the Copr project {owner}/{project} for this release, and the key
its packages are signed with.

%install
install -D -m 0644 %{{SOURCE0}} %{{buildroot}}/etc/yum.repos.d/{repo_name}
install -D -m 0644 %{{SOURCE1}} %{{buildroot}}/etc/pki/rpm-gpg/{key}

%files
%config(noreplace) /etc/yum.repos.d/{repo_name}
/etc/pki/rpm-gpg/{key}
"""


class ReleasePackages:
    """Makes and signs release packages, reading ``.repo`` files from the frontend."""

    def __init__(
        self,
        frontend_url: str,
        signer: Signer,
        *,
        rpmbuild_command: str = "rpmbuild",
        timeout: float = 30.0,
    ) -> None:
        self.frontend_url = frontend_url.rstrip("/")
        self.signer = signer
        self.rpmbuild_command = rpmbuild_command
        self.timeout = timeout

    def repo_file(self, owner: str, project: str, chroot: str) -> str:
        """The frontend's ``.repo`` file of ``project`` for ``chroot``'s release."""
        distro = chroot.rsplit("-", 1)[0]
        arch = chroot.rsplit("-", 1)[1]
        url = (
            f"{self.frontend_url}/coprs/{quote(owner)}/{quote(project)}/repo/"
            f"{quote(distro)}/dnf.repo?arch={quote(arch)}"
        )
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as answer:  # noqa: S310 - our frontend
                return str(answer.read().decode())
        except (urllib.error.URLError, OSError, UnicodeDecodeError) as error:
            raise ReleasePackageError(f"cannot read {url}: {error}") from None

    def refresh(
        self, chroot_dir: Path, owner: str, project: str, pubkey: Path
    ) -> tuple[Path, bool] | None:
        """Make the chroot's release package if what it holds changed: the new package
        and whether it replaced an older one (whose repodata entry must go), or None when
        the one there is current.  Raises :class:`ReleasePackageError`.
        """
        repo = self.repo_file(owner, project, chroot_dir.name)
        try:
            key = pubkey.read_bytes()
        except OSError as error:
            raise ReleasePackageError(f"cannot read the project's key: {error}") from None
        digest = hashlib.sha256(repo.encode() + b"\0" + key).hexdigest()
        directory = chroot_dir / RELEASE_PACKAGES_DIR
        state = read_json_object(directory / _STATE)
        current = directory / str(state.get("file", ""))
        if state.get("digest") == digest and state.get("file") and current.is_file():
            return None
        last = state.get("release")
        release = (last if isinstance(last, int) else 0) + 1
        package = self._build(directory, owner, project, release, repo, key)
        self.signer.sign(owner, project, [package])
        replaced = False
        for old in directory.glob("*.rpm"):
            if old != package:
                old.unlink()
                replaced = True
        # The same package under a name that stays, for links (the project's overview).
        stable = chroot_dir.parents[2] / release_package_path(owner, project, chroot_dir.name)
        stable.parent.mkdir(parents=True, exist_ok=True)
        partial = stable.with_name(stable.name + ".partial")
        shutil.copyfile(package, partial)
        partial.replace(stable)
        _write_state(directory / _STATE, {"digest": digest, "release": release,
                                          "file": package.name})  # fmt: skip
        log.info("release package %s made for %s/%s", package.name, owner, project)
        return package, replaced

    def forget(self, chroot_dir: Path) -> None:
        """Forget that the chroot's release package is current (one made for a build that
        was then not published: it may be missing from the repodata), so the next
        refresh makes it again.
        """
        (chroot_dir / RELEASE_PACKAGES_DIR / _STATE).unlink(missing_ok=True)

    def _build(
        self, directory: Path, owner: str, project: str, release: int, repo: str, key: bytes
    ) -> Path:
        name = release_package_name(owner, project)
        repo_name = f"{name.removesuffix('-release')}.repo"
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="copr-release-") as scratch:
            top = Path(scratch)
            sources = top / "SOURCES"
            sources.mkdir()
            (sources / repo_name).write_text(repo)
            (sources / "pubkey.gpg").write_bytes(key)
            spec = top / f"{name}.spec"
            spec.write_text(_spec(name, owner, project, release, repo_name))
            try:
                done = subprocess.run(
                    [self.rpmbuild_command, "-bb", "--define", f"_topdir {top}", str(spec)],
                    capture_output=True, text=True, timeout=120, check=False,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired) as error:
                raise ReleasePackageError(f"cannot run rpmbuild: {error}") from None
            built = sorted((top / "RPMS" / "noarch").glob(f"{name}-*.noarch.rpm"))
            if done.returncode != 0 or len(built) != 1:
                raise ReleasePackageError(
                    f"rpmbuild of {name} exited {done.returncode}: {done.stderr.strip()[-500:]}"
                )
            target = directory / built[0].name
            shutil.move(built[0], target)
        return target


def _write_state(path: Path, data: dict[str, object]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, sort_keys=True))
    partial.replace(path)
