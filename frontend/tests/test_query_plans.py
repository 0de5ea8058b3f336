"""The backend feeds and API v3 lists find their builds through indexes, not by reading
the whole ``builds`` or ``build_chroots`` table.

On a database the size of a busy site's (tens of thousands of finished builds, a few
runnable ones) every statement the requests run is ``EXPLAIN``-ed as it was sent, with
its parameters: no plan may hold a sequential scan of either table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flask
import flask.testing
import pytest
from sqlalchemy import event, text

from copr_common.enums import FINISHED_STATES, StatusEnum
from copr_frontend.builds.models import QUEUED_STATES
from copr_frontend.testing import Factory

from .test_query_bounds import BACKEND_FEEDS, api_reads, fill

FINISHED_BUILDS = 20_000
SEQ_SCAN = re.compile(r"Seq Scan on (builds|build_chroots)\b")


@contextmanager
def sent_statements(app: flask.Flask) -> Iterator[list[tuple[str, Any]]]:
    """The statements ``app`` sends while the block runs, each with its parameters."""
    sent: list[tuple[str, Any]] = []
    engine = app.extensions["copr_database"].engine

    def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def add_finished_builds(factory: Factory, count: int) -> None:
    """``count`` succeeded builds spread over the existing projects and packages, each in
    three chroots, in two INSERT ... SELECT generate_series; then ANALYZE."""
    session = factory.session
    session.execute(
        text(
            """
            INSERT INTO builds (project_id, dir_id, user_id, package_id, state, source_status,
                                canceled, fail_type, source_type, source_json, result_dir,
                                timeout, enable_net, is_background, memory_reqs, appstream,
                                submitted_on, ended_on, timings, provides_changed,
                                queue_key)
            SELECT p.project_id, p.dir_id, p.user_id, p.package_id, :done, :done,
                   false, 0, 1, '{}', '', 18000, false, false, 2048, false, g, g + 60, '{}',
                   '[]', p.sandbox
            FROM generate_series(1, :count) AS g
            JOIN (SELECT row_number() OVER (ORDER BY packages.id) - 1 AS n,
                         packages.project_id, projects.user_id, project_dirs.id AS dir_id,
                         packages.id AS package_id,
                         projects.ownername || '/' || project_dirs.name || '--' || users.name
                           AS sandbox
                  FROM packages
                  JOIN projects ON projects.id = packages.project_id
                  JOIN users ON users.id = projects.user_id
                  JOIN project_dirs ON project_dirs.project_id = projects.id
                                   AND project_dirs.main) AS p
              ON p.n = g % (SELECT count(*) FROM packages)
            """
        ),
        {"count": count, "done": int(StatusEnum.succeeded)},
    )
    session.execute(
        text(
            """
            INSERT INTO build_chroots (build_id, mock_chroot_id, status, result_dir, ended_on,
                                       timings, queue_key, is_background)
            SELECT builds.id, mock_chroots.id, :done, '', builds.ended_on, '{}',
                   builds.queue_key || ' ' || mock_chroots.arch, builds.is_background
            FROM builds CROSS JOIN mock_chroots
            WHERE builds.source_type = 1 AND builds.source_json::text = '{}'
            """
        ),
        {"done": int(StatusEnum.succeeded)},
    )
    session.commit()
    session.connection().exec_driver_sql("ANALYZE")
    session.commit()


@pytest.fixture
def big(factory: Factory):  # type: ignore[no-untyped-def]
    busy = fill(factory, owners=6)
    add_finished_builds(factory, FINISHED_BUILDS)
    return busy


def _plans(app: flask.Flask, sent: list[tuple[str, Any]]) -> list[str]:
    plans = []
    engine = app.extensions["copr_database"].engine
    with engine.connect() as connection:
        cursor = connection.connection.cursor()
        for statement, parameters in sent:
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.close()
    return plans


def test_reads_use_indexes_on_builds_and_build_chroots(app, client, big) -> None:  # type: ignore[no-untyped-def]
    scans = {}
    for path in (*BACKEND_FEEDS, *api_reads(big)):
        with sent_statements(app) as sent:
            response = client.get(path)
            response.get_data()
        assert response.status_code == 200, path
        for (statement, _), plan in zip(sent, _plans(app, sent), strict=True):
            if SEQ_SCAN.search(plan):
                scans.setdefault(path, []).append(f"{statement}\n{plan}")
    assert not scans, "\n\n".join(f"{path}:\n" + "\n".join(found) for path, found in scans.items())


def test_the_partial_index_holds_the_builds_the_model_calls_unfinished(db_session) -> None:  # type: ignore[no-untyped-def]
    """The migration spells the finished states out; they must stay FINISHED_STATES."""
    definition = db_session.execute(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_builds_unfinished_batch_id'")
    ).scalar_one()
    _, where, predicate = definition.partition(" WHERE ")
    assert where, definition
    assert {int(n) for n in re.findall(r"\d+", predicate)} == {int(s) for s in FINISHED_STATES}
    assert "<> ALL" in predicate, definition


@pytest.mark.parametrize("index", ["ix_builds_queue", "ix_build_chroots_queue"])
def test_the_queue_indexes_hold_the_states_the_queue_lists(db_session, index: str) -> None:  # type: ignore[no-untyped-def]
    """The migration spells the queued states out; they must stay QUEUED_STATES."""
    definition = db_session.execute(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": index}
    ).scalar_one()
    _, where, predicate = definition.partition(" WHERE ")
    assert where, definition
    assert {int(n) for n in re.findall(r"\d+", predicate)} == {int(s) for s in QUEUED_STATES}
    assert "= ANY" in predicate, definition
