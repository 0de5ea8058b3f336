"""The validators of build sources: API input → the stored ``source_json`` of each type.

:mod:`.source_types` is the registry that names them per source type (with their routes
and OpenAPI schemas); the API routes, web forms and package edits call them through it.

Packages keep the same ``source_json`` so a package build (or a webhook) reuses it.  The
keys are the ones ``copr-rpmbuild`` reads.  Field names follow Copr's clients; the names
copr-cli sends for packages (``script_chroot``, ``source_build_method``) are accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from copr_common.enums import BuildSourceEnum
from copr_common.names import InvalidNameError, validate_package_name
from copr_frontend.validation import InvalidInput, text_field

SCM_TYPES = ("git", "svn")
SRPM_BUILD_METHODS = ("rpkg", "tito", "tito_test", "make_srpm")
SPEC_GENERATORS = ("pyp2spec", "pyp2rpm")

# Dist-git instances a ``distgit`` source may name; ``{namespace}`` is required where used.
DISTGIT_INSTANCES = {
    "fedora": "https://src.fedoraproject.org/rpms/{package}.git",
    "centos": "https://git.centos.org/rpms/{package}.git",
    "copr": "{dist_git_url}/{namespace}/{package}.git",
}
DEFAULT_DISTGIT = "fedora"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_NAMESPACE = re.compile(r"^@?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.+:-]+)*$")
_COMMITTISH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./+@-]*$")


# Source input that cannot be used; the message says which field and why.  The coercers'
# error itself (a 400), so a parser's own checks and the coercers it calls raise alike.
SourceError = InvalidInput


def _words(data: Mapping[str, Any], *names: str) -> str:
    """A space-separated list, given as text or as a list of words (python-copr sends
    ``script_builddeps`` as a list, copr-cli splits ``--script-builddeps`` into one).
    """
    for name in names:
        value = data.get(name)
        if isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise SourceError(f"Field {name!r} must be text or a list of texts")
            value = " ".join(item.strip() for item in value if item.strip())
        if value is None or value == "":
            continue
        return " ".join(text_field({name: value}, name).split())
    return ""


def _choice(data: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = text_field(data, name) or default
    if value not in choices:
        raise SourceError(f"Field {name!r} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_url(url: str, field: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        raise SourceError(f"Field {field!r} is not a valid URL: {url!r}") from None
    if parts.scheme not in schemes or not parts.netloc or any(c.isspace() for c in url):
        raise SourceError(f"Field {field!r} must be an {'/'.join(schemes)} URL, got {url!r}")
    return url


def _relative_path(value: str, field: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise SourceError(f"Field {field!r} must be a path inside the repository, got {value!r}")
    return value


def check_package_file_url(url: str) -> str:
    check_url(url, "pkgs")
    name = PurePosixPath(urlsplit(url).path).name
    if not name.endswith((".src.rpm", ".spec")):
        raise SourceError(f"URL {url!r} must point to a .src.rpm or .spec file")
    return url


def link_source(url: str) -> tuple[BuildSourceEnum, dict[str, Any]]:
    check_package_file_url(url)
    return BuildSourceEnum.link, {"url": url, "pkg": PurePosixPath(urlsplit(url).path).name}


def scm_source(data: Mapping[str, Any]) -> dict[str, Any]:
    clone_url = text_field(data, "clone_url", required=True)
    check_url(clone_url, "clone_url", ("http", "https", "git"))
    committish = text_field(data, "committish")
    if committish and not _COMMITTISH.match(committish):
        raise SourceError(f"Field 'committish' is not a branch, tag or commit: {committish!r}")
    return {
        "type": _choice(data, "scm_type", SCM_TYPES, "git"),
        "clone_url": clone_url,
        "committish": committish,
        "subdirectory": _relative_path(text_field(data, "subdirectory"), "subdirectory"),
        "spec": _relative_path(text_field(data, "spec"), "spec"),
        "srpm_build_method": _choice(
            {"srpm_build_method": text_field(data, "source_build_method", "srpm_build_method")},
            "srpm_build_method",
            SRPM_BUILD_METHODS,
            "rpkg",
        ),
    }


def pypi_source(data: Mapping[str, Any]) -> dict[str, Any]:
    name = text_field(data, "pypi_package_name", required=True)
    if not _NAME.match(name):
        raise SourceError(f"Field 'pypi_package_name' is not a PyPI project name: {name!r}")
    versions_raw = data.get("python_versions") or ["3"]
    if isinstance(versions_raw, str | int):
        versions_raw = str(versions_raw).replace(",", " ").split()
    if not isinstance(versions_raw, list):
        raise SourceError("Field 'python_versions' must be a list of 2 and/or 3")
    versions = [str(v) for v in versions_raw]
    if not versions or any(v not in ("2", "3") for v in versions):
        raise SourceError("Field 'python_versions' must be a list of 2 and/or 3")
    version = text_field(data, "pypi_package_version")
    if version and not _COMMITTISH.match(version):
        raise SourceError(f"Field 'pypi_package_version' is not a version: {version!r}")
    return {
        "pypi_package_name": name,
        "pypi_package_version": version,
        "spec_generator": _choice(data, "spec_generator", SPEC_GENERATORS, "pyp2spec"),
        "spec_template": text_field(data, "spec_template"),
        "python_versions": versions,
    }


def rubygems_source(data: Mapping[str, Any]) -> dict[str, Any]:
    gem = text_field(data, "gem_name", required=True)
    if not _NAME.match(gem):
        raise SourceError(f"Field 'gem_name' is not a gem name: {gem!r}")
    return {"gem_name": gem}


def custom_source(data: Mapping[str, Any]) -> dict[str, Any]:
    script = text_field(data, "script", required=True)
    chroot = text_field(data, "chroot", "script_chroot")
    resultdir = _relative_path(text_field(data, "resultdir", "script_resultdir"), "resultdir")
    return {
        "script": script if script.endswith("\n") else script + "\n",
        "chroot": chroot or None,
        "builddeps": _words(data, "builddeps", "script_builddeps"),
        "resultdir": resultdir,
        "repos": _words(data, "repos", "script_repos"),
    }


def distgit_source(data: Mapping[str, Any], package_name: str, dist_git_url: str) -> dict[str, Any]:
    try:
        validate_package_name(package_name)
    except InvalidNameError as error:
        raise SourceError(str(error)) from None
    instance = text_field(data, "distgit") or DEFAULT_DISTGIT
    if instance not in DISTGIT_INSTANCES:
        raise SourceError(
            f"Unknown dist-git instance {instance!r}: choose from "
            + ", ".join(sorted(DISTGIT_INSTANCES))
        )
    namespace = text_field(data, "namespace")
    template = DISTGIT_INSTANCES[instance]
    if "{namespace}" in template and not _NAMESPACE.match(namespace):
        raise SourceError(f"Dist-git instance {instance!r} needs a namespace (owner/project)")
    committish = text_field(data, "committish")
    if committish and not _COMMITTISH.match(committish):
        raise SourceError(f"Field 'committish' is not a branch, tag or commit: {committish!r}")
    clone_url = template.format(
        package=package_name, namespace=namespace, dist_git_url=dist_git_url
    )
    # Copr's keys: clone_url and the instance always, namespace and committish when given.
    source: dict[str, Any] = {"clone_url": clone_url, "distgit": instance}
    if namespace:
        source["namespace"] = namespace
    if committish:
        source["committish"] = committish
    return source


def source_dict_for_api(source_json: Mapping[str, Any]) -> dict[str, Any]:
    """``source_json`` as clients read it (``source_build_method``, not ``srpm_...``)."""
    result = dict(source_json)
    if "srpm_build_method" in result:
        result["source_build_method"] = result.pop("srpm_build_method")
    return result
