from __future__ import annotations

from copr_common.entrypoints import subcommand_argv


def test_config_moves_before_the_subcommand() -> None:
    assert subcommand_argv("worker", ["--worker-id", "7", "--config", "/etc/x.toml"]) == [
        "--config", "/etc/x.toml", "worker", "--worker-id", "7",
    ]  # fmt: skip


def test_without_config_the_arguments_follow_the_subcommand() -> None:
    assert subcommand_argv("http", ["--bind", "127.0.0.1:8080"]) == [
        "http", "--bind", "127.0.0.1:8080",
    ]  # fmt: skip
    assert subcommand_argv("dispatcher", []) == ["dispatcher"]
