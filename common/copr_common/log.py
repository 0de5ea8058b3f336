"""Logging set-up shared by every service: one format, a level, stderr or a file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

LOG_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

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
