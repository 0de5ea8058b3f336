from __future__ import annotations

import pytest

from copr_common.chroots import (
    ChrootName,
    ChrootNameError,
    is_valid_chroot,
    match_chroots,
    parse_chroot,
)


@pytest.mark.parametrize(
    ("name", "os", "version", "arch"),
    [
        ("fedora-41-x86_64", "fedora", "41", "x86_64"),
        ("fedora-rawhide-aarch64", "fedora", "rawhide", "aarch64"),
        ("epel-9-ppc64le", "epel", "9", "ppc64le"),
        ("centos-stream-10-s390x", "centos-stream", "10", "s390x"),
        ("centos-stream+epel-next-9-x86_64", "centos-stream+epel-next", "9", "x86_64"),
        ("opensuse-leap-15.5-x86_64", "opensuse-leap", "15.5", "x86_64"),
        ("openeuler-22.03-i386", "openeuler", "22.03", "i386"),
        ("mageia-cauldron-armv7hl", "mageia", "cauldron", "armv7hl"),
    ],
)
def test_good_names(name: str, os: str, version: str, arch: str) -> None:
    chroot = parse_chroot(name)
    assert (chroot.os, chroot.version, chroot.arch) == (os, version, arch)
    assert str(chroot) == chroot.name == name
    assert chroot.distro == f"{os}-{version}"
    assert is_valid_chroot(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "not of the form"),
        ("fedora", "not of the form"),
        ("fedora-41", "not of the form"),
        ("fedora--x86_64", "not of the form"),
        ("-41-x86_64", "not of the form"),
        ("fedora-41-", "not of the form"),
        ("Fedora-41-x86_64", "invalid OS name 'Fedora'"),
        ("fedora-41-x86 64", "invalid arch"),
        ("fedora-4/1-x86_64", "invalid version"),
        ("fedora-41-x86_64/../..", "invalid arch"),
        ("1fedora-41-x86_64", "invalid OS name"),
        ("fedora-41-x86_64\n", "invalid arch"),
    ],
)
def test_bad_names(name: str, message: str) -> None:
    with pytest.raises(ChrootNameError, match=message):
        ChrootName.parse(name)
    assert not is_valid_chroot(name)


@pytest.mark.parametrize(
    ("name", "rawhide", "dist"),
    [
        ("fedora-41-x86_64", None, ".fc41"),
        ("fedora-rawhide-x86_64", 43, ".fc43"),
        ("fedora-rawhide-x86_64", None, ""),
        ("epel-9-x86_64", None, ".el9"),
        ("centos-stream-10-aarch64", None, ".el10"),
        ("rhel-8.10-x86_64", None, ".el8"),
        ("mageia-9-x86_64", None, ".mga9"),
        ("opensuse-tumbleweed-x86_64", None, ""),
        ("mageia-cauldron-x86_64", None, ""),
    ],
)
def test_dist_tag(name: str, rawhide: int | None, dist: str) -> None:
    assert parse_chroot(name).dist_tag(rawhide) == dist


def test_chroot_names_sort_and_hash() -> None:
    a, b = parse_chroot("fedora-41-x86_64"), parse_chroot("epel-9-x86_64")
    assert sorted([a, b]) == [b, a]
    assert {a, parse_chroot("fedora-41-x86_64")} == {a}


AVAILABLE = ["fedora-40-x86_64", "fedora-41-x86_64", "fedora-41-aarch64", "epel-9-x86_64"]


def test_match_wildcards_keeps_available_order() -> None:
    assert match_chroots(["*-x86_64"], AVAILABLE) == [
        "fedora-40-x86_64", "fedora-41-x86_64", "epel-9-x86_64",
    ]  # fmt: skip
    assert match_chroots(["epel-9-x86_64", "fedora-41-*"], AVAILABLE) == [
        "fedora-41-x86_64", "fedora-41-aarch64", "epel-9-x86_64",
    ]  # fmt: skip


def test_wildcard_matching_nothing_is_empty() -> None:
    assert match_chroots(["rhel-*"], AVAILABLE) == []


def test_exact_name_matching_nothing_is_an_error() -> None:
    with pytest.raises(ChrootNameError, match="'fedora-39-x86_64' does not exist"):
        match_chroots(["fedora-39-x86_64"], AVAILABLE)
