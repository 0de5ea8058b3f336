"""Direct RPM upload (``/build/create/rpm-upload``) through the real copr-cli 2.6
``uploadrpm`` and python-copr 2.7 ``create_from_rpm_upload``, and every way to get it
wrong.  There is no backend here: the build stays pending with its task ready."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_frontend.builds.models import Build
from copr_frontend.packages.models import Package
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory

from .clients import COPR_CLI, UPSTREAM_PYTHON, run, write_config

SPEC = """\
Name:           {name}
Version:        2.0
Release:        3
Epoch:          1
Summary:        Built by its packager
License:        MIT
{arch}

%description
Published as it is.

%files
"""


def build_rpm(workdir: Path, name: str = "uploaded", arch: str = "noarch") -> Path:
    spec = workdir / f"{name}-{arch}.spec"
    spec.write_text(SPEC.format(name=name, arch="BuildArch: noarch" if arch == "noarch" else ""))
    top = workdir / f"rpmbuild-{name}-{arch}"
    subprocess.run(
        ["rpmbuild", "-ba", "--define", f"_topdir {top}", "--target", arch, str(spec)],
        check=True, capture_output=True,
    )  # fmt: skip
    (rpm,) = (top / "RPMS").glob(f"*/*.{arch}.rpm")
    return rpm


@pytest.fixture
def settings(settings: FrontendSettings) -> FrontendSettings:
    return settings.model_copy(update={"direct_rpm_upload": True})


@pytest.fixture
def alice(factory: Factory):  # type: ignore[no-untyped-def]
    user = factory.user("alice")
    factory.project(user, "one", chroots=["fedora-42-x86_64"])
    factory.project(user, "two", chroots=["fedora-42-x86_64", "fedora-42-aarch64"])
    return user


def uploads(settings: FrontendSettings) -> list[Path]:
    return sorted(settings.upload_dir.glob("*/*")) if settings.upload_dir.exists() else []


def test_uploadrpm_with_the_real_clients(  # type: ignore[no-untyped-def]
    live_server, factory: Factory, alice, settings: FrontendSettings, tmp_path: Path, client
) -> None:
    rpm = build_rpm(tmp_path)
    login, token = factory.token(alice)
    config = write_config(tmp_path / "copr.conf", live_server.url, "alice", login, token)
    result = run([str(COPR_CLI), "--config", str(config), "uploadrpm", "two", str(rpm),
                  "-r", "fedora-42-x86_64", "--nowait"], tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"Uploading package {rpm}" in result.stdout
    build_id = int(result.stdout.split("Created builds: ")[1].split()[0])
    assert f"{live_server.url}/coprs/build/{build_id}" in result.stdout

    session = factory.session
    build = session.get(Build, build_id)
    assert build is not None
    assert build.source_type == BuildSourceEnum.rpm_upload
    assert (build.source_status, build.state) == (StatusEnum.succeeded, StatusEnum.pending)
    assert [(c.name, c.status) for c in build.chroots] == [("fedora-42-x86_64", StatusEnum.pending)]
    assert (build.package_name, build.pkg_version) == ("uploaded", "1:2.0-3")
    package = session.scalar(select(Package).where(Package.name == "uploaded"))
    assert package is not None
    assert package.source_type == BuildSourceEnum.rpm_upload

    # The backend finds it queued, without a source build, and its builder the RPM.
    jobs = client.get("/backend/pending-jobs/").get_json()
    assert [j["task_id"] for j in jobs] == [f"{build_id}-fedora-42-x86_64"]
    task = client.get(f"/backend/get-build-task/{build_id}-fedora-42-x86_64").get_json()
    assert (task["git_repo"], task["package_name"]) == (None, "uploaded")
    (url,) = task["prebuilt_rpm_urls"]
    # (The test client's app says the test settings' public URL, not the live server's.)
    assert url.startswith("http://copr.test/tmp/")
    assert url.endswith(f"/{rpm.name}")
    with client.get(url.removeprefix("http://copr.test")) as served:
        assert served.status_code == 200
        assert served.data == rpm.read_bytes()

    # python-copr, into the project's only chroot (no chroot named).
    script = (
        "import json, sys\nfrom copr.v3 import Client\n"
        f"client = Client({{'copr_url': {live_server.url!r}, 'login': {login!r}, "
        f"'token': {token!r}, 'username': 'alice'}})\n"
        f"build = client.build_proxy.create_from_rpm_upload('alice', 'one', {str(rpm)!r})\n"
        "print(json.dumps({'id': build.id, 'chroots': build.chroots, 'state': build.state,"
        " 'version': build.source_package['version']}))\n"
    )
    result = run([str(UPSTREAM_PYTHON), "-c", script], tmp_path)
    assert result.returncode == 0, result.stderr
    second = json.loads(result.stdout)
    assert second["chroots"] == ["fedora-42-x86_64"]
    assert second["state"] == "pending"
    assert second["version"] == "1:2.0-3"

    # Such a build cannot be built again from its package.
    again = client.post("/api_3/package/build", headers=factory.auth(alice),
                        json={"ownername": "alice", "projectname": "two",
                              "package_name": "uploaded"})  # fmt: skip
    assert again.status_code == 400
    assert "was published from an uploaded RPM" in again.get_json()["error"]

    # The upload is kept until its build has ended, then removed.
    assert len(uploads(settings)) == 2
    post = client.post(
        "/backend/update/",
        json={"builds": [{"id": build_id, "task_id": f"{build_id}-fedora-42-x86_64",
                          "chroot": "fedora-42-x86_64", "status": 1}]},
        headers={"Authorization": _backend_auth()},
    )  # fmt: skip
    assert post.status_code == 200, post.get_json()
    assert [p.name for p in uploads(settings)] == [rpm.name]
    canceled = client.post(f"/api_3/build/cancel/{second['id']}", headers=factory.auth(alice))
    assert canceled.status_code == 200, canceled.get_json()
    assert uploads(settings) == []


def _backend_auth() -> str:
    import base64

    from copr_frontend.testing import BACKEND_PASSWORD

    return "Basic " + base64.b64encode(f"backend:{BACKEND_PASSWORD}".encode()).decode()


def _post(client, factory: Factory, user, files: list[tuple[str, bytes]], **fields):  # type: ignore[no-untyped-def]
    body = {"ownername": "alice", "projectname": "two", **fields}
    data = {"json": (io.BytesIO(json.dumps(body).encode()), "json", "application/json")}
    multipart = [("pkgs", (io.BytesIO(content), name)) for name, content in files]
    return client.post(
        "/api_3/build/create/rpm-upload",
        data={**data, "pkgs": [item[1] for item in multipart]} if multipart else data,
        headers=factory.auth(user),
        content_type="multipart/form-data",
    )


def test_bad_rpm_uploads(client, factory: Factory, alice, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    noarch = build_rpm(tmp_path).read_bytes()
    x86 = build_rpm(tmp_path, "native", "x86_64")
    srpm = next((tmp_path / "rpmbuild-uploaded-noarch" / "SRPMS").glob("*.src.rpm"))
    chroot = {"chroots": ["fedora-42-x86_64"]}
    cases = [
        ([], chroot, 400, "Missing the uploaded RPM"),
        ([("a.rpm", noarch), ("b.rpm", noarch)], chroot, 400, "Upload one RPM per request"),
        ([("uploaded.rpm", noarch)], {}, 400, "published into one chroot"),
        ([("uploaded.rpm", noarch)], {"chroot": "epel-9-x86_64"}, 400,
         "Chroot epel-9-x86_64 is not enabled in alice/two"),
        ([(x86.name, x86.read_bytes())], {"chroot": "fedora-42-aarch64"}, 400,
         "built for x86_64: it cannot be published into fedora-42-aarch64"),
        ([(srpm.name, srpm.read_bytes())], chroot, 400, "upload a binary .rpm"),
        (
            [("renamed.rpm", srpm.read_bytes())], chroot, 400,
            "is a source RPM: build it with copr-cli build instead",
        ),
        ([("x.txt", noarch)], chroot, 400, "upload a binary .rpm"),
        ([("empty.rpm", b"")], chroot, 400, "is empty"),
        ([("fake.rpm", b"not an rpm at all")], chroot, 400, "is not an RPM package"),
        ([("cut.rpm", noarch[:200])], chroot, 400, "is not a readable RPM: the file ends"),
    ]  # fmt: skip
    for files, fields, status, message in cases:
        response = _post(client, factory, alice, files, **fields)
        assert response.status_code == status, (files and files[0][0], fields, response.data)
        assert message in response.get_json()["error"], (fields, response.get_json())
    bob = factory.user("bob")
    response = _post(client, factory, bob, [("uploaded.rpm", noarch)], **chroot)
    assert response.status_code == 403
    session = factory.session
    assert session.scalar(select(func.count()).select_from(Build)) == 0
    assert session.scalar(select(func.count()).select_from(Package)) == 0
    assert uploads(settings) == []


def test_disabled_by_default(
    app, client, factory: Factory, alice, settings, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app.config["COPR_SETTINGS"] = settings.model_copy(update={"direct_rpm_upload": False})
    response = _post(client, factory, alice, [("uploaded.rpm", build_rpm(tmp_path).read_bytes())],
                     chroot="fedora-42-x86_64")  # fmt: skip
    assert response.status_code == 404
    assert "Direct RPM upload is disabled" in response.get_json()["error"]
    assert factory.session.scalar(select(func.count()).select_from(Build)) == 0
    assert uploads(settings) == []
    assert FrontendSettings.model_fields["direct_rpm_upload"].default is False
