"""The real copr-cli 2.6 from PyPI against a live server: each command succeeds and
prints what a Copr user expects.  There is no backend, so builds stay pending."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from copr_common.enums import ActionTypeEnum, BuildSourceEnum
from copr_frontend.actions.models import Action
from copr_frontend.builds.models import Build
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

from .clients import COPR_CLI, make_srpm, run, write_config


@pytest.fixture
def cli(live_server, factory: Factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    # `make setup` installs it; a missing client must fail the suite, not skip it.
    assert COPR_CLI.exists(), f"the real copr-cli 2.6 is missing at {COPR_CLI}: run make setup"
    alice = factory.user("alice")
    factory.user("bob")
    factory.mock_chroot("fedora-42-x86_64")
    factory.mock_chroot("fedora-42-aarch64")
    epel = factory.mock_chroot("epel-9-x86_64")
    epel.comment = "EPEL 9 <b>on</b> CentOS Stream"
    factory.session.commit()
    login, token = factory.token(alice)
    config = write_config(tmp_path / "copr.conf", live_server.url, "alice", login, token)

    def copr_cli(*args: str) -> str:
        result = run([str(COPR_CLI), "--config", str(config), *args], tmp_path)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout

    copr_cli.url = live_server.url  # type: ignore[attr-defined]
    return copr_cli


def test_copr_cli_session(cli, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = cli.url
    out = cli(
        "create",
        "hello",
        "--chroot",
        "fedora-42-x86_64",
        "--chroot",
        "fedora-42-aarch64",
        "--description",
        "Hello world",
    )
    assert out.strip() == f"New project was successfully created: {url}/coprs/alice/hello/"

    out = cli("get", "alice/hello")
    assert "Name: hello" in out
    assert "  Description: Hello world" in out
    assert "    fedora-42-x86_64: http://results.test/results/alice/hello/fedora-42-x86_64/" in out

    assert "Name: hello" in cli("list")
    assert "Name: hello" in cli("list", "alice")

    cli(
        "modify",
        "hello",
        "--description",
        "Changed",
        "--chroot",
        "fedora-42-x86_64",
        "--chroot",
        "epel-9-x86_64",
    )
    out = cli("get", "hello")
    assert "Description: Changed" in out
    assert "epel-9-x86_64:" in out
    assert "fedora-42-aarch64" not in out

    srpm = make_srpm(tmp_path)
    out = cli("build", "hello", str(srpm), "--nowait")
    assert f"Uploading package {srpm}" in out
    assert "Build was added to hello:" in out
    upload_id = int(re.search(r"Created builds: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert f"  {url}/coprs/build/{upload_id}" in out

    out = cli(
        "build",
        "hello",
        "https://example.org/hello-1-1.src.rpm",
        "--nowait",
        "-r",
        "epel-9-x86_64",
        "--timeout",
        "7200",
        "--background",
    )
    url_id = int(re.search(r"Created builds: (\d+)", out).group(1))  # type: ignore[union-attr]

    factory.session.expire_all()
    uploaded = factory.session.get(Build, upload_id)
    assert uploaded is not None
    assert uploaded.source_type == BuildSourceEnum.upload
    assert uploaded.source_json["pkg"] == srpm.name
    assert {c.name for c in uploaded.chroots} == {"fedora-42-x86_64", "epel-9-x86_64"}
    linked = factory.session.get(Build, url_id)
    assert linked is not None
    assert [c.name for c in linked.chroots] == ["epel-9-x86_64"]
    assert linked.timeout == 7200
    assert linked.is_background

    out = cli("list-builds", "hello")
    assert re.search(rf"^{upload_id}\s.*pending$", out, re.M), out
    assert re.search(rf"^{url_id}\s.*pending$", out, re.M), out

    assert cli("status", str(url_id)).strip() == "pending"
    assert cli("cancel", str(url_id)).strip() == "canceled"
    assert cli("status", str(url_id)).strip() == "canceled"
    assert cli("delete-build", str(url_id)).strip() == f"Build(s) {url_id} were deleted."

    out = cli(
        "add-package-scm",
        "hello",
        "--name",
        "foo",
        "--clone-url",
        "https://example.org/foo.git",
        "--webhook-rebuild",
        "on",
    )
    assert out.strip() == "Create or edit operation was successful."
    out = cli("list-packages", "hello")
    assert '"name": "foo"' in out
    assert '"clone_url": "https://example.org/foo.git"' in out
    out = cli("get-package", "hello", "--name", "foo")
    assert '"source_type": "scm"' in out
    assert '"auto_rebuild": true' in out

    out = cli("fork", "hello", "hello-fork")
    assert out.startswith("Forking project alice/hello for you into alice/hello-fork.")

    assert cli("edit-permissions", "hello", "--builder", "bob=approved").strip() == "success"
    out = cli("list-permissions", "hello")
    assert out.splitlines() == ["bob:", "  admin: nothing", "  builder: approved"]

    out = cli("mock-config", "hello", "fedora-42-x86_64")
    assert "include('/etc/mock/fedora-42-x86_64.cfg')" in out
    assert "config_opts['root'] = 'alice-hello_fedora-42-x86_64'" in out
    assert "baseurl=http://results.test/results/alice/hello/fedora-42-x86_64/" in out

    out = cli("list-chroots")
    assert "fedora-42-x86_64\n" in out
    assert "epel-9-x86_64\n    EPEL 9 <b>on</b> CentOS Stream\n" in out

    assert cli("delete", "hello-fork").strip() == "Project hello-fork has been deleted."
    factory.session.expire_all()
    kinds = {(a.action_type, a.object_type) for a in factory.session.scalars(select(Action))}
    assert (ActionTypeEnum.fork, "copr") in kinds
    assert (ActionTypeEnum.delete, "copr") in kinds
    assert (ActionTypeEnum.delete, "build") in kinds


def test_copr_cli_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "copr.conf"
    missing = run([str(COPR_CLI), "--config", str(config), "get", "alice/nope"], tmp_path)
    assert missing.returncode == 1
    assert "Project alice/nope does not exist." in missing.stderr

    cli("create", "hello", "--chroot", "fedora-42-x86_64")
    duplicate = run(
        [str(COPR_CLI), "--config", str(config), "create", "hello", "--chroot", "fedora-42-x86_64"],
        tmp_path,
    )
    assert duplicate.returncode == 1
    assert "already have a project named alice/hello" in duplicate.stderr

    bad_chroot = run(
        [str(COPR_CLI), "--config", str(config), "create", "other", "--chroot", "fedora-1-x86_64"],
        tmp_path,
    )
    assert bad_chroot.returncode == 1
    assert "fedora-1-x86_64" in bad_chroot.stderr


def test_copr_cli_more_commands(cli, factory: Factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("create", "more", "--chroot", "fedora-42-x86_64", "--chroot", "epel-9-x86_64")
    assert cli("whoami").strip() == "alice"

    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    for args in (
        ["buildscm", "more", "--clone-url", "https://example.org/r.git", "--commit", "main"],
        ["buildpypi", "more", "--packagename", "requests", "--packageversion", "2.0"],
        ["buildgem", "more", "--gem", "rake"],
        ["buildcustom", "more", "--script", str(script), "--script-chroot", "fedora-42-x86_64"],
        ["build-distgit", "more", "--name", "tar", "--commit", "f42"],
    ):
        out = cli(*args, "--nowait", "--exclude-chroot", "epel-9-x86_64")
        assert "Build was added to more:" in out, args
        assert re.search(r"Created builds: \d+", out), args

    out = cli("add-package-pypi", "more", "--name", "requests", "--packagename", "requests")
    assert out.strip() == "Create or edit operation was successful."
    cli("edit-package-pypi", "more", "--name", "requests", "--packageversion", "2.1")
    assert cli("list-package-names", "more").split() == ["requests"]
    out = cli("build-package", "more", "--name", "requests", "--nowait")
    assert "Build was added to more:" in out
    assert cli("reset-package", "more", "--name", "requests").strip() == (
        "Package's default source was successfully reseted."
    )

    assert cli("edit-chroot", "more/fedora-42-x86_64", "--packages", "make gcc").strip() == (
        "Edit chroot operation was successful."
    )
    out = cli("get-chroot", "more/fedora-42-x86_64")
    assert '"additional_packages": [' in out
    assert '"make"' in out
    out = cli("regenerate-repos", "more")
    assert "Submitted action to regenerate repository metadata for the 'alice/more'" in out
    assert cli("new-api-token").strip().startswith("New API token was updated in")
    # The rewritten config works.
    assert cli("whoami").strip() == "alice"
    assert "Name: more" in cli("get", "more")


def test_copr_cli_request_permissions(cli, factory: Factory, live_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("create", "shared", "--chroot", "fedora-42-x86_64")
    bob = factory.session.scalars(select(User).where(User.name == "bob")).one()
    login, token = factory.token(bob)
    bob_home = tmp_path / "bob"
    bob_home.mkdir()
    config = write_config(bob_home / "copr.conf", live_server.url, "bob", login, token)
    asked = run(
        [
            str(COPR_CLI),
            "--config",
            str(config),
            "request-permissions",
            "alice/shared",
            "--builder",
        ],
        bob_home,
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == "success"
    out = cli("list-permissions", "shared")
    assert out.splitlines() == ["bob:", "  admin: nothing", "  builder: request"]
    denied = run(
        [
            str(COPR_CLI),
            "--config",
            str(config),
            "modify",
            "alice/shared",
            "--description",
            "mine now",
        ],
        bob_home,
    )
    assert denied.returncode == 7  # copr-cli: an authorization error
    assert "not allowed to change project alice/shared" in denied.stderr
