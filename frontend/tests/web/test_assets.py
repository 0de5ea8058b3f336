"""The web UI's front-end files: served from the checkout's npm install, the setting's
folder or the installed copy, and nothing else."""

from __future__ import annotations

from pathlib import Path

import flask
import pytest

from copr_frontend.app import create_app
from copr_frontend.settings import FrontendSettings
from copr_frontend.web import assets


def test_served_from_the_checkouts_npm_install(client: flask.testing.FlaskClient) -> None:
    expected = assets.CHECKOUT / assets.FILES["bootstrap.min.css"]
    # A file response holds the file open until it is closed.
    with client.get("/static/vendor/bootstrap.min.css") as response:
        assert response.status_code == 200
        assert response.data == expected.read_bytes()
        assert response.cache_control.max_age == 7 * 24 * 3600


@pytest.mark.parametrize("name", ["bootstrap.js", "..%2Fpackage.json", "LICENSE"])
def test_only_the_listed_files(client: flask.testing.FlaskClient, name: str) -> None:
    assert client.get(f"/static/vendor/{name}").status_code == 404


def fake_install(root: Path) -> Path:
    for name, relative in assets.FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {name} from {root.name} */")
    return root


def test_the_setting_wins(settings: FrontendSettings, tmp_path: Path) -> None:
    folder = fake_install(tmp_path / "configured")
    app = create_app(settings.model_copy(update={"web_assets_dir": folder}))
    try:
        with app.test_client().get("/static/vendor/chart.umd.js") as response:
            assert response.data == b"/* chart.umd.js from configured */"
    finally:
        app.extensions["copr_database"].dispose()


def test_installed_copy_without_a_checkout(
    app: flask.Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An RPM or the ansible role's venv: no frontend/node_modules beside the package."""
    monkeypatch.setattr(assets, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(assets, "INSTALLED", fake_install(tmp_path / "installed"))
    with app.test_client().get("/static/vendor/bootstrap.bundle.min.js") as response:
        assert response.data == b"/* bootstrap.bundle.min.js from installed */"


def test_a_missing_file_says_how_to_install_it(
    app: flask.Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(assets, "INSTALLED", tmp_path / "not-installed")
    response = app.test_client().get("/static/vendor/chart.umd.js")
    assert response.status_code == 404
    assert b"chart.js/dist/chart.umd.js is not installed" in response.data
