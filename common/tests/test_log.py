from __future__ import annotations

import logging
from pathlib import Path

import pytest

from copr_common.log import setup_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_logs_to_file_with_service_name(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "backend.log"
    logger = setup_logging("copr-backend", "debug", log_file)
    logger.debug("dispatching %d builds", 3)
    text = log_file.read_text()
    assert "[DEBUG] copr-backend: dispatching 3 builds" in text


def test_log_files_are_not_readable_by_others(tmp_path: Path) -> None:
    setup_logging("svc", "INFO", tmp_path / "new.log").info("x")
    old = tmp_path / "old.log"
    old.write_text("from before\n")
    old.chmod(0o644)
    setup_logging("svc", "INFO", old).info("y")
    assert (tmp_path / "new.log").stat().st_mode & 0o777 == 0o640
    assert old.stat().st_mode & 0o777 == 0o640
    assert old.read_text().startswith("from before\n")


def test_second_setup_replaces_the_first(tmp_path: Path) -> None:
    setup_logging("svc", "INFO", tmp_path / "a.log")
    logger = setup_logging("svc", "INFO", tmp_path / "b.log")
    logger.info("once")
    assert "once" not in (tmp_path / "a.log").read_text()
    assert (tmp_path / "b.log").read_text().count("once") == 1


def test_level_filters(tmp_path: Path) -> None:
    logger = setup_logging("svc", "warning", tmp_path / "c.log")
    logger.info("hidden")
    logger.warning("shown")
    text = (tmp_path / "c.log").read_text()
    assert "hidden" not in text
    assert "shown" in text


def test_bad_level() -> None:
    with pytest.raises(ValueError, match="log level 'loud' is invalid"):
        setup_logging("svc", "loud")
