"""JSON schemas of API v3's answers, as :mod:`copr_frontend.api.openapi` publishes them.

Every success body is described field by field, and resource objects allow no field
they do not list (``additionalProperties: false``): the in-suite fuzzer and schemathesis
check each answer against these, so a field added to a view without its line here
fails the tests instead of going undocumented.
"""

from __future__ import annotations

from typing import Any

from copr_common.enums import StatusEnum
from copr_frontend.builds.timings import BUILD_STAGES, TASK_STAGES

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
STRINGS: Schema = {"type": "array", "items": STRING}
STATE: Schema = {"type": "string", "enum": StatusEnum.labels()}

# Names as requests carry them (parameters and body fields, see copr_frontend.api.openapi).
PACKAGE_NAME: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9_.+-]+$", "maxLength": 200}
CHROOT_NAME: Schema = {"type": "string",
                       "pattern": r"^[a-z][a-z0-9_.+-]*-[a-z0-9][a-z0-9._]*-[a-z0-9_]+$",
                       "maxLength": 100}  # fmt: skip


def nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def strict(required: tuple[str, ...] | None = None, **properties: Schema) -> Schema:
    """An object of exactly these properties (all required unless ``required`` says)."""
    return {
        "type": "object",
        "required": list(properties if required is None else required),
        "properties": properties,
        "additionalProperties": False,
    }


def mapping(values: Schema) -> Schema:
    """An object whose keys are names (users, chroots, branches) and values ``values``."""
    return {"type": "object", "additionalProperties": values}


ERROR = strict(error=STRING)
HOME = strict(version={"type": "integer", "enum": [3]})

PROJECT = strict(
    id=INTEGER,
    name=STRING,
    ownername=STRING,
    full_name=STRING,
    homepage=STRING,
    contact=STRING,
    description=STRING,
    instructions=STRING,
    devel_mode=BOOLEAN,
    persistent=BOOLEAN,
    unlisted_on_hp=BOOLEAN,
    auto_prune=BOOLEAN,
    keep_builds=nullable(INTEGER),
    chroot_repos=mapping(STRING),
    additional_repos=STRINGS,
    enable_net=BOOLEAN,
    bootstrap=STRING,
    isolation=STRING,
    module_hotfixes=BOOLEAN,
    appstream=BOOLEAN,
    runtime_dependencies=STRINGS,
    packit_forge_projects_allowed=STRINGS,
    follow_fedora_branching=BOOLEAN,
    repo_priority=nullable(INTEGER),
    fedora_review=BOOLEAN,
    require_real_buildroot=BOOLEAN,
    rpmlint_fail_on_errors=BOOLEAN,
    rebuild_dependents=STRING,
    email_notifications=BOOLEAN,
    storage_usage=INTEGER,
    delete_after_days=nullable(INTEGER),
    forked_from=nullable(STRING),
    storage=STRING,
)
PROJECT_WITH_SECRET = strict(
    **PROJECT["properties"], webhook_secret={"type": "string", "minLength": 16}
)


def stage_timings(stages: tuple[str, ...]) -> Schema:
    """``timings``: the stages that have happened, each a Unix time with a fraction."""
    return strict((), **dict.fromkeys(stages, NUMBER))


BUILD = strict(
    id=INTEGER,
    state=STATE,
    ownername=STRING,
    projectname=STRING,
    project_dirname=STRING,
    repo_url=STRING,
    source_package=strict(name=nullable(STRING), version=nullable(STRING), url=nullable(STRING)),
    submitted_on=INTEGER,
    started_on=nullable(INTEGER),
    ended_on=nullable(INTEGER),
    submitter=nullable(STRING),
    chroots=STRINGS,
    is_background=BOOLEAN,
    fail_reason=nullable(STRING),
    timings=stage_timings(BUILD_STAGES),
    triggered_by=nullable(
        strict(build_id=INTEGER, package_name=nullable(STRING), project=STRING, wave_id=INTEGER)
    ),
)
BUILD_CHROOT = strict(
    name=STRING,
    started_on=nullable(INTEGER),
    ended_on=nullable(INTEGER),
    result_url=nullable(STRING),
    state=STATE,
    fail_reason=nullable(STRING),
    buildroot=nullable({"type": "string", "enum": ["mock", "host"]}),
    buildrequires_not_installed=nullable(STRINGS),
    timings=stage_timings(TASK_STAGES),
    rpmlint=nullable(
        strict(
            ("ran",),
            ran=BOOLEAN,
            reason=STRING,
            errors=INTEGER,
            warnings=INTEGER,
            findings={
                "type": "array",
                "items": strict(
                    package=STRING,
                    level={"type": "string", "enum": ["E", "W"]},
                    check=STRING,
                    detail=STRING,
                ),
            },
            report_url=nullable(STRING),
        )
    ),
    attestations=nullable(
        strict((), spdx=STRING, cyclonedx=STRING, provenance=STRING, provenance_signature=STRING)
    ),
)

