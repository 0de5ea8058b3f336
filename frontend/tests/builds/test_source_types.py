"""The registry of build source types is complete and is what the app serves."""

from __future__ import annotations

import flask
import pytest

from copr_common.enums import BuildSourceEnum
from copr_frontend.api.openapi import openapi_document
from copr_frontend.builds.source_types import (
    BY_NAME,
    PACKAGE_SOURCE_TYPES,
    SOURCE_TYPES,
    SourceContext,
    package_source,
)
from copr_frontend.builds.sources import SourceError


def test_every_source_enum_has_one_entry() -> None:
    # unset is no source; an uploaded built RPM skips the source phase (rpm_upload_api).
    expected = set(BuildSourceEnum) - {BuildSourceEnum.unset, BuildSourceEnum.rpm_upload}
    assert {s.enum for s in SOURCE_TYPES} == expected
    assert len(SOURCE_TYPES) == len(expected)
    assert {s.name for s in SOURCE_TYPES} == {e.label for e in expected}


def test_each_entry_is_routed_and_described(app: flask.Flask) -> None:
    rules = {rule.rule: rule for rule in app.url_map.iter_rules()}
    paths = openapi_document()["paths"]
    for source in SOURCE_TYPES:
        rule = rules[f"/api_3/build/create/{source.route}"]
        assert rule.endpoint.endswith(f"create_from_{source.name}")
        assert "POST" in (rule.methods or set())
        operation = paths[f"/build/create/{source.route}"]["post"]
        assert operation["summary"] == source.summary
        if source.multipart:
            assert "multipart/form-data" in operation["requestBody"]["content"]
        else:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert set(source.build_fields) <= set(body["properties"])
            assert set(source.build_required) <= set(body["required"])


def test_package_sources_parse_and_are_described() -> None:
    add = openapi_document()["paths"][
        "/package/add/{ownername}/{projectname}/{package_name}/{source_type_text}"
    ]["post"]
    enum = next(p for p in add["parameters"] if p["name"] == "source_type_text")["schema"]["enum"]
    assert enum == list(PACKAGE_SOURCE_TYPES) == ["scm", "pypi", "rubygems", "custom", "distgit"]
    body = add["requestBody"]["content"]["application/json"]["schema"]["properties"]
    for name in PACKAGE_SOURCE_TYPES:
        source = BY_NAME[name]
        assert source.parse is not None
        assert set(source.package_fields or {}) <= set(body)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("url", {}, "Unsupported package source type 'url'"),
        ("link", {"url": "https://x/a.src.rpm"}, "Unsupported package source type 'link'"),
        ("upload", {}, "choose from scm, pypi, rubygems, custom, distgit"),
        ("scm", {}, "Missing required field 'clone_url'"),
        ("pypi", {"pypi_package_name": "a b"}, "not a PyPI project name"),
    ],
)
def test_package_source_errors(name: str, data: dict[str, str], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        package_source(name, data, "pkg", "http://distgit.test/git")


def test_distgit_build_names_its_package_in_the_data() -> None:
    parse = BY_NAME["distgit"].parse
    assert parse is not None
    context = SourceContext("http://distgit.test/git")
    with pytest.raises(SourceError, match="Missing required field 'package_name'"):
        parse({}, context)
    assert parse({"package_name": "tar"}, context) == {
        "clone_url": "https://src.fedoraproject.org/rpms/tar.git",
        "distgit": "fedora",
    }
    # A package's own name wins over the data's.
    assert parse({"package_name": "tar"}, SourceContext("x", "cpio"))["clone_url"].endswith(
        "/cpio.git"
    )
