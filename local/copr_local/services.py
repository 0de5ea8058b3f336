"""The services of a local stack: their settings files and the supervisord configuration.

Each service reads its own TOML settings file under ``<state dir>/etc/``; supervisord
runs one program per service with its output in ``<state dir>/logs/<program>.log``.
Every program inherits ``COPR_LOCAL_STATE_DIR`` so that ``copr-local down`` can find
processes that left supervisord's process groups (detached workers and builds).
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from copr_local import builders
from copr_local.state import HOST, StackError, StackLayout, StackState

MARKER_ENV = "COPR_LOCAL_STATE_DIR"
ADMIN_NAME = "admin"
# How often the dispatchers ask the frontend for work: short, so that a local build
# moves on quickly (the frontend is on the same machine).
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Program:
    """One supervisord program."""

    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    # An HTTP URL that answers 200 once the program serves (None: running is enough).
    ready_url: str | None = None
    # For a server that speaks no plain HTTP: whether it serves (None: see ready_url).
    ready_check: Callable[[], bool] | None = None
    # What the program creates is for others to read too (the results tree, builder
    # slots the sandbox user must reach, dist-git), unless it holds secrets: then 077.
    umask: int = 0o022


# Programs that keep secrets (the database, uploads, keys) create everything owner-only.
PRIVATE_UMASK = 0o077
# supervisord itself writes the logs: readable by the owner's group, not by others.
LOG_UMASK = 0o027


def venv_command(name: str) -> str:
    """The path of a command installed next to this Python (the project's venv)."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"command {name!r} not found: run `make setup` first")
    return found


def redis_url(state: StackState, db: int) -> str:
    """The URL every client of the stack's Redis uses: the password is in it."""
    password = urllib.parse.quote(state.redis_password, safe="")
    return f"redis://:{password}@{HOST}:{state.ports['redis']}/{db}"


def redis_config(layout: StackLayout, state: StackState) -> str:
    """redis-server's config: loopback only, a password, nothing saved.  In a file (0600)
    rather than on the command line, which every local user can read in /proc.
    """
    values = {
        "bind": HOST,
        "port": str(state.ports["redis"]),
        "requirepass": state.redis_password,
        "protected-mode": "yes",
        "daemonize": "no",
        "appendonly": "no",
        "save": '""',
        "dir": _redis_quote(str(layout.redis_dir)),
        "pidfile": _redis_quote(str(layout.redis_pid)),
    }
    return "# Written by copr-local on every `up`; edits are lost.\n" + "".join(
        f"{key} {value}\n" for key, value in values.items()
    )


def _redis_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def database_url(layout: StackLayout, state: StackState) -> str:
    return state.database_url or f"sqlite:///{layout.frontend_dir / 'copr.sqlite'}"


def frontend_settings(layout: StackLayout, state: StackState) -> dict[str, Any]:
    return {
        "database_url": database_url(layout, state),
        "secret_key": state.secret_key,
        "backend_password": state.backend_password,
        "public_url": state.url("frontend"),
        "results_url": state.url("results") + "/results",
        "dist_git_url": state.url("dist_git") + "/git",
        "upload_dir": str(layout.frontend_dir / "uploads"),
        # copr-cli uploadrpm: publishing already-built RPMs is fine on one's own machine.
        "direct_rpm_upload": True,
        # Wakes the backend's dispatchers up at once when there is new work.
        "redis_url": redis_url(state, 1),
        # Notification endpoints may be local test servers; failed deliveries are retried
        # after seconds rather than minutes, so more attempts (and more failures in a row
        # before an endpoint is disabled) cover about the same quarter of an hour.
        "notification_allow_loopback_http": True,
        "notification_retry_base": 2.0,
        "notification_retry_max": 60.0,
        "notification_max_attempts": 20,
        "notification_failure_limit": 200,
    }


def keygen_settings(layout: StackLayout, state: StackState) -> dict[str, Any]:
    return {
        "state_dir": str(layout.keygen_dir),
        "secret": state.keygen_secret,
        "allowed_networks": ["127.0.0.0/8"],
        # 2048-bit keys: a new project's key is made in about a second (local use only).
        "default_key_length": 2048,
        "bind": f"{HOST}:{state.ports['keygen']}",
        "workers": 1,
        "threads": 4,
    }


def dist_git_settings(layout: StackLayout, state: StackState) -> dict[str, Any]:
    return {
        "frontend_url": state.url("frontend"),
        "frontend_auth": state.backend_password,
        # The frontend's and the backend's db: the status page lists its workers too.
        "redis_url": redis_url(state, 1),
        "state_dir": str(layout.dist_git_dir),
        "max_workers": 2,
        "sleep_time": POLL_SECONDS,
        "http_bind": f"{HOST}:{state.ports['dist_git']}",
        "http_workers": 1,
        "http_threads": 8,
    }


def backend_settings(layout: StackLayout, state: StackState) -> dict[str, Any]:
    return {
        "frontend_url": state.url("frontend"),
        "frontend_auth": state.backend_password,
        "redis_url": redis_url(state, 1),
        "results_dir": str(layout.results_dir),
        "results_url": state.url("results") + "/results",
        "sleep_time": POLL_SECONDS,
        "local_slots": 2,
        "local_pool_dir": str(layout.pool_dir),
        "worker_log_dir": str(layout.logs / "backend-workers"),
        # Task locks and createrepo queues: what must survive a Redis restart.
        "state_dir": str(layout.backend_dir / "state"),
        "keygen_url": state.url("keygen"),
        "keygen_secret": state.keygen_secret,
        "local_uid_base": layout.sandbox_uid_base,
        # Build messages go to the projects' notification endpoints.
        "message_sinks": ["endpoints"],
        "notification_poll_interval": POLL_SECONDS,
        "rpmbuild_settings": builders.rpmbuild_settings(state),
        **builders.backend_pool_settings(layout, state),
    }


SETTINGS: dict[str, Callable[[StackLayout, StackState], dict[str, Any]]] = {
    "frontend": frontend_settings,
    "keygen": keygen_settings,
    "dist-git": dist_git_settings,
    "backend": backend_settings,
}


def validate_settings(layout: StackLayout) -> None:
    """Load every written settings file with its service's own loader: a bad value stops
    ``up`` here, with the service's message, rather than in a program's log.
    """
    from copr_backend.settings import ENV_PREFIX as BACKEND_PREFIX
    from copr_backend.settings import BackendSettings
    from copr_common.settings import SettingsError, load_settings
    from copr_distgit.settings import ENV_PREFIX as DIST_GIT_PREFIX
    from copr_distgit.settings import DistGitSettings
    from copr_frontend.settings import ENV_PREFIX as FRONTEND_PREFIX
    from copr_frontend.settings import FrontendSettings
    from copr_keygen.settings import ENV_PREFIX as KEYGEN_PREFIX
    from copr_keygen.settings import KeygenSettings

    models: list[tuple[str, type[Any], str]] = [
        ("frontend", FrontendSettings, FRONTEND_PREFIX),
        ("keygen", KeygenSettings, KEYGEN_PREFIX),
        ("dist-git", DistGitSettings, DIST_GIT_PREFIX),
        ("backend", BackendSettings, BACKEND_PREFIX),
    ]
    for service, model, prefix in models:
        try:
            load_settings(model, prefix, file=layout.config_file(service), environ={})
        except SettingsError as error:
            raise StackError(f"{service}: {error}") from None


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only, from its first byte on."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(text)
    tmp.replace(path)


def write_settings(layout: StackLayout, state: StackState) -> None:
    for service, make in SETTINGS.items():
        _write_private(layout.config_file(service), tomli_w.dumps(make(layout, state)))
    _write_private(layout.redis_conf, redis_config(layout, state))
    if state.builders == "resalloc":
        builders.write_resalloc_config(layout, state)
    validate_settings(layout)


def programs(layout: StackLayout, state: StackState) -> list[Program]:
    """Every program of the stack, in start order."""
    config = layout.config_file
    frontend = state.url("frontend")
    redis = shutil.which("redis-server") or "redis-server"
    results_options = f"{state.ports['results']} --bind {HOST}"
    # The rest of gunicorn's settings are the packaged unit's: copr_frontend/gunicorn_conf.py.
    gunicorn_options = (
        f"--bind {HOST}:{state.ports['frontend']} --workers 2"
        " --config python:copr_frontend.gunicorn_conf"
    )
    stack = [
        Program("redis", [redis, str(layout.redis_conf)], umask=PRIVATE_UMASK),
        Program(
            "frontend",
            [venv_command("gunicorn"), *gunicorn_options.split(), "copr_frontend.app:create_app()"],
            {"COPR_FRONTEND_CONFIG": str(config("frontend"))},
            ready_url=frontend + "/api_3/mock-chroots/list",
            umask=PRIVATE_UMASK,
        ),
        Program(
            # The frontend's systemd timers (pruning, expired projects, stale PR dirs).
            "frontend-timers",
            [
                sys.executable,
                "-m",
                "copr_local.periodic",
                "--frontend-command",
                venv_command("copr-frontend"),
                "--config",
                str(config("frontend")),
            ],
            umask=PRIVATE_UMASK,
        ),  # fmt: skip
        Program(
            "keygen",
            [venv_command("copr-keygen"), "--config", str(config("keygen")), "serve"],
            ready_url=state.url("keygen") + "/ping",
            umask=PRIVATE_UMASK,
        ),
        Program(
            "dist-git-http",
            [venv_command("copr-distgit-http"), "--config", str(config("dist-git"))],
            ready_url=state.url("dist_git") + "/per-task-logs/",
        ),
        Program(
            "dist-git-dispatcher",
            [venv_command("copr-distgit-dispatcher"), "--config", str(config("dist-git"))],
        ),
        Program(
            "results",
            [
                sys.executable,
                "-m",
                "copr_local.results_server",
                *results_options.split(),
                "--directory",
                str(layout.public_html),
                "--access-log",
                str(layout.logs / "results-access.log"),
            ],
            ready_url=state.url("results") + "/results/",
        ),
        # The stack has no timers: the counter keeps running and counts once a minute.
        Program(
            "download-counter",
            [
                venv_command("copr-frontend"),
                "count-downloads",
                "--every",
                "60",
                str(layout.logs / "results-access.log"),
            ],
            {"COPR_FRONTEND_CONFIG": str(config("frontend"))},
            umask=PRIVATE_UMASK,
        ),
        *_builder_programs(layout, state),
        Program(
            "backend-build-dispatcher",
            [venv_command("copr-backend-build-dispatcher"), "--config", str(config("backend"))],
        ),
        Program(
            "backend-action-dispatcher",
            [venv_command("copr-backend-action-dispatcher"), "--config", str(config("backend"))],
        ),
        Program(
            "backend-notification-dispatcher",
            [
                venv_command("copr-backend-notification-dispatcher"),
                "--config",
                str(config("backend")),
            ],
        ),
    ]
    return stack


def _builder_programs(layout: StackLayout, state: StackState) -> list[Program]:
    """resalloc-server, when the stack's builders come from it (before the backend)."""
    if state.builders != "resalloc":
        return []
    server = builders.resalloc_bindir() / "resalloc-server"
    return [
        Program(
            "resalloc-server",
            [str(server)],
            {"CONFIG_DIR": str(layout.resalloc_dir)},
            ready_check=lambda: builders.resalloc_answers(state),
        )
    ]


def _ini_value(value: str) -> str:
    # supervisord expands %(name)s in values: a literal % must be doubled.
    return value.replace("%", "%%")


def supervisord_config(layout: StackLayout, state: StackState, base_env: dict[str, str]) -> str:
    """The supervisord.conf of the stack."""
    socket = layout.supervisor_socket
    env = {**base_env, MARKER_ENV: str(layout.root)}
    lines = [
        "; Written by copr-local on every `up`; edits are lost.",
        "[unix_http_server]",
        f"file = {_ini_value(str(socket))}",
        "chmod = 0700",
        "username = copr-local",
        f"password = {_ini_value(state.supervisor_password)}",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl = unix://{_ini_value(str(socket))}",
        "username = copr-local",
        f"password = {_ini_value(state.supervisor_password)}",
        "",
        "[supervisord]",
        # In the foreground the programs' and supervisord's output goes to the log files
        # only; the terminal shows what copr-local says.
        "silent = true",
        f"logfile = {_ini_value(str(layout.logs / 'supervisord.log'))}",
        f"pidfile = {_ini_value(str(layout.supervisord_pid))}",
        f"directory = {_ini_value(str(layout.root))}",
        f"childlogdir = {_ini_value(str(layout.logs))}",
        "logfile_maxbytes = 10MB",
        "logfile_backups = 2",
        f"umask = {LOG_UMASK:03o}",
        f"environment = {_environment(env)}",
        # Said explicitly, so that supervisord does not warn about running as root.
        f"user = {pwd.getpwuid(os.geteuid()).pw_name}",
        "",
    ]
    for priority, program in enumerate(programs(layout, state), start=1):
        log = layout.logs / f"{program.name}.log"
        lines += [
            f"[program:{program.name}]",
            f"command = {_ini_value(shlex.join(program.command))}",
            f"priority = {priority * 10}",
            f"directory = {_ini_value(str(layout.root))}",
            "autostart = true",
            "autorestart = unexpected",
            "startsecs = 1",
            "startretries = 2",
            "stopsignal = TERM",
            "stopwaitsecs = 20",
            "stopasgroup = true",
            "killasgroup = true",
            "redirect_stderr = true",
            f"stdout_logfile = {_ini_value(str(log))}",
            "stdout_logfile_maxbytes = 10MB",
            "stdout_logfile_backups = 2",
            f"umask = {program.umask:03o}",
        ]
        if program.environment:
            lines.append(f"environment = {_environment(program.environment)}")
        lines.append("")
    return "\n".join(lines)


def _environment(env: dict[str, str]) -> str:
    parts = []
    for key, value in env.items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'{key}="{_ini_value(escaped)}"')
    return ",".join(parts)