# ``source_json`` of every source type, as clients read it; absent keys do not apply.
SOURCE_DICT: Schema = {
    **strict(
        (),
        url=STRING,
        pkg=STRING,
        tmp=STRING,
        type=STRING,
        clone_url=STRING,
        committish=nullable(STRING),
        subdirectory=nullable(STRING),
        spec=nullable(STRING),
        source_build_method=STRING,
        pypi_package_name=STRING,
        pypi_package_version=nullable(STRING),
        spec_generator=STRING,
        spec_template=nullable(STRING),
        python_versions=STRINGS,
        gem_name=STRING,
        script=STRING,
        chroot=nullable(STRING),
        builddeps=nullable(STRING),
        resultdir=nullable(STRING),
        repos=nullable(STRING),
        distgit=STRING,
        namespace=nullable(STRING),
        package_name=STRING,
    ),
}
SOURCE_BUILD_CONFIG = strict(
    source_type=STRING,
    source_dict=SOURCE_DICT,
    memory_limit=INTEGER,
    timeout=INTEGER,
    is_background=BOOLEAN,
)
SOURCE_CHROOT = strict(state=STATE, result_url=STRING)
BUILT_PACKAGE = strict(
    ("name",),
    name=STRING,
    epoch=nullable(INTEGER),
    version=STRING,
    release=STRING,
    arch=STRING,
)
BUILT_PACKAGES = strict(packages={"type": "array", "items": BUILT_PACKAGE})

REPO = strict(
    ("id", "baseurl", "name"),
    id=STRING,
    baseurl=STRING,
    name=STRING,
    priority=INTEGER,
    module_hotfixes=BOOLEAN,
)
REPOS: Schema = {"type": "array", "items": REPO}
_CONFIG_COMMON: dict[str, Schema] = {
    "chroot": STRING,
    "repos": REPOS,
    "additional_repos": REPOS,
    "additional_packages": STRINGS,
    "enable_net": BOOLEAN,
    "with_opts": STRINGS,
    "without_opts": STRINGS,
    "isolation": STRING,
    "bootstrap": STRING,
    "bootstrap_image": STRING,
}
PROJECT_CHROOT_BUILD_CONFIG = strict(
    tuple(k for k in (*_CONFIG_COMMON, "additional_modules") if k != "bootstrap_image"),
    **_CONFIG_COMMON,
    additional_modules=STRINGS,
)
BUILD_CHROOT_CONFIG = strict(
    tuple(k for k in (*_CONFIG_COMMON, "memory_limit", "timeout", "is_background")
          if k != "bootstrap_image"),
    **_CONFIG_COMMON,
    memory_limit=INTEGER,
    timeout=INTEGER,
    is_background=BOOLEAN,
)  # fmt: skip
PROJECT_CHROOT = strict(
    mock_chroot=STRING,
    projectname=STRING,
    ownername=STRING,
    comps_name=nullable(STRING),
    additional_repos=STRINGS,
    additional_packages=STRINGS,
    additional_modules=STRINGS,
    with_opts=STRINGS,
    without_opts=STRINGS,
    delete_after_days=nullable(INTEGER),
    isolation=STRING,
    bootstrap=STRING,
    bootstrap_image=nullable(STRING),
    follow_fedora_branching=BOOLEAN,
)

PACKAGE = strict(
    id=INTEGER,
    name=STRING,
    projectname=STRING,
    ownername=STRING,
    source_type=STRING,
    source_dict=SOURCE_DICT,
    auto_rebuild=BOOLEAN,
    max_builds=INTEGER,
    chroot_denylist=STRINGS,
    timeout=nullable(INTEGER),
    upstream_url=nullable(STRING),
    spec_url=nullable(STRING),
    builds=strict(latest=nullable(BUILD), latest_succeeded=nullable(BUILD)),
)

META = strict(
    ("limit", "offset", "order", "order_type", "total"),
    limit=INTEGER,
    offset=INTEGER,
    order=STRING,
    order_type={"type": "string", "enum": ["ASC", "DESC"]},
    total=INTEGER,
    # Ours: a full page ordered by id names its last id, to ask the next one after it.
    last_id=INTEGER,
)

