"""Submit-to-start latency of the build dispatcher on an idle system.

Starts private PostgreSQL and Redis servers, the frontend (threaded WSGI server), a loopback
HTTP server with a tiny SRPM and the real ``copr-backend-build-dispatcher``; then submits
builds one at a time through API v3 (``build/create/url``) and measures the time until
the dispatcher has claimed the task for a worker (its record in Redis) and until the
frontend records the task as started (``starting_build`` came from the worker process).
Each build is left to finish before the next is submitted, so the system is idle at every
submission.

Two runs: with push dispatch (the frontend publishes a wakeup in Redis) and with polling
only (no wakeup; the dispatcher polls every ``--poll`` seconds).  Prints the medians and
the ratio of the push median to the 0.5 s target.

    .venv/bin/python bench/submit_to_start.py [--builds 10] [--poll 10]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import tomli_w
from redis import Redis
from werkzeug.serving import make_server

from copr_common.enums import StatusEnum
from copr_common.testing.services import free_port, service_run, start_postgres, start_redis
from copr_frontend.app import create_app
from copr_frontend.builds.models import Build
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory, basic_auth

BIN = Path(sys.executable).parent
TARGET = 0.5
PASSWORD = "bench-backend-password"  # noqa: S105 - a throwaway stack on loopback
SPEC = """Name: bench
Version: 1
Release: 1
Summary: bench
License: MIT
BuildArch: noarch
%description
bench
%files
"""


def make_srpm(www: Path) -> str:
    work = Path(tempfile.mkdtemp(prefix="bench-srpm-"))
    (work / "bench.spec").write_text(SPEC)
    subprocess.run(
        [
            "rpmbuild",
            "-bs",
            "--define",
            f"_topdir {work}",
            "--define",
            f"_srcrpmdir {www}",
            str(work / "bench.spec"),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(work)
    (srpm,) = www.glob("*.src.rpm")
    return srpm.name


def measure(args: argparse.Namespace, push: bool) -> list[float]:
    with service_run() as run:
        postgres = start_postgres(run)
        redis_url = start_redis(run).url(1)
        database_url = postgres.create_database("bench")
        upgrade_database(database_url)

        www = run.root / "www"
        (www / "results").mkdir(parents=True)
        srpm = make_srpm(www)
        www_port = free_port()
        run.spawn(
            "www",
            [sys.executable, "-m", "http.server", "-b", "127.0.0.1", "-d", str(www), str(www_port)],
        )
        www_url = f"http://127.0.0.1:{www_port}"

        settings = FrontendSettings(
            database_url=database_url,
            secret_key="bench-secret-key-0123456789",  # noqa: S106
            backend_password=PASSWORD,
            results_url=f"{www_url}/results",
            upload_dir=run.root / "uploads",
            redis_url=redis_url if push else None,
        )
        port = free_port()
        server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        frontend_url = f"http://127.0.0.1:{port}"

        database = Database(database_url)
        session = database.sessionmaker()
        factory = Factory(session, settings)
        user = factory.user("bench")
        factory.project(user, name="bench", chroots=["fedora-42-x86_64"])
        headers = basic_auth(*factory.token(user))

        pool = Path(tempfile.mkdtemp(prefix="bench-pool-", dir="/tmp"))
        pool.chmod(0o755)
        config = run.root / "backend.toml"
        config.write_text(
            tomli_w.dumps(
                {
                    "frontend_url": frontend_url,
                    "frontend_auth": PASSWORD,
                    "redis_url": redis_url,
                    "results_dir": str(www / "results"),
                    "results_url": f"{www_url}/results",
                    "sleep_time": args.poll,
                    "local_slots": 2,
                    "local_pool_dir": str(pool),
                    "rpmbuild_command": str(BIN / "copr-rpmbuild"),
                    "rpmbuild_cancel_command": str(BIN / "copr-rpmbuild-cancel"),
                    "rpmbuild_settings": {"buildroot": "bwrap"},
                    "sign_rpms": False,
                },
            )
        )
        run.spawn(
            "dispatcher", [str(BIN / "copr-backend-build-dispatcher"), "--config", str(config)]
        )
        redis = Redis.from_url(redis_url)
        time.sleep(1.0)

        latencies = []
        spawned = []
        for _ in range(args.builds):
            submitted = time.monotonic()
            response = requests.post(
                f"{frontend_url}/api_3/build/create/url",
                json={"ownername": "bench", "projectname": "bench", "pkgs": [f"{www_url}/{srpm}"]},
                headers=headers,
                timeout=30,
            )
            response.raise_for_status()
            build_id = response.json()["items"][0]["id"]
            seen_worker = False
            while True:
                if not seen_worker and redis.exists(f"copr:backend-build:worker:{build_id}"):
                    spawned.append(time.monotonic() - submitted)
                    seen_worker = True
                session.expire_all()
                build = session.get(Build, build_id)
                if build is not None and build.source_status != StatusEnum.pending:
                    latencies.append(time.monotonic() - submitted)
                    if not seen_worker:
                        spawned.append(latencies[-1])
                    break
                if time.monotonic() - submitted > args.poll * 3 + 30:
                    raise SystemExit(f"build {build_id} did not start")
                time.sleep(0.005)
            # Idle again: the worker has ended and freed its builder.
            while redis.scard("copr:backend-build:workers"):
                time.sleep(0.05)
            time.sleep(0.3)
        session.close()
        database.dispose()
        server.shutdown()
        shutil.rmtree(pool, ignore_errors=True)
        print(
            f"{'push' if push else 'poll'}: dispatched (worker record in Redis) after "
            f"median {statistics.median(spawned):.3f} s; started (frontend) after median "
            f"{statistics.median(latencies):.3f} s"
        )
        return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--poll", type=float, default=10.0, help="dispatcher sleep_time (s)")
    args = parser.parse_args()
    push = measure(args, push=True)
    poll = measure(args, push=False)
    push_median, poll_median = statistics.median(push), statistics.median(poll)
    print(f"submit-to-start with push dispatch: median {push_median:.3f} s, max {max(push):.3f} s")
    print(
        f"submit-to-start polling only (sleep_time {args.poll:g} s): "
        f"median {poll_median:.3f} s, max {max(poll):.3f} s"
    )
    print(f"push median / {TARGET} s target = {push_median / TARGET:.2f}")
    print(f"push median / polling median = {push_median / poll_median:.3f}")


if __name__ == "__main__":
    main()
