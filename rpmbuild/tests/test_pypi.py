"""Source phase from PyPI through pyp2spec.

PyPI lies beyond this machine, so its JSON API is played by the loopback HTTP server:
``<pypi_url>/<name>/json`` lists real sdist and wheel files built here. pyp2spec itself
is the real one from PyPI.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from copr_rpmbuild.errors import EXIT_BUILD_FAILED
from copr_rpmbuild.testing import Builder, HttpServer, rpm_query, srpm_task, write_config

METADATA = """\
Metadata-Version: 2.1
Name: {name}
Version: {version}
Summary: A tiny package for copr-rpmbuild tests
Home-page: https://example.org/{name}
License: MIT
Requires-Python: >=3.8
"""


def _wheel(name: str, version: str) -> bytes:
    buffer = io.BytesIO()
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "VALUE = 1\n")
        wheel.writestr(f"{info}/METADATA", METADATA.format(name=name, version=version))
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n" "Tag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/top_level.txt", f"{name}\n")
        wheel.writestr(f"{info}/RECORD", "")
    return buffer.getvalue()


def _sdist(name: str, version: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as sdist:
        for path, text in {
            "PKG-INFO": METADATA.format(name=name, version=version),
            "pyproject.toml": "[build-system]\nrequires = ['setuptools']\n"
            "build-backend = 'setuptools.build_meta'\n",
            f"{name}/__init__.py": "VALUE = 1\n",
        }.items():
            data = text.encode()
            member = tarfile.TarInfo(f"{name}-{version}/{path}")
            member.size = len(data)
            sdist.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pypi(http_server: HttpServer) -> str:
    """A PyPI stand-in with ``coprtiny`` 1.0 and 1.1; 1.1 is the latest."""
    name = "coprtiny"
    releases: dict[str, list[dict[str, Any]]] = {}
    for version in ("1.0", "1.1"):
        wheel_name = f"{name}-{version}-py3-none-any.whl"
        sdist_name = f"{name}-{version}.tar.gz"
        releases[version] = [
            {
                "packagetype": "bdist_wheel",
                "filename": wheel_name,
                "url": http_server.put(f"pypi-files/{wheel_name}", _wheel(name, version)),
            },
            {
                "packagetype": "sdist",
                "filename": sdist_name,
                "url": http_server.put(f"pypi-files/{sdist_name}", _sdist(name, version)),
            },
        ]
    http_server.put_task(
        f"pypi/{name}/json", {"info": {"name": name, "version": "1.1"}, "releases": releases}
    )
    return f"{http_server.url}/pypi"


def _run(builder: Builder, tmp_path: Path, source: dict[str, Any]) -> int:
    task = tmp_path / "task.json"
    task.write_text(json.dumps(srpm_task(61, "pypi", source)))
    return builder.run("--srpm", "--task-file", str(task)).returncode


@pytest.fixture
def pypi_builder(builder: Builder, http_server: HttpServer, pypi: str) -> Builder:
    write_config(builder.config, builder.config.parent, http_server, pypi_url=pypi)
    return builder


def test_pypi_version_through_pyp2spec(pypi_builder: Builder, tmp_path: Path) -> None:
    source = {
        "pypi_package_name": "coprtiny",
        "pypi_package_version": "1.0",
        "spec_generator": "pyp2spec",
        "spec_template": "",
        "python_versions": ["3"],
    }
    assert _run(pypi_builder, tmp_path, source) == 0, pypi_builder.log()
    results = pypi_builder.results()
    assert (results["name"], results["epoch"], results["version"]) == (
        "python-coprtiny",
        None,
        "1.0",
    )
    assert results["release"] == "1"
    srpm = pypi_builder.resultdir / "python-coprtiny-1.0-1.src.rpm"
    assert sorted(rpm_query(srpm, "[%{FILENAMES}\n]").split()) == [
        "coprtiny-1.0.tar.gz",
        "python-coprtiny.spec",
    ]
    spec = (pypi_builder.resultdir / "python-coprtiny.spec").read_text()
    assert "pypi-files/coprtiny-1.0.tar.gz" in spec
    assert "python-coprtiny" in pypi_builder.log()


def test_pypi_latest_and_alternative_python(pypi_builder: Builder, tmp_path: Path) -> None:
    source = {"pypi_package_name": "coprtiny", "python_versions": ["3.12"]}
    assert _run(pypi_builder, tmp_path, source) == 0, pypi_builder.log()
    results = pypi_builder.results()
    assert results["version"] == "1.1"
    assert results["name"] == "python3.12-coprtiny"


def test_python_copr_default_versions(pypi_builder: Builder, tmp_path: Path) -> None:
    """python-copr sends ``[3, 2]`` unless told otherwise: 2 is not pyp2spec's, ignored."""
    source = {"pypi_package_name": "coprtiny", "python_versions": [3, 2]}
    assert _run(pypi_builder, tmp_path, source) == 0, pypi_builder.log()
    assert pypi_builder.results()["name"] == "python-coprtiny"
    assert "python_versions 2 ignored: pyp2spec makes Python 3 packages" in pypi_builder.log()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"pypi_package_name": "coprtiny", "pypi_package_version": "9.9"}, "no version '9.9'"),
        ({"pypi_package_name": "nosuchpkg"}, "HTTP 404"),
        ({"pypi_package_name": "coprtiny", "spec_generator": "pyp2rpm"}, "use pyp2spec"),
        ({"pypi_package_name": "bad name!"}, "is not a valid PyPI package name"),
        ({}, "source_json has no 'pypi_package_name'"),
    ],
)
def test_bad_pypi_sources(
    pypi_builder: Builder, tmp_path: Path, source: dict[str, Any], message: str
) -> None:
    assert _run(pypi_builder, tmp_path, source) == EXIT_BUILD_FAILED
    assert message in pypi_builder.log()
    assert not (pypi_builder.resultdir / "results.json").exists()
