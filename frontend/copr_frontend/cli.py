"""``copr-frontend``: the management command (database, chroots, accounts, tokens).

Settings come from ``--config`` (or ``COPR_FRONTEND_CONFIG``) and environment variables;
every command runs in its own app context and commits only when it succeeded.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from copr_common.settings import SettingsError, exit_on_settings_error
from copr_frontend import db
from copr_frontend.app import create_app
from copr_frontend.builds import builder_tags
from copr_frontend.migrate import upgrade_database
from copr_frontend.mockchroots import logic as chroots
from copr_frontend.settings import FrontendSettings, load_frontend_settings
from copr_frontend.users import logic as users


class Context:
    """What ``copr-frontend`` commands share: the settings, loaded once, and sessions."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: FrontendSettings | None = None

    @property
    def settings(self) -> FrontendSettings:
        if self._settings is None:
            try:
                self._settings = load_frontend_settings(self.config)
            except SettingsError as error:
                exit_on_settings_error("copr-frontend", error)
        return self._settings

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in an app context; committed if the block succeeds."""
        app = create_app(self.settings)
        try:
            with app.app_context():
                session = db.session()
                try:
                    yield session
                    session.commit()
                except (ValueError, users.AccountError) as error:
                    session.rollback()
                    raise click.ClickException(str(error)) from None
        finally:
            app.extensions["copr_database"].dispose()


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COPR_FRONTEND_CONFIG",
    help="Settings file (TOML); environment variables COPR_FRONTEND_* override it.",
)
@click.pass_context
def main(ctx: click.Context, config: Path | None) -> None:
    """Manage the Copr frontend."""
    ctx.obj = Context(config)


@main.command("upgrade-db")
@pass_context
def upgrade_db(ctx: Context) -> None:
    """Create or migrate the database schema to the newest revision."""
    upgrade_database(ctx.settings.database_url)
    click.echo("database is up to date")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@pass_context
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the frontend with a threaded WSGI server (local use; production runs gunicorn
    with ``copr_frontend.app:create_app()``).
    """
    from werkzeug.serving import run_simple

    from copr_frontend.app import configure_logging

    configure_logging(ctx.settings)
    app = create_app(ctx.settings)
    run_simple(host, port, app, threaded=True, use_reloader=False)


# --- mock chroots ---------------------------------------------------------------------------


@main.command("create-chroot")
@click.argument("names", nargs=-1, required=True)
@click.option("--deactivated", is_flag=True, help="Create it inactive.")
@click.option("--distgit-branch", help="dist-git branch (default: derived from the name).")
@click.option("--comment", default="", help="Shown to users next to the chroot.")
@click.option("--tag", "tags", multiple=True, help="Builder tag (repeatable).")
@pass_context
def create_chroot(
    ctx: Context,
    names: tuple[str, ...],
    deactivated: bool,
    distgit_branch: str | None,
    comment: str,
    tags: tuple[str, ...],
) -> None:
    """Add mock chroots such as fedora-42-x86_64."""
    with ctx.session() as session:
        for name in names:
            chroot = chroots.create_chroot(
                session,
                name,
                distgit_branch=distgit_branch,
                comment=comment,
                active=not deactivated,
                tags=tags,
            )
            click.echo(f"created {chroot.name} (dist-git branch {chroot.distgit_branch})")


@main.command("alter-chroot")
@click.argument("names", nargs=-1, required=True)
@click.option("--activate/--deactivate", "active", default=None, help="Turn it on or off.")
@click.option("--distgit-branch")
@click.option("--comment")
@click.option("--tag", "tags", multiple=True, help="Replace the builder tags (repeatable).")
@pass_context
def alter_chroot(
    ctx: Context,
    names: tuple[str, ...],
    active: bool | None,
    distgit_branch: str | None,
    comment: str | None,
    tags: tuple[str, ...],
) -> None:
    """Change mock chroots."""
    if active is None and distgit_branch is None and comment is None and not tags:
        raise click.UsageError("nothing to change: give --activate/--deactivate, "
                               "--distgit-branch, --comment or --tag")  # fmt: skip
    with ctx.session() as session:
        for name in names:
            chroot = chroots.alter_chroot(
                session,
                name,
                active=active,
                distgit_branch=distgit_branch,
                comment=comment,
                tags=tags or None,
            )
            state = "active" if chroot.is_active else "inactive"
            click.echo(f"{chroot.name}: {state}, dist-git branch {chroot.distgit_branch}")


