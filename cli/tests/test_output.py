"""Output formats (compared with the real copr-cli's printers) and the progress bar."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from copr_cli.output import Printer, colorize, print_project_info
from copr_cli.progress import ProgressBar, human_size

UPSTREAM_PYTHON = Path(__file__).resolve().parents[2] / ".venv-upstream" / "bin" / "python"

ITEMS = [
    {"id": 1, "state": "succeeded", "source_package": {"name": "hello"}, "extra": [1, 2]},
    {"id": 2, "state": "failed", "source_package": {"name": "world"}, "extra": {"b": None}},
]

UPSTREAM_PRINT = """
import json, sys
from copr_cli.printers import cli_get_output_printer
items = json.loads(sys.argv[1])
fields = ["id", "extra", "state", "missing"]
printer = cli_get_output_printer(sys.argv[2], fields, sys.argv[3] == "1")
for item in items:
    printer.add_data(item)
printer.finish()
"""


def upstream_output(output_format: str, as_list: bool, items: list[dict[str, Any]]) -> str:
    result = subprocess.run(
        [str(UPSTREAM_PYTHON), "-c", UPSTREAM_PRINT, json.dumps(items), output_format,
         "1" if as_list else "0"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout


@pytest.mark.parametrize("output_format", ["json", "text", "text-row"])
@pytest.mark.parametrize("as_list", [True, False])
def test_same_output_as_copr_cli(output_format: str, as_list: bool, capsys: Any) -> None:
    printer = Printer(output_format, ["id", "extra", "state", "missing"], as_list=as_list)
    for item in ITEMS:
        printer.add(item)
    printer.finish()
    assert capsys.readouterr().out == upstream_output(output_format, as_list, ITEMS)


def test_empty_list_prints_nothing(capsys: Any) -> None:
    printer = Printer("json", ["id"], as_list=True)
    printer.finish()
    assert capsys.readouterr().out == upstream_output("json", True, []) == ""


def test_computed_field(capsys: Any) -> None:
    printer = Printer("text-row", ["id", ("name", lambda b: b["source_package"]["name"])])
    printer.add(ITEMS[0])
    assert capsys.readouterr().out == "1\thello\n"


def test_project_info(capsys: Any) -> None:
    print_project_info(
        {
            "name": "proj",
            "description": "A project",
            "chroot_repos": {"fedora-42-x86_64": "http://r/fedora-42-x86_64/"},
            "additional_repos": ["http://a", "http://b"],
        }
    )
    assert capsys.readouterr().out == (
        "Name: proj\n  Description: A project\n  Repo(s):\n"
        "    fedora-42-x86_64: http://r/fedora-42-x86_64/\n"
        "  Additional repo: http://a http://b\n\n"
    )


def test_colors() -> None:
    assert colorize("failed", True) == "\033[31mfailed\033[0m"
    assert colorize("failed", False) == "failed"
    assert colorize("canceled", True) == "canceled"


class Monitor:
    def __init__(self, done: int) -> None:
        self.bytes_read = done


def test_progress_bar_draws_only_when_enabled() -> None:
    stream = io.StringIO()
    bar = ProgressBar(2_000_000, stream=stream, enabled=True)
    bar(Monitor(1_000_000))
    bar(Monitor(2_000_000))
    bar.finish()
    text = stream.getvalue()
    assert "\r[###############               ]  50%  1.0 MB" in text
    assert "] 100%  2.0 MB" in text
    assert text.endswith("\n")

    quiet = io.StringIO()
    bar = ProgressBar(10, stream=quiet)  # a StringIO is no terminal
    bar.update(10)
    bar.finish()
    assert quiet.getvalue() == ""


def test_human_size() -> None:
    assert human_size(999) == "999 B"
    assert human_size(1500) == "1.5 kB"
    assert human_size(3_200_000_000) == "3.2 GB"
