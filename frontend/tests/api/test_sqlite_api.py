"""API v3 on SQLite, the local default: create, search, build, fork, cancel, delete."""

from __future__ import annotations

import io
import json
from pathlib import Path

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from copr_frontend.app import create_app
from copr_frontend.db import Database
from copr_frontend.migrate import upgrade_database
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory


def test_api_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'copr.sqlite'}"
    upgrade_database(url)
    settings = FrontendSettings(
        database_url=url,
        secret_key="sqlite-secret-0123456789",
        backend_password="sqlite-be-pw",
        upload_dir=tmp_path / "uploads",
    )
    database = Database(url)
    session = database.sessionmaker()
    app = create_app(settings)
    try:
        factory = Factory(session, settings)
        user = factory.user("local")
        factory.mock_chroot("fedora-42-x86_64")
        factory.mock_chroot("fedora-42-aarch64")
        client = app.test_client()
        headers = factory.auth(user)
        created = client.post(
            "/api_3/project/add/local",
            headers=headers,
            json={"name": "proj", "chroots": ["fedora-42-*"], "description": "50% off_sale"},
        )
        assert created.status_code == 200, created.get_json()
        found = client.get("/api_3/project/search?query=50%25").get_json()["items"]
        assert [p["full_name"] for p in found] == ["local/proj"]
        assert client.get("/api_3/project/search?query=5_%25").get_json()["items"] == []

        body = json.dumps({"ownername": "local", "projectname": "proj"})
        boundary, payload = encode_multipart(
            MultiDict(
                {
                    "json": body,
                    "pkgs": FileStorage(io.BytesIO(b"Name: x\n"), "x.spec"),
                }
            )
        )
        uploaded = client.post(
            "/api_3/build/create/upload",
            data=payload,
            headers=headers,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        assert uploaded.status_code == 200, uploaded.get_json()
        build_id = uploaded.get_json()["id"]
        forked = client.post(
            "/api_3/project/fork/local/proj", json={"name": "copy"}, headers=headers
        )
        assert forked.get_json()["full_name"] == "local/copy"
        assert client.put(f"/api_3/build/cancel/{build_id}", headers=headers).status_code == 200
        assert client.delete(f"/api_3/build/delete/{build_id}", headers=headers).status_code == 200
        deleted = client.delete("/api_3/project/delete/local/copy", headers=headers)
        assert deleted.status_code == 200
        listed = client.get("/api_3/project/list?ownername=local").get_json()
        assert [p["name"] for p in listed["items"]] == ["proj"]
    finally:
        session.close()
        database.dispose()
        app.extensions["copr_database"].dispose()