@main.command("deactivate")
@click.argument("names", nargs=-1, required=True)
@pass_context
def deactivate(ctx: Context, names: tuple[str, ...]) -> None:
    """Deactivate mock chroots (no new builds; existing results stay)."""
    with ctx.session() as session:
        for name in names:
            chroots.alter_chroot(session, name, active=False)
            click.echo(f"deactivated {name}")


@main.command("list-chroots")
@click.option("--all", "show_all", is_flag=True, help="Include inactive chroots.")
@pass_context
def list_chroots(ctx: Context, show_all: bool) -> None:
    """List mock chroots, one per line."""
    with ctx.session() as session:
        for chroot in chroots.list_chroots(session, active_only=not show_all):
            suffix = "" if chroot.is_active else "\t(inactive)"
            comment = f"\t{chroot.comment}" if chroot.comment else ""
            click.echo(f"{chroot.name}{suffix}{comment}")


@main.command("seed-chroots")
@click.option(
    "--fedora",
    "fedora",
    multiple=True,
    default=chroots.DEFAULT_FEDORA_RELEASES,
    show_default=True,
    help="Fedora release to add (repeatable); rawhide is always added.",
)
@pass_context
def seed_chroots(ctx: Context, fedora: tuple[str, ...]) -> None:
    """Add the default chroots: Fedora releases and rawhide, EPEL 9/10, CentOS Stream 9/10."""
    with ctx.session() as session:
        created = chroots.seed_chroots(session, chroots.default_chroot_names(fedora))
        for chroot in created:
            click.echo(f"created {chroot.name}")
        click.echo(f"{len(created)} chroots created")


@main.command("builder-tags")
@click.argument("project", metavar="OWNER/PROJECT")
@click.option("--chroot", help="The project's chroot, e.g. fedora-42-x86_64.")
@click.option("--package", help="The project's package.")
@click.option("--tag", "tags", multiple=True, help="Builder tag (repeatable); replaces them all.")
@click.option("--clear", is_flag=True, help="Remove every builder tag.")
@pass_context
def set_builder_tags(
    ctx: Context,
    project: str,
    chroot: str | None,
    package: str | None,
    tags: tuple[str, ...],
    clear: bool,
) -> None:
    """Set the builder tags of a project's chroot or package (e.g. on_demand_powerful).

    Their builds then run only on builders that have those tags.
    """
    if clear == bool(tags):
        raise click.UsageError("give --tag (repeatable) or --clear")
    ownername, _, projectname = project.partition("/")
    if not ownername or not projectname:
        raise click.UsageError(f"{project!r} is not OWNER/PROJECT")
    with ctx.session() as session:
        given = builder_tags.set_builder_tags(
            session, ownername, projectname, tags, chroot=chroot, package=package
        )
        click.echo(f"{project} {chroot or package}: builder tags {' '.join(given) or '(none)'}")


# --- accounts -------------------------------------------------------------------------------


@main.command("create-user")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Make the user a site admin.")
@click.option("--mail", default="")
@click.option("--password-stdin", is_flag=True, help="Read a web UI password from standard input.")
@pass_context
def create_user(ctx: Context, name: str, admin: bool, mail: str, password_stdin: bool) -> None:
    """Create a local user."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with ctx.session() as session:
        user = users.create_user(session, name, admin=admin, mail=mail, password=password)
        click.echo(f"created user {user.name}" + (" (admin)" if admin else ""))


@main.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read it from standard input.")
@pass_context
def set_password(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a local user's web UI password."""
    password = sys.stdin.readline().rstrip("\n")
    with ctx.session() as session:
        user = users.get_user(session, name)
        if user is None:
            raise users.AccountError(f"user {name!r} does not exist")
        users.set_password(user, password)
        click.echo(f"set the password of {user.name}")


@main.command("create-group")
@click.argument("name")
@pass_context
def create_group(ctx: Context, name: str) -> None:
    """Create a group; its projects are owned by @NAME."""
    with ctx.session() as session:
        group = users.create_group(session, name)
        click.echo(f"created group @{group.name}")


