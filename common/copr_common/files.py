"""Files that readers never see half-written.

Another process (dnf, a web server, a second worker of the same project) may read a file
while it is replaced, so a new version is written beside it under a name of its own and
renamed over it in one step.  The temporary name is unique per writer: two workers
publishing the same file at once each rename a whole file, the later one wins.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename (text is written as UTF-8)."""
    content = data.encode() if isinstance(data, str) else data
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        temporary.chmod(mode)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
