"""axe-core (from the npm install) in the same browser: the main pages have no serious or
critical accessibility violation, in English and in Czech."""

from __future__ import annotations

import configparser
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext

from .conftest import ROOT, WebStack, log_in

pytestmark = pytest.mark.slow

AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PROJECT = "a11y"


@pytest.fixture(scope="module")
def project(web_stack: WebStack) -> Iterator[int]:
    """A project with a package and a (failing) build, made through API v3."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(web_stack.cli_config)
    auth = (config["copr-cli"]["login"], config["copr-cli"]["token"])
    api = f"{web_stack.url}/api_3"
    created = requests.post(
        f"{api}/project/add/{web_stack.admin}", auth=auth, timeout=30,
        json={"name": PROJECT, "chroots": ["fedora-42-x86_64"], "description": "For **axe**."},
    )  # fmt: skip
    assert created.status_code == 200, created.text
    package = requests.post(
        f"{api}/package/add/{web_stack.admin}/{PROJECT}/tool/scm", auth=auth, timeout=30,
        json={"clone_url": "https://example.org/tool.git"},
    )  # fmt: skip
    assert package.status_code == 200, package.text
    build = requests.post(
        f"{api}/build/create/url", auth=auth, timeout=30,
        json={"ownername": web_stack.admin, "projectname": PROJECT,
              "pkgs": ["http://127.0.0.1:9/missing.src.rpm"]},
    )  # fmt: skip
    assert build.status_code == 200, build.text
    yield build.json()["items"][0]["id"]
    requests.post(f"{api}/project/delete/{web_stack.admin}/{PROJECT}", auth=auth, timeout=30)


@pytest.fixture(scope="module")
def context(browser: Browser, web_stack: WebStack) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, web_stack, web_stack.admin, web_stack.admin_password)
    page.close()
    yield context
    context.close()


def main_pages(web_stack: WebStack, build_id: int) -> list[str]:
    base = f"/coprs/{web_stack.admin}/{PROJECT}"
    return [
        "/", "/coprs/", f"/coprs/{web_stack.admin}/", "/coprs/fulltext/?fulltext=a11y",
        f"/coprs/{web_stack.admin}/add/", f"{base}/", f"{base}/builds/",
        f"{base}/build/{build_id}/", f"{base}/packages/", f"{base}/package/tool/",
        f"{base}/monitor/", f"{base}/add_build/", f"{base}/add_build_scm/",
        f"{base}/add_build_upload/", f"{base}/edit/", f"{base}/edit_chroot/fedora-42-x86_64/",
        f"{base}/permissions/", f"{base}/integrations/", f"{base}/repositories/",
        f"{base}/package/new/pypi/", "/status/pending/", "/status/stats/", "/status/builders/",
        "/api/", "/login/", "/coprs/nobody/",
    ]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "cs"])
def test_no_serious_or_critical_violation(
    context: BrowserContext, web_stack: WebStack, project: int, language: str, shot
) -> None:
    page = context.new_page()
    page.goto(f"{web_stack.url}/language/{language}/?next=/")
    problems = []
    for path in main_pages(web_stack, project):
        page.goto(web_stack.url + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        for violation in result["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [node["target"] for node in violation["nodes"][:3]]
                problems.append(f"{path}: {violation['id']} ({violation['impact']}) {targets}")
    shot(page, f"last-page-{language}")
    page.close()
    assert not problems, "\n".join(problems)