@main.command("add-member")
@click.argument("group")
@click.argument("user")
@pass_context
def add_member(ctx: Context, group: str, user: str) -> None:
    """Add USER to GROUP."""
    with ctx.session() as session:
        found_group = users.get_group(session, group)
        if found_group is None:
            raise click.ClickException(f"group {group!r} does not exist")
        found_user = users.get_user(session, user)
        if found_user is None:
            raise click.ClickException(f"user {user!r} does not exist")
        users.add_member(session, found_group, found_user)
        click.echo(f"added {found_user.name} to @{found_group.name}")


@main.command("api-token")
@click.argument("user")
@click.option("--days", type=click.IntRange(min=1), help="Lifetime (default: from settings).")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the copr-cli config to this file (mode 0600) instead of printing it.",
)
@pass_context
def api_token(ctx: Context, user: str, days: int | None, output: Path | None) -> None:
    """Create or renew USER's API token and print a ready copr-cli config."""
    settings = ctx.settings
    with ctx.session() as session:
        found = users.get_user(session, user)
        if found is None:
            raise click.ClickException(f"user {user!r} does not exist")
        token = users.issue_api_token(found, days or settings.token_lifetime_days)
        config = copr_cli_config(
            settings.public_url, found.name, found.api_login or "", token,
            found.api_token_expires_on or 0,
        )  # fmt: skip
    if output is None:
        click.echo(config, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.touch(mode=0o600)
    output.chmod(0o600)
    output.write_text(config)
    click.echo(f"wrote the copr-cli config of {user} to {output}")


@main.command("count-downloads")
@click.argument("logs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--every", type=click.IntRange(min=1), default=None, metavar="SECONDS",
    help="Keep running: count again every SECONDS (for a stack without timers).",
)  # fmt: skip
@pass_context
def count_downloads(ctx: Context, logs: tuple[Path, ...], every: int | None) -> None:
    """Count RPM and repodata downloads from the results server's access LOGS.

    Meant for a timer (every few minutes). Each run reads only what a log gained since the
    last one; after a rotation name the rotated file first (``access.log.1 access.log``).
    """
    import time
    from urllib.parse import urlsplit

    from copr_frontend.downloads.logic import count_log

    results_path = urlsplit(ctx.settings.results_url).path
    while True:
        with ctx.session() as session:
            for log in logs:
                try:
                    counted = count_log(session, log, results_path)
                except OSError as error:
                    if every is None:
                        raise click.ClickException(f"cannot read {log}: {error.strerror}") from None
                    # A log rotated away between runs: the next run finds the new one.
                    click.echo(f"{log}: cannot read it now ({error.strerror})", err=True)
                    continue
                click.echo(f"{log}: {counted} downloads")
        if every is None:
            return
        time.sleep(every)


@main.command("remove-stale-pr-dirs")
@click.option(
    "--days", type=click.IntRange(min=1), default=None,
    help="Remove pull-request dirs with no build for this long (default: the "
    "pr_dir_retention_days setting).",
)  # fmt: skip
@pass_context
def remove_stale_pr_dirs(ctx: Context, days: int | None) -> None:
    """Remove pull-request dirs (and their results) that saw no build for a while.

    Meant for a daily timer, as Copr runs it.
    """
    from copr_frontend.webhooks.logic import remove_dir, stale_pull_request_dirs

    keep_days = days or ctx.settings.pr_dir_retention_days
    with ctx.session() as session:
        stale = stale_pull_request_dirs(session, keep_days)
        names = [d.full_name for d in stale]
        for project_dir in stale:
            remove_dir(session, project_dir)
    for name in names:
        click.echo(f"removed {name}")
    click.echo(f"{len(names)} pull-request dirs older than {keep_days} days removed")


@main.command("set-quota")
@click.argument("owner")
@click.argument("limit", required=False)
@click.option("--unlimited", is_flag=True, help="No storage limit for OWNER.")
@click.option("--default", "use_default", is_flag=True,
              help="Drop OWNER's override: the default of the settings applies.")  # fmt: skip
@pass_context
def set_quota(
    ctx: Context, owner: str, limit: str | None, unlimited: bool, use_default: bool
) -> None:
    """Set the storage limit of OWNER (a user, or @group): LIMIT as 10G, 512M, 1.5T or
    bytes; with no option and no LIMIT, show OWNER's usage and limit.
    """
    from copr_frontend.projects.logic import owner_exists
    from copr_frontend.quotas import logic as quotas

    if sum((limit is not None, unlimited, use_default)) > 1:
        raise click.UsageError("give one of LIMIT, --unlimited and --default")
    with ctx.session() as session:
        if not owner_exists(session, owner):
            raise click.ClickException(f"owner {owner!r} does not exist")
        if use_default:
            quotas.reset_limit(session, owner)
        elif unlimited:
            quotas.set_limit(session, owner, None)
        elif limit is not None:
            quotas.set_limit(session, owner, quotas.parse_size(limit))
        quota = quotas.owner_quota(session, ctx.settings, owner)
        shown = "no limit" if quota.limit is None else quotas.format_size(quota.limit)
        source = "set for the owner" if quota.overridden else "the default"
        click.echo(f"{owner}: {quotas.format_size(quota.usage)} used of {shown} ({source})")


@main.command("recount-storage")
@click.argument("owner", required=False)
@pass_context
def recount_storage(ctx: Context, owner: str | None) -> None:
    """Set the stored storage usage of the projects (of OWNER, or all) from their builds'
    result sizes; print each project whose count was wrong.
    """
    from copr_frontend.quotas import logic as quotas

    with ctx.session() as session:
        wrong = quotas.recount(session, owner)
        for name, (stored, counted) in wrong.items():
            click.echo(f"{name}: {stored} bytes stored, {counted} counted")
        click.echo(f"{len(wrong)} projects recounted")


@main.command("prune-deliveries")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True,
              help="Forget finished deliveries and e-mail older than this.")  # fmt: skip
