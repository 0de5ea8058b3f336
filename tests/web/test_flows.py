"""What a packager does in the web UI, in a real browser against the whole local stack.

The tests run in order and build on each other (one project, ``admin/webflow``): log in
and create the project with two chroots; upload an SRPM and follow the build page's live
log until it succeeded; find the package on the packages and monitor pages; resubmit a
build; cancel a slow one while it builds; edit a chroot; add an SCM package and rebuild
it; a second user asks for the builder right and the owner approves it; that user forks
the project; the admin renews the API token and uses it with the real copr-cli; the
project is deleted.  Every step saves screenshots under ``.test-artefacts/web/``.
"""

from __future__ import annotations

import configparser
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ROOT, WebStack, log_in

pytestmark = pytest.mark.slow

PROJECT = "webflow"
CHROOTS = ("fedora-42-x86_64", "fedora-43-x86_64")
BUILD_TIMEOUT_MS = 300_000
UPSTREAM_CLI = ROOT / ".venv-upstream" / "bin" / "copr-cli"
SECOND_USER = ("bob", "bob-password-1")


@pytest.fixture(scope="module")
def admin_context(browser: Browser, web_stack: WebStack) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, web_stack, web_stack.admin, web_stack.admin_password)
    page.close()
    yield context
    context.close()


@pytest.fixture
def admin(admin_context: BrowserContext) -> Iterator[Page]:
    page = admin_context.new_page()
    yield page
    page.close()


def project_url(stack: WebStack, rest: str = "") -> str:
    return f"{stack.url}/coprs/{stack.admin}/{PROJECT}/{rest}"


