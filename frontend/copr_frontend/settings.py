"""The frontend's settings: one validated object read at start-up.

Read with :func:`load_frontend_settings` from an optional TOML file and environment
variables named ``COPR_FRONTEND_<FIELD>`` (e.g. ``COPR_FRONTEND_DATABASE_URL``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from copr_common.settings import ServiceSettings, load_service_settings
from copr_frontend.users.addresses import AddressError, check_address

ENV_PREFIX = "COPR_FRONTEND_"
DEFAULT_SETTINGS_FILE = "/etc/copr/frontend.toml"


class ResourceTagRule(BaseModel):
    """Builder tags for builds that ask for much.

    A rule matches a build asking for ``min_memory_reqs`` MiB of memory or more, or for a
    ``min_timeout`` of seconds or more (a rule with both matches either).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")]] = Field(
        min_length=1
    )
    min_memory_reqs: int | None = Field(default=None, ge=1)
    min_timeout: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _has_a_threshold(self) -> ResourceTagRule:
        if self.min_memory_reqs is None and self.min_timeout is None:
            raise ValueError("a rule needs min_memory_reqs or min_timeout")
        return self

    def matches(self, memory_reqs: int | None, timeout: int | None) -> bool:
        big_memory = self.min_memory_reqs is not None and (memory_reqs or 0) >= self.min_memory_reqs
        long_build = self.min_timeout is not None and (timeout or 0) >= self.min_timeout
        return big_memory or long_build


