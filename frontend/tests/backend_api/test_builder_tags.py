"""Builder tags: from the mock chroot, the project chroot, the package and the build's
resource needs, in the pending-jobs feed and the task; set by admins with the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from pydantic import ValidationError

from copr_common.enums import StatusEnum
from copr_frontend.cli import main
from copr_frontend.packages.models import Package
from copr_frontend.projects.models import ProjectChroot
from copr_frontend.settings import FrontendSettings, ResourceTagRule
from copr_frontend.testing import Factory

CHROOT = "fedora-42-x86_64"
POWERFUL = "on_demand_powerful"


@pytest.fixture
def settings(settings: FrontendSettings) -> FrontendSettings:
    rules = [
        ResourceTagRule(min_memory_reqs=8192, tags=[POWERFUL]),
        ResourceTagRule(min_timeout=20 * 3600, tags=[POWERFUL, "long_build"]),
    ]
    return settings.model_copy(update={"builder_resource_tags": rules})


@pytest.fixture
def run(settings: FrontendSettings):  # type: ignore[no-untyped-def]
    env = {
        "COPR_FRONTEND_DATABASE_URL": settings.database_url,
        "COPR_FRONTEND_SECRET_KEY": settings.secret_key,
        "COPR_FRONTEND_BACKEND_PASSWORD": settings.backend_password,
    }

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=env)

    return invoke


def _tags(client, build_id: int) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The task's tags in the pending-jobs feed and in its full task."""
    task_id = f"{build_id}-{CHROOT}"
    jobs = client.get("/backend/pending-jobs/").get_json()
    (short,) = [job for job in jobs if job["task_id"] == task_id]
    full = client.get(f"/backend/get-build-task/{task_id}/").get_json()
    return short["tags"], full["tags"]


def _pending_build(factory: Factory, project, package, **options):  # type: ignore[no-untyped-def]
    return factory.build(
        project,
        package=package,
        source_status=StatusEnum.succeeded,
        chroot_status=StatusEnum.pending,
        **options,
    )


def test_a_task_has_the_tags_of_its_chroots_package_and_resource_needs(
    client, factory: Factory, run
) -> None:  # type: ignore[no-untyped-def]
    mock_chroot = factory.mock_chroot(CHROOT)
    mock_chroot.tags = ["arch_x86_64_v3"]
    project = factory.project(factory.user("ann"), "big", chroots=[CHROOT])
    package = factory.package(project, "huge")
    other = factory.package(project, "small")
    factory.session.commit()
    assert run("builder-tags", "ann/big", "--chroot", CHROOT, "--tag", "ssd").exit_code == 0
    result = run("builder-tags", "ann/big", "--package", "huge", "--tag", POWERFUL, "--tag", "ssd")
    assert result.exit_code == 0, result.output
    assert "builder tags on_demand_powerful ssd" in result.output

    tagged = _pending_build(factory, project, package)
    assert _tags(client, tagged.id) == (["arch_x86_64_v3", "ssd", POWERFUL],) * 2
    plain = _pending_build(factory, project, other)
    assert _tags(client, plain.id) == (["arch_x86_64_v3", "ssd"],) * 2
    hungry = _pending_build(factory, project, other, memory_reqs=16384)
    assert _tags(client, hungry.id) == (["arch_x86_64_v3", "ssd", POWERFUL],) * 2
    slow = _pending_build(factory, project, other, timeout=24 * 3600)
    assert _tags(client, slow.id) == (["arch_x86_64_v3", "ssd", POWERFUL, "long_build"],) * 2

    assert run("builder-tags", "ann/big", "--chroot", CHROOT, "--clear").exit_code == 0
    assert _tags(client, plain.id) == (["arch_x86_64_v3"],) * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ann/big", "--chroot", CHROOT, "--tag", "two words"], "is not a word"),
        (["ann/big", "--chroot", CHROOT, "--tag", "-x"], "is not a word"),
        (["ann/big", "--chroot", "epel-9-x86_64", "--tag", "x"], "has no chroot epel-9-x86_64"),
        (["ann/big", "--package", "nope", "--tag", "x"], "has no package nope"),
        (["ann/none", "--package", "huge", "--tag", "x"], "project ann/none does not exist"),
        (["ann/big", "--tag", "x"], "name a chroot or a package"),
        (["ann/big", "--chroot", CHROOT, "--package", "huge", "--tag", "x"], "one of them"),
        (["ann/big", "--chroot", CHROOT], "give --tag"),
        (["ann/big", "--chroot", CHROOT, "--tag", "x", "--clear"], "give --tag"),
        (["big", "--chroot", CHROOT, "--tag", "x"], "is not OWNER/PROJECT"),
    ],
)
def test_bad_builder_tags_are_refused_and_nothing_is_stored(
    factory: Factory, run, args: list[str], message: str
) -> None:  # type: ignore[no-untyped-def]
    project = factory.project(factory.user("ann"), "big", chroots=[CHROOT])
    factory.package(project, "huge")
    factory.session.commit()
    result = run("builder-tags", *args)
    assert result.exit_code != 0
    assert message in result.output
    factory.session.expire_all()
    assert all(c.builder_tags == [] for c in factory.session.query(ProjectChroot))
    assert all(p.builder_tags == [] for p in factory.session.query(Package))


@pytest.mark.parametrize(
    "rule",
    [
        {"tags": [POWERFUL]},  # no threshold
        {"tags": [], "min_memory_reqs": 1},
        {"tags": ["a b"], "min_memory_reqs": 1},
        {"tags": [POWERFUL], "min_timeout": 0},
        {"tags": [POWERFUL], "min_memory_reqs": 1, "cpus": 8},
    ],
)
def test_bad_resource_tag_rules_are_settings_errors(rule: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ResourceTagRule.model_validate(rule)
