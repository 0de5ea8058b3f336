"""Uploaded SRPMs go once no build needs them: imported, failed, canceled, deleted (also
with their project); a request that is rolled back removes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

SRPM = b"\xed\xab\xee\xdb" + bytes(60)


class Uploads:
    def __init__(
        self, client: FlaskClient, factory: Factory, settings: FrontendSettings, backend: Any
    ) -> None:
        self.client = client
        self.backend = backend
        self.root: Path = settings.upload_dir.absolute()
        owner = factory.user("owner")
        factory.project(owner, "proj", chroots=["fedora-42-x86_64"])
        factory.project(owner, "doomed", chroots=["fedora-42-x86_64"])
        self.auth = factory.auth(owner)

    def submit(self, project: str = "proj") -> tuple[int, Path]:
        fields = {
            "json": json.dumps({"ownername": "owner", "projectname": project}),
            "pkgs": FileStorage(io.BytesIO(SRPM), "hello-1-1.src.rpm"),
        }
        boundary, payload = encode_multipart(MultiDict(fields))
        before = set(self.root.iterdir()) if self.root.exists() else set()
        response = self.client.post(
            "/api_3/build/create/upload",
            data=payload,
            headers=self.auth,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert response.status_code == 200, response.get_json()
        (directory,) = set(self.root.iterdir()) - before
        assert (directory / "hello-1-1.src.rpm").read_bytes() == SRPM
        return int(response.get_json()["id"]), directory

    def report(self, body: dict[str, Any], path: str = "/backend/update/") -> Any:
        return self.client.post(path, json=body, headers=self.backend)

    def source_done(self, build_id: int, status: int) -> None:
        entry = {"id": build_id, "task_id": str(build_id), "status": status, "pkg_name": "hello"}
        assert self.report({"builds": [entry]}).status_code == 200


def _served(client: FlaskClient, directory: Path) -> bytes:
    with client.get(f"/tmp/{directory.name}/hello-1-1.src.rpm") as response:
        assert response.status_code == 200
        return response.data


def _uploads(client, factory, settings, backend_headers) -> Uploads:  # type: ignore[no-untyped-def]
    return Uploads(client, factory, settings, backend_headers)


def test_upload_stays_until_imported(client, factory, settings, backend_headers) -> None:  # type: ignore[no-untyped-def]
    up = _uploads(client, factory, settings, backend_headers)
    build_id, directory = up.submit()
    up.source_done(build_id, StatusEnum.succeeded)
    assert directory.exists()  # importing: dist-git has not got it yet
    commits = {"build_id": build_id, "branch_commits": {"f42": "a" * 40}}
    assert up.report(commits, "/backend/import-completed/").get_json() == {"updated": True}
    assert not directory.exists()


def test_upload_goes_when_the_build_fails_or_is_canceled(  # type: ignore[no-untyped-def]
    client, factory, settings, backend_headers
) -> None:
    up = _uploads(client, factory, settings, backend_headers)
    failed, failed_dir = up.submit()
    up.source_done(failed, StatusEnum.failed)
    assert not failed_dir.exists()

    not_imported, not_imported_dir = up.submit()
    up.source_done(not_imported, StatusEnum.succeeded)
    up.report({"build_id": not_imported, "branch_commits": {}}, "/backend/import-completed/")
    assert not not_imported_dir.exists()

    canceled, canceled_dir = up.submit()
    assert client.put(f"/api_3/build/cancel/{canceled}", headers=up.auth).status_code == 200
    assert not canceled_dir.exists()


def test_upload_goes_with_its_build_or_project(  # type: ignore[no-untyped-def]
    client, factory, settings, backend_headers, db_session: Session
) -> None:
    up = _uploads(client, factory, settings, backend_headers)
    build_id, directory = up.submit()
    # Finished behind the app's back (as builds of an older version were): the delete
    # still removes the upload.
    build = db_session.get(Build, build_id)
    assert build is not None
    build.source_status = StatusEnum.failed
    build.state = StatusEnum.failed
    db_session.commit()
    assert directory.exists()
    assert client.delete(f"/api_3/build/delete/{build_id}", headers=up.auth).status_code == 200
    assert not directory.exists()

    _pending, in_project = up.submit("doomed")
    kept_id, kept = up.submit("proj")
    assert client.delete("/api_3/project/delete/owner/doomed", headers=up.auth).status_code == 200
    assert not in_project.exists()
    assert kept.exists()
    assert _served(client, kept) == SRPM


def test_a_rolled_back_report_removes_nothing(client, factory, settings, backend_headers) -> None:  # type: ignore[no-untyped-def]
    up = _uploads(client, factory, settings, backend_headers)
    build_id, directory = up.submit()
    failed = {"id": build_id, "task_id": str(build_id), "status": StatusEnum.failed}
    broken = {"id": build_id + 1000, "task_id": "x", "status": "no-such-status"}
    assert up.report({"builds": [failed, broken]}).status_code == 400
    assert directory.exists()
    assert _served(client, directory) == SRPM
