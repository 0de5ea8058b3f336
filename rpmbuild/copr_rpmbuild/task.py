"""The task JSON the frontend serves (docs/architecture.md), read from a URL or a file.

An RPM task has ``git_repo``/``git_hash`` (or, for a direct RPM upload, the
``prebuilt_rpm_urls`` to publish) and a ``chroot``; an SRPM task has
``source_type`` and ``source_json`` (a JSON string, as Copr sends it, or an object).
Unknown fields are kept: the frontend may send more than this builder needs.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from copr_common.backend_api import BackendApiClient, BackendApiError
from copr_common.chroots import ChrootName, ChrootNameError
from copr_common.enums import BuildSourceEnum
from copr_rpmbuild.errors import InfrastructureError

MAX_TASK_SIZE = 16 * 1024**2


class Repo(BaseModel):
    """An extra package repository a build installs from."""

    model_config = ConfigDict(extra="allow")

    id: str
    baseurl: str
    name: str | None = None
    priority: int | None = None


class _TaskBase(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_id: str
    build_id: int
    project_owner: str = ""
    project_name: str = ""
    project_dirname: str = ""
    submitter: str | None = None
    sandbox: str | None = None
    background: bool = False
    tags: list[str] = []
    timeout: int | None = None
    memory_reqs: int | None = None
    enable_net: bool = False

    @field_validator("task_id", mode="before")
    @classmethod
    def _task_id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("timeout")
    @classmethod
    def _timeout_not_negative(cls, value: int | None) -> int | None:
        # Copr accepts 0, which leaves the build to the builder's default timeout.
        if value is not None and value < 0:
            raise ValueError("timeout must not be a negative number of seconds")
        return value


class BuildTask(_TaskBase):
    """One chroot of a build: clone ``git_repo`` at ``git_hash`` and build for ``chroot``."""

    chroot: str
    git_repo: str | None = None
    git_hash: str | None = None
    package_name: str | None = None
    package_version: str | None = None
    repos: list[Repo] = []
    buildroot_pkgs: list[str] = []
    with_opts: list[str] = []
    without_opts: list[str] = []
    isolation: str | None = None
    bootstrap: str | None = None
    require_real_buildroot: bool = False
    """The project's packages must be built in a mock chroot, never on the host system."""
    prebuilt_rpm_urls: list[str] = []
    """Already-built RPMs to publish as they are (a direct RPM upload): nothing is built."""
    rpmlint_fail_on_errors: bool = False
    """Fail the build when rpmlint reports an error in its packages (the project's choice)."""

    @field_validator("chroot")
    @classmethod
    def _valid_chroot(cls, value: str) -> str:
        ChrootName.parse(value)
        return value

    @model_validator(mode="after")
    def _something_to_build(self) -> BuildTask:
        if not self.git_repo and not self.prebuilt_rpm_urls:
            raise ValueError("the task has neither a git_repo to build nor prebuilt_rpm_urls")
        return self

    @property
    def chroot_name(self) -> ChrootName:
        return ChrootName.parse(self.chroot)


class SrpmTask(_TaskBase):
    """The source phase: turn ``source_json`` of ``source_type`` into one SRPM."""

    source_type: BuildSourceEnum
    source_json: dict[str, Any]
    chroot: str | None = None

    @field_validator("source_type", mode="before")
    @classmethod
    def _source_type(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            return BuildSourceEnum.from_label(value)
        return value

    @field_validator("source_json", mode="before")
    @classmethod
    def _source_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise ValueError(f"source_json is not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise ValueError("source_json must be a JSON object")
        return value

    @property
    def distributions(self) -> list[str]:
        """Distros (``fedora-41``) to evaluate per-distro arch tags for."""
        for key in ("distributions_in_build", "distributions_in_project"):
            value = (self.model_extra or {}).get(key)
            if isinstance(value, list) and value:
                return [str(item) for item in value]
        chroots = (self.model_extra or {}).get("chroots")
        distros: list[str] = []
        if isinstance(chroots, list):
            for name in chroots:
                try:
                    distro = ChrootName.parse(str(name)).distro
                except ChrootNameError:
                    continue
                if distro not in distros:
                    distros.append(distro)
        return distros


Task = BuildTask | SrpmTask


def parse_task(data: Any, *, srpm: bool, where: str) -> Task:
    """Validate ``data`` as an SRPM task (``srpm``) or an RPM task; errors name ``where``."""
    if not isinstance(data, dict) or not data:
        raise InfrastructureError(f"no task at {where}: expected a JSON object")
    model: type[BuildTask] | type[SrpmTask] = SrpmTask if srpm else BuildTask
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(task)'}: {err['msg']}"
            for err in error.errors()
        )
        kind = "SRPM" if srpm else "RPM"
        raise InfrastructureError(f"invalid {kind} task from {where}: {problems}") from None


def read_task_file(path: Path, *, srpm: bool) -> Task:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InfrastructureError(f"cannot read task file {path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InfrastructureError(f"task file {path} is not valid JSON: {error}") from None
    return parse_task(data, srpm=srpm, where=str(path))


def fetch_task(
    url: str, *, srpm: bool, timeout: float = 60, retry_for: float = 120.0
) -> tuple[Task, dict[str, Any]]:
    """The task at ``url`` and its raw JSON (saved as ``task.json`` for re-runs).

    Fetched with the backend-API client every service shares: a frontend that is
    restarting or briefly failing (no answer, 5xx) is asked again for ``retry_for``
    seconds; a 4xx answer ends it at once.
    """
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InfrastructureError(f"the task URL {url!r} is not an http(s) URL")
    client = BackendApiClient(
        url, timeout=timeout, report_patience=retry_for, max_size=MAX_TASK_SIZE
    )
    try:
        data = client.get_task(url)
    except BackendApiError as error:
        if "is larger than" in str(error):
            raise InfrastructureError(
                f"the task at {url} is larger than {MAX_TASK_SIZE} bytes"
            ) from None
        if str(error).endswith("the answer is not JSON"):
            raise InfrastructureError(f"the task at {url} is not valid JSON") from None
        if error.status is not None:
            raise InfrastructureError(
                f"cannot get the task from {url}: HTTP {error.status}"
            ) from None
        raise InfrastructureError(f"cannot get the task from {url}: {error}") from None
    finally:
        client.close()
    return parse_task(data, srpm=srpm, where=url), data
