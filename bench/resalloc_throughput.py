"""Throughput of the resalloc pool against the local pool: the same builds, the same run.

Starts private PostgreSQL and Redis servers, the frontend (threaded WSGI server), a
loopback HTTP server with a tiny SRPM and the real ``copr-backend-build-dispatcher``,
then submits ``--builds`` source builds of that SRPM at once and times until every one
has ended, twice:

- ``local``: the local pool with ``--builders`` slots;
- ``resalloc``: a real resalloc-server whose pool holds up to ``--builders`` builder
  hosts (network namespaces with an sshd and copr-rpmbuild,
  :mod:`copr_common.testing.builder_hosts`), preallocated, driven over SSH.

Prints both wall times, builds per minute and the ratio resalloc / local (1.0: the
remote path costs nothing; below 1: it is slower).  Needs root (namespaces) and
resalloc-server (``make setup``).

    .venv/bin/python bench/resalloc_throughput.py [--builds 20] [--builders 4]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import tomli_w
from werkzeug.serving import make_server

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.testing.builder_hosts import BuilderHostFactory
from copr_common.testing.resalloc import builder_host_commands, find_resalloc, start_resalloc
from copr_common.testing.services import (
    ServiceRun,
    free_port,
    service_run,
    start_postgres,
    start_redis,
)
from copr_frontend.app import create_app
from copr_frontend.builds.models import Build
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

BIN = Path(sys.executable).parent
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
_RUNNING = (StatusEnum.pending, StatusEnum.starting, StatusEnum.running)


def make_srpm(www: Path) -> str:
    work = Path(tempfile.mkdtemp(prefix="bench-srpm-"))
    (work / "bench.spec").write_text(SPEC)
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {work}", "--define", f"_srcrpmdir {www}",
         str(work / "bench.spec")],
        check=True, capture_output=True,
    )  # fmt: skip
    shutil.rmtree(work)
    (srpm,) = www.glob("*.src.rpm")
    return srpm.name


def _pool_settings(
    kind: str, args: argparse.Namespace, run: ServiceRun, urls: list[str], scratch: Path
) -> dict[str, Any]:
    rpmbuild = {"buildroot": "bwrap", "frontend_url": urls[0]}
    if kind == "local":
        pool = scratch / "local-pool"
        pool.mkdir(mode=0o755)
        return {
            "builder_pool": "local",
            "local_slots": args.builders,
            "local_pool_dir": str(pool),
            "rpmbuild_settings": rpmbuild,
        }
    hosts = BuilderHostFactory(f"rtp{os.getpid()}-", scratch / "hosts")
    public_key = hosts.key_file.with_name(hosts.key_file.name + ".pub")
    ports = [int(url.rsplit(":", 1)[1]) for url in urls]
    cmd_new, cmd_delete = builder_host_commands(
        hosts.base_dir, public_key, rpmbuild, ports, hosts.prefix
    )
    pool = {
        "max": args.builders,
        "max_starting": args.builders,
        "max_prealloc": args.builders,
        "cmd_new": cmd_new,
        "cmd_delete": cmd_delete,
        "tags": ["copr_builder", "arch_x86_64"],
    }
    server = start_resalloc(run, {"bench": pool}, name="resalloc")
    # Timed from a full pool, as a running service is: wait for the preallocation.
    deadline = time.monotonic() + 300
    while len(server.resources()) < args.builders or any(
        "state=STARTING" in line for line in server.resources()
    ):
        if time.monotonic() > deadline:
            raise SystemExit(f"resalloc did not start {args.builders} builders in 300 s")
        time.sleep(1)
    return {
        "builder_pool": "resalloc",
        "resalloc_url": server.url,
        "resalloc_max_builds": args.builders,
        "ssh_known_hosts": str(hosts.base_dir / "known_hosts"),
        "resalloc_ssh_user": "root",
        "resalloc_ssh_key_file": str(hosts.key_file),
        "resalloc_rpmbuild_config": f"{hosts.base_dir}/by-address/{{address}}/slot-0/rpmbuild.toml",
        "_hosts": hosts,
    }


def measure(kind: str, args: argparse.Namespace) -> float:
    """Seconds from submitting ``args.builds`` source builds until all have ended."""
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
            redis_url=redis_url,
        )
        port = free_port()
        server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        frontend_url = f"http://127.0.0.1:{port}"
        scratch = Path(tempfile.mkdtemp(prefix="bench-resalloc-", dir="/tmp"))
        scratch.chmod(0o755)
        pool = _pool_settings(kind, args, run, [frontend_url, www_url], scratch)
        hosts: BuilderHostFactory | None = pool.pop("_hosts", None)
        try:
            config = run.root / "backend.toml"
            config.write_text(
                tomli_w.dumps(
                    {
                        "frontend_url": frontend_url,
                        "frontend_auth": PASSWORD,
                        "redis_url": redis_url,
                        "results_dir": str(www / "results"),
                        "results_url": f"{www_url}/results",
                        "sleep_time": 1.0,
                        "state_dir": str(scratch / "state"),
                        "sign_rpms": False,
                        **pool,
                    }
                )
            )
            database = Database(database_url)
            session = database.sessionmaker()
            factory = Factory(session, settings)
            project = factory.project(factory.user("bench"), name="bench")
            started = time.monotonic()
            ids = [
                factory.build(
                    project,
                    source_type=BuildSourceEnum.link,
                    source_json={"url": f"{www_url}/{srpm}"},
                ).id
                for _ in range(args.builds)
            ]
            # copr-rpmbuild and its helper commands are found on PATH, as in a unit.
            path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
            run.spawn(
                "dispatcher",
                [str(BIN / "copr-backend-build-dispatcher"), "--config", str(config)],
                env={**os.environ, "PATH": path},
            )
            while True:
                session.expire_all()
                states = [session.get(Build, build_id).source_status for build_id in ids]
                if not any(state in _RUNNING for state in states):
                    break
                if time.monotonic() - started > args.timeout:
                    raise SystemExit(f"{kind}: the builds did not end in {args.timeout} s")
                time.sleep(0.2)
            took = time.monotonic() - started
            failed = sum(state == StatusEnum.failed for state in states)
            print(f"{kind}: {args.builds} builds in {took:.1f} s ({failed} failed)")
            session.close()
            database.dispose()
        finally:
            server.shutdown()
            if hosts is not None:
                hosts.delete_all()
            shutil.rmtree(scratch, ignore_errors=True)
        return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=20)
    parser.add_argument("--builders", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1200)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    bindir, why = find_resalloc()
    if bindir is None:
        raise SystemExit(why)
    local = measure("local", args)
    resalloc = measure("resalloc", args)
    for kind, took in (("local", local), ("resalloc", resalloc)):
        print(f"{kind}: {args.builds / took * 60:.1f} builds/min")
    print(f"throughput resalloc / local: {local / resalloc:.2f}")


if __name__ == "__main__":
    main()