NOTIFICATION_ENDPOINT = strict(
    id=INTEGER,
    ownername=STRING,
    projectname=STRING,
    url=STRING,
    events=STRINGS,
    enabled=BOOLEAN,
    disabled_reason=nullable(STRING),
    failures_in_row=INTEGER,
    created_on=INTEGER,
)
NOTIFICATION_ENDPOINT_WITH_SECRET = strict(**NOTIFICATION_ENDPOINT["properties"], secret=STRING)
NOTIFICATION_ENDPOINTS = strict(
    items={"type": "array", "items": NOTIFICATION_ENDPOINT}, meta=strict(total=INTEGER)
)
NOTIFICATION_DELIVERY = strict(
    id=INTEGER,
    endpoint_id=INTEGER,
    event=STRING,
    build_id=INTEGER,
    chroot=nullable(STRING),
    state=STRING,
    attempts=INTEGER,
    response_code=nullable(INTEGER),
    last_error=nullable(STRING),
    created_on=INTEGER,
    last_attempt_on=nullable(INTEGER),
    next_attempt_on=nullable(INTEGER),
    delivered_on=nullable(INTEGER),
)
WEBHOOK_INFO = strict(
    id=INTEGER,
    ownername=STRING,
    projectname=STRING,
    full_name=STRING,
    webhook_secret=nullable(STRING),
    forge_secret=nullable(STRING),
    urls=mapping(STRING),
)


def page(item: Schema) -> Schema:
    """``{"items": [...], "meta": {...}}`` of a paginated list."""
    return strict(items={"type": "array", "items": item}, meta=META)


# ``create/url`` answers with the list shape but no pagination.
BUILDS_CREATED = strict(items={"type": "array", "items": BUILD}, meta=strict(()))

USER = strict(id=INTEGER, name=STRING)
USER_SETTINGS = strict(name=STRING, mail=STRING, email_notifications=BOOLEAN)
QUOTA = strict(
    ownername=STRING,
    usage=INTEGER,
    limit=nullable(INTEGER),
    limit_source={"type": "string", "enum": ["default", "owner"]},
    exceeded=BOOLEAN,
    projects={"type": "array", "items": strict(name=STRING, usage=INTEGER)},
)
API_TOKEN = strict(api_login=STRING, api_token=STRING, expiration=STRING)
ROLE_STATE: Schema = {"type": "string", "enum": ["nothing", "request", "approved"]}
PERMISSIONS = strict(permissions=mapping(strict(admin=ROLE_STATE, builder=ROLE_STATE)))
PERMISSIONS_SET = strict(updated=STRINGS)
PERMISSIONS_REQUESTED = strict(updated=BOOLEAN)
CAN_BUILD_IN = strict(who=STRING, ownername=STRING, projectname=STRING, can_build_in=BOOLEAN)
BUILD_IDS = strict(builds={"type": "array", "items": INTEGER})
WAVE_CANCELED = strict(wave_id=INTEGER, builds={"type": "array", "items": INTEGER})
WAVE = strict(
    id=INTEGER,
    project=STRING,
    trigger_build_id=INTEGER,
    created_on=INTEGER,
    builds={"type": "array", "items": INTEGER},
    cycles={"type": "array", "items": STRINGS},
)
MESSAGE = strict(message=STRING)
MOCK_CHROOTS = mapping(STRING)

MONITOR_CHROOT = strict(
    ("build_id", "state", "status", "pkg_version"),
    build_id=INTEGER,
    state=STATE,
    status=INTEGER,
    pkg_version=nullable(STRING),
    url_build_log=nullable(STRING),
    url_backend_log=nullable(STRING),
    url_build=STRING,
)
DOWNLOADS = strict(
    ownername=STRING,
    projectname=STRING,
    days={"type": "array", "items": strict(day=INTEGER, rpm=INTEGER, repomd=INTEGER)},
    counts={
        "type": "array",
        "items": strict(
            day=INTEGER,
            chroot=STRING,
            package=nullable(STRING),
            kind={"type": "string", "enum": ["rpm", "repomd"]},
            count=INTEGER,
        ),
    },
)

MONITOR = strict(
    output={"type": "string", "enum": ["ok"]},
    message=STRING,
    packages={"type": "array", "items": strict(name=STRING, chroots=mapping(MONITOR_CHROOT))},
)

# The description itself: the parts a client relies on (its own schema is OpenAPI's).
OPENAPI_DOCUMENT: Schema = {
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.0\.\d+$"},
        "info": strict(("title", "version"), title=STRING, version=STRING, description=STRING),
        "servers": {"type": "array", "items": strict(url=STRING)},
        "components": {"type": "object"},
        "paths": {"type": "object", "minProperties": 1},
    },
    "additionalProperties": False,
}
