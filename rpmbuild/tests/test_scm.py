"""Source phase from git (``scm``): a real clone over HTTP, a subdirectory, each method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED
from copr_rpmbuild.testing import (
    Builder,
    HttpServer,
    git_repo,
    make_spec,
    make_tarball,
    rpm_query,
    srpm_task,
    write_config,
)

MAKEFILE = """\
srpm:
\tmkdir -p /tmp/make-srpm/SOURCES
\tcp hello-2.0.tar.gz /tmp/make-srpm/SOURCES/
\trpmbuild -bs --define "_topdir /tmp/make-srpm" --define "_srcrpmdir $(outdir)" $(spec)
"""


@pytest.fixture(scope="module")
def scm_repo(http_server: HttpServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A repo with the package in ``pkg/``: a spec whose Source0 is remote, a second spec
    with a local tarball (for make_srpm) and ``.copr/Makefile``; branch ``v2`` changes it."""
    work = tmp_path_factory.mktemp("scm")
    remote = make_tarball(work, "hello", "1.0")
    source_url = http_server.put("scm-sources/hello-1.0.tar.gz", remote.read_bytes())
    local = make_tarball(work, "hello", "2.0")
    repo = git_repo(
        work / "repo",
        {
            "README": "not the package\n",
            "pkg/hello.spec": make_spec(source0=source_url),
            "pkg/make/hello2.spec": make_spec(version="2.0"),
            "pkg/make/hello-2.0.tar.gz": local.read_bytes(),
            ".copr/Makefile": MAKEFILE,
        },
    )
    import subprocess

    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "-b", "v2"], check=True)
    git_repo(repo, {"pkg/hello.spec": make_spec(name="hello-v2", source0=source_url)}, "v2")
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True)
    return http_server.put_git("git-scm/hello.git", repo)


def _run(builder: Builder, tmp_path: Path, source: dict[str, str]) -> int:
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(41, "scm", {"type": "git", **source})))
    return builder.run("--srpm", "--task-file", str(task)).returncode


@pytest.mark.parametrize("method", ["rpkg", "spec"])
def test_spec_in_subdirectory(builder: Builder, scm_repo: str, tmp_path: Path, method: str) -> None:
    code = _run(
        builder,
        tmp_path,
        {
            "clone_url": scm_repo,
            "subdirectory": "pkg",
            "spec": "hello.spec",
            "srpm_build_method": method,
        },
    )
    assert code == 0, builder.log()
    assert builder.results()["name"] == "hello"
    assert builder.results()["version"] == "1.0"
    srpm = builder.resultdir / "hello-1.0-1.src.rpm"
    assert srpm.is_file()
    assert "hello-1.0.tar.gz" in rpm_query(srpm, "[%{FILENAMES}\n]")


def test_committish_selects_the_branch(builder: Builder, scm_repo: str, tmp_path: Path) -> None:
    code = _run(
        builder,
        tmp_path,
        {"clone_url": scm_repo, "committish": "v2", "subdirectory": "pkg"},
    )
    assert code == 0, builder.log()
    assert builder.results()["name"] == "hello-v2"


def test_make_srpm(builder: Builder, scm_repo: str, tmp_path: Path) -> None:
    code = _run(
        builder,
        tmp_path,
        {
            "clone_url": scm_repo,
            "subdirectory": "pkg/make",
            "spec": "hello2.spec",
            "srpm_build_method": "make_srpm",
        },
    )
    assert code == 0, builder.log()
    results = builder.results()
    assert (results["name"], results["version"], results["release"]) == ("hello", "2.0", "1")
    assert "hello-2.0-1.src.rpm" in builder.files()


def test_tito_without_tito_is_a_clear_error(
    builder: Builder, http_server: HttpServer, scm_repo: str, tmp_path: Path
) -> None:
    write_config(builder.config, builder.config.parent, http_server, tito_command="no-tito-here")
    code = _run(builder, tmp_path, {"clone_url": scm_repo, "srpm_build_method": "tito"})
    assert code == EXIT_BUILD_FAILED
    assert "tito, which is not installed" in builder.log()
    assert not (builder.resultdir / "results.json").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"subdirectory": "nope"}, "subdirectory 'nope' does not exist"),
        ({"subdirectory": "../.."}, "points outside the repository"),
        ({"committish": "no-such-branch"}, "has no branch, tag or commit 'no-such-branch'"),
        ({"subdirectory": "pkg", "spec": "missing.spec"}, "spec file 'missing.spec' does not"),
        ({}, "no .spec file found"),
        ({"srpm_build_method": "magic"}, "unknown srpm_build_method 'magic'"),
        ({"type": "svn"}, "SCM type 'svn' is not supported"),
    ],
)
def test_bad_scm_sources_fail_clearly(
    builder: Builder, scm_repo: str, tmp_path: Path, source: dict[str, str], message: str
) -> None:
    code = _run(builder, tmp_path, {"clone_url": scm_repo, **source})
    assert code == EXIT_BUILD_FAILED
    assert message in builder.log()
    assert not (builder.resultdir / "results.json").exists()
    assert "success" not in builder.files()


def test_disabled_protocol_is_refused(builder: Builder, scm_repo: str, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, {"clone_url": "file:///etc", "subdirectory": "pkg"})
    assert code == EXIT_BUILD_FAILED
    assert "uses the file protocol, which this builder does not allow" in builder.log()


def test_missing_clone_url(builder: Builder, tmp_path: Path) -> None:
    code = _run(builder, tmp_path, {})
    assert code == EXIT_BUILD_FAILED
    assert "source_json has no 'clone_url'" in builder.log()


def test_dist_git_checkout_gets_its_lookaside_sources(
    builder: Builder, http_server: HttpServer, tmp_path: Path
) -> None:
    from copr_rpmbuild.testing import publish_distgit

    tarball = make_tarball(tmp_path, "scmdg", "1.0")
    url, _ = publish_distgit(
        http_server,
        tmp_path,
        "scmdg",
        make_spec("scmdg"),
        {"scmdg-1.0.tar.gz": tarball.read_bytes()},
        owner="rpms",
        project="f",
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
    assert _run(builder, tmp_path, {"clone_url": url}) == 0, builder.log()
    srpm = builder.resultdir / "scmdg-1.0-1.src.rpm"
    assert "scmdg-1.0.tar.gz" in rpm_query(srpm, "[%{FILENAMES}\n]")
