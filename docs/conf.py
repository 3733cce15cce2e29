"""Sphinx configuration of the bwestimators documentation.

Build with ``bash tools/venv.sh docs && .venv/bin/sphinx-build -W -b html docs docs/_build/html``.
The gallery runs every ``examples/plot_*.py`` script with ``--quick`` (small data, few draws) and
shows the PNG files it saves; ``BWESTIMATORS_DOCS_FULL=1`` runs them at full size.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the gallery scraper below
sys.path.insert(0, str(HERE.parent / "examples"))  # examples import their _settings module

import bwestimators  # noqa: E402

project = "bwestimators"
author = "bwestimators developers"
copyright = "2026, bwestimators developers"
release = version = bwestimators.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.codeobj.json"]
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
default_role = "literal"
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = "bwestimators"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "header_links_before_dropdown": 5,
}
html_static_path = []
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|_settings)\.py",
    "reset_argv": "_gallery.example_argv",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("bwestimators",),
    "image_scrapers": ("_gallery.scrape_saved_figures",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": os.environ.get("BWESTIMATORS_DOCS_GALLERY", "True"),
    "within_subsection_order": "FileNameSortKey",
}
