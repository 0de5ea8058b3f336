"""API v3 lists, ``build/list`` and ``project/list``, in requests per second against a
one-query endpoint serving the same rows as JSON.

Starts a private PostgreSQL, fills one owner with a project of ``--builds`` succeeded
builds (two chroots each, as ``web_pages.py`` does) and ``--projects`` more projects,
then serves the frontend as its own process (``copr-frontend serve``) and, beside it, a
second process with the same threaded WSGI server whose two routes answer each call
with one SQL statement (PostgreSQL builds the JSON page: ``json_agg`` over the same
joins).  Each endpoint is asked one request after another over a kept-alive connection
for ``--seconds`` after a warm-up; prints requests per second of both and the ratio
(the goal: 0.5 or more).

    .venv/bin/python bench/api.py [--builds 10000] [--projects 300] [--limit 100] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import requests
from pending_jobs import start_frontend
from sqlalchemy import select
from web_pages import fill
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

from copr_common.testing.services import free_port, service_run, start_postgres
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

BUILD_PAGE = """
SELECT json_build_object('items', coalesce(json_agg(t ORDER BY t.id DESC), '[]'),
                         'meta', json_build_object('limit', %(limit)s, 'offset', 0))::text
FROM (
    SELECT b.id, b.state, b.submitted_on, b.started_on, b.ended_on, b.is_background,
           b.source_type, b.source_json, b.pkg_name, b.pkg_version, b.srpm_url,
           p.ownername, p.name AS projectname, d.name AS project_dirname,
           u.name AS submitter,
           (SELECT json_agg(m.name ORDER BY m.name) FROM build_chroots c
            JOIN mock_chroots m ON m.id = c.mock_chroot_id WHERE c.build_id = b.id) AS chroots
    FROM builds b
    JOIN projects p ON p.id = b.project_id
    JOIN project_dirs d ON d.id = b.dir_id
    LEFT JOIN users u ON u.id = b.user_id
    WHERE p.ownername = %(owner)s AND p.name = %(project)s
    ORDER BY b.id DESC LIMIT %(limit)s
) t
"""
PROJECT_PAGE = """
SELECT json_build_object('items', coalesce(json_agg(t ORDER BY t.id), '[]'),
                         'meta', json_build_object('limit', %(limit)s, 'offset', 0))::text
FROM (
    SELECT p.*,
           (SELECT json_object_agg(m.name, json_build_object(
                'buildroot_pkgs', pc.buildroot_pkgs, 'repos', pc.repos))
            FROM project_chroots pc JOIN mock_chroots m ON m.id = pc.mock_chroot_id
            WHERE pc.project_id = p.id AND NOT pc.deleted) AS chroot_repos
    FROM projects p WHERE p.ownername = %(owner)s ORDER BY p.id LIMIT %(limit)s
) t
"""


def serve_raw(dsn: str, port: int) -> None:
    """The one-query endpoint (run in its own process: ``--raw DSN PORT``)."""
    local = threading.local()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(dsn, autocommit=True)
        args = {"owner": request.args["ownername"], "project": request.args.get("projectname"),
                "limit": int(request.args.get("limit", 100))}  # fmt: skip
        query = BUILD_PAGE if request.path.endswith("/build/list") else PROJECT_PAGE
        row = local.conn.execute(query, args).fetchone()
        response = Response(row[0], mimetype="application/json")
        return response(environ, start_response)

    run_simple("127.0.0.1", port, app, threaded=True)


def fill_projects(database_url: str, count: int) -> None:
    database = Database(database_url)
    session = database.sessionmaker()
    factory = Factory(session)
    owner = session.scalars(select(User).where(User.name == "bench")).one()  # fill's owner
    for number in range(count):
        factory.project(owner, f"project-{number:04d}", chroots=("fedora-42-x86_64",),
                        description=f"Project {number}")  # fmt: skip
    session.close()
    database.dispose()


def rate(url: str, seconds: float) -> tuple[float, int]:
    """Requests per second of ``url`` asked one after another, and the items listed."""
    with requests.Session() as session:
        for _ in range(3):  # warm-up
            session.get(url, timeout=60).raise_for_status()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            answer = session.get(url, timeout=60)
            answer.raise_for_status()
            done += 1
        items = len(json.loads(answer.content)["items"])
        return done / (time.perf_counter() - started), items


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within 30 s")


def main() -> None:
    if sys.argv[1:2] == ["--raw"]:
        serve_raw(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=10000)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with service_run() as run:
        postgres = start_postgres(run)
        url = postgres.create_database("bench_api")
        upgrade_database(url)
        fill(url, args.builds, 100)
        fill_projects(url, args.projects)
        frontend, frontend_url = start_frontend(url, Path(run.root))
        raw_port = free_port()
        raw = subprocess.Popen(
            [sys.executable, __file__, "--raw", postgres.url("bench_api"), str(raw_port)],
            stderr=subprocess.DEVNULL,
        )
        raw_url = f"http://127.0.0.1:{raw_port}"
        try:
            wait_for(raw_url + "/api_3/project/list?ownername=bench")
            print(f"{args.builds} builds in bench/big, {args.projects + 1} projects of bench, "
                  f"pages of {args.limit}")  # fmt: skip
            print(f"{'call':<14}{'API req/s':>11}{'one-query req/s':>17}{'ratio':>8}{'items':>7}")
            for call, query in (
                ("build/list", f"ownername=bench&projectname=big&limit={args.limit}"),
                ("project/list", f"ownername=bench&limit={args.limit}"),
            ):
                api, items = rate(f"{frontend_url}/api_3/{call}?{query}", args.seconds)
                one, raw_items = rate(f"{raw_url}/api_3/{call}?{query}", args.seconds)
                if items != raw_items:
                    raise SystemExit(f"{call}: the API listed {items}, the query {raw_items}")
                print(f"{call:<14}{api:>11.1f}{one:>17.1f}{api / one:>8.2f}{items:>7}")
        finally:
            for process in (frontend, raw):
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
