"""copr-rpmbuild settings: a TOML file (``-c``) and ``COPR_RPMBUILD_*`` variables.

See README.md for every key. Paths default to the layout of an installed builder
(``/var/lib/copr-rpmbuild``); tests and local stacks point them elsewhere.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from copr_common.settings import ServiceSettings, load_service_settings

DEFAULT_CONFIG_FILE = Path("/etc/copr-rpmbuild/rpmbuild.toml")
ENV_PREFIX = "COPR_RPMBUILD_"
# In a source checkout the mock configs sit next to this package's folder.
_CHECKOUT_MOCK_CONFIGS = Path(__file__).resolve().parents[2] / "mock-configs"
_INSTALLED_MOCK_CONFIGS = Path("/usr/share/copr-rpmbuild/mock-configs")

PROTOCOLS = ("https", "http", "ftp", "git", "ssh", "file")
# What the sandbox mounts itself; a bind mount may not cover it or go inside it.
_SANDBOX_OWN = (
    *(Path(f"/{top}") for top in ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64")),
    *(Path(f"/{top}") for top in ("libx32", "proc", "dev", "builddir", "copr")),
    # The sandbox's private tmpfs mounts (paths inside it, not the host's).
    Path("/tmp"),  # noqa: S108
    Path("/var/tmp"),  # noqa: S108
)
# In the range systemd leaves unassigned (0x70000000-0x7fffffff): no account, container
# or dynamic user of the host takes it.
DEFAULT_SANDBOX_UID = 2_000_000_000
# Addresses that are neither the host nor the internet: cloud metadata services answer on
# link-local addresses.
DEFAULT_BLOCKED_NETWORKS = ["169.254.0.0/16", "fe80::/10"]


class DistGitInstance(ServiceSettings):
    """A dist-git whose lookaside cache we know, matched by the clone URL's host."""

    clone_hostnames: list[str]
    lookaside_url: str
    # Fields: {name} (package), {namespace} (path before it), {filename}, {hashtype}, {hash}.
    lookaside_uri_pattern: str = "{namespace}/{name}/{filename}/{hashtype}/{hash}/{filename}"
    sources_file: str = "sources"
    default_hashtype: str = "md5"


def _fedora_instance() -> dict[str, DistGitInstance]:
    return {
        "fedora": DistGitInstance(
            clone_hostnames=["src.fedoraproject.org", "pkgs.fedoraproject.org"],
            lookaside_url="https://src.fedoraproject.org/repo/pkgs",
            lookaside_uri_pattern="{name}/{filename}/{hashtype}/{hash}/{filename}",
        )
    }


