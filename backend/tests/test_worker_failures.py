"""Every way a build ends, through BuildWorker on a pool of scripted builders.

The frontend is real (its app on PostgreSQL, served on loopback); the builders are
:class:`~copr_backend.testing.pool.ScriptPool`'s, whose builds are small scripts, so each
test takes a second or two.  The stack tests build for real; these check the worker's own
branches: what it reports, which builder it gives back and which it keeps.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from copr_backend.builds.worker import BuildWorker
from copr_backend.createrepo import Createrepo
from copr_backend.frontend import BackendApiClient, BackendApiError
from copr_backend.pools import BuildRequest
from copr_backend.settings import BackendSettings
from copr_backend.signing import KeygenSigner, NullSigner, Signer, SignerError
from copr_backend.testing.helpers import wait_for
from copr_backend.testing.pool import ScriptedBuild, ScriptPool
from copr_common.enums import StatusEnum
from copr_common.exit_codes import (
    EXIT_BUILD_FAILED,
    EXIT_CANCELED,
    EXIT_INFRASTRUCTURE,
    EXIT_TIMEOUT,
)
from copr_common.names import RELEASE_PACKAGES_DIR as RELEASE_DIR
from copr_common.settings import EXIT_CONFIG
from copr_common.testing.services import free_port
from copr_frontend.builds.models import Build
from copr_frontend.testing import BACKEND_PASSWORD, Factory, serve_app
from copr_keygen_client import KeygenClient

RESULTS = {"name": "hello", "epoch": None, "version": "1.0", "release": "1"}
CHROOT = "fedora-42-x86_64"
SOURCE_FILES = {"results.json": json.dumps(RESULTS), "hello-1.0-1.src.rpm": "not signed"}


@dataclass
class Env:
    """A frontend to report to and what a worker needs beside it."""

    url: str
    factory: Factory
    db_session: Session
    tmp_path: Path

    def settings(self, **overrides: Any) -> BackendSettings:
        values: dict[str, Any] = {
            "frontend_url": self.url,
            "frontend_auth": BACKEND_PASSWORD,
            "frontend_retry_for": 0,
            "results_dir": str(self.tmp_path / "results"),
            "results_url": "http://results.test/results",
            "build_grace": 0,
            "cancel_check_interval": 0.1,
            "lease_timeout": 5,
            "state_dir": str(self.tmp_path / "state"),
        }
        return BackendSettings.model_validate({**values, **overrides})

    def source_task(self, **options: Any) -> tuple[Build, dict[str, Any]]:
        """A new build and its source task as the dispatcher queues it."""
        project = self.factory.project(name=f"p{free_port()}")
        build = self.factory.build(project, **options)
        with BackendApiClient(self.url, BACKEND_PASSWORD) as client:
            (queued,) = [j for j in client.pending_jobs() if j["task_id"] == str(build.id)]
        return build, queued

    def worker(
        self,
        pool: ScriptPool,
        signer: Signer | None = None,
        **overrides: Any,
    ) -> BuildWorker:
        settings = self.settings(**overrides)
        client = BackendApiClient(settings.frontend_url, BACKEND_PASSWORD, report_patience=0)
        return BuildWorker(
            settings, client, pool, signer or NullSigner(), Createrepo(self.tmp_path / "cr")
        )

    def ended(self, build: Build) -> Build:
        self.db_session.expire_all()
        return build


@pytest.fixture
def env(frontend: Any, factory: Factory, db_session: Session, tmp_path: Path) -> Env:
    return Env(frontend.url, factory, db_session, tmp_path)


def run(
    env: Env, scripted: ScriptedBuild, **overrides: Any
) -> tuple[Build, dict[str, Any], ScriptPool]:
    build, queued = env.source_task()
    pool = ScriptPool(env.tmp_path / "builders", {str(build.id): scripted})
    result = env.worker(pool, **overrides).run(queued)
    return env.ended(build), result, pool


def test_a_good_build_is_reported_and_its_builder_given_back(env: Env) -> None:
    build, result, pool = run(env, ScriptedBuild(files=SOURCE_FILES, log="all is well\n"))
    assert result["outcome"] == "succeeded", result
    # A built SRPM goes on to dist-git.
    assert build.source_status == StatusEnum.importing
    assert build.package_name == "hello"
    assert [b.name for b in pool.released] == ["script-builder-1"]
    assert pool.forgotten == []
    result_dir = env.tmp_path / "results" / build.project.ownername / build.project.name
    live_log = next(result_dir.glob("srpm-builds/*/builder-live.log.gz"))
    assert live_log.exists()


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (EXIT_BUILD_FAILED, StatusEnum.failed, "the build failed (see builder-live.log)"),
        (EXIT_INFRASTRUCTURE, StatusEnum.failed, "infrastructure failure on the builder"),
        (EXIT_CANCELED, StatusEnum.canceled, "the build was canceled on the builder"),
        (EXIT_TIMEOUT, StatusEnum.failed, "the build ran longer than its timeout"),
        (EXIT_CONFIG, StatusEnum.failed, "copr-rpmbuild's settings on the builder are invalid"),
        (9, StatusEnum.failed, "copr-rpmbuild exited 9"),
    ],
)
def test_the_builders_exit_code_decides_the_state(
    env: Env, code: int, status: StatusEnum, reason: str
) -> None:
    build, result, pool = run(env, ScriptedBuild(exit_code=code, files=SOURCE_FILES))
    assert build.source_status == status, result
    assert build.fail_reason is not None
    assert reason in build.fail_reason
    # A failed source build names no package (its name may be what failed).
    assert build.package is None
    assert len(pool.released) == 1


def test_the_builders_own_words_win_over_its_exit_code(env: Env) -> None:
    files = {**SOURCE_FILES, "fail-reason.txt": "Bad spec: no Version tag\n"}
    build, _, _ = run(env, ScriptedBuild(exit_code=EXIT_BUILD_FAILED, files=files))
    assert build.source_status == StatusEnum.failed
    assert build.fail_reason == "Bad spec: no Version tag"


def test_no_free_builder_leaves_the_task_for_later(env: Env) -> None:
    build, queued = env.source_task()
    pool = ScriptPool(env.tmp_path / "builders", slots=1)
    pool.lease(BuildRequest("other", 1, None), 1)  # the only slot is taken
    result = env.worker(pool, lease_timeout=0.3).run(queued)
    assert result["outcome"] == "no builder"
    assert "no builder was free within 0.3 s" in result["error"]
    # Nothing reported: the task is offered again.
    assert env.ended(build).source_status not in (StatusEnum.failed, StatusEnum.succeeded)
    assert pool.released == []


def test_a_build_that_does_not_start_fails(env: Env) -> None:
    build, _, pool = run(env, ScriptedBuild(refuse_start=True))
    assert build.source_status == StatusEnum.failed
    assert build.fail_reason is not None
    assert build.fail_reason.startswith("the build did not start: ")
    assert "exited 3 before it started" in build.fail_reason
    assert len(pool.released) == 1


def test_a_log_follower_that_dies_fails_the_build(env: Env) -> None:
    scripted = ScriptedBuild(seconds=30, follower_dies_after=0.3, files=SOURCE_FILES)
    build, _, pool = run(env, scripted)
    assert build.source_status == StatusEnum.failed
    # SIGKILL: the follower's code is -9, which is none of copr-rpmbuild's.
    assert build.fail_reason == (
        "the log follower exited -9 while the build ran; the build was stopped"
    )
    # The builder goes back idle, not with the build still running on it.
    (builder,) = pool.released
    assert builder.canceled_while_leased


def test_a_build_past_its_deadline_is_stopped(env: Env) -> None:
    build, queued = env.source_task(timeout=1)
    pool = ScriptPool(env.tmp_path / "builders", default=ScriptedBuild(seconds=60))
    result = env.worker(pool, build_grace=0).run(queued)
    build = env.ended(build)
    assert build.source_status == StatusEnum.failed, result
    assert build.fail_reason is not None
    assert "ran past its timeout of 1 s and was stopped" in build.fail_reason
    (builder,) = pool.released
    assert not builder.is_running()


def test_a_cancel_request_stops_the_build(env: Env) -> None:
    from copr_frontend.builds.transitions import cancel_build

    build, queued = env.source_task()
    pool = ScriptPool(env.tmp_path / "builders", default=ScriptedBuild(seconds=60))
    worker = env.worker(pool)
    outcome: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: outcome.update(worker.run(queued)))
    thread.start()
    wait_for(lambda: any(b.is_running() for b in pool.leased.values()), 30, "the build")
    wait_for(lambda: env.ended(build).source_status == StatusEnum.running, 30, "running")
    assert cancel_build(env.db_session, build)
    env.db_session.commit()
    thread.join(timeout=60)
    assert outcome["outcome"] == "canceled"
    assert env.ended(build).source_status == StatusEnum.canceled
    (builder,) = pool.released
    assert "canceled by signal" in (builder.workdir / "builder-live.log").read_text()


def test_results_that_cannot_be_fetched_fail_the_build(env: Env) -> None:
    build, _, pool = run(env, ScriptedBuild(files=SOURCE_FILES, lose_results=True))
    assert build.source_status == StatusEnum.failed
    assert build.fail_reason is not None
    assert build.fail_reason.startswith("cannot fetch the results: ")
    assert len(pool.released) == 1


def test_a_success_without_packages_fails(env: Env) -> None:
    files = {"results.json": json.dumps(RESULTS)}
    build, _, _ = run(env, ScriptedBuild(files=files))
    assert build.source_status == StatusEnum.failed
    assert build.fail_reason == "the build succeeded but left no packages"


def test_a_signing_failure_fails_the_build(env: Env) -> None:
    # A keygen nothing listens for, and little patience: signing fails for good.
    client = KeygenClient(f"http://127.0.0.1:{free_port()}", "secret-for-nobody-123")
    signer = KeygenSigner(client, "copr.test", retry_for=0.5)
    build, result, pool = run(env, ScriptedBuild(files=SOURCE_FILES), signer=signer)
    assert build.source_status == StatusEnum.failed, result
    assert build.fail_reason is not None
    assert build.fail_reason.startswith("cannot make the key of ")
    assert len(pool.released) == 1


@pytest.fixture
def own_frontend(app: Any) -> Iterator[tuple[int, Any]]:
    """The app on a port of our own, so a test can stop and start it again."""
    return free_port(), app


def test_a_frontend_away_at_the_report_keeps_the_builder_for_the_next_worker(
    env: Env, own_frontend: tuple[int, Any]
) -> None:
    port, app = own_frontend
    url = f"http://127.0.0.1:{port}"
    served = serve_app(app, port)
    served.__enter__()
    env.url = url
    build, queued = env.source_task()
    pool = ScriptPool(
        env.tmp_path / "builders", default=ScriptedBuild(seconds=1.5, files=SOURCE_FILES)
    )

    def stop_when_started() -> None:
        wait_for(lambda: any(b.is_running() for b in pool.leased.values()), 30, "the build")
        served.__exit__(None, None, None)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    with pytest.raises(BackendApiError):
        env.worker(pool).run(queued)
    stopper.join(timeout=30)
    (kept,) = pool.forgotten
    assert pool.released == []
    assert env.ended(build).source_status not in (StatusEnum.succeeded, StatusEnum.failed)

    # The frontend is back: the next worker of the task re-attaches to the ended build
    # and reports it, without building again.
    with serve_app(app, port):
        result = env.worker(pool).run(queued)
    assert result["outcome"] == "succeeded", result
    assert pool.released == [kept]
    assert kept.attached
    assert env.ended(build).source_status == StatusEnum.importing
    assert (kept.workdir / "builder-live.log").read_text().count("building") == 1


class RefusingSigner(NullSigner):
    """Signs (as NullSigner: not at all) only the release package; the build's own
    packages are refused, as by a keygen that fails half-way."""

    def sign(self, owner: str, project: str, packages: list[Path]) -> None:
        if any(RELEASE_DIR not in p.parts for p in packages):
            raise SignerError(f"cannot sign the packages of {owner}/{project}: refused")


def test_a_release_package_made_beside_a_failed_signing_is_made_again(env: Env) -> None:
    """The release package is made while the build's packages are signed; when that
    signing fails the build is not published, so the release package, not indexed, is
    forgotten: the next build's refresh makes it again."""
    project = env.factory.project(name=f"p{free_port()}", chroots=[CHROOT])
    build = env.factory.build(
        project,
        package=env.factory.package(project, "hello"),
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.pending,
    )
    with BackendApiClient(env.url, BACKEND_PASSWORD) as client:
        (queued,) = [j for j in client.pending_jobs() if j["task_id"] == f"{build.id}-{CHROOT}"]
    project_dir = env.tmp_path / "results" / project.ownername / project.name
    project_dir.mkdir(parents=True)
    # A published key: the worker does not ask for it, and the release package ships it.
    (project_dir / "pubkey.gpg").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    rpm_files = {"results.json": json.dumps(RESULTS), "hello-1.0-1.noarch.rpm": "unsigned"}
    pool = ScriptPool(
        env.tmp_path / "builders", {queued["task_id"]: ScriptedBuild(files=rpm_files)}
    )
    worker = env.worker(pool, signer=RefusingSigner())
    result = worker.run(queued)
    env.db_session.expire_all()
    (chroot,) = build.chroots
    assert chroot.status == StatusEnum.failed, result
    assert "refused" in str(result["reason"])
    chroot_dir = project_dir / CHROOT
    # It was made (and is kept), but its state is gone: it counts as not made.
    assert list((chroot_dir / RELEASE_DIR).glob("*.rpm"))
    assert not (chroot_dir / RELEASE_DIR / "state.json").exists()
    assert not (chroot_dir / "repodata").exists()
    again = worker.release_packages.refresh(
        chroot_dir, project.ownername, project.name, project_dir / "pubkey.gpg"
    )
    assert again is not None
