"""The rebuild-of-dependents pieces in Chromium (Playwright) against the app on a live
server: the setting on the project's settings page, and a rebuild's build page with its
trigger, its wave's cycles and the "Cancel the wave" button, in English and Czech, with
no serious or critical axe-core violation.  Screenshots go to ``.test-artefacts/web/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from copr_common.enums import StatusEnum
from copr_frontend.builds.models import RebuildWave
from copr_frontend.testing import Factory, LiveServer, chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / ".test-artefacts" / "web"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "owner-password-1"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _shot(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"rebuild-dependents--{name}.png"), full_page=True)


def _serious_violations(page: Page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}) {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("language", ["en", "cs"])
def test_the_setting_and_the_wave_in_a_browser(
    browser: Browser, live_server: LiveServer, factory: Factory, language: str
) -> None:
    owner = factory.user("owner", password=PASSWORD)
    lib = factory.project(owner, "lib", chroots=("fedora-42-x86_64",))
    app = factory.project(factory.user("app"), "app", chroots=("fedora-42-x86_64",),
                          rebuild_dependents="direct")  # fmt: skip
    trigger = factory.build(lib, package=factory.package(lib, "libfoo"),
                            source_status=StatusEnum.succeeded,
                            chroot_status=StatusEnum.succeeded)  # fmt: skip
    wave = RebuildWave(project=lib, trigger_build_id=trigger.id,
                       cycles=[["owner/lib/bar", "owner/lib/baz"]])  # fmt: skip
    factory.session.add(wave)
    rebuilds = []
    for project, name in ((lib, "bar"), (lib, "baz"), (app, "tool")):
        build = factory.build(project, package=factory.package(project, name),
                              triggered_by_id=trigger.id)  # fmt: skip
        build.rebuild_wave = wave
        rebuilds.append(build)
    factory.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/language/{language}/?next=/")
    page.goto(f"{live_server.url}/login/")
    page.fill("#f-username", "owner")
    page.fill("#f-password", PASSWORD)
    page.press("#f-password", "Enter")
    page.wait_for_selector("[data-testid=logged-in-user]")
    problems: list[str] = []

    page.goto(f"{live_server.url}/coprs/owner/lib/edit/")
    page.check("#f-rebuild_dependents-transitive")
    page.locator("#f-rebuild_dependents-transitive").scroll_into_view_if_needed()
    _shot(page, f"settings-{language}")
    problems += [f"edit: {p}" for p in _serious_violations(page)]
    page.click("form[action$='/edit/'] button[type=submit]")
    page.goto(f"{live_server.url}/coprs/owner/lib/edit/")
    expect(page.locator("#f-rebuild_dependents-transitive")).to_be_checked()

    # A rebuild in another project: the trigger's link leads to its own project's page.
    page.goto(f"{live_server.url}/coprs/app/app/build/{rebuilds[2].id}/")
    expect(page.locator("[data-testid=triggered-by]")).to_contain_text("owner/lib")
    _shot(page, f"rebuild-elsewhere-{language}")
    page.click("[data-testid=triggered-by] a")
    expect(page).to_have_url(f"{live_server.url}/coprs/owner/lib/build/{trigger.id}/")

    page.goto(f"{live_server.url}/coprs/owner/lib/build/{rebuilds[0].id}/")
    expect(page.locator("[data-testid=wave-cycle]")).to_contain_text(
        "owner/lib/bar → owner/lib/baz → owner/lib/bar"
    )
    _shot(page, f"rebuild-{language}")
    problems += [f"build: {p}" for p in _serious_violations(page)]
    page.click("#rebuild-wave button[type=submit]")
    expect(page.locator("#rebuild-wave button")).to_have_count(0)
    ids = ", ".join(str(b.id) for b in rebuilds)
    expect(page.locator("main")).to_contain_text(ids)
    _shot(page, f"wave-canceled-{language}")
    context.close()
    factory.session.expire_all()
    assert all(b.canceled for b in rebuilds)
    assert lib.rebuild_dependents == "transitive"
    assert not problems, "\n".join(problems)
