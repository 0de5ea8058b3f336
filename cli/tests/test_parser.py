"""The command line itself: every copr-cli 2.6 subcommand and flag, and the man page."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from copr_cli.main import main, setup_parser
from copr_cli.manpage import main as manpage_main
from copr_cli.manpage import render


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions for name in action.option_strings}


UPSTREAM_DUMP = """
import argparse, json
from copr_cli.main import setup_parser
parser = setup_parser()
sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
print(json.dumps({
    name: sorted(o for a in p._actions for o in a.option_strings)
    for name, p in sub.choices.items()
}))
"""


def upstream_commands() -> dict[str, list[str]]:
    import json

    python = Path(__file__).resolve().parents[2] / ".venv-upstream" / "bin" / "python"
    result = subprocess.run(
        [str(python), "-c", UPSTREAM_DUMP], capture_output=True, text=True, check=True
    )
    commands: dict[str, list[str]] = json.loads(result.stdout)
    return commands


# Left out on purpose (see cli/README.md): it needs the optional coprtree library.
NOT_OFFERED = {("buildpypi", "--with-deps")}


def test_every_upstream_subcommand_and_flag_exists() -> None:
    ours = subcommands(setup_parser())
    upstream = upstream_commands()
    assert set(upstream) <= set(ours)
    missing = [
        (name, flag)
        for name, flags in upstream.items()
        for flag in flags
        if flag not in option_strings(ours[name]) and (name, flag) not in NOT_OFFERED
    ]
    assert missing == []


def test_global_options() -> None:
    assert {"--debug", "--config", "--version", "--no-color"} <= option_strings(setup_parser())


def test_version(capsys: Any) -> None:
    with pytest.raises(SystemExit) as stop:
        setup_parser().parse_args(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("copr-cli version ")


def test_no_action_prints_help(capsys: Any) -> None:
    assert main([]) == 0
    assert "actions:" in capsys.readouterr().out


def test_unknown_action_is_exit_2(capsys: Any) -> None:
    assert main(["no-such-action"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_build_options_parse() -> None:
    args = setup_parser().parse_args(
        ["build", "me/proj:custom:x", "a.src.rpm", "--nowait", "-r", "fedora-42-x86_64",
         "--chroot", "epel-9-*", "--exclude-chroot", "fedora-41-x86_64", "--timeout", "60",
         "--background", "--isolation", "simple", "--enable-net", "on", "--bootstrap", "off",
         "--after-build-id", "7"]
    )  # fmt: skip
    from copr_cli.options import buildopts_from_args

    assert buildopts_from_args(args) == {
        "timeout": 60,
        "chroots": ["fedora-42-x86_64", "epel-9-*"],
        "background": True,
        "enable_net": True,
        "exclude_chroots": ["fedora-41-x86_64"],
        "bootstrap": "off",
        "after_build_id": "7",
        "isolation": "simple",
    }


def test_after_and_with_build_id_exclude_each_other(capsys: Any) -> None:
    assert main(["build", "p", "x.src.rpm", "--after-build-id", "1", "--with-build-id", "2"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_custom_script_must_be_readable(tmp_path: Path, capsys: Any) -> None:
    assert main(["buildcustom", "p", "--script", str(tmp_path / "none.sh")]) == 2
    assert "can't read" in capsys.readouterr().err


def test_permission_options_collect() -> None:
    args = setup_parser().parse_args(
        ["edit-permissions", "p", "--admin", "bob", "--builder", "bob=request", "--builder", "eve"]
    )
    assert args.permissions == {
        "bob": {"admin": "approved", "builder": "request"},
        "eve": {"builder": "approved"},
    }
    args = setup_parser().parse_args(["request-permissions", "p", "--builder", "--admin=nothing"])
    assert args.permissions == {"your user": {"builder": "request", "admin": "nothing"}}


def test_permission_requested_twice(capsys: Any) -> None:
    assert main(["edit-permissions", "p", "--admin", "bob", "--admin", "bob=nothing"]) == 2
    assert "requested more than once for bob" in capsys.readouterr().err


def test_monitor_fields_are_checked(capsys: Any) -> None:
    assert main(["monitor", "p", "--fields", "name,nonsense"]) == 2
    assert "Unknown field(s) specified in --fields: ['nonsense']" in capsys.readouterr().err


def test_man_page_lists_every_action(tmp_path: Path) -> None:
    text = render(setup_parser())
    assert text.startswith(".TH COPR\\-CLI 1 ")
    for name in subcommands(setup_parser()):
        assert f".SS {name.replace('-', chr(92) + '-')}\n" in text
    assert ".SH AUTHENTICATION" in text
    assert ".SH EXIT STATUS" in text
    target = tmp_path / "copr-cli.1"
    assert manpage_main([str(target)]) == 0
    assert target.read_text().split("\n", 1)[1] == text.split("\n", 1)[1]


def test_man_page_renders_with_man(tmp_path: Path) -> None:
    page = tmp_path / "copr-cli.1"
    page.write_text(render(setup_parser()))
    result = subprocess.run(
        ["man", "--warnings", "-l", str(page)],
        capture_output=True,
        text=True,
        env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert "watch-build" in result.stdout
    assert "AUTHENTICATION" in result.stdout
    assert result.stderr == ""


def test_manpage_module_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "copr_cli.manpage"], capture_output=True, text=True, check=True
    )
    assert ".SH ACTIONS" in result.stdout
