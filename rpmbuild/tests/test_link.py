"""Source phase from a URL (``link``/``upload``): a spec URL or an SRPM URL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    make_spec,
    make_tarball,
    publish_distgit,
    rpm_task,
    srpm_task,
    unpack_srpm,
)


def test_spec_url_with_remote_source_gives_srpm(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    tarball = make_tarball(tmp_path, "hello", "1.0")
    source_url = http_server.put("link1/hello-1.0.tar.gz", tarball.read_bytes())
    spec_url = http_server.put(
        "link1/hello.spec",
        make_spec(source0=source_url, extra_tags="ExcludeArch: s390x ppc64le\n"),
    )
    task_file = tmp_path / "task.json"
    task_file.write_text(
        json.dumps(
            srpm_task(11, "link", {"url": spec_url}, distributions_in_build=["fedora-41", "epel-9"])
        )
    )

    result = builder.run("--srpm", "--task-file", str(task_file))

    assert result.returncode == 0, builder.log()
    assert "hello-1.0-1.src.rpm" in builder.files()
    assert "success" in builder.files()
    results = builder.results()
    assert results["name"] == "hello"
    assert results["epoch"] is None
    assert results["version"] == "1.0"
    assert results["release"] == "1"
    assert results["url"] == "https://example.org/hello"
    assert results["excludearch"] == ["ppc64le", "s390x"]
    assert results["exclusivearch"] == []
    assert set(results["architecture_specific_tags"]) == {"fedora-41", "epel-9"}
    assert results["architecture_specific_tags"]["epel-9"]["excludearch"] == ["ppc64le", "s390x"]
    listing = subprocess.run(
        ["rpm", "-qpl", str(builder.resultdir / "hello-1.0-1.src.rpm")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listing) == ["hello-1.0.tar.gz", "hello.spec"]

    # ... and on to RPMs: dist-git imports the SRPM (as the dist-git service does), then
    # the RPM phase builds it for a chroot.
    srpm = tmp_path / "built.src.rpm"
    srpm.write_bytes((builder.resultdir / "hello-1.0-1.src.rpm").read_bytes())
    files = unpack_srpm(srpm, tmp_path / "unpacked")
    url, commit = publish_distgit(
        http_server,
        tmp_path,
        "hello",
        files.pop("hello.spec").decode(),
        files,
        project="linked",
    )
    rpm_file = tmp_path / "rpm-task.json"
    rpm_file.write_text(json.dumps(rpm_task(11, "fedora-42-x86_64", url, commit)))
    result = builder.run("--task-file", str(rpm_file), "--drop-resultdir")
    assert result.returncode == 0, builder.log()
    packages = {
        (p["name"], p["version"], p["release"], p["arch"]) for p in builder.results()["packages"]
    }
    assert packages == {
        ("hello", "1.0", "1.fc42", "src"),
        ("hello", "1.0", "1.fc42", "x86_64"),
        ("hello-extras", "1.0", "1.fc42", "noarch"),
    }


def test_arch_tags_per_distro(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    tags = (
        "ExclusiveArch: %{java_arches} x86_64 aarch64\n"
        "%if 0%{?rhel}\nExcludeArch: aarch64\n%endif\n"
        "%if 0%{?fedora} >= 42\nExclusiveArch: riscv64\n%endif\n"
    )
    tarball = make_tarball(tmp_path)
    source_url = http_server.put("link2/hello-1.0.tar.gz", tarball.read_bytes())
    spec_url = http_server.put("link2/hello.spec", make_spec(source0=source_url, extra_tags=tags))
    task_file = tmp_path / "task.json"
    distros = ["fedora-41", "fedora-42", "epel-9"]
    task_file.write_text(
        json.dumps(srpm_task(12, "link", {"url": spec_url}, distributions_in_build=distros))
    )
    assert builder.run("--srpm", "--task-file", str(task_file)).returncode == 0, builder.log()
    results = builder.results()
    assert results["exclusivearch"] == ["aarch64", "x86_64"]
    per_distro = results["architecture_specific_tags"]
    assert per_distro["fedora-41"] == {
        "exclusivearch": ["aarch64", "x86_64"],
        "excludearch": [],
        "buildarch": [],
    }
    assert per_distro["fedora-42"]["exclusivearch"] == ["aarch64", "riscv64", "x86_64"]
    assert per_distro["epel-9"]["excludearch"] == ["aarch64"]
    assert "cannot expand %{java_arches}" in builder.log()


def test_a_server_that_fails_for_a_moment_is_tried_again(builder: Builder, tmp_path: Path) -> None:
    import http.server
    import threading

    spec = (
        b"Name: hello\nVersion: 1.0\nRelease: 1\nSummary: s\nLicense: MIT\n"
        b"BuildArch: noarch\n%description\nd\n%files\n"
    )
    answers: list[int] = []

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            # A restarting server: two 503s, then the file.
            status = 503 if len(answers) < 2 else 200
            answers.append(status)
            self.send_response(status)
            self.send_header("Content-Length", str(len(spec) if status == 200 else 0))
            self.end_headers()
            if status == 200:
                self.wfile.write(spec)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hello.spec"
        task_file = tmp_path / "task.json"
        task_file.write_text(json.dumps(srpm_task(12, "link", {"url": url})))
        result = builder.run("--srpm", "--task-file", str(task_file))
    finally:
        server.shutdown()
        server.server_close()
    log = builder.log()
    assert result.returncode == 0, log
    assert answers == [503, 503, 200]
    assert log.count("HTTP 503") == 2
    assert "trying the download again in" in log
    assert "hello-1.0-1.src.rpm" in builder.files()
    # This spec has no URL tag: results.json says so rather than rpm's "(none)".
    assert builder.results()["url"] is None


def test_a_missing_file_is_not_tried_again(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    task_file = tmp_path / "task.json"
    url = f"{http_server.url}/no/such/file.spec"
    task_file.write_text(json.dumps(srpm_task(13, "link", {"url": url})))
    result = builder.run("--srpm", "--task-file", str(task_file))
    assert result.returncode == 1
    assert "HTTP 404" in builder.log()
    assert "again" not in builder.log()
