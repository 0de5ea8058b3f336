"""The licence check of imports: SPDX expressions, allow and deny lists, clear refusals
that store nothing; off by default, as in Copr."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from copr_distgit.importer import ImportFailure, import_srpm, run_import
from copr_distgit.licenses import LicenseRefused, check_license
from copr_distgit.settings import DistGitSettings
from copr_distgit.task import ImportTask

MakeSrpm = Callable[..., Path]
MakeTask = Callable[..., ImportTask]


def checked(settings: DistGitSettings, **policy: Any) -> DistGitSettings:
    return DistGitSettings.model_validate(
        {**settings.model_dump(), "license_check": True, **policy}
    )


def stored_repos(settings: DistGitSettings) -> list[Path]:
    return list(settings.git_root.rglob("*.git")) if settings.git_root.exists() else []


@pytest.mark.parametrize(
    ("tag", "identifiers"),
    [
        ("MIT", ["MIT"]),
        ("GPL-2.0-or-later AND (MIT OR Apache-2.0)", ["GPL-2.0-or-later", "MIT", "Apache-2.0"]),
        ("GPL-2.0-or-later WITH Classpath-exception-2.0", None),
    ],
)
def test_spdx_expressions_pass(tag: str, identifiers: list[str] | None) -> None:
    found = check_license(tag)
    if identifiers is not None:
        assert found == identifiers
    assert "GPL-2.0-or-later" in found or "MIT" in found


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("GPLv2+", r"License 'GPLv2\+' is not an SPDX licence expression \(Unknown license key"),
        ("Public Domain", r"not an SPDX licence expression"),
        ("MIT AND", r"not an SPDX licence expression"),
        ("MIT OR (", r"not an SPDX licence expression"),
        ("", r"^the spec has no License tag$"),
    ],
)
def test_what_is_not_spdx_is_refused(tag: str, message: str) -> None:
    with pytest.raises(LicenseRefused, match=message):
        check_license(tag)


def test_allow_and_deny_lists_name_the_offender() -> None:
    with pytest.raises(LicenseRefused, match=r"^License 'MIT AND SSPL-1.0': SSPL-1.0 is not "):
        check_license("MIT AND SSPL-1.0", denied=["SSPL-1.0"])
    with pytest.raises(LicenseRefused, match=r": GPL-3.0-only, BSD-3-Clause are not accepted"):
        check_license("MIT OR GPL-3.0-only OR BSD-3-Clause", allowed=["MIT", "Apache-2.0"])
    assert check_license("MIT OR Apache-2.0", allowed=["MIT", "Apache-2.0"]) == [
        "MIT",
        "Apache-2.0",
    ]


def test_settings_take_spdx_identifiers_only(settings: DistGitSettings) -> None:
    assert checked(settings, license_allowed=["mit", "apache-2.0"]).license_allowed == [
        "MIT",
        "Apache-2.0",
    ]
    with pytest.raises(ValidationError, match="'GPLv3' is not an SPDX licence identifier"):
        checked(settings, license_denied=["GPLv3"])
    with pytest.raises(ValidationError, match="is an expression, not one licence identifier"):
        checked(settings, license_allowed=["MIT OR Apache-2.0"])


def test_off_by_default(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    assert settings.license_check is False
    result = import_srpm(settings, make_task(1), make_srpm("oldstyle", "1.0", license="GPLv2+"))
    assert result.pkg_version == "1.0-1"


def test_a_refused_licence_fails_the_import_and_stores_nothing(
    settings: DistGitSettings, make_srpm: MakeSrpm, make_task: MakeTask
) -> None:
    strict = checked(settings, license_denied=["SSPL-1.0"])
    srpm = make_srpm("mongo", "1.0", license="SSPL-1.0")
    with pytest.raises(ImportFailure, match=r"^License 'SSPL-1.0': SSPL-1.0 is not accepted"):
        import_srpm(strict, make_task(1, pkg_name="mongo"), srpm)
    assert stored_repos(strict) == []
    if strict.lookaside_root.exists():
        assert [p for p in strict.lookaside_root.rglob("*") if p.is_file()] == []
    accepted = import_srpm(strict, make_task(2), make_srpm("hello", "2.0", license="MIT"))
    assert set(accepted.branch_commits) == {"f41", "f42"}


def test_the_builds_failure_says_why(
    settings: DistGitSettings, frontend: Any, make_srpm: MakeSrpm
) -> None:
    """What the frontend gets in import-completed/: the build's fail reason."""
    strict = checked(settings)
    url = frontend.srpm_url(make_srpm("hello", "3.0", license="Proprietary-Foo"))
    task = {
        "build_id": 7, "owner": "alice", "project": "demo", "branches": ["f42"],
        "pkg_name": "hello", "srpm_url": url, "sandbox": "alice--alice", "background": False,
    }  # fmt: skip
    payload = run_import(strict, ImportTask.from_dict(task))
    assert payload["branch_commits"] == {}
    assert payload["error"].startswith(
        "License 'Proprietary-Foo' is not an SPDX licence expression "
        "(Unknown license key(s): Proprietary-Foo)"
    )
    assert "License 'Proprietary-Foo'" in (strict.per_task_log_root / "7.log").read_text()
    assert stored_repos(strict) == []
