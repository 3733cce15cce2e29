"""Gallery helpers: run each example with small settings and show the PNG files it saves.

The examples are command-line scripts that write their figures with ``--out`` and close them,
so sphinx-gallery's matplotlib scraper would find none; this scraper collects the PNG files
written to the example's output folder while a code block ran.
"""

import os
import shutil
import tempfile
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

_OUT = Path(tempfile.mkdtemp(prefix="bwestimators-gallery-"))


def _out_dir(script_name):
    return _OUT / Path(script_name).stem


def example_argv(gallery_conf, script_vars):
    """Command-line arguments of an example: quick settings unless a full build is asked."""
    quick = [] if os.environ.get("BWESTIMATORS_DOCS_FULL") == "1" else ["--quick"]
    return [*quick, "--out", str(_out_dir(script_vars["src_file"]))]


_SEEN = set()


def scrape_saved_figures(block, block_vars, gallery_conf):
    """Copy the PNGs an example saved during a code block next to its gallery page."""
    out = _out_dir(block_vars["src_file"])
    new = sorted(p for p in out.glob("*.png") if p not in _SEEN)
    _SEEN.update(new)
    paths = []
    for png, target in zip(new, block_vars["image_path_iterator"], strict=False):
        shutil.copyfile(png, target)
        paths.append(target)
    # one full-width image per figure (a list of several would shrink them to thumbnails)
    return "".join(figure_rst([path], gallery_conf["src_dir"]) for path in paths)