class RpmbuildSettings(ServiceSettings):
    """copr-rpmbuild's settings: service URLs, directories, tools and sandbox limits."""

    frontend_url: str = "http://localhost:5000"
    # How long fetching the task is retried while the frontend is unreachable or failing.
    task_fetch_retry_for: float = Field(120.0, ge=0)
    # This project's dist-git: where RPM tasks' git_repo lives and its lookaside cache,
    # laid out as <lookaside>/<owner>/<dirname>/<package>/<filename>/<hashtype>/<hash>/<filename>.
    distgit_clone_url: str = "http://localhost:5001/git"
    distgit_lookaside_url: str = "http://localhost:5001/repo/pkgs"
    distgit_instances: dict[str, DistGitInstance] = Field(default_factory=_fedora_instance)
    pypi_url: str = "https://pypi.org/pypi"
    # Optional SRPM tools, by command name or path; a build that needs a missing one fails.
    gem2rpm_command: str = "gem2rpm"
    tito_command: str = "tito"
    # rpmlint over the built packages (rpmlint.txt, results.json); "" turns it off.
    rpmlint_command: str = "rpmlint"
    rpmlint_timeout: float = Field(300.0, gt=0)

    resultdir: Path = Path("/var/lib/copr-rpmbuild/results")
    workspace_dir: Path = Path("/var/lib/copr-rpmbuild/workspace")
    # Holds the pid file, the lock, the exit status and task id of the last run.
    state_dir: Path = Path("/var/lib/copr-rpmbuild")

    enabled_protocols: list[str] = ["https", "http", "git", "ftp"]
    # A download (no connection, a broken one, a 5xx answer) or clone that fails is
    # tried this many times in all, the pauses starting at fetch_retry_pause and doubling.
    fetch_attempts: int = Field(5, ge=1)
    fetch_retry_pause: float = Field(1.0, ge=0)
    max_download_size: int = 4 * 1024**3
    max_log_size: int = 200 * 1024**2
    max_result_size: int = 20 * 1024**3
    tmpfs_size: int = 2 * 1024**3
    default_timeout: int = 18000
    # Address-space limit per process = max(task memory_reqs, this), in MiB.
    min_memory_mb: int = 4096
    # Processes the build's uid may have at once (a fork bomb stops there); applies when
    # copr-rpmbuild runs as root and drops to sandbox_uid.
    max_processes: int = 4096
    kill_grace: float = 10.0

    # Host directories bound read-write into every build (host path -> path inside), as
    # mock's bind_mount plugin does: a shared cache, or a place a site's own tooling
    # watches.  Each is shared by all builds, so only directories meant for that.
    bind_mounts: dict[str, str] = Field(default_factory=dict)

    buildroot: Literal["auto", "mock", "bwrap"] = "auto"
    # The uid (and gid) sandboxed code runs as when copr-rpmbuild runs as root. Process
    # limits count per uid, so every builder on one host needs a uid of its own.
    sandbox_uid: int = DEFAULT_SANDBOX_UID
    # Network for enable_net builds: slirp4netns gives the sandbox a namespace of its own
    # with outbound connections only; as root, an nftables table also keeps every address
    # of the host (and blocked_networks) out of its reach.
    slirp4netns_command: str = "slirp4netns"
    nft_command: str = "nft"
    block_host_addresses: bool = True
    blocked_networks: list[str] = Field(default_factory=lambda: list(DEFAULT_BLOCKED_NETWORKS))
    mock_configs_dir: Path = (
        _CHECKOUT_MOCK_CONFIGS if _CHECKOUT_MOCK_CONFIGS.is_dir() else _INSTALLED_MOCK_CONFIGS
    )
    rawhide_version: int | None = None
    # Copr's form: "<name> - user <owner>" or "<name> - group @<group>".
    vendor: str = "Copr - {owner_kind} {owner}"
    packager: str = "Copr build system (submitted by {submitter})"

    @field_validator("enabled_protocols")
    @classmethod
    def _known_protocols(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PROTOCOLS))
        if unknown:
            raise ValueError(f"unknown protocols {unknown}: choose from {', '.join(PROTOCOLS)}")
        return value

    @field_validator("bind_mounts")
    @classmethod
    def _bind_mounts(cls, value: dict[str, str]) -> dict[str, str]:
        for host, inside in value.items():
            if not Path(host).is_absolute() or not Path(inside).is_absolute():
                raise ValueError(f"{host} -> {inside}: both paths must be absolute")
            target = Path(inside)
            own = [p for p in _SANDBOX_OWN if target == p or p in target.parents]
            if own or target == Path("/"):
                where = own[0] if own else "/"
                raise ValueError(f"{inside}: the sandbox's own {where} cannot be bound over")
        return value

    @field_validator("sandbox_uid")
    @classmethod
    def _unprivileged_uid(cls, value: int) -> int:
        # 65535 and 4294967295 are (uid_t) -1 to someone; past 2**31 tools treat uids as
        # signed numbers.
        if not 0 < value < 2**31 or value == 65535:
            raise ValueError("must be a uid between 1 and 2147483647 (not 65535)")
        return value

    @field_validator("blocked_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network (like 10.0.0.0/8)") from None
        return value

    @field_validator("max_download_size", "max_log_size", "max_result_size", "tmpfs_size")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number of bytes")
        return value

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "pid"

    @property
    def lockfile(self) -> Path:
        return self.state_dir / "lock"

    @property
    def statusfile(self) -> Path:
        return self.state_dir / "exit-status"

    @property
    def taskfile(self) -> Path:
        """The id of the task the build holding (or that last held) the lock runs."""
        return self.state_dir / "task"

    @property
    def live_log(self) -> Path:
        return self.resultdir / "builder-live.log"


def load_config(path: str | os.PathLike[str] | None = None) -> RpmbuildSettings:
    """Settings from ``path``, else ``$COPR_RPMBUILD_CONFIG``, else the default file when it
    exists; and the environment.
    """
    return load_service_settings(RpmbuildSettings, ENV_PREFIX, DEFAULT_CONFIG_FILE, path)
