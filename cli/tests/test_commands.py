"""Every copr-cli subcommand at least once, against the live frontend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

CHROOTS = ["fedora-42-x86_64", "epel-9-x86_64"]


@pytest.fixture
def chroots(factory: Any) -> list[str]:
    for name in CHROOTS:
        factory.mock_chroot(name)
    return CHROOTS


@pytest.fixture
def proj(cli: Any, chroots: list[str]) -> str:
    result = cli("create", "proj", "--chroot", chroots[0], "--chroot", chroots[1],
                 "--description", "Test project", "--repo", "http://extra/repo/")  # fmt: skip
    assert result.code == 0, result
    return "proj"


def ok(result: Any) -> Any:
    assert result.code == 0, result
    assert "Traceback" not in result.err
    return result


def submitted_id(result: Any) -> int:
    return int(result.out.split("Created builds: ")[1].split()[0])


def test_create_get_list_modify_delete(cli: Any, proj: str, live_server: Any) -> None:
    result = ok(cli("get", "alice/proj"))
    assert result.out.startswith("Name: proj\n  Description: Test project\n  Repo(s):\n")
    assert "  Additional repo: http://extra/repo/" in result.out
    assert "Name: proj" in ok(cli("list")).out
    assert "Name: proj" in ok(cli("list", "alice")).out
    assert cli("list", "bob").err == "No copr retrieved for user: 'bob'\n"
    ok(cli("modify", "proj", "--description", "Changed", "--enable-net", "on",
           "--unlisted-on-hp", "on", "--delete-after-days", "10"))  # fmt: skip
    assert "Description: Changed" in ok(cli("get", "proj")).out
    result = ok(cli("delete", "proj"))
    assert result.out == "Project proj has been deleted.\n"
    assert cli("get", "proj").code == 1


def test_create_twice_is_a_clear_error(cli: Any, proj: str) -> None:
    result = cli("create", "proj", "--chroot", "fedora-42-x86_64")
    assert result.code == 1
    assert "Something went wrong" in result.err


def test_fork_and_regenerate(cli: Any, proj: str) -> None:
    result = ok(cli("fork", "proj", "proj-fork"))
    assert result.out.startswith("Forking project alice/proj for you into alice/proj-fork.")
    result = ok(cli("fork", "proj", "proj-fork", "--confirm"))
    assert result.out.startswith("Updating packages in alice/proj-fork from alice/proj.")
    result = ok(cli("regenerate-repos", "proj"))
    assert result.out == (
        "Submitted action to regenerate repository metadata for the 'alice/proj' project.\n"
    )


def test_build_upload_status_list_cancel_delete(cli: Any, proj: str, srpm: Path) -> None:
    result = ok(cli("build", "proj", str(srpm), "--nowait", "-r", "fedora-42-x86_64"))
    assert result.out.startswith(f"Uploading package {srpm}\nBuild was added to proj:\n")
    build_id = submitted_id(result)
    assert ok(cli("status", str(build_id))).out in ("pending\n", "importing\n")
    rows = ok(cli("list-builds", "proj")).out
    # The package name is known once the SRPM is built; until then it is None.
    assert rows == f"{build_id}\tNone\tpending\n"
    data = json.loads(ok(cli("list-builds", "proj", "--output-format", "json")).out)
    assert data[0]["id"] == build_id
    assert ok(cli("cancel", str(build_id))).out == "canceled\n"
    result = cli("watch-build", str(build_id))
    assert result.code == 4
    assert f"Build {build_id}: canceled" in result.out
    assert f"Build(s) {build_id} canceled." in result.err
    assert ok(cli("delete-build", str(build_id))).out == f"Build(s) {build_id} were deleted.\n"


def test_build_of_a_missing_file(cli: Any, proj: str, tmp_path: Path) -> None:
    result = cli("build", "proj", str(tmp_path / "no.src.rpm"), "--nowait")
    assert result.code == 3
    assert f"File {tmp_path / 'no.src.rpm'} not found" in result.err


def test_build_from_every_source(cli: Any, proj: str, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#! /bin/sh\necho hello\n")
    for args in (
        ["build", "proj", "https://example.org/hello-1-1.src.rpm"],
        ["buildscm", "proj", "--clone-url", "https://example.org/r.git", "--commit", "main"],
        ["buildpypi", "proj", "--packagename", "requests", "--pythonversions", "3"],
        ["buildgem", "proj", "--gem", "rake"],
        ["buildcustom", "proj", "--script", str(script), "--script-chroot", "fedora-42-x86_64"],
        ["build-distgit", "proj", "--name", "hello", "--commit", "main"],
    ):
        result = ok(cli(*args, "--nowait", "--background", "--timeout", "3600"))
        assert result.out.splitlines()[0] == "Build was added to proj:"


def test_uploadrpm_where_the_instance_does_not_allow_it(cli: Any, proj: str, srpm: Path) -> None:
    # The frontend's direct_rpm_upload is off by default: a clean request error.
    result = cli("uploadrpm", "proj", str(srpm), "--nowait")
    assert result.out == f"Uploading package {srpm}\n"
    assert "Direct RPM upload is disabled on this Copr instance" in result.err, result
    assert result.code == 1, result


def test_packages(cli: Any, proj: str, tmp_path: Path) -> None:
    ok(cli("add-package-scm", "proj", "--name", "hello", "--clone-url",
           "https://example.org/hello.git"))  # fmt: skip
    ok(cli("edit-package-scm", "proj", "--name", "hello", "--clone-url",
           "https://example.org/hello.git", "--commit", "main",
           "--webhook-rebuild", "on"))  # fmt: skip
    ok(cli("add-package-pypi", "proj", "--name", "python-requests", "--packagename", "requests"))
    ok(cli("edit-package-pypi", "proj", "--name", "python-requests", "--packageversion", "2.0"))
    ok(cli("add-package-rubygems", "proj", "--name", "rubygem-rake", "--gem", "rake"))
    ok(cli("edit-package-rubygems", "proj", "--name", "rubygem-rake", "--gem", "rake"))
    script = tmp_path / "s.sh"
    script.write_text("#! /bin/sh\n")
    ok(cli("add-package-custom", "proj", "--name", "custom", "--script", str(script)))
    ok(cli("edit-package-custom", "proj", "--name", "custom", "--script", str(script)))
    ok(cli("add-package-distgit", "proj", "--name", "dg"))
    ok(cli("edit-package-distgit", "proj", "--name", "dg", "--commit", "f42"))
    names = ok(cli("list-package-names", "proj")).out.split()
    assert sorted(names) == ["custom", "dg", "hello", "python-requests", "rubygem-rake"]
    packages = json.loads(ok(cli("list-packages", "proj", "--with-latest-build")).out)
    assert {p["name"] for p in packages} == set(names)
    package = json.loads(ok(cli("get-package", "proj", "--name", "hello")).out)
    assert package["source_dict"]["committish"] == "main"
    result = ok(cli("build-package", "proj", "--name", "hello", "--nowait"))
    assert result.out.startswith("Build was added to proj:")
    ok(cli("cancel", str(submitted_id(result))))
    rows = ok(cli("monitor", "proj", "--output-format", "text-row")).out.splitlines()
    assert f"hello\tfedora-42-x86_64\t{submitted_id(result)}\tcanceled" in [
        "\t".join(row.split("\t")[:4]) for row in rows
    ]
    assert ok(cli("get-package", "proj", "--name", "hello", "--with-all-builds",
                  "--output-format", "text")).out.startswith("auto_rebuild: ")  # fmt: skip
    assert ok(cli("reset-package", "proj", "--name", "hello")).out == (
        "Package's default source was successfully reseted.\n"
    )
    assert ok(cli("delete-package", "proj", "--name", "hello")).out == (
        "Package hello was successfully deleted.\n"
    )
    rows = ok(cli("monitor", "proj", "--output-format", "text-row")).out
    assert "hello" not in rows


def test_chroots(cli: Any, proj: str, tmp_path: Path) -> None:
    listed = ok(cli("list-chroots")).out.split()
    assert set(CHROOTS) <= set(listed)
    comps = tmp_path / "comps.xml"
    comps.write_text("<comps/>\n")
    result = ok(cli("edit-chroot", "proj/fedora-42-x86_64", "--packages", "gcc make",
                    "--upload-comps", str(comps), "--rpmbuild-with", "tests"))  # fmt: skip
    assert result.out == "Edit chroot operation was successful.\n"
    data = json.loads(ok(cli("get-chroot", "alice/proj/fedora-42-x86_64")).out)
    assert data["comps_name"] == "comps.xml"
    profile = ok(cli("mock-config", "proj", "fedora-42-x86_64")).out
    assert "include('/etc/mock/fedora-42-x86_64.cfg')" in profile
    assert "config_opts['root'] = 'alice-proj_fedora-42-x86_64'" in profile


def test_permissions(cli: Any, proj: str, factory: Any, make_config: Any, live_server: Any) -> None:
    bob = factory.user("bob")
    assert ok(cli("edit-permissions", "proj", "--builder", "bob")).out == "success\n"
    assert (
        ok(cli("list-permissions", "proj")).out == "bob:\n  admin: nothing\n  builder: approved\n"
    )
    login, token = factory.token(bob)
    bob_config = make_config(live_server.url, name="bob", login=login, token=token,
                             username="bob")  # fmt: skip
    result = ok(cli("request-permissions", "alice/proj", "--admin", config=bob_config))
    assert result.out == "success\n"
    result = cli("request-permissions", "alice/proj", "--admin", "approved", config=bob_config)
    assert result.code == 2


def test_webhook_secret_and_api_token(
    cli: Any, proj: str, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("maybe\ny\n"))
    result = ok(cli("new-webhook-secret", "proj"))
    assert "Generated new token: " in result.out
    before = config_file.read_text()
    result = ok(cli("new-api-token"))
    assert result.out == f"New API token was updated in {config_file}.\n"
    assert config_file.read_text() != before
    assert ok(cli("whoami")).out == "alice\n"


def test_debug_output(run_script: Any, config_file: Path, proj: str) -> None:
    ours = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "copr-cli"
    result = run_script(ours, ["--debug", "--config", str(config_file), "get", "proj"])
    assert result.code == 0
    assert result.err.startswith("#  Debug log enabled  #\n")
    assert "/api_3/project" in result.err


def test_cancel_many_and_cancel_pending(cli: Any, proj: str) -> None:
    def submit() -> int:
        url = "https://example.org/hello-1-1.src.rpm"
        return submitted_id(ok(cli("build", "proj", url, "--nowait", "-r", "fedora-42-x86_64")))

    first, second, third = submit(), submit(), submit()
    result = ok(cli("cancel", str(first), str(second)))
    assert result.out == f"Build(s) {first}, {second} were canceled.\n"
    # All or none: the canceled one makes the request fail, and the third stays pending.
    result = cli("cancel", str(first), str(third))
    assert result.code == 1
    assert f"already ended: {first} (canceled)" in result.err
    assert ok(cli("status", str(third))).out == "pending\n"
    assert cli("cancel", str(third), "x").code == 2
    result = ok(cli("cancel-pending", "proj"))
    assert result.out == f"Build(s) {third} were canceled.\n"
    assert ok(cli("status", str(third))).out == "canceled\n"
    result = ok(cli("cancel-pending", "alice/proj"))
    assert result.out == "No build of alice/proj was waiting for a builder.\n"
    assert cli("cancel-pending", "nope").code == 1


def test_keep_builds(cli: Any, chroots: list[str], live_server: Any) -> None:
    def keep_builds(name: str) -> Any:
        url = f"{live_server.url}/api_3/project?ownername=alice&projectname={name}"
        return requests.get(url, timeout=10).json()["keep_builds"]

    ok(cli("create", "kept", "--chroot", chroots[0], "--keep-builds", "3"))
    assert keep_builds("kept") == 3
    ok(cli("modify", "kept", "--description", "x"))
    assert keep_builds("kept") == 3
    ok(cli("modify", "kept", "--keep-builds", "0"))
    assert keep_builds("kept") is None
    result = cli("modify", "kept", "--keep-builds", "-2")
    assert result.code == 1
    assert "keep_builds" in result.err
    assert cli("modify", "kept", "--keep-builds", "many").code == 2


def test_quota_mail_settings_and_email_notifications(
    cli: Any, proj: str, factory: Any, db_session: Any
) -> None:
    from copr_frontend.projects.models import Project
    from copr_frontend.quotas.models import OwnerQuota

    result = ok(cli("quota"))
    assert result.out == "Storage of alice: 0 B used, no limit\n  proj: 0 B\n"
    db_session.add(OwnerQuota(ownername="alice", limit_bytes=0))
    db_session.commit()
    result = ok(cli("quota", "alice"))
    assert result.out.startswith("Storage of alice: 0 B used of 0 B (set for the owner)\n")
    assert "The quota is used up" in result.out
    refused = cli("buildpypi", "proj", "--packagename", "foo", "--nowait")
    assert refused.code == 1
    assert "The storage quota of alice is used up" in refused.err
    missing = cli("quota", "nobody")
    assert missing.code == 1
    assert "Owner nobody does not exist" in missing.err

    assert ok(cli("mail-settings")).out == "Address: (none)\nE-mail when a build ends: off\n"
    result = ok(cli("mail-settings", "--mail", "alice@example.org", "--build-mail", "on"))
    assert result.out == "Address: alice@example.org\nE-mail when a build ends: on\n"
    bad = cli("mail-settings", "--mail", "not an address")
    assert bad.code == 1
    assert "is not an e-mail address" in bad.err

    ok(cli("modify", "proj", "--email-notifications", "on"))
    db_session.expire_all()
    project = db_session.query(Project).filter_by(ownername="alice", name="proj").one()
    assert project.email_notifications is True


def test_rebuild_dependents_setting_and_cancel_wave(
    cli: Any, proj: str, live_server: Any, factory: Any, backend_headers: dict[str, str]
) -> None:
    from sqlalchemy import select

    from copr_common.enums import StatusEnum
    from copr_frontend.builds.models import Build
    from copr_frontend.projects.models import Project

    assert cli("modify", "proj", "--rebuild-dependents", "sometimes").code == 2
    ok(cli("modify", "proj", "--rebuild-dependents", "direct"))
    project = factory.session.scalar(select(Project).where(Project.name == "proj"))
    assert project.rebuild_dependents == "direct"

    def succeed(name: str, provides: list[str], requires: list[str]) -> Build:
        package = next((p for p in project.packages if p.name == name), None)
        package = package or factory.package(project, name)
        build = factory.build(project, package=package, chroots=[CHROOTS[0]],
                              source_status=StatusEnum.succeeded)  # fmt: skip
        build.chroots[0].status = StatusEnum.pending
        factory.session.commit()
        entry = {"id": build.id, "task_id": f"{build.id}-{CHROOTS[0]}", "chroot": CHROOTS[0],
                 "status": 1, "provides": provides, "requires": requires}  # fmt: skip
        response = requests.post(f"{live_server.url}/backend/update/",
                                 json={"builds": [entry]}, headers=backend_headers,
                                 timeout=30)  # fmt: skip
        assert response.status_code == 200, response.text
        return build

    succeed("A", ["A = 1-1"], [])
    succeed("B", ["B = 1-1"], ["A"])
    trigger = succeed("A", ["A = 2-1"], [])
    factory.session.expire_all()
    (rebuild,) = factory.session.scalars(select(Build).where(Build.triggered_by_id == trigger.id))
    wave_id = rebuild.rebuild_wave_id
    assert ok(cli("wave", str(wave_id))).out == (
        f"Rebuild wave {wave_id} of alice/proj, started by build {trigger.id}\n"
        f"Builds: {rebuild.id}\n"
    )
    rebuild.rebuild_wave.cycles = [["alice/proj/B", "alice/proj/C"]]  # as a cycle is kept
    factory.session.commit()
    assert ok(cli("wave", str(wave_id))).out.endswith(
        "Broke the cycle: alice/proj/B -> alice/proj/C -> alice/proj/B\n"
    )
    assert cli("wave", "999999").code == 1
    result = ok(cli("cancel-wave", str(rebuild.rebuild_wave_id)))
    assert result.out == f"Build(s) {rebuild.id} were canceled.\n"
    assert ok(cli("status", str(rebuild.id))).out == "canceled\n"
    result = ok(cli("cancel-wave", str(rebuild.rebuild_wave_id)))
    assert result.out == f"No build of rebuild wave {rebuild.rebuild_wave_id} was left to cancel.\n"
    assert cli("cancel-wave", "999999").code == 1
    for bad in ("abc", "0", "-3"):
        result = cli("cancel-wave", bad)
        assert result.code == 2
        assert f"invalid wave ID: '{bad}'" in result.err
