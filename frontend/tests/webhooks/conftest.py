"""Fixtures of the webhook receiver tests: a project with an SCM package of a real
repository on a loopback forge, and a way to count what a request stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flask
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from copr_common.enums import BuildSourceEnum
from copr_common.testing.forge import ForgeRepo, GitForge, Payload
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build
from copr_frontend.notifications.models import NotificationDelivery
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import Project, ProjectDir
from copr_frontend.testing import Factory
from copr_frontend.webhooks.models import ForgeSecret

SPEC = "Name: hello\nVersion: 1.0\n"


@dataclass
class Hooked:
    project: Project
    package: Package
    repo: ForgeRepo

    def url(self, forge: str, package: str | None = None, secret: str | None = None) -> str:
        secret = secret or self.project.webhook_secret
        tail = f"{package}/" if package else ""
        return f"/webhooks/{forge}/{self.project.id}/{secret}/{tail}"


@pytest.fixture
def hooked(factory: Factory, git_forge: GitForge) -> Hooked:
    repo = git_forge.create_repo("hello", {"pkg/hello.spec": SPEC, "README": "hi\n"})
    project = factory.project(name="proj", chroots=["fedora-42-x86_64", "fedora-41-x86_64"])
    package = factory.package(
        project,
        "hello",
        source_type=BuildSourceEnum.scm,
        source_json={
            "type": "git",
            "clone_url": repo.clone_url,
            "committish": "",
            "subdirectory": "pkg",
            "spec": "hello.spec",
            "srpm_build_method": "rpkg",
        },
        webhook_rebuild=True,
    )
    return Hooked(project, package, repo)


def post(client: flask.testing.FlaskClient, url: str, payload: Payload) -> Any:
    return client.post(url, data=payload.body, headers=payload.headers)


def stored(session: Session) -> dict[str, int]:
    """How many rows of everything a webhook may write there are."""
    session.expire_all()
    models: list[type[Any]] = [
        Build, ProjectDir, Action, Package, ForgeSecret, NotificationDelivery,
    ]  # fmt: skip
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) or 0 for m in models}
