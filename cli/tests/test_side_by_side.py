"""Our copr-cli and the real copr-cli 2.6, on one live frontend, print the same.

The main session: create, build (upload), status, list-builds, get, delete.  Each client
works on its own project (names and build IDs are normalized before comparing) except
where both look at the same object (status, list-builds, get), which must match exactly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / ".venv" / "bin" / "copr-cli"
UPSTREAM = ROOT / ".venv-upstream" / "bin" / "copr-cli"

pytestmark = pytest.mark.slow


def normalize(text: str, names: dict[str, str]) -> str:
    for name, placeholder in names.items():
        text = text.replace(name, placeholder)
    return re.sub(r"\b\d+\b", "<N>", text)


def test_main_session(
    run_script: Any, config_file: Path, factory: Any, srpm: Path, tmp_path: Path
) -> None:
    factory.mock_chroot("fedora-42-x86_64")
    factory.mock_chroot("epel-9-x86_64")

    def both(*args: str, ours_args: tuple[str, ...] | None = None) -> tuple[Any, Any]:
        ours = run_script(OURS, ["--config", str(config_file), *(ours_args or args)])
        theirs = run_script(UPSTREAM, ["--config", str(config_file), *args])
        return ours, theirs

    names = {"proj-ours": "<P>", "proj-theirs": "<P>"}
    chroots = ["--chroot", "fedora-42-x86_64", "--chroot", "epel-9-x86_64"]

    # create
    ours, theirs = both(
        "create", "proj-theirs", *chroots, ours_args=("create", "proj-ours", *chroots)
    )
    assert (ours.code, theirs.code) == (0, 0), (ours, theirs)
    assert ours.out.startswith("New project was successfully created: ")
    assert normalize(ours.out, names) == normalize(theirs.out, names)

    # build (upload), not waiting: there is no backend in this test
    build = ("build", "--nowait", str(srpm))
    ours, theirs = both(build[0], "proj-theirs", *build[1:],
                        ours_args=(build[0], "proj-ours", *build[1:]))  # fmt: skip
    assert (ours.code, theirs.code) == (0, 0), (ours, theirs)
    assert ours.out.startswith(f"Uploading package {srpm}\nBuild was added to proj-ours:\n")
    assert normalize(ours.out, names) == normalize(theirs.out, names)
    our_build = int(ours.out.split("Created builds: ")[1])
    their_build = int(theirs.out.split("Created builds: ")[1])

    # status of the same builds
    for build_id in (our_build, their_build):
        ours, theirs = both("status", str(build_id))
        assert (ours.code, ours.out) == (theirs.code, theirs.out)

    # list-builds, get: the same project, the same text
    for args in (
        ("list-builds", "proj-ours"),
        ("list-builds", "alice/proj-theirs"),
        ("list-builds", "--output-format", "json", "proj-ours"),
        ("list-builds", "--output-format", "text", "proj-ours"),
        ("get", "proj-ours"),
        ("get", "alice/proj-theirs"),
    ):
        ours, theirs = both(*args)
        assert (ours.code, ours.out, ours.err) == (theirs.code, theirs.out, theirs.err), args
        assert ours.out.strip(), args

    # errors: an unknown project and an unknown build give the same exit codes
    for args in (("get", "alice/nothing-here"), ("status", "999999"), ("list-builds", "nope")):
        ours, theirs = both(*args)
        assert ours.code == theirs.code == 1, (args, ours, theirs)

    # delete
    # cancel: each client its own build, the same answer
    ours, theirs = both("cancel", str(their_build), ours_args=("cancel", str(our_build)))
    assert (ours.code, ours.out) == (theirs.code, theirs.out) == (0, "canceled\n")
    ours, theirs = both("list-builds", "proj-ours")
    assert (ours.code, ours.out) == (theirs.code, theirs.out)
    assert ours.out == f"{our_build}\tNone\tcanceled\n"
    ours, theirs = both("delete", "proj-theirs", ours_args=("delete", "proj-ours"))
    assert (ours.code, theirs.code) == (0, 0), (ours, theirs)
    assert ours.out == "Project proj-ours has been deleted.\n"
    assert normalize(ours.out, names) == normalize(theirs.out, names)
    ours, theirs = both("get", "proj-ours")
    assert ours.code == theirs.code == 1


READ_ONLY = [
    ("whoami",),
    ("list",),
    ("list", "alice"),
    ("list-chroots",),
    ("get-chroot", "proj/fedora-42-x86_64"),
    ("get-chroot", "alice/proj/fedora-42-x86_64", "--output-format", "text"),
    ("get-chroot", "alice/proj/epel-9-x86_64", "--output-format", "text-row"),
    ("mock-config", "proj", "fedora-42-x86_64"),
    ("list-packages", "proj"),
    ("list-packages", "proj", "--with-latest-build", "--output-format", "text"),
    ("list-package-names", "proj"),
    ("get-package", "proj", "--name", "hello"),
    ("get-package", "proj", "--name", "hello", "--with-all-builds"),
    ("monitor", "proj"),
    ("monitor", "proj", "--output-format", "text", "--fields", "name,chroot,state,url_build"),
    ("list-permissions", "proj"),
    ("list-builds", "--output-format", "json", "proj"),
]


def test_read_only_commands_print_the_same(
    run_script: Any, config_file: Path, factory: Any, user: Any
) -> None:
    bob = factory.user("bob")
    project = factory.project(user, "proj", chroots=("fedora-42-x86_64", "epel-9-x86_64"),
                              description="Read-only")  # fmt: skip
    package = factory.package(project, "hello")
    factory.build(project, package=package)
    factory.grant(project, bob, builder=2)
    for args in READ_ONLY:
        ours = run_script(OURS, ["--config", str(config_file), *args])
        theirs = run_script(UPSTREAM, ["--config", str(config_file), *args])
        assert ours.code == 0, (args, ours)
        assert ours.out.strip(), args
        assert (ours.code, ours.out) == (theirs.code, theirs.out), args


def test_error_exit_codes_match(
    run_script: Any, config_file: Path, make_config: Any, live_server: Any, factory: Any,
    user: Any, tmp_path: Path,
) -> None:  # fmt: skip
    factory.project(user, "proj")
    anonymous = make_config(live_server.url, name="anonymous", gssapi="false")
    cases: list[list[str]] = [
        ["--config", str(config_file), "get", "alice/none"],
        ["--config", str(config_file), "status", "424242"],
        ["--config", str(config_file), "build", "proj", str(tmp_path / "none.src.rpm")],
        ["--config", str(config_file), "build-package", "proj", "--name", "none", "--nowait"],
        ["--config", str(config_file), "get-chroot", "proj/none-1-x86_64"],
        ["--config", str(config_file), "edit-permissions", "proj"],
        ["--config", str(config_file), "status", "x"],
        ["--config", str(tmp_path / "missing"), "list", "alice"],
        ["--config", str(anonymous), "create", "proj2", "--chroot", "fedora-42-x86_64"],
    ]
    for args in cases:
        ours = run_script(OURS, args)
        theirs = run_script(UPSTREAM, args)
        assert ours.code == theirs.code, (args, ours, theirs)
        assert "Traceback" not in ours.err
