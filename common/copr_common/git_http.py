"""Where git's smart-HTTP CGI lives: dist-git serves its repositories through it, and the
test forge of ``copr_common.testing`` serves pushed commits the same way.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def find_http_backend() -> str:
    """The path of ``git http-backend`` (in git's exec path, or else on ``PATH``)."""
    exec_path = subprocess.run(
        ["git", "--exec-path"], capture_output=True, text=True, check=True
    ).stdout.strip()
    candidate = Path(exec_path) / "git-http-backend"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("git-http-backend")
    if found is None:
        raise RuntimeError("git-http-backend is not installed (it comes with git)")
    return found
