"""A progress bar for uploads and downloads, drawn on stderr when it is a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

BAR_WIDTH = 30


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


class ProgressBar:
    """``[#####     ]  42%  1.2 MB  300.0 kB/s  eta 3s`` updated in place.

    Callable with an upload stream (anything with ``bytes_read``), as python-copr's
    ``progress_callback`` expects, or advanced with :meth:`update`.
    """

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool | None = None):
        self.total = max(total, 0)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def __call__(self, monitor: Any) -> None:
        self.update(int(monitor.bytes_read))

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or done >= self.total:
            self._last_draw = now
            self.draw()

    def render(self) -> str:
        fraction = min(self.done / self.total, 1.0) if self.total else 1.0
        filled = int(fraction * BAR_WIDTH)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        speed = self.done / elapsed
        eta = (self.total - self.done) / speed if speed > 0 else 0
        return (
            f"[{'#' * filled}{' ' * (BAR_WIDTH - filled)}] {fraction * 100:3.0f}%  "
            f"{human_size(self.done)}  {human_size(speed)}/s  eta {eta:.0f}s"
        )

    def draw(self) -> None:
        if self.enabled:
            self.stream.write("\r" + self.render())
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()