class FrontendSettings(ServiceSettings):
    """The frontend's settings: database, secrets, public URLs and limits."""

    database_url: str = "sqlite:///copr-frontend.sqlite"
    secret_key: str = Field(min_length=16)
    """Signs the web UI's session cookies."""
    backend_password: str = Field(min_length=8)
    """HTTP Basic password the backend and dist-git use for writes under /backend/."""
    public_url: str = "http://localhost:5000"
    """Where users reach this frontend; build URLs and copr-cli configs name it."""
    results_url: str = "http://localhost:5002/results"
    """Root of the published results tree (``<results_url>/<owner>/<dirname>/...``)."""
    dist_git_url: str = "http://localhost:5001/git"
    """Clone URL prefix of dist-git repos (``<dist_git_url>/<owner>/<dirname>/<pkg>.git``)."""
    token_lifetime_days: int = Field(default=180, ge=1)
    upload_dir: Path = Path("uploads")
    max_upload_size: int = Field(default=1024**3, ge=1)
    """Largest accepted upload in bytes (SRPMs and spec files)."""
    direct_rpm_upload: bool = False
    """Whether users may publish already-built RPMs (``/api_3/build/create/rpm-upload``,
    ``copr-cli uploadrpm``) without building them from sources here — off, as in Copr."""
    max_json_size: int = Field(default=16 * 1024**2, ge=1024)
    """Largest accepted JSON document in bytes (a request body or a multipart json part)."""
    build_timeout_default: int = Field(default=5 * 3600, ge=60)
    build_timeout_max: int = Field(default=30 * 3600, ge=60)
    builder_resource_tags: list[ResourceTagRule] = Field(default_factory=list)
    """Builder tags given to builds by what they ask for, e.g.
    ``[{min_memory_reqs = 8192, tags = ["on_demand_powerful"]}]``: the backend leases such
    builds only builders with those tags (resalloc pools, ssh hosts).  A build's tags are
    also its mock chroot's, its project chroot's and its package's
    (``copr-frontend builder-tags``)."""
    redis_url: str | None = None
    """Redis of the backend dispatchers: commits that queue work wake them up (push
    dispatch, see ``notify.py``); without it they find new work at their next poll."""
    log_level: str = "INFO"
    web_assets_dir: Path | None = None
    """The web UI's npm packages (``node_modules``); default: the checkout's
    ``frontend/node_modules`` that ``make setup`` fills from the lock file, else
    ``/usr/share/copr-frontend/node_modules`` where the RPM and the ansible role put them."""
    oidc_issuer: str | None = None
    """OpenID Connect provider for web logins (its ``/.well-known/openid-configuration``
    is read); without it the login page offers local passwords only.  Register the client
    at the provider with the redirect URI ``<public_url>/login/oidc/callback/``."""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_name: str = "OpenID Connect"
    """What the login button calls the provider (e.g. ``Fedora Accounts``)."""

    # Forge webhooks (``copr_frontend/webhooks``).
    webhook_max_payload: int = Field(default=25 * 1024**2, ge=1024)
    """Largest webhook body accepted, in bytes (GitHub's own cap is 25 MB)."""
    pr_dir_retention_days: int = Field(default=40, ge=1)
    """``copr-frontend remove-stale-pr-dirs`` removes pull-request dirs whose newest
    build is older than this (Copr's 40 days)."""

    # Retention (``copr_frontend/builds/retention``, ``copr-frontend prune-builds``).
    prune_days: int = Field(default=14, ge=1)
    """Auto-pruning (projects with ``auto_prune``) keeps, per chroot, the newest succeeded
    build of each package and every build that ended less than this many days ago
    (Copr's 14 days)."""

    # Outbound build notifications (``copr_frontend/notifications``).
    notification_allow_loopback_http: bool = False
    """Accept ``http://`` endpoints on loopback addresses (tests and local stacks); every
    other endpoint must be ``https://``."""
    notification_max_attempts: int = Field(default=8, ge=1, le=100)
    """Attempts per delivery before it is given up as failed."""
    notification_retry_base: float = Field(default=30.0, gt=0)
    """Seconds before the first retry; each further retry waits twice as long."""
    notification_retry_max: float = Field(default=3600.0, gt=0)
    """The longest wait between two attempts."""
    notification_failure_limit: int = Field(default=20, ge=1)
    """An endpoint whose deliveries failed this many attempts in a row is disabled."""

    # Storage quotas (``copr_frontend/quotas``).
    storage_quota_default: int | None = Field(default=None, ge=0, le=2**62)
    """Bytes of results an owner's builds may take before their next submission is
    refused; ``copr-frontend set-quota`` overrides it per owner.  None: no limit."""

    # E-mail to the submitters of builds that ended (``copr_frontend/notifications/mail.py``).
    smtp_host: str | None = None
    """The SMTP server that takes the build e-mails; without it none are sent (nor
    recorded).  Sent only where both the build's project and its submitter opted in."""
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    """Default: 465 with ``smtp_security = "ssl"``, 587 with ``"starttls"``, 25 with
    ``"none"``."""
    smtp_security: Literal["none", "starttls", "ssl"] = "starttls"
    """``starttls`` (upgrade a plain connection, refusing a server that cannot), ``ssl``
    (TLS from the start) or ``none`` (plain; with a login only to a loopback server)."""
    smtp_ca_file: Path | None = None
    """CA certificates (PEM) the SMTP server's certificate must be signed by, instead of
    the system's: for a server with a certificate of a private CA."""
    smtp_user: str = ""
    """Login at the SMTP server; empty sends without one."""
    smtp_password: SecretStr | None = None
    smtp_from: str = ""
    """The ``From:`` address of the build e-mails (needed with ``smtp_host``)."""
    smtp_timeout: float = Field(default=20.0, gt=0)
    """Seconds one SMTP connection or command may take."""

    @model_validator(mode="after")
    def _smtp(self) -> FrontendSettings:
        if self.smtp_host is None:
            return self
        if not self.smtp_host.strip():
            raise ValueError("smtp_host must name a host (or be left out: no e-mail)")
        try:
            check_address(self.smtp_from)
        except AddressError as error:
            raise ValueError(f"smtp_from: {error}") from None
        if bool(self.smtp_user) != (self.smtp_password is not None):
            raise ValueError("smtp_user and smtp_password go together")
        if self.smtp_user and self.smtp_security == "none" and not _is_loopback(self.smtp_host):
            raise ValueError(
                "smtp_security = 'none' would send the SMTP password in clear to "
                f"{self.smtp_host}: use 'starttls' or 'ssl'"
            )
        return self

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file")
        return value

    @property
    def smtp_effective_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"ssl": 465, "starttls": 587}.get(self.smtp_security, 25)

    @field_validator("public_url", "results_url", "dist_git_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_frontend_settings(
    file: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> FrontendSettings:
    """Settings from ``file`` (or ``COPR_FRONTEND_CONFIG``, or the default path if it exists)."""
    return load_service_settings(
        FrontendSettings,
        ENV_PREFIX,
        DEFAULT_SETTINGS_FILE,
        file,
        environ=environ,
        overrides=overrides,
    )
