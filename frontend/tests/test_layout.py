"""The frontend's import layering, read from the source with ``ast`` (nothing is imported).

* Only the CLI and the app factory itself (the WSGI entry) import ``copr_frontend.app``:
  the factory imports every view module, so a view importing it back closes a cycle.
  Views take the settings from ``copr_frontend.context``.
* No API module (``api.py``, ``*_api.py``) imports another: what several routes share
  lives in ``<domain>/serialize.py`` and logic modules.
* One set of input coercers (``copr_frontend.validation``): no module defines its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import copr_frontend

PACKAGE = Path(copr_frontend.__file__).parent
# The entry points that make apps: the CLI, the factory itself, the tests' pytest plugin.
APP_IMPORTERS = {"cli.py", "app.py", "testing.py"}
# The framework package ``copr_frontend.api`` is not a resource module.
FRAMEWORK = "copr_frontend.api"


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(PACKAGE)), ast.parse(path.read_text(), str(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module or package of ``copr_frontend`` (not a function)."""
    parts = name.split(".")
    if parts[0] != "copr_frontend":
        return False
    path = PACKAGE.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(tree: ast.Module) -> set[str]:
    """The frontend modules an import in ``tree`` names (``from a import b``: a, and a.b
    when b is a module).
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if _is_module(name)}


def _is_api_module(name: str) -> bool:
    """An API resource module: a file ``api.py`` or ``*_api.py`` (not a package)."""
    parts = name.split(".")
    last = parts[-1]
    is_file = PACKAGE.joinpath(*parts[1:]).with_suffix(".py").is_file()
    return is_file and (last == "api" or last.endswith("_api")) and name != FRAMEWORK


def test_only_the_cli_and_wsgi_entry_import_the_app() -> None:
    offenders = [
        path
        for path, tree in _modules()
        if path not in APP_IMPORTERS and "copr_frontend.app" in _imported(tree)
    ]
    assert offenders == [], "import copr_frontend.context instead of copr_frontend.app"


def test_api_modules_do_not_import_each_other() -> None:
    offenders = sorted(
        (path, name)
        for path, tree in _modules()
        if _is_api_module("copr_frontend." + path.removesuffix(".py").replace("/", "."))
        for name in _imported(tree)
        if _is_api_module(name)
    )
    assert offenders == [], "move what routes share into serialize.py or a logic module"


def test_the_checks_see_imports() -> None:
    """The checks above parse what they should: a known import is found."""
    modules = dict(_modules())
    assert "copr_frontend.app" in _imported(modules["cli.py"])
    assert "copr_frontend.api.params" in _imported(modules["builds/api.py"])
    assert "copr_frontend.api.register_api" not in _imported(modules["app.py"])
    assert _is_api_module("copr_frontend.builds.rpm_upload_api")
    assert not _is_api_module("copr_frontend.api.params")
    assert not _is_api_module("copr_frontend.backend_api")  # a package of routes


# The coercers that once had copies (backend API, transitions, API params; sources'
# ``_text`` is not listed: other modules have ``_text`` helpers building text responses).
COERCER_NAMES = {"_int", "_int_or_none", "int_param", "to_int", "to_text", "to_bool", "to_list"}


def test_one_set_of_coercers() -> None:
    defined = sorted(
        (path, node.name)
        for path, tree in _modules()
        if path != "validation.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in COERCER_NAMES
    )
    assert defined == [], "use the coercers of copr_frontend.validation"