def api(stack: WebStack, path: str, **params: str) -> dict:
    response = requests.get(f"{stack.url}/api_3/{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def latest_build_id(page: Page) -> int:
    match = re.search(r"/build/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


def test_log_in_and_create_a_project_with_two_chroots(
    admin: Page, web_stack: WebStack, shot
) -> None:
    admin.goto(web_stack.url + "/")
    shot(admin, "home")
    admin.click("text=New project")
    admin.fill("#f-name", PROJECT)
    admin.fill("#f-description", "Built **from the browser**.")
    admin.fill("#f-instructions", "Run `hello-copr`.")
    for chroot in CHROOTS:
        admin.check(f"#chroot-{chroot}")
    shot(admin, "new-project-form")
    admin.click("button:has-text('Create the project')")
    expect(admin.locator("h1")).to_contain_text(f"{web_stack.admin}/{PROJECT}")
    expect(admin.locator("[data-testid=description] strong")).to_have_text("from the browser")
    expect(admin.locator("code.dnf-line")).to_have_text(
        f"dnf copr enable {web_stack.admin}/{PROJECT}"
    )
    shot(admin, "overview")
    project = api(web_stack, "project", ownername=web_stack.admin, projectname=PROJECT)
    assert sorted(project["chroot_repos"]) == list(CHROOTS)


def test_a_refused_form_shows_the_error_next_to_the_field(
    admin: Page, web_stack: WebStack, shot
) -> None:
    admin.goto(f"{web_stack.url}/coprs/{web_stack.admin}/add/")
    admin.fill("#f-name", "bad name!")
    admin.fill("#f-homepage", "ftp://example.org")
    admin.check(f"#chroot-{CHROOTS[0]}")
    admin.click("button:has-text('Create the project')")
    # Both problems at once, each next to its field.
    expect(admin.locator("#name-errors")).to_be_visible()
    expect(admin.locator("#homepage-errors")).to_be_visible()
    expect(admin.locator("#f-homepage")).to_have_value("ftp://example.org")
    shot(admin, "refused")


def test_upload_an_srpm_and_follow_the_live_log_to_succeeded(
    admin: Page, web_stack: WebStack, srpm: Path, shot
) -> None:
    admin.goto(project_url(web_stack))
    admin.click("nav >> text=New build")
    admin.click("text=Upload an SRPM or spec file")
    admin.set_input_files("#f-pkgs", str(srpm))
    shot(admin, "upload-form")
    admin.click("button:has-text('Build')")
    expect(admin.locator("h2")).to_contain_text("Build ")
    build_id = latest_build_id(admin)
    shot(admin, "submitted")
    # While a task runs, the page follows its builder-live.log.
    log = admin.locator("#live-log")
    expect(log).not_to_be_empty(timeout=BUILD_TIMEOUT_MS)
    shot(admin, "live-log")
    expect(admin.locator("#build-state")).to_have_attribute(
        "data-state", "succeeded", timeout=BUILD_TIMEOUT_MS
    )
    expect(admin.locator("#tasks [data-state=succeeded]")).to_have_count(len(CHROOTS) + 1)
    expect(log).not_to_be_empty(timeout=30_000)
    expect(admin.locator("#log-status")).to_have_text("the task has ended")
    shot(admin, "succeeded")
    assert api(web_stack, f"build/{build_id}")["state"] == "succeeded"


def test_the_package_is_on_the_packages_and_monitor_pages(
    admin: Page, web_stack: WebStack, shot
) -> None:
    admin.goto(project_url(web_stack, "packages/"))
    expect(admin.locator("table a:has-text('hello-copr')")).to_be_visible()
    expect(admin.locator("table [data-state=succeeded]")).to_have_count(1)
    shot(admin, "packages")
    admin.goto(project_url(web_stack, "monitor/"))
    row = admin.locator("tr:has(th:has-text('hello-copr'))")
    expect(row.locator("[data-state=succeeded]")).to_have_count(len(CHROOTS))
    expect(row).to_contain_text("1.0-1")
    shot(admin, "monitor")


def test_resubmit_a_build_and_its_message_outlives_the_pages_reloads(
    admin: Page, web_stack: WebStack, shot
) -> None:
    admin.goto(project_url(web_stack, "builds/"))
    admin.click("table tbody tr:first-child td:nth-child(2) a")
    old_id = latest_build_id(admin)
    admin.click("button:has-text('Resubmit')")
    message = admin.locator(".alert", has_text=f"Build {old_id} was resubmitted as")
    expect(message).to_be_visible()
    new_id = latest_build_id(admin)
    assert new_id > old_id
    shot(admin, "resubmitted")
    # The page reloads itself at each change of the build's state, the last at its end.
    expect(admin.locator("#build-state")).to_have_attribute(
        "data-state", "succeeded", timeout=BUILD_TIMEOUT_MS
    )
    expect(message).to_be_visible()
    expect(message).to_have_count(1)
    # Shown once: a page opened afterwards has no message of that request.
    admin.reload()
    expect(message).to_have_count(0)


SLOW_SPEC = """\
Name:           slow-copr
Version:        1.0
Release:        1
Summary:        Builds for two minutes
License:        MIT
BuildArch:      noarch

%description
Takes its time, so that it can be canceled while it builds.

%build
sleep 120

%files
"""


def test_cancel_a_build_while_it_builds(
    admin: Page, web_stack: WebStack, tmp_path: Path, shot
) -> None:
    spec = tmp_path / "slow-copr.spec"
    spec.write_text(SLOW_SPEC)
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {tmp_path}", str(spec)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    (slow,) = (tmp_path / "SRPMS").glob("slow-copr-*.src.rpm")
    admin.goto(project_url(web_stack))
    admin.click("nav >> text=New build")
    admin.click("text=Upload an SRPM or spec file")
    admin.set_input_files("#f-pkgs", str(slow))
    admin.click("button:has-text('Build')")
    expect(admin.locator("h2")).to_contain_text("Build ")
    build_id = latest_build_id(admin)
    expect(admin.locator("#build-state")).to_have_attribute(
        "data-state", "running", timeout=BUILD_TIMEOUT_MS
    )
    admin.click("button:has-text('Cancel')")
    expect(admin.locator("#build-state")).to_have_attribute("data-state", "canceled")
    shot(admin, "canceled")
    assert api(web_stack, f"build/{build_id}")["state"] == "canceled"


def test_edit_a_chroot(admin: Page, web_stack: WebStack, shot) -> None:
    admin.goto(project_url(web_stack))
    admin.click("nav >> text=Settings")
    admin.click(f".list-group a:has-text('{CHROOTS[1]}')")
    admin.fill("#f-additional_packages", "make gcc")
    admin.fill("#f-with_opts", "tests")
    admin.select_option("#f-isolation", "simple")
    shot(admin, "edit-chroot")
    admin.click("button:has-text('Save')")
    expect(
        admin.locator(".alert", has_text=f"The settings of {CHROOTS[1]} were saved")
    ).to_be_visible()
    chroot = api(web_stack, "project-chroot", ownername=web_stack.admin, projectname=PROJECT,
                 chrootname=CHROOTS[1])  # fmt: skip
    assert chroot["additional_packages"] == ["make", "gcc"]
    assert chroot["with_opts"] == ["tests"]
    assert chroot["isolation"] == "simple"


def test_add_an_scm_package_and_rebuild_it(admin: Page, web_stack: WebStack, shot) -> None:
    admin.goto(project_url(web_stack, "packages/"))
    admin.click("a.btn:has-text('scm')")
    admin.fill("#f-package_name", "from-git")
    admin.fill("#f-clone_url", "https://example.org/from-git.git")
    admin.fill("#f-committish", "main")
    admin.check("#f-webhook_rebuild")
    shot(admin, "new-scm-package")
    admin.click("button:has-text('Save')")
    expect(admin.locator(".alert", has_text="Package from-git was saved")).to_be_visible()
    package = api(web_stack, "package", ownername=web_stack.admin, projectname=PROJECT,
                  packagename="from-git")  # fmt: skip
    assert package["source_type"] == "scm"
    assert package["source_dict"]["clone_url"] == "https://example.org/from-git.git"
    assert package["auto_rebuild"] is True
    admin.click("a:has-text('Rebuild')")
    admin.uncheck(f"#chroot-{CHROOTS[1]}")
    admin.click("button:has-text('Build')")
    expect(admin.locator(".alert", has_text="was submitted")).to_be_visible()
    build = api(web_stack, f"build/{latest_build_id(admin)}")
    assert build["source_package"]["name"] == "from-git"
    assert build["chroots"] == [CHROOTS[0]]
    shot(admin, "scm-rebuild")


def test_a_second_user_asks_for_permissions_and_the_owner_approves(
    admin: Page, browser: Browser, web_stack: WebStack, shot
) -> None:
    web_stack.add_user(*SECOND_USER)
    context = browser.new_context()
    bob = context.new_page()
    log_in(bob, web_stack, *SECOND_USER)
    bob.goto(project_url(web_stack, "add_build/"))
    expect(bob.locator("h1")).to_contain_text("403")
    shot(bob, "bob-refused")
    bob.goto(project_url(web_stack, "permissions/"))
    bob.check("#req-builder")
    bob.click("button:has-text('Ask for these permissions')")
    expect(bob.locator("[data-testid=my-builder]")).to_have_text("requested")
    shot(bob, "bob-requested")

    admin.goto(project_url(web_stack, "permissions/"))
    select = admin.locator("select[name^=copr_builder_]")
    expect(select).to_have_value("request")
    select.select_option("approved")
    shot(admin, "owner-approves")
    admin.click("button:has-text('Save the permissions')")
    expect(admin.locator(".alert", has_text="The permissions were updated")).to_be_visible()

    bob.reload()
    expect(bob.locator("[data-testid=my-builder]")).to_have_text("approved")
    bob.goto(project_url(web_stack, "add_build/"))
    expect(bob.locator("h2")).to_have_text("New build")
    shot(bob, "bob-may-build")
    context.close()


def test_fork_the_project(browser: Browser, web_stack: WebStack, shot) -> None:
    context = browser.new_context()
    bob = context.new_page()
    log_in(bob, web_stack, *SECOND_USER)
    bob.goto(project_url(web_stack))
    bob.click("text=Fork this project")
    bob.fill("#f-name", "webflow-fork")
    shot(bob, "fork-form")
    bob.click("button:has-text('Fork')")
    expect(bob.locator("h1")).to_contain_text("bob/webflow-fork")
    expect(bob.locator("text=Forked from")).to_be_visible()
    shot(bob, "forked")
    fork = api(web_stack, "project", ownername="bob", projectname="webflow-fork")
    assert fork["forked_from"] == f"{web_stack.admin}/{PROJECT}"
    bob.goto(project_url(web_stack, "forks/"))
    expect(bob.locator("table")).to_contain_text("bob/webflow-fork")
    context.close()


def test_renew_the_api_token_and_use_it_with_copr_cli(
    admin: Page, web_stack: WebStack, tmp_path: Path, shot
) -> None:
    admin.goto(web_stack.url + "/api/")
    admin.click("button:has-text('Generate a new token')")
    expect(admin.locator(".alert", has_text="A new API token was generated")).to_be_visible()
    snippet = admin.locator("[data-testid=copr-config]").inner_text()
    shot(admin, "api-token")
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(snippet)
    assert config["copr-cli"]["copr_url"] == web_stack.url
    path = tmp_path / "copr"
    path.write_text(snippet)
    whoami = subprocess.run([str(UPSTREAM_CLI), "--config", str(path), "whoami"],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (whoami.returncode, whoami.stdout) == (0, f"{web_stack.admin}\n"), whoami.stderr
    listed = subprocess.run([str(UPSTREAM_CLI), "--config", str(path), "list"],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert PROJECT in listed.stdout


def test_delete_the_project(admin: Page, web_stack: WebStack, shot) -> None:
    admin.goto(project_url(web_stack, "delete/"))
    admin.fill("#f-verify", "yes")
    shot(admin, "delete")
    admin.click("button:has-text('Delete the project')")
    expect(
        admin.locator(".alert", has_text=f"Project {web_stack.admin}/{PROJECT} was deleted")
    ).to_be_visible()
    response = requests.get(project_url(web_stack), timeout=30)
    assert response.status_code == 404
    shot(admin, "deleted")
