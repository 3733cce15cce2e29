"""The documentation: user-guide code runs, every public name has an API page and an example."""

import ast
import doctest
import importlib
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDE_PAGES = sorted((DOCS / "user_guide").glob("*.rst"))

#: Public modules; the API reference must list every name they export (``__all__``, else the
#: public classes and functions they define).
PUBLIC_MODULES = (
    "bwestimators",
    "bwestimators.display",
    "bwestimators.datasets",
    "bwestimators.power",
    "bwestimators.model_selection",
    "bwestimators.metrics",
)


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.stem)
def test_user_guide_code_blocks_run(page):
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} code block(s) of {page.name} failed"
    if page.stem not in ("index", "command_line"):
        assert result.attempted > 0, f"{page.name} has no code that runs"


def test_user_guide_pages_are_in_the_toctree():
    index = (DOCS / "user_guide" / "index.rst").read_text()
    for page in GUIDE_PAGES:
        if page.stem != "index":
            assert re.search(rf"^\s+{page.stem}$", index, re.M), page.stem


def _public_names():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                name
                for name, obj in vars(module).items()
                if (inspect.isclass(obj) or inspect.isfunction(obj))
                and obj.__module__ == module_name
            ]
        for name in names:
            if not name.startswith("_"):
                yield module_name, name


def test_every_public_name_has_an_api_page_with_a_runnable_example():
    api = (DOCS / "api.rst").read_text()
    listed = {entry.rsplit(".", 1)[-1] for entry in re.findall(r"^\s{3}([\w.]+)$", api, re.M)}
    missing, without_example = [], []
    for module_name, name in _public_names():
        obj = getattr(importlib.import_module(module_name), name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants are documented in their module's docstring
        if name not in listed:
            missing.append(f"{module_name}.{name}")
        if "Examples\n" not in (inspect.getdoc(obj) or "") + "\n":
            without_example.append(f"{module_name}.{name}")
    assert not missing, f"not in docs/api.rst: {missing}"
    assert not without_example, f"no Examples section: {without_example}"


def test_api_lists_only_names_that_exist():
    api = (DOCS / "api.rst").read_text()
    module = "bwestimators"
    for line in api.splitlines():
        current = re.match(r"\.\. currentmodule:: ([\w.]+)", line)
        if current:
            module = current.group(1)
            continue
        entry = re.match(r"^\s{3}([\w.]+)$", line)
        if entry:
            obj = importlib.import_module(module)
            for part in entry.group(1).split("."):
                obj = getattr(obj, part)
            assert obj is not None


@pytest.mark.parametrize(
    "script", sorted((DOCS.parent / "examples").glob("plot_*.py")), ids=lambda p: p.stem
)
def test_examples_are_gallery_pages(script):
    """sphinx-gallery needs an rst title; the gallery runs a script with an empty __doc__."""
    source = script.read_text()
    lines = ast.get_docstring(ast.parse(source), clean=False).splitlines()
    assert lines[1] == "=" * len(lines[0]), f"{script.name}: underline the first line with '='"
    assert "__doc__.splitlines()" not in source, "pass __doc__ itself to _settings.parse"
