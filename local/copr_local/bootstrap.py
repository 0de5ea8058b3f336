"""First start of the frontend's database: schema, chroots, the admin (with its web UI
password) and its copr-cli config.

Everything goes through the ``copr-frontend`` management command, the same way an admin
sets up a real deployment.  The schema is brought up to date on every start; chroots and
the admin account are made once per database; the copr-cli config is (re)written when it
is missing or names another URL (the frontend's port changed).
"""

from __future__ import annotations

import configparser
import os
import subprocess

from copr_local.services import database_url, venv_command
from copr_local.state import StackError, StackLayout, StackState


def _frontend(
    layout: StackLayout, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPR_")}
    env["COPR_FRONTEND_CONFIG"] = str(layout.config_file("frontend"))
    return subprocess.run(
        [venv_command("copr-frontend"), *args], input=stdin,
        capture_output=True, text=True, env=env, cwd=layout.root, timeout=300, check=False,
    )  # fmt: skip


def _must(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()
        raise StackError(f"{what} failed: {output}")


def _config_url(layout: StackLayout) -> str | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(layout.copr_cli_config)
    except configparser.Error:
        return None
    return parser.get("copr-cli", "copr_url", fallback=None)


def prepare_database(layout: StackLayout, state: StackState) -> list[str]:
    """Bring the database and the copr-cli config up to date; returns what was done."""
    done = []
    _must(_frontend(layout, "upgrade-db"), "migrating the database")
    database = database_url(layout, state)
    if state.bootstrapped_database != database:
        _must(_frontend(layout, "seed-chroots"), "seeding the chroots")
        created = _frontend(layout, "create-user", state.admin, "--admin")
        if created.returncode != 0 and "already exists" not in created.stderr:
            _must(created, f"creating the admin {state.admin!r}")
        done.append(f"database ready with the default chroots and the admin {state.admin!r}")
        layout.copr_cli_config.unlink(missing_ok=True)
        state.bootstrapped_database = database
        state.save(layout)
    if state.web_login_database != database:
        _must(
            _frontend(layout, "set-password", state.admin, "--password-stdin",
                      stdin=state.admin_password + "\n"),
            f"setting the web password of {state.admin!r}",
        )  # fmt: skip
        done.append(f"set the web UI password of {state.admin!r}")
        state.web_login_database = database
        state.save(layout)
    if _config_url(layout) != state.url("frontend"):
        _must(
            _frontend(layout, "api-token", state.admin, "--output", str(layout.copr_cli_config)),
            "issuing the admin's API token",
        )
        done.append(f"wrote the copr-cli config {layout.copr_cli_config}")
    return done
