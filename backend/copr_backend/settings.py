"""The backend's settings: a TOML file (``COPR_BACKEND_CONFIG`` or ``--config``) and
``COPR_BACKEND_*`` environment variables, validated into one object at start-up.

Both dispatchers and every worker read the same settings; a dispatcher hands its settings
file on to the workers it starts (the environment is inherited anyway).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from copr_common.settings import ServiceSettings, load_service_settings

ENV_PREFIX = "COPR_BACKEND_"
DEFAULT_CONFIG = Path("/etc/copr/backend.toml")


class SshBuilderHost(BaseModel):
    """One builder host of the ``ssh`` pool (an entry of ``ssh_hosts``)."""

    model_config = ConfigDict(extra="forbid")

    # Its name in logs and lease files (default: the address).
    name: str = ""
    address: str
    port: int = Field(22, ge=1, le=65535)
    user: str = "copr"
    # The private key the backend logs in with.
    key_file: Path
    # The chroot arches it builds for (source builds go to any host).
    arches: list[str] = Field(default_factory=lambda: ["x86_64"])
    # A task with tags lands only on a host that has all of them.
    tags: list[str] = Field(default_factory=list)
    # Builds at once; each needs a copr-rpmbuild config of its own on the host.
    max_builds: int = Field(1, ge=1)
    # The copr-rpmbuild settings file on the host ("-c"; "{slot}" is 0 .. max_builds - 1);
    # empty: copr-rpmbuild's default (one build at once only).
    rpmbuild_config: str = ""

    @model_validator(mode="after")
    def _slots(self) -> SshBuilderHost:
        if not self.name:
            self.name = self.address
        if self.max_builds > 1 and "{slot}" not in self.rpmbuild_config:
            raise ValueError(
                f"ssh host {self.name}: max_builds > 1 needs an rpmbuild_config with {{slot}}"
            )
        return self

    def config_of(self, slot: int) -> str:
        """The ``-c`` value for ``slot`` (empty: copr-rpmbuild's default)."""
        return self.rpmbuild_config.replace("{slot}", str(slot))


class BackendSettings(ServiceSettings):
    """The backend's settings: frontend, Redis, results tree, pools, signing and messaging."""

    # The frontend's base URL (its backend API is under /backend/) and the backend
    # password it expects on writes (HTTP Basic).
    frontend_url: str = "http://127.0.0.1:5000"
    frontend_auth: str = ""
    frontend_timeout: float = Field(30.0, gt=0)
    # How long a report (a build's state, an action's result) is retried while the
    # frontend is unreachable or failing, before the worker gives up on it.
    frontend_retry_for: float = Field(300.0, ge=0)
    redis_url: str = "redis://127.0.0.1:6379/0"

    # The published results tree and the URL it is served at (dist-git downloads the
    # SRPMs of source builds from there).
    results_dir: Path = Path("/var/lib/copr/public_html/results")
    results_url: str = "http://127.0.0.1:5002/results"

    # Dispatching: seconds between polls when no wakeup arrives.
    sleep_time: float = Field(10.0, gt=0)
    # How long a started worker may take to announce itself before its task is freed.
    worker_start_timeout: float = Field(60.0, gt=0)
    max_action_workers: int = Field(4, ge=1)
    # Extra seconds past a build's timeout before the worker stops the build itself.
    build_grace: float = Field(300.0, ge=0)
    default_build_timeout: int = Field(18000, ge=1)
    # How often a running build's worker asks the frontend for cancel requests.
    cancel_check_interval: float = Field(1.0, gt=0)

    # Limits on running builds; None means unlimited.
    max_builds_per_owner: int | None = Field(None, ge=1)
    max_builds_per_sandbox: int | None = Field(None, ge=1)
    arch_limits: dict[str, int] = Field(default_factory=dict)
    tag_limits: dict[str, int] = Field(default_factory=dict)
    blocked_owners: list[str] = Field(default_factory=list)

    # The build dispatcher reads a page of the queue: every starting/running task and the
    # first (free slots * queue_page_factor + queue_page_floor) pending tasks in fair
    # order; doubled (up to queue_page_max) while the limits refuse every task offered.
    # queue_page_floor = 0 reads the whole queue every round.
    queue_page_factor: int = Field(4, ge=1)
    queue_page_floor: int = Field(100, ge=0)
    queue_page_max: int = Field(100_000, ge=1, le=100_000)

    # The builder pool (see copr_backend.pools): "local" (slots on this host), "ssh"
    # (ssh_hosts) or "resalloc" (builders leased from a resalloc server, driven over SSH).
    builder_pool: Literal["local", "ssh", "resalloc"] = "local"
    local_slots: int = Field(2, ge=1)
    # Slot directories; must be reachable by the slots' sandbox uids (0755 path).
    local_pool_dir: Path = Path("/var/lib/copr/local-pool")
    # Slot n's builds run as uid (and gid) local_uid_base + n: process limits count per
    # uid, so a build that exhausts its own leaves the other slots' builds untouched.
    # Pools on one host need ranges of their own.
    local_uid_base: int = Field(2_000_000_100, gt=0)
    # The copr-rpmbuild beside the backend's Python runs in a fork of its worker
    # (pools/local.py).
    rpmbuild_command: str = "copr-rpmbuild"
    rpmbuild_cancel_command: str = "copr-rpmbuild-cancel"
    # Extra copr-rpmbuild settings written into every slot's rpmbuild.toml (distgit URLs,
    # buildroot, ...); the slot's own paths, sandbox_uid and frontend_url are always set.
    rpmbuild_settings: dict[str, object] = Field(default_factory=dict)
    # Seconds copr-rpmbuild-cancel gives a build to stop by itself before killing it.
    cancel_grace: float = Field(3.0, ge=0)
    # Builders whose copr-rpmbuild is older, or of another major version, are refused.
    builder_min_version: str = Field("0.1", pattern=r"^\d+\.\d+(\.\d+)?$")

    # The ssh pool: its hosts, the known-hosts file their host keys are checked against
    # (a host whose key is not there is refused, never added), seconds to connect, and
    # the frontend URL builders fetch their tasks from (unset: frontend_url).
    ssh_hosts: list[SshBuilderHost] = Field(default_factory=list)
    """Tables of ``address``, ``port`` (22), ``user`` ("copr"), ``key_file`` (the private
    key to log in with), ``arches`` (["x86_64"]; source builds go to any host), ``tags``
    (a task with tags lands only on a host with all of them), ``max_builds`` (1) and
    ``rpmbuild_config`` (copr-rpmbuild's settings file on the host, ``{slot}`` standing for
    0 .. max_builds - 1; empty: its default), ``name`` (default: the address)."""
    ssh_known_hosts: Path | None = None
    ssh_connect_timeout: float = Field(15.0, gt=0)
    builder_frontend_url: str | None = None
    # How long a worker waits for a free builder before giving its task back.
    lease_timeout: float = Field(600.0, gt=0)
    # How often a running build's worker checks that its (remote) builder is alive; a
    # dead one has its task rescheduled onto another builder.
    builder_check_interval: float = Field(30.0, gt=0)
    # A task whose worker found no builder (none free within lease_timeout, or none with
    # its arch and tags) is offered again only after this many seconds, doubled after
    # each further miss up to no_builder_retry_max: a task no builder can take does not
    # start a worker (nor take a resalloc ticket) every round.
    no_builder_retry_base: float = Field(5.0, gt=0)
    no_builder_retry_max: float = Field(300.0, gt=0)

    # The resalloc pool: the server's XML-RPC URL, the timeout of each call, how long an
    # unreachable server is retried before a call fails, builds at once (worker
    # processes), and the arch of the builders of source builds (tag arch_<arch>).  The
    # builders are SSH hosts; how to reach them is in the ssh_* settings.
    resalloc_url: str = "http://127.0.0.1:49100/RPC2"
    resalloc_timeout: float = Field(30.0, gt=0)
    resalloc_retry_for: float = Field(300.0, ge=0)
    resalloc_max_builds: int = Field(10, ge=1)
    resalloc_source_arch: str = "x86_64"
    # How the backend logs in to a resalloc builder (its host key is checked against
    # ssh_known_hosts, as for the ssh pool), and copr-rpmbuild's settings file there
    # ("-c"; "{address}" is the builder's address; empty: copr-rpmbuild's default).
    resalloc_ssh_user: str = "copr"
    resalloc_ssh_port: int = Field(22, ge=1, le=65535)
    resalloc_ssh_key_file: Path | None = None
    resalloc_rpmbuild_config: str = ""

    # Signing through keygen; off means RPMs are published unsigned (development only).
    sign_rpms: bool = True
    keygen_url: str = "http://127.0.0.1:5003"
    keygen_secret: str = ""
    # How long signing is retried while keygen is unreachable or failing.
    keygen_retry_for: float = Field(300.0, ge=0)
    sign_domain: str = "copr.localhost"

    createrepo_command: str = "createrepo_c"
    # Each chroot of a project's main dir gets copr-<owner>-<project>-release, a signed
    # package holding the project's .repo file and key (copr_backend.release_package).
    release_packages: bool = True
    # Each RPM build chroot gets <package>.spdx.json, <package>.cdx.json and a signed
    # provenance.intoto.json (copr_backend.sbom).
    sbom: bool = True
    # Makes the AppStream catalog of the repos of projects with appstream on.
    appstream_command: str = "appstream-generator"
    createrepo_timeout: float = Field(3600.0, gt=0)

    # Build messages: "null" (none) or "amqp" (through fedora-messaging, see messaging.py).
    message_publisher: Literal["null", "amqp"] = "null"
    # A fedora-messaging config file (TLS, client properties); unset: the library's own
    # ($FEDORA_MESSAGING_CONF, /etc/fedora-messaging/config.toml), if any.  The three
    # after it override the file when set; its defaults are localhost, amq.topic, no prefix.
    messaging_config: Path | None = None
    amqp_url: str | None = None
    amqp_exchange: str | None = None
    topic_prefix: str | None = None
    # Seconds to wait for the broker to confirm one message before dropping it.
    message_timeout: float = Field(10.0, gt=0)
    # Where build messages go besides: "amqp" (as message_publisher = "amqp" says) and
    # "endpoints" (queued for copr-backend-notification-dispatcher, which delivers them
    # to the projects' notification endpoints; see copr_backend.notifications).
    message_sinks: list[Literal["amqp", "endpoints"]] = Field(default_factory=list)

    # The notification dispatcher: messages queued at most (the oldest go first), seconds
    # between rounds, per-request timeout, requests at once, deliveries per round.
    notification_queue_max: int = Field(100_000, ge=1)
    notification_poll_interval: float = Field(5.0, gt=0)
    notification_timeout: float = Field(10.0, gt=0)
    notification_workers: int = Field(4, ge=1, le=64)
    notification_batch: int = Field(50, ge=1, le=1000)

    # This host's runtime state: the workers' task locks and the createrepo queues.  Not
    # Redis: what is here must survive a Redis restart.
    state_dir: Path = Path("/var/lib/copr/backend")
    worker_log_dir: Path | None = None
    log_level: str = "INFO"
    log_file: Path | None = None

    @property
    def max_builds(self) -> int:
        """Builds at once: the pool's builders (one worker process each)."""
        if self.builder_pool == "resalloc":
            return self.resalloc_max_builds
        if self.builder_pool == "ssh":
            return sum(host.max_builds for host in self.ssh_hosts)
        return self.local_slots

    @property
    def worker_lock_dir(self) -> Path:
        return self.state_dir / "worker-locks"

    @property
    def createrepo_dir(self) -> Path:
        return self.state_dir / "createrepo"

    @field_validator("arch_limits", "tag_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        bad = sorted(key for key, limit in value.items() if limit < 1)
        if bad:
            raise ValueError(f"limits must be at least 1: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _slot_uids(self) -> BackendSettings:
        last = self.local_uid_base + self.local_slots - 1
        if last >= 2**31 or self.local_uid_base <= 65535 < last + 1:
            raise ValueError(
                "local_uid_base + local_slots must stay below 2147483648 and clear of 65535"
            )
        return self

    @model_validator(mode="after")
    def _ssh_pool(self) -> BackendSettings:
        if self.builder_pool == "resalloc":
            if self.ssh_known_hosts is None or self.resalloc_ssh_key_file is None:
                raise ValueError(
                    'builder_pool = "resalloc" needs ssh_known_hosts and resalloc_ssh_key_file'
                )
            return self
        if self.builder_pool != "ssh":
            return self
        if not self.ssh_hosts:
            raise ValueError('builder_pool = "ssh" needs ssh_hosts')
        if self.ssh_known_hosts is None:
            raise ValueError('builder_pool = "ssh" needs ssh_known_hosts')
        names = [host.name for host in self.ssh_hosts]
        if len(set(names)) != len(names):
            raise ValueError("ssh_hosts: two hosts of the same name")
        return self

    @field_validator("builder_frontend_url")
    @classmethod
    def _optional_http_url(cls, value: str | None) -> str | None:
        return None if value is None else cls._http_url(value)

    @field_validator("frontend_url", "results_url", "keygen_url", "resalloc_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")


def load(config: str | os.PathLike[str] | None = None) -> BackendSettings:
    """Settings from ``config``, else ``$COPR_BACKEND_CONFIG``, else /etc (when present)."""
    return load_service_settings(BackendSettings, ENV_PREFIX, DEFAULT_CONFIG, config)
