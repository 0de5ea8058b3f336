"""The registry of build source types: one entry per way a build gets its sources.

Each :class:`SourceType` says what the rest of the frontend needs to know about one type:
Copr's enum value (stored in ``Build.source_type``/``Package.source_type``), its API v3
route ``build/create/<route>``, whether it can be a package's source
(``package/add|edit/.../<name>``), the parser from request data to the stored
``source_json`` (the validators of :mod:`.sources`), and the OpenAPI schema of its fields.
The routes of ``builds/api.py`` and ``packages/api.py``, the web forms and the OpenAPI
document (``api/openapi.py``) are all made from :data:`SOURCE_TYPES`, so a new source type
is one entry here (and a provider in copr-rpmbuild, a client method, a CLI subcommand).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from copr_common.enums import BuildSourceEnum
from copr_frontend.api.openapi_schemas import CHROOT_NAME, PACKAGE_NAME
from copr_frontend.builds import sources
from copr_frontend.builds.sources import SourceError
from copr_frontend.validation import to_text

Schema = dict[str, Any]


@dataclass(frozen=True)
class SourceContext:
    """What a parser may need besides the request data."""

    dist_git_url: str
    package_name: str = ""
    """The package the source is for (``package/add|edit``); a build names it in its data."""


Parser = Callable[[Mapping[str, Any], SourceContext], dict[str, Any]]


@dataclass(frozen=True)
class SourceType:
    """One build source type (see the module's docstring)."""

    name: str
    """Copr's ``source_type_text``, as the API answers it and ``package/add`` reads it."""
    enum: BuildSourceEnum
    route: str
    """The last part of its API v3 route, ``build/create/<route>``."""
    summary: str
    """The OpenAPI summary of that route."""
    parse: Parser | None
    """Request data → ``source_json`` (raises :class:`SourceError`); None for an upload,
    whose route reads the uploaded file (``builds/uploads.py``)."""
    build_fields: dict[str, Schema] = field(default_factory=dict)
    """The OpenAPI schemas of the ``build/create`` fields, besides the build options."""
    build_required: tuple[str, ...] = ()
    package_fields: dict[str, Schema] | None = None
    """The OpenAPI schemas of its ``package/add|edit`` fields; None: not a package source."""
    batch_field: str | None = None
    """The field listing several sources (one build each, parsed as ``{"url": item}``)."""
    stored_as: dict[str, str] = field(default_factory=dict)
    """Stored ``source_json`` key → the input name a package edit merges it back as."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Input names copr-cli sends for a package → the stored key they replace."""

    @property
    def multipart(self) -> bool:
        return self.parse is None

    @property
    def is_package_source(self) -> bool:
        return self.package_fields is not None


def _link(data: Mapping[str, Any], _context: SourceContext) -> dict[str, Any]:
    return sources.link_source(str(data.get("url") or ""))[1]


def _distgit(data: Mapping[str, Any], context: SourceContext) -> dict[str, Any]:
    name = context.package_name or to_text(data.get("package_name"), "package_name")
    if not name:
        raise SourceError("Missing required field 'package_name'")
    return sources.distgit_source(data, name, context.dist_git_url)


def _scm(data: Mapping[str, Any], _context: SourceContext) -> dict[str, Any]:
    return sources.scm_source(data)


def _pypi(data: Mapping[str, Any], _context: SourceContext) -> dict[str, Any]:
    return sources.pypi_source(data)


def _rubygems(data: Mapping[str, Any], _context: SourceContext) -> dict[str, Any]:
    return sources.rubygems_source(data)


def _custom(data: Mapping[str, Any], _context: SourceContext) -> dict[str, Any]:
    return sources.custom_source(data)


# --- the fields' OpenAPI schemas ------------------------------------------------------------

COMMITTISH: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_./+@-]*$"}
SCM_FIELDS: dict[str, Schema] = {
    "clone_url": {"type": "string", "pattern": r"^(https?|git)://[A-Za-z0-9]\S*$"},
    "committish": COMMITTISH,
    "subdirectory": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"},
    "spec": {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"},
    "scm_type": {"type": "string", "enum": list(sources.SCM_TYPES)},
    "source_build_method": {"type": "string", "enum": list(sources.SRPM_BUILD_METHODS)},
}
PYPI_NAME: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$",
                     "maxLength": 200}  # fmt: skip
