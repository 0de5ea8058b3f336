"""``copr-local``: the whole Copr stack on this machine (``up``, ``status``, ``down``)."""

from __future__ import annotations

import fcntl
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from copr_local import builders as builder_setup
from copr_local import supervisor
from copr_local.bootstrap import prepare_database
from copr_local.services import programs, supervisord_config, write_settings
from copr_local.state import (
    BUILDERS,
    StackError,
    StackLayout,
    StackState,
    assign_ports,
    port_is_free,
)


def default_state_dir() -> Path:
    """``.copr-local/`` in the checkout this package runs from, else in the current dir."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "Makefile").exists() and (checkout / "local").is_dir():
        return checkout / ".copr-local"
    return Path.cwd() / ".copr-local"


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the stack keeps everything (default: .copr-local/ in the checkout).",
)


def _layout(state_dir: Path | None) -> StackLayout:
    return StackLayout((state_dir or default_state_dir()).absolute())


@contextmanager
def _locked(layout: StackLayout) -> Iterator[None]:
    """One ``up`` or ``down`` at a time per state dir."""
    with layout.lock_file.open("a") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        yield


def stack_env(layout: StackLayout, state: StackState) -> str:
    values = {
        "COPR_URL": state.url("frontend"),
        "COPR_RESULTS_URL": state.url("results") + "/results",
        "COPR_CLI_CONFIG": str(layout.copr_cli_config),
        "COPR_WEB_USER": state.admin,
        "COPR_WEB_PASSWORD": state.admin_password,
    }
    return "".join(f"{key}={shlex.quote(value)}\n" for key, value in values.items())


def _fail(error: StackError) -> None:
    click.echo(f"copr-local: {error}", err=True)
    raise SystemExit(1)


@click.group()
def main() -> None:
    """Run the whole Copr stack on this machine under supervisord."""


@main.command()
@state_dir_option
@click.option("--detach", is_flag=True, help="Start in the background and return.")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port of the frontend (default: a free one)."
)
@click.option(
    "--database-url",
    help="The frontend's database, e.g. postgresql://user@host/db "
    "(default: the last one given, else SQLite in the state dir).",
)
@click.option(
    "--builders",
    type=click.Choice(BUILDERS),
    help="Where builds run: local (sandboxed on this host), ssh (builder hosts the stack "
    "makes) or resalloc (builder hosts from a resalloc-server of the stack's); ssh and "
    "resalloc need root (default: the last one given, else local).",
)
@click.option(
    "--builder-hosts",
    type=click.IntRange(1, 32),
    help="How many builder hosts ssh makes, or resalloc makes at most "
    "(default: the last number given, else 2).",
)
def up(
    state_dir: Path | None,
    detach: bool,
    port: int | None,
    database_url: str | None,
    builders: str | None,
    builder_hosts: int | None,
) -> None:
    """Start the stack; on the first start also set up the database and an admin."""
    layout = _layout(state_dir)
    try:
        if builders is not None and supervisor.running_pid(layout) is None:
            builder_setup.check_can_run(builders)
        if supervisor.running_pid(layout) is None and port is not None and not port_is_free(port):
            raise StackError(f"port {port} (--port) is in use")
        layout.make_dirs()
        with _locked(layout):
            state = StackState.load(layout)
            if supervisor.running_pid(layout) is not None:
                click.echo(f"The stack in {layout.root} already runs:")
                click.echo(stack_env(layout, state), nl=False)
                return
            # A stack whose supervisord was killed may have left workers (and hosts) behind.
            _stop(layout)
            if database_url is not None:
                state.database_url = database_url
            if builders is not None:
                state.builders = builders
            if builder_hosts is not None:
                state.builder_hosts = builder_hosts
            # Remembered builders are checked again: the machine may have changed.
            builder_setup.check_can_run(state.builders)
            assign_ports(state, port)
            try:
                process = _configure_and_start(layout, state, detach)
            except BaseException:
                builder_setup.remove_hosts(layout)
                raise
            layout.stack_env.write_text(stack_env(layout, state))
    except StackError as error:
        _fail(error)
    except KeyboardInterrupt:
        click.echo("Interrupted; the stack is stopped.", err=True)
        raise SystemExit(130) from None
    click.echo(stack_env(layout, state), nl=False)
    if process is None:
        click.echo(f"The stack runs in the background; stop it with: copr-local down"
                   f" --state-dir {shlex.quote(str(layout.root))}")  # fmt: skip
        return
    _wait_foreground(layout, process)


def _configure_and_start(
    layout: StackLayout, state: StackState, detach: bool
) -> subprocess.Popen[bytes] | None:
    if state.builders == "ssh":
        for host in builder_setup.make_ssh_hosts(layout, state):
            click.echo(f"Builder host {host.name} at {host.address}")
    write_settings(layout, state)
    layout.supervisord_conf.touch(mode=0o600)
    layout.supervisord_conf.chmod(0o600)
    layout.supervisord_conf.write_text(supervisord_config(layout, state, _base_env(layout)))
    # The state is saved once the database works: a bad --database-url is not kept (nor
    # --builders that could not start).
    for line in prepare_database(layout, state):
        click.echo(line)
    state.save(layout)
    return _start(layout, state, detach)


def _stop(layout: StackLayout) -> bool:
    """Stop supervisord and what the stack left, then remove its builder hosts (after:
    resalloc-server would make new ones meanwhile).  Returns whether supervisord ran.
    """
    was_running = supervisor.stop(layout)
    builder_setup.remove_hosts(layout)
    return was_running


def _base_env(layout: StackLayout) -> dict[str, str]:
    import os

    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        # Tools that keep files in $HOME (gunicorn's control socket, git, rpm) keep them
        # inside the state dir.
        "HOME": str(layout.home),
    }


def _start(layout: StackLayout, state: StackState, detach: bool) -> subprocess.Popen[bytes] | None:
    process = None
    try:
        if detach:
            supervisor.start_detached(layout)
        else:
            process = supervisor.start_foreground(layout)
        supervisor.wait_ready(layout, programs(layout, state), alive=process)
    except BaseException:
        supervisor.stop(layout)
        if process is not None:
            process.wait()
        raise
    return process


def _wait_foreground(layout: StackLayout, process: subprocess.Popen[bytes]) -> None:
    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        click.echo("The stack runs; press Ctrl-C to stop it.")
        code = process.wait()
    except KeyboardInterrupt:
        click.echo("Stopping the stack...")
        # Ctrl-C reached supervisord too; a TERM sent to us alone did not.
        with _locked(layout):
            _stop(layout)
        process.wait()
        click.echo("Stopped.")
        return
    with _locked(layout):
        _stop(layout)
    click.echo("The stack stopped.")
    if code != 0:
        click.echo(f"copr-local: supervisord exited with {code}", err=True)
        raise SystemExit(1)


@main.command()
@state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop the stack and everything it started."""
    layout = _layout(state_dir)
    if not layout.root.is_dir():
        click.echo(f"No stack runs in {layout.root}.")
        return
    try:
        with _locked(layout):
            was_running = _stop(layout)
    except StackError as error:
        _fail(error)
    click.echo(f"Stopped the stack in {layout.root}." if was_running
               else f"No stack runs in {layout.root}.")  # fmt: skip


@main.command()
@state_dir_option
def status(state_dir: Path | None) -> None:
    """Show what runs (exit 0 when everything runs, 3 when the stack is down)."""
    layout = _layout(state_dir)
    if supervisor.running_pid(layout) is None:
        click.echo(f"No stack runs in {layout.root}.")
        raise SystemExit(3)
    result = supervisor.supervisorctl(layout, "status")
    click.echo(result.stdout, nl=False)
    try:
        state = StackState.load(layout)
        click.echo(builder_setup.describe(layout, state), nl=False)
        click.echo(stack_env(layout, state), nl=False)
    except StackError as error:
        _fail(error)
    raise SystemExit(0 if result.returncode == 0 else 1)
