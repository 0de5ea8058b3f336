"""Push dispatch: a submitted build starts at once, not at the dispatcher's next poll."""

from __future__ import annotations

import time

import requests

from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build


def test_submission_wakes_an_idle_dispatcher(
    factory, db_session, make_backend, make_srpm, frontend
):
    # With a minute between polls, only the frontend's wakeup can start the build soon.
    backend = make_backend(sleep_time=60.0)
    user = factory.user()
    factory.project(user, name="push")
    url = make_srpm("push")
    with running_build_dispatcher(backend) as dispatcher:
        wait_for(lambda: dispatcher.manager.workers() == [], 5, "an idle dispatcher")
        time.sleep(1.0)  # the first round is over; the dispatcher sleeps now
        submitted = time.monotonic()
        response = requests.post(
            f"{frontend.url}/api_3/build/create/url",
            json={"ownername": user.name, "projectname": "push", "pkgs": [url]},
            headers=factory.auth(user),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        build_id = response.json()["items"][0]["id"]

        def started():
            db_session.expire_all()
            build = db_session.get(Build, build_id)
            return build is not None and build.source_status != StatusEnum.pending

        wait_for(started, 20, "the build to start", interval=0.02)
        assert time.monotonic() - submitted < 20
