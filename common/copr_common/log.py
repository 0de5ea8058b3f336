"""Logging set-up shared by every service: one format, a level, stderr or a file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FILE_MODE = 0o640

# Marks handlers this module installed, so a second set-up replaces them instead of
# printing every line twice.
_OWNED = "_copr_common_handler"


def setup_logging(
    service: str,
    level: str = "INFO",
    log_file: str | os.PathLike[str] | None = None,
) -> logging.Logger:
    """Configure the root logger for ``service`` and return the service's logger."""
    level_name = level.upper()
    if level_name not in LEVELS:
        raise ValueError(f"log level {level!r} is invalid: choose from {', '.join(LEVELS)}")

    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Logs name users and projects: the service's owner and group read them, no one
        # else (also when an older version made the file wider).
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_FILE_MODE))
        if path.stat().st_mode & 0o777 & ~LOG_FILE_MODE:
            path.chmod(LOG_FILE_MODE)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    setattr(handler, _OWNED, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OWNED, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_name)
    return logging.getLogger(service)
