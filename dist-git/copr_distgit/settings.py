"""dist-git settings: a TOML file (``COPR_DISTGIT_CONFIG``) and ``COPR_DISTGIT_*`` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from copr_common.settings import ServiceSettings, load_settings
from copr_distgit.licenses import normalize_identifiers

ENV_PREFIX = "COPR_DISTGIT_"
CONFIG_ENV = "COPR_DISTGIT_CONFIG"
DEFAULT_CONFIG = Path("/etc/copr/dist-git.toml")


class DistGitSettings(ServiceSettings):
    """dist-git's settings: frontend, Redis, storage locations and import limits."""

    # The frontend's base URL; its backend API is under /backend/.
    frontend_url: str = "http://127.0.0.1:5000"
    # The backend password the frontend expects on writes (HTTP Basic).
    frontend_auth: str = ""
    # How long an import's report is retried while the frontend is unreachable or failing.
    frontend_retry_for: float = Field(300.0, ge=0)
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Everything dist-git stores lives below state_dir unless set one by one.
    state_dir: Path = Path("/var/lib/copr-dist-git")
    git_dir: Path | None = None
    lookaside_dir: Path | None = None
    per_task_log_dir: Path | None = None
    work_dir: Path | None = None

    max_workers: int = Field(4, ge=1)
    sleep_time: float = Field(10.0, gt=0)
    # An import that runs longer is killed and its build is offered again.
    import_timeout: float = Field(3600.0, gt=0)
    max_srpm_size: int = Field(2 * 1024**3, ge=1)
    download_timeout: float = Field(300.0, gt=0)
    lookaside_hash: Literal["sha512", "sha256"] = "sha512"

    # The licence check of imports (copr_distgit.licenses): off as in Copr; on, the spec's
    # License must be an SPDX expression of known identifiers, each on license_allowed
    # (when that list is not empty) and none on license_denied.
    license_check: bool = False
    license_allowed: list[str] = []
    license_denied: list[str] = []

    git_author_name: str = "Copr dist-git"
    git_author_email: str = "copr-dist-git@localhost"

    http_bind: str = "127.0.0.1:5001"
    http_workers: int = Field(2, ge=1)
    http_threads: int = Field(8, ge=1)

    log_level: str = "INFO"
    log_file: Path | None = None

    @field_validator("license_allowed", "license_denied")
    @classmethod
    def _spdx_identifiers(cls, value: list[str]) -> list[str]:
        return normalize_identifiers(value)

    @property
    def git_root(self) -> Path:
        return self.git_dir or self.state_dir / "git"

    @property
    def lookaside_root(self) -> Path:
        return self.lookaside_dir or self.state_dir / "lookaside"

    @property
    def per_task_log_root(self) -> Path:
        return self.per_task_log_dir or self.state_dir / "per-task-logs"

    @property
    def work_root(self) -> Path:
        return self.work_dir or self.state_dir / "work"


def load(config: str | os.PathLike[str] | None = None) -> DistGitSettings:
    """Settings from ``config``, else ``$COPR_DISTGIT_CONFIG``, else /etc (when present)."""
    path: str | os.PathLike[str] | None = config or os.environ.get(CONFIG_ENV)
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    environ = {k: v for k, v in os.environ.items() if k != CONFIG_ENV}
    return load_settings(DistGitSettings, ENV_PREFIX, file=path, environ=environ)
