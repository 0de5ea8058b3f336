"""The browser harness: one local stack (``copr-local``, frontend on PostgreSQL) and one
headless Chromium (Debian's, driven by Playwright) for the whole session.

``web_stack``   the running stack with its admin's web login (``COPR_WEB_USER`` and
                ``COPR_WEB_PASSWORD`` from ``stack.env``) and ``add_user`` for more people
``browser``     Chromium; each test opens its own contexts (own cookies) from it
``shot(page, name)`` saves a full-page screenshot under ``.test-artefacts/web/``
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from copr_local.state import FALLBACK_POOL_ROOT, StackLayout
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from copr_frontend.testing import chromium

ROOT = Path(__file__).resolve().parents[2]
COPR_LOCAL = Path(sys.executable).parent / "copr-local"
COPR_FRONTEND = Path(sys.executable).parent / "copr-frontend"
ARTEFACTS = ROOT / ".test-artefacts" / "web"


@dataclass(frozen=True)
class WebStack:
    state_dir: Path
    url: str
    results_url: str
    cli_config: Path
    admin: str
    admin_password: str

    def add_user(self, name: str, password: str) -> None:
        """A local account made the way an admin makes one (``copr-frontend create-user``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPR_")}
        env["COPR_FRONTEND_CONFIG"] = str(self.state_dir / "etc" / "frontend.toml")
        result = subprocess.run(
            [str(COPR_FRONTEND), "create-user", name, "--password-stdin"],
            input=password + "\n", capture_output=True, text=True, env=env, timeout=120,
            check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr


def _copr_local(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COPR_LOCAL), *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="session")
def web_stack(postgres_server) -> Iterator[WebStack]:  # type: ignore[no-untyped-def]
    postgres_server.create_database("copr_web_ui")
    # A state dir anyone may walk through, so that builds use the stack's own slots.
    parent = Path(tempfile.mkdtemp(prefix="copr-web-"))
    parent.chmod(0o755)
    state_dir = parent / "stack"
    try:
        result = _copr_local("up", "--detach", "--state-dir", str(state_dir),
                             "--database-url", postgres_server.url("copr_web_ui"))  # fmt: skip
        assert result.returncode == 0, result.stderr + result.stdout
        env = dict(
            line.split("=", 1) for line in (state_dir / "stack.env").read_text().splitlines()
        )
        yield WebStack(
            state_dir, env["COPR_URL"], env["COPR_RESULTS_URL"], Path(env["COPR_CLI_CONFIG"]),
            env["COPR_WEB_USER"], env["COPR_WEB_PASSWORD"],
        )  # fmt: skip
    finally:
        _copr_local("down", "--state-dir", str(state_dir))
        # The services' logs stay with the screenshots, for whoever reads a failure.
        if (state_dir / "logs").is_dir():
            shutil.rmtree(ARTEFACTS / "stack-logs", ignore_errors=True)
            shutil.copytree(state_dir / "logs", ARTEFACTS / "stack-logs")
        pool = StackLayout(state_dir).pool_dir
        if pool.parent == FALLBACK_POOL_ROOT:
            shutil.rmtree(pool, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name

    def take(page: Page, name: str) -> Path:
        path = ARTEFACTS / f"{prefix}--{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except PlaywrightTimeoutError:
            # A page that keeps growing (a live log) may never hold still for a whole-page
            # shot on a busy machine: the visible part is still worth a look.
            page.screenshot(path=str(path))
        return path

    return take


def log_in(page: Page, stack: WebStack, user: str, password: str) -> None:
    page.goto(stack.url + "/login/")
    page.fill("#f-username", user)
    page.fill("#f-password", password)
    page.click("button[type=submit] >> text=Log in")
    page.wait_for_selector(f"[data-testid=logged-in-user]:has-text('{user}')")
