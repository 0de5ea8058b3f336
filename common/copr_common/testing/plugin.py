"""pytest fixtures: real servers started once per test session, clean state per test.

Session fixtures (started lazily, only when a test asks for them):
    ``service_run``       the session's scratch dir and process groups
    ``postgres_server``   :class:`PostgresServer` (initdb'd cluster, ``postgres`` superuser)
    ``redis_server``      :class:`RedisServer`
    ``rabbitmq_server``   :class:`RabbitMQServer`

Per-test fixtures:
    ``builder_hosts``     :class:`~copr_common.testing.builder_hosts.BuilderHostFactory`:
                          builder hosts (:mod:`copr_common.builder_hosts`: network
                          namespace, sshd, copr-rpmbuild), all
                          removed after the test (and any left at the session's end)
    ``git_forge``         :class:`~copr_common.testing.forge.GitForge`: bare repositories
                          served by ``git http-backend`` on loopback (clone and push)
    ``postgres_database`` URL of a fresh, empty database, dropped after the test
    ``redis_url``         URL of a Redis database that is flushed after the test
    ``smtp_server``       :class:`~copr_common.testing.smtp.SmtpServer`: an SMTP server
                          on a random loopback port that keeps what it receives
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from copr_common.testing.builder_hosts import BuilderHostFactory, delete_all
from copr_common.testing.forge import GitForge
from copr_common.testing.forge import git_forge as _git_forge
from copr_common.testing.services import (
    PostgresServer,
    RabbitMQServer,
    RedisServer,
    ServiceRun,
    start_postgres,
    start_rabbitmq,
    start_redis,
)
from copr_common.testing.services import (
    service_run as _service_run,
)

if TYPE_CHECKING:  # aiosmtpd is a test tool: imported when a test asks for the server
    from copr_common.testing.smtp import SmtpServer

_redis_db = itertools.count(1)
_builder_hosts = itertools.count(1)
# Builder hosts (network namespaces) of this test session carry this prefix.
_BUILDER_HOST_PREFIX = f"cbt{os.getpid()}-"


@pytest.fixture(scope="session")
def _builder_hosts_dir() -> Iterator[Path]:
    # Builds run as other uids and walk into the hosts' dirs: a 0755 dir, not pytest's.
    base = Path(tempfile.mkdtemp(prefix="copr-builder-hosts-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    # A safety net: every test removes its own hosts.
    delete_all(_BUILDER_HOST_PREFIX, base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def builder_hosts(_builder_hosts_dir: Path) -> Iterator[BuilderHostFactory]:
    factory = BuilderHostFactory(
        f"{_BUILDER_HOST_PREFIX}{next(_builder_hosts)}-", _builder_hosts_dir
    )
    yield factory
    factory.delete_all()


@pytest.fixture(scope="session")
def service_run() -> Iterator[ServiceRun]:
    with _service_run() as run:
        yield run


@pytest.fixture(scope="session")
def postgres_server(service_run: ServiceRun) -> PostgresServer:
    return start_postgres(service_run)


@pytest.fixture(scope="session")
def redis_server(service_run: ServiceRun) -> RedisServer:
    return start_redis(service_run)


@pytest.fixture(scope="session")
def rabbitmq_server(service_run: ServiceRun) -> RabbitMQServer:
    return start_rabbitmq(service_run)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for one test; yields its URL (``postgresql://…``)."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A Redis database of its own for one test, flushed afterwards."""
    import redis

    db = next(_redis_db) % 64 or 1
    url = redis_server.url(db)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on 127.0.0.1:<random> for one test."""
    from copr_common.testing.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def git_forge(tmp_path: Path) -> Iterator[GitForge]:
    """A git forge on loopback for one test (repositories under ``tmp_path/forge``)."""
    yield from _git_forge(tmp_path / "forge")
