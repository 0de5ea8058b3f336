"""Key identities: ``<owner>#<project>@copr.<domain>``."""

from __future__ import annotations

import pytest

from copr_common.key_identity import InvalidIdentityError, KeyIdentity, key_identity


@pytest.mark.parametrize(
    ("text", "owner", "project", "domain"),
    [
        ("alice#hello@copr.example.org", "alice", "hello", "copr.example.org"),
        ("@group#my.proj+x@copr.fedorahosted.org", "@group", "my.proj+x", "copr.fedorahosted.org"),
        ("a_b-c#P_1@Copr.Example.Org", "a_b-c", "P_1", "copr.example.org"),
    ],
)
def test_parse(text: str, owner: str, project: str, domain: str) -> None:
    parsed = KeyIdentity.parse(text)
    assert (parsed.owner, parsed.project, parsed.domain) == (owner, project, domain)
    assert str(parsed) == f"{owner}#{project}@{domain}"


def test_key_identity_and_default_name() -> None:
    assert key_identity("@grp", "proj", "copr.example.org") == "@grp#proj@copr.example.org"
    assert KeyIdentity.parse("alice#hello@copr.example.org").default_name_real == "alice_hello"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("alice@copr.example.org", "expected <owner>#<project>"),
        ("alice#hello", "expected <owner>#<project>"),
        ("alice#hello@example.org", "copr.<domain>"),
        ("alice#hello@copr.", "copr.<domain>"),
        ("alice#hello@copr.exa mple.org", "no spaces"),
        ("alice#hello@copr.exa_mple.org", "copr.<domain>"),
        ("al ice#hello@copr.example.org", "no spaces"),
        ("al%ice#hello@copr.example.org", "owner"),
        ("#hello@copr.example.org", "owner"),
        ("alice#@copr.example.org", "project name"),
        ("alice#hel/lo@copr.example.org", "project name"),
        ("alice#123@copr.example.org", "just a number"),
        ("alice#hello\n@copr.example.org", "control characters"),
        ("alice#" + "p" * 300 + "@copr.example.org", "at most 255"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentityError, match=message.replace("+", r"\+")):
        KeyIdentity.parse(text)