SCRIPT: Schema = {"type": "string", "pattern": r"\S", "maxLength": 10000}
# Fedora's and CentOS's dist-git are what clients offer; "copr" is accepted but unadvertised.
DISTGIT: Schema = {"type": "string", "enum": ["fedora", "centos"]}
PACKAGE_URLS: Schema = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "pattern": r"^https?://[A-Za-z0-9][^\s/]*/\S*\.(src\.rpm|spec)$"},
}

# --- the registry -------------------------------------------------------------------------

SOURCE_TYPES: tuple[SourceType, ...] = (
    SourceType(
        "link", BuildSourceEnum.link, "url", "Build from URLs", _link,
        build_fields={"pkgs": PACKAGE_URLS}, build_required=("pkgs",), batch_field="pkgs",
    ),
    SourceType("upload", BuildSourceEnum.upload, "upload", "Build an uploaded SRPM or spec", None),
    SourceType(
        "scm", BuildSourceEnum.scm, "scm", "Build from SCM", _scm,
        build_fields=SCM_FIELDS, build_required=("clone_url",), package_fields=SCM_FIELDS,
        stored_as={"type": "scm_type", "srpm_build_method": "source_build_method"},
    ),
    SourceType(
        "pypi", BuildSourceEnum.pypi, "pypi", "Build from PyPI", _pypi,
        build_fields={
            "pypi_package_name": PYPI_NAME,
            "pypi_package_version": COMMITTISH,
            "spec_generator": {"type": "string", "enum": list(sources.SPEC_GENERATORS)},
        },
        build_required=("pypi_package_name",), package_fields={"pypi_package_name": PYPI_NAME},
    ),
    SourceType(
        "rubygems", BuildSourceEnum.rubygems, "rubygems", "Build from RubyGems", _rubygems,
        build_fields={"gem_name": PYPI_NAME}, build_required=("gem_name",),
        package_fields={"gem_name": PYPI_NAME},
    ),
    SourceType(
        "custom", BuildSourceEnum.custom, "custom", "Build from a custom script", _custom,
        build_fields={"script": SCRIPT, "chroot": CHROOT_NAME}, build_required=("script",),
        package_fields={"script": SCRIPT},
        aliases={"script_chroot": "chroot", "script_builddeps": "builddeps",
                 "script_resultdir": "resultdir", "script_repos": "repos"},
    ),
    SourceType(
        "distgit", BuildSourceEnum.distgit, "distgit", "Build from dist-git", _distgit,
        build_fields={"package_name": PACKAGE_NAME, "distgit": DISTGIT,
                      "committish": COMMITTISH},
        build_required=("package_name",), package_fields={"distgit": DISTGIT},
    ),
)  # fmt: skip

BY_NAME = {source.name: source for source in SOURCE_TYPES}
BY_ROUTE = {source.route: source for source in SOURCE_TYPES}
PACKAGE_SOURCE_TYPES = tuple(s.name for s in SOURCE_TYPES if s.is_package_source)


def package_source_type(name: str) -> SourceType:
    """The package source type called ``name``; SourceError naming the choices if none."""
    source = BY_NAME.get(name)
    if source is None or not source.is_package_source:
        raise SourceError(
            f"Unsupported package source type {name!r}: choose from "
            + ", ".join(PACKAGE_SOURCE_TYPES)
        )
    return source


def package_source(
    source_type_text: str, data: Mapping[str, Any], package_name: str, dist_git_url: str
) -> tuple[BuildSourceEnum, dict[str, Any]]:
    """The source of a package of type ``source_type_text`` (scm, pypi, rubygems, ...)."""
    source = package_source_type(source_type_text)
    if source.parse is None:  # every package source is parsed from data; checked by a test
        raise SourceError(f"Package source type {source.name!r} cannot be parsed")
    return source.enum, source.parse(data, SourceContext(dist_git_url, package_name))


def build_source(
    source: SourceType, data: Mapping[str, Any], dist_git_url: str
) -> tuple[BuildSourceEnum, dict[str, Any]]:
    """A build's source of type ``source`` from ``build/create`` data."""
    if source.parse is None:
        raise SourceError(f"A {source.name} build needs an uploaded file")
    return source.enum, source.parse(data, SourceContext(dist_git_url))
