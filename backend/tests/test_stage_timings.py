"""Stage timings of a real build (submit → installable) and dist-git woken by push."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
import requests

from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.testing import BACKEND_PASSWORD

CHROOT = "fedora-42-x86_64"
BUILD_STAGES = [
    "submitted",
    "source_started",
    "source_builder_leased",
    "source_build_ended",
    "source_signed",
    "source_ended",
    "import_started",
    "import_ended",
]
CHROOT_STAGES = ["started", "builder_leased", "build_ended", "signed", "published", "ended"]
STAGE_LINE = re.compile(r"\] stage (\w+) at (\d+\.\d{3})$", re.MULTILINE)


def _build_to_end(factory, db_session, backend, make_srpm, name):
    project = factory.project(name=name, chroots=[CHROOT])
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm(name, "1.0")}
    )

    def finished():
        db_session.expire_all()
        return build.state in (StatusEnum.succeeded, StatusEnum.failed, StatusEnum.canceled)

    with running_build_dispatcher(backend):
        wait_for(finished, 120, "the build to finish", interval=0.3)
    assert build.state == StatusEnum.succeeded, backend.worker_logs()
    return project, build


def _logged_stages(path: Path) -> dict[str, float]:
    text = gzip.decompress(path.read_bytes()).decode()
    return {stage: float(when) for stage, when in STAGE_LINE.findall(text)}


@pytest.mark.slow
def test_every_stage_is_timed_in_order_and_matches_the_logs(
    factory, db_session, make_backend, make_srpm, distgit, frontend
):
    backend = make_backend()
    project, build = _build_to_end(factory, db_session, backend, make_srpm, "timed")

    built = requests.get(f"{frontend.url}/api_3/build/{build.id}", timeout=30).json()
    chroot = requests.get(
        f"{frontend.url}/api_3/build-chroot/{build.id}/{CHROOT}", timeout=30
    ).json()
    build_timings, chroot_timings = built["timings"], chroot["timings"]
    assert sorted(build_timings) == sorted(BUILD_STAGES)
    assert sorted(chroot_timings) == sorted(CHROOT_STAGES)
    everything = [build_timings[s] for s in BUILD_STAGES] + [
        chroot_timings[s] for s in CHROOT_STAGES
    ]
    assert everything == sorted(everything), (build_timings, chroot_timings)
    assert build.submitted_on <= build_timings["submitted"] < build.submitted_on + 1

    results = backend.settings.results_dir / project.ownername / "timed"
    source_log = _logged_stages(results / "srpm-builds" / f"{build.id:08d}" / "backend.log.gz")
    assert {f"source_{stage}": when for stage, when in source_log.items()} == {
        stage: when for stage, when in build_timings.items() if stage.startswith("source_")
    }
    # The RPM task's log tells the whole story: the build's stages, then its own.
    chroot_log = _logged_stages(results / CHROOT / f"{build.id:08d}-timed" / "backend.log.gz")
    assert chroot_log == {**build_timings, **chroot_timings}


@pytest.mark.slow
@pytest.mark.parametrize("distgit_sleep_time", [60.0])
def test_a_build_entering_importing_wakes_dist_git(
    factory, db_session, make_backend, make_srpm, distgit, frontend
):
    """dist-git polls only once a minute here: the import starts because it was woken."""
    backend = make_backend()
    _, build = _build_to_end(factory, db_session, backend, make_srpm, "woken")
    timings = build.timings
    assert timings["import_started"] - timings["source_ended"] < 2.5, timings


def test_malformed_timings_are_refused_and_nothing_is_stored(factory, db_session, frontend):
    project = factory.project(name="bad-timings", chroots=[CHROOT])
    build = factory.build(project, source_status=StatusEnum.running)
    auth = ("backend", BACKEND_PASSWORD)
    url = f"{frontend.url}/backend/update/"
    for timings, message in [
        ({"lunch": 1.0}, "unknown stage 'lunch'"),
        ({"published": 1.0}, "unknown stage 'published'"),  # a source task publishes nothing
        ({"started": "soon"}, "must be a Unix time"),
        ({"started": True}, "must be a Unix time"),
        ({"started": -5}, "must be a Unix time"),
        ({"started": 1e12}, "must be a Unix time"),
        ([1.0], "must be an object"),
    ]:
        entry = {"id": build.id, "chroot": "srpm-builds", "status": "succeeded", "timings": timings}
        response = requests.post(url, json={"builds": [entry]}, auth=auth, timeout=30)
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]
        db_session.expire_all()
        assert build.source_status == StatusEnum.running
        assert build.timings == {"submitted": build.timings["submitted"]}

    chroot_entry = {"id": build.id, "chroot": CHROOT, "status": "running",
                    "timings": {"signed": "x"}}  # fmt: skip
    response = requests.post(url, json={"builds": [chroot_entry]}, auth=auth, timeout=30)
    assert response.status_code == 400

    completed = {"build_id": build.id, "branch_commits": {}, "timings": {"import_x": 1.0}}
    response = requests.post(
        f"{frontend.url}/backend/import-completed/", json=completed, auth=auth, timeout=30
    )
    assert response.status_code == 400
    assert "unknown stage 'import_x'" in response.json()["error"]
