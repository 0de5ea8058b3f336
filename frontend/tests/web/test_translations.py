"""The catalogs are complete: every string of the web UI's sources is translated in every
offered language, with the same placeholders, and the compiled catalogs are current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from copr_frontend.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, TRANSLATIONS

FRONTEND = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
LANGS = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]


def source_messages() -> set[str]:
    method_map = [
        ("copr_frontend/**.py", "python"),
        ("copr_frontend/templates/**.html", "jinja2"),
        ("copr_frontend/templates/**.xml", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(FRONTEND), method_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_is_translated(lang: str) -> None:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as stream:
        catalog = read_po(stream)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{lang}: untranslated {key!r}"
        assert not message.fuzzy, f"{lang}: fuzzy {key!r}"
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(key)), (lang, key)
        translated[key] = strings
    missing = sorted(source_messages() - set(translated))
    assert not missing, f"{lang}: not in the catalog (run pybabel extract/update): {missing}"


def test_the_template_holds_every_source_string() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as stream:
        template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(stream) if m.id}
    assert source_messages() <= template


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalog_matches_the_po_file(lang: str) -> None:
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        source, compiled = read_po(po), read_mo(mo)

    def entries(catalog: object) -> dict[object, object]:
        def plain(value: object) -> object:
            return tuple(value) if isinstance(value, list | tuple) else value

        return {plain(m.id): plain(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]

    assert entries(source) == entries(compiled)


def test_the_czech_ui_shows_czech(client) -> None:
    page = client.get("/", headers={"Accept-Language": "cs,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="cs">' in page
    assert "Nedávná sestavení" in page
    assert "Recent builds" not in page
    # The footer switch sets the choice, which wins over Accept-Language.
    response = client.get("/language/en/?next=/coprs/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/coprs/"
    page = client.get("/", headers={"Accept-Language": "cs"}).get_data(as_text=True)
    assert "Recent builds" in page
