"""The shared fixtures start real servers, and nothing they start survives the session."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pika
import psycopg
import pytest
import redis

from copr_common.testing.services import ServiceRun, reap_stale_runs


def test_postgres_round_trip(postgres_database: str) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO t (name) VALUES (%s)", ("copr",))
        assert conn.execute("SELECT name FROM t").fetchall() == [("copr",)]
        assert conn.execute("SHOW fsync").fetchone() == ("off",)


def test_each_test_gets_a_fresh_database(postgres_database: str) -> None:
    with psycopg.connect(postgres_database) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_postgres_listens_on_loopback_only(postgres_server) -> None:
    with psycopg.connect(postgres_server.url()) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)


def test_redis_round_trip(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set("copr", "build")
    assert client.get("copr") == b"build"
    client.close()


def test_redis_wants_its_password(redis_server) -> None:
    # As the stack's Redis: a client without the password (in the URL) is refused.
    anonymous = redis.Redis(host=redis_server.host, port=redis_server.port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        anonymous.keys("*")
    anonymous.close()
    assert redis_server.password in redis_server.url(1)


def test_redis_database_is_clean(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.close()


def test_rabbitmq_round_trip(rabbitmq_server) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    channel.queue_declare("copr-test", auto_delete=True)
    channel.basic_publish("", "copr-test", b'{"topic": "copr.build.end"}')
    _method, _props, body = next(channel.consume("copr-test", inactivity_timeout=10))
    assert body == b'{"topic": "copr.build.end"}'
    channel.cancel()
    connection.close()


def _live(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ", 1)[1][0] != "Z":
            alive.append(pid)
    return alive


@pytest.mark.slow
def test_no_server_survives_a_session_with_a_failing_test(tmp_path: Path) -> None:
    """A pytest session that starts all three servers and fails leaves no process behind."""
    record = tmp_path / "pids"
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            f"""
            import os

            def _group(pgid):
                pids = []
                for entry in os.listdir("/proc"):
                    if entry.isdigit():
                        try:
                            if os.getpgid(int(entry)) == pgid:
                                pids.append(entry)
                        except ProcessLookupError:
                            pass
                return pids

            def test_uses_everything(postgres_server, redis_server, rabbitmq_server):
                pids = []
                for server in (postgres_server, redis_server, rabbitmq_server):
                    pids += _group(server.process.pid)
                with open({str(record)!r}, "w") as out:
                    out.write(" ".join(pids))
                assert False, "this test fails on purpose"
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "this test fails on purpose" in result.stdout
    pids = [int(p) for p in record.read_text().split()]
    assert len(pids) >= 3  # postgres (with its workers), redis, rabbitmq (+ epmd not counted)
    deadline = time.monotonic() + 10
    while _live(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live(pids) == []


def test_a_crashed_session_is_reaped_by_the_next(tmp_path: Path) -> None:
    """Servers of a session whose pytest was killed are stopped when another one starts."""
    owner = subprocess.Popen(["sleep", "60"])
    run = ServiceRun(root=tmp_path / "copr-test-crashed")
    (run.root / "owner.pid").write_text(str(owner.pid))
    orphan = run.spawn("sleeper", ["sleep", "300"], cwd=run.root)
    try:
        assert reap_stale_runs(str(tmp_path)) == []  # its owner still runs
        owner.kill()
        owner.wait()
        assert reap_stale_runs(str(tmp_path)) == [run.root]
        assert orphan.wait(timeout=10) != 0
        assert not run.root.exists()
    finally:
        owner.kill()
        orphan.kill()
        orphan.wait()


def test_a_server_that_dies_on_start_reports_its_log(tmp_path: Path) -> None:
    from copr_common.testing.services import ServiceStartError, _start_on_free_port

    run = ServiceRun(root=tmp_path / "copr-test-dies")

    def launch(port: int) -> subprocess.Popen[bytes]:
        return run.spawn("broken", ["sh", "-c", f"echo cannot listen on {port}; exit 3"])

    try:
        with pytest.raises(ServiceStartError, match=r"broken exited with 3[^$]*cannot listen on"):
            _start_on_free_port(run, "broken", launch, lambda _port: False, "in use", timeout=10)
    finally:
        run.close()
