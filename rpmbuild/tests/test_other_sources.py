"""Source phase: SRPM URLs, custom scripts, DistGit and RubyGems sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED
from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    Internet,
    make_spec,
    make_tarball,
    publish_distgit,
    rpmbuild_srpm,
    srpm_task,
    unpack_srpm,
    write_config,
)


def _run(builder: Builder, tmp_path: Path, kind: str, source: dict[str, Any]) -> int:
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(51, kind, source)))
    return builder.run("--srpm", "--task-file", str(task)).returncode


def test_srpm_url(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    srpm = rpmbuild_srpm(
        tmp_path,
        make_spec(extra_tags="Epoch: 3\nExclusiveArch: x86_64 aarch64\n"),
        [make_tarball(tmp_path)],
    )
    url = http_server.put("uploads/abc/hello-1.0-1.src.rpm", srpm.read_bytes())
    code = _run(builder, tmp_path, "upload", {"url": url, "pkg": srpm.name, "tmp": "abc"})
    assert code == 0, builder.log()
    results = builder.results()
    assert (results["name"], results["epoch"], results["version"]) == ("hello", 3, "1.0")
    assert results["exclusivearch"] == ["aarch64", "x86_64"]
    assert "hello-1.0-1.src.rpm" in builder.files()
    assert "package.spec" in builder.files()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"not an rpm at all", "broken-1-1.src.rpm", "is not a readable RPM package"),
        (None, "missing-1-1.src.rpm", "HTTP 404"),
        (b"whatever", "archive.tar.gz", "is neither a .src.rpm nor a .spec file"),
    ],
)
def test_bad_urls_fail_clearly(
    builder: Builder,
    http_server: HttpServer,
    tmp_path: Path,
    content: bytes | None,
    name: str,
    message: str,
) -> None:
    url = (
        http_server.put(f"bad/{name}", content)
        if content is not None
        else f"{http_server.url}/bad/{name}"
    )
    code = _run(builder, tmp_path, "link", {"url": url})
    assert code == EXIT_BUILD_FAILED
    assert message in builder.log()
    assert not (builder.resultdir / "results.json").exists()


def test_binary_rpm_is_not_an_srpm(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    top = tmp_path / "bin"
    srpm = rpmbuild_srpm(tmp_path, make_spec(), [make_tarball(tmp_path)])
    import subprocess

    subprocess.run(
        ["rpmbuild", "--rebuild", "--nodeps", "--define", f"_topdir {top}", str(srpm)],
        check=True,
        capture_output=True,
    )
    (binary,) = (top / "RPMS" / "noarch").glob("*.rpm")
    url = http_server.put("bad/hello-extras-1.0-1.src.rpm", binary.read_bytes())
    code = _run(builder, tmp_path, "link", {"url": url})
    assert code == EXIT_BUILD_FAILED
    assert "is a binary RPM (noarch), not a source RPM" in builder.log()


def test_download_limit(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    write_config(builder.config, builder.config.parent, http_server, max_download_size=1000)
    url = http_server.put("big/large-1-1.src.rpm", b"x" * 5000)
    code = _run(builder, tmp_path, "link", {"url": url})
    assert code == EXIT_BUILD_FAILED
    assert "over the download limit of 1000 bytes" in builder.log()
    assert list(builder.workspace.iterdir()) == []


CUSTOM_SCRIPT = """\
#!/bin/sh
set -e
curl -sS -o hello-1.0.tar.gz {tarball}
cat > hello.spec <<'SPEC'
{spec}SPEC
mkdir -p out && mv hello.spec hello-1.0.tar.gz out/
"""


def test_custom_script(builder: Builder, internet_server: Internet, tmp_path: Path) -> None:
    # The script downloads from the (stand-in) internet: the host's loopback is out of reach.
    tarball = internet_server.put("custom/hello-1.0.tar.gz", make_tarball(tmp_path).read_bytes())
    script = CUSTOM_SCRIPT.format(tarball=tarball, spec=make_spec())
    code = _run(
        builder,
        tmp_path,
        "custom",
        {
            "script": script,
            "chroot": "fedora-rawhide-x86_64",
            "builddeps": "curl",
            "resultdir": "out",
        },
    )
    log = builder.log()
    assert code == 0, log
    assert builder.results()["name"] == "hello"
    assert "hello-1.0-1.src.rpm" in builder.files()
    assert "builddeps 'curl' are not installed" in log


def test_custom_script_failure(builder: Builder, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, "custom", {"script": "#!/bin/sh\nexit 3\n"})
    assert code == EXIT_BUILD_FAILED
    assert "the custom script failed (exit status 3)" in builder.log()


def test_custom_script_without_spec(builder: Builder, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, "custom", {"script": "#!/bin/sh\ntouch nothing\n"})
    assert code == EXIT_BUILD_FAILED
    assert "no .spec file found in the script's result directory" in builder.log()


def test_distgit_source(builder: Builder, http_server: HttpServer, tmp_path: Path) -> None:
    srpm = rpmbuild_srpm(tmp_path, make_spec(name="dghello"), [make_tarball(tmp_path, "dghello")])
    files = unpack_srpm(srpm, tmp_path / "unpacked")
    spec = files.pop("package.spec").decode()
    url, _commit = publish_distgit(
        http_server, tmp_path, "dghello", spec, files, owner="rpms", project="fedora"
    )
    write_config(
        builder.config,
        builder.config.parent,
        http_server,
        distgit_instances={
            "local": {
                "clone_hostnames": ["127.0.0.1"],
                "lookaside_url": f"{http_server.url}/lookaside",
            }
        },
    )
    code = _run(
        builder,
        tmp_path,
        "distgit",
        {"clone_url": url, "committish": "main", "distgit": "local", "namespace": "rpms"},
    )
    assert code == 0, builder.log()
    assert builder.results()["name"] == "dghello"
    assert "dghello-1.0-1.src.rpm" in builder.files()


def test_distgit_unknown_instance(builder: Builder, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, "distgit", {"clone_url": "https://git.example.org/x.git"})
    assert code == EXIT_BUILD_FAILED
    assert "no dist-git instance is configured for 'https://git.example.org/x.git'" in builder.log()


def test_rubygems_without_gem2rpm(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    write_config(
        builder.config, builder.config.parent, http_server, gem2rpm_command="no-gem2rpm-here"
    )
    code = _run(builder, tmp_path, "rubygems", {"gem_name": "json"})
    assert code == EXIT_BUILD_FAILED
    assert "RubyGems builds need gem2rpm, which is not installed" in builder.log()


def test_rubygems_bad_name(builder: Builder, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, "rubygems", {"gem_name": "../etc"})
    assert code == EXIT_BUILD_FAILED
    assert "is not a valid gem name" in builder.log()


def test_custom_script_gets_the_webhook_payload(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    http_server.put("tmp/tmpabc123/hook_payload", '{"ref": "refs/heads/main"}')
    script = (
        "#!/bin/sh\nset -e\necho PAYLOAD: $(cat hook_payload)\n"
        f"cat > hello.spec <<'SPEC'\n{make_spec()}SPEC\n"
        "mkdir hello-1.0 && echo hi > hello-1.0/hello.txt && tar czf hello-1.0.tar.gz hello-1.0\n"
    )
    code = _run(
        builder, tmp_path, "custom", {"script": script, "hook_data": True, "tmp": "tmpabc123"}
    )
    assert code == 0, builder.log()
    assert 'PAYLOAD: {"ref": "refs/heads/main"}' in builder.log()