@pass_context
def prune_deliveries(ctx: Context, days: int) -> None:
    """Forget old notification deliveries and build e-mail (delivered or failed); pending
    ones stay.
    """
    from copr_frontend.notifications.logic import prune_deliveries as prune
    from copr_frontend.notifications.mail import prune_mail

    with ctx.session() as session:
        removed = prune(session, days)
        mails = prune_mail(session, days)
    click.echo(f"{removed} deliveries and {mails} e-mails older than {days} days forgotten")


@main.command("prune-builds")
@click.option("--dry-run", is_flag=True, help="Only print what would be pruned.")
@pass_context
def prune_builds(ctx: Context, dry_run: bool) -> None:
    """Prune the results of projects with a retention policy (auto_prune, keep_builds).

    Meant for a daily timer.  Each project's pruning is committed on its own, as one
    delete action for the backend.
    """
    from copr_frontend.builds import retention

    total = 0
    with ctx.session() as session:
        dependencies = retention.DependencyIndex(session, ctx.settings)
        for project in retention.prunable_projects(session):
            plan = retention.plan_pruning(session, project, ctx.settings, dependencies)
            ids = plan.build_ids
            if not ids:
                continue
            total += len(ids)
            verb = "would prune" if dry_run else "pruned"
            click.echo(f"{project.full_name}: {verb} builds {', '.join(map(str, ids))}")
            if not dry_run:
                retention.prune(session, plan)
                session.commit()
        if dry_run:
            session.rollback()
    click.echo(f"{total} builds {'would be ' if dry_run else ''}pruned")


@main.command("remove-expired-projects")
@pass_context
def remove_expired_projects(ctx: Context) -> None:
    """Delete the projects whose delete_after_days ran out (and queue their removal).

    Meant for a timer that runs at least daily.
    """
    from copr_frontend.builds import retention

    with ctx.session() as session:
        names = retention.remove_expired(session, retention.expired_projects(session))
    for name in names:
        click.echo(f"removed {name}")
    click.echo(f"{len(names)} expired projects removed")


def copr_cli_config(
    url: str, username: str, login: str, token: str, expires_on: int
) -> str:  # fmt: skip
    """A ``~/.config/copr`` for copr-cli and python-copr."""
    lines = [
        "[copr-cli]",
        f"login = {login}",
        f"username = {username}",
        f"token = {token}",
        f"copr_url = {url}",
        f"expiration = {time.strftime('%Y-%m-%d', time.gmtime(expires_on))}",
    ]
    if url.startswith("http://"):
        # copr-cli refuses plain http unless told the connection is not encrypted.
        lines.append("encrypted = False")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
