"""The app factory, settings and the API v3 framework's behaviour."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

from copr_common.settings import SettingsError
from copr_frontend.app import create_app
from copr_frontend.settings import load_frontend_settings


def test_settings_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "frontend.toml"
    config.write_text(
        'secret_key = "0123456789abcdefXYZ"\n'
        'backend_password = "backend-pass"\n'
        'public_url = "https://copr.example.org/"\n'
    )
    settings = load_frontend_settings(
        config, environ={"COPR_FRONTEND_DATABASE_URL": "sqlite:///x.db"}
    )
    assert settings.public_url == "https://copr.example.org"
    assert settings.database_url == "sqlite:///x.db"


def test_settings_missing_secret_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match="secret_key"):
        load_frontend_settings(environ={"COPR_FRONTEND_BACKEND_PASSWORD": "long-enough"})


def test_settings_bad_url_is_refused() -> None:
    with pytest.raises(SettingsError, match="results_url"):
        load_frontend_settings(
            environ={
                "COPR_FRONTEND_SECRET_KEY": "0123456789abcdefXYZ",
                "COPR_FRONTEND_BACKEND_PASSWORD": "long-enough",
                "COPR_FRONTEND_RESULTS_URL": "ftp://nope",
            }
        )


def test_two_apps_do_not_share_state(settings) -> None:  # type: ignore[no-untyped-def]
    first, second = create_app(settings), create_app(settings)
    assert first.extensions["copr_database"] is not second.extensions["copr_database"]
    for application in (first, second):
        application.extensions["copr_database"].dispose()


@pytest.mark.parametrize("path", ["/api_3/nothing-here", "/api_3/nothing/here/", "/api_3//x"])
def test_unknown_api_route_is_json_404(client: flask.testing.FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.is_json
    assert "error" in response.get_json()


@pytest.mark.parametrize("path", ["/api_3", "/api_3/"])
def test_api_home(client: flask.testing.FlaskClient, path: str) -> None:
    # What python-copr's BaseProxy.home() reads, as Copr answers it.
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_json() == {"version": 3}


def test_wrong_method_is_json_405(client: flask.testing.FlaskClient) -> None:
    response = client.delete("/api_3/auth-check")
    assert response.status_code == 405
    assert response.is_json
    assert "DELETE" in response.get_json()["error"]


def test_auth_check_trailing_slash_optional(client, factory) -> None:  # type: ignore[no-untyped-def]
    user = factory.user("alice")
    headers = factory.auth(user)
    for path in ("/api_3/auth-check", "/api_3/auth-check/"):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.data
        assert response.get_json() == {"id": user.id, "name": "alice"}
