"""Sphinx configuration of the documentation site.

Build from the repository root (the README, CONVENTIONS.md and derivations/ are
pages of the site, so their links between each other resolve)::

    python -m sphinx -W --keep-going -b html -c docs . docs/_build/html

CI builds it the same way, with warnings as errors.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

import scaling_theory  # noqa: E402

project = "scaling-theory"
author = "the scaling-theory developers"
copyright = "2026, the scaling-theory developers"
release = scaling_theory.__version__
version = release

root_doc = "docs/index"
# only these files are pages (the site is built from the repository root)
include_patterns = ["README.md", "CONVENTIONS.md", "derivations/*.md", "docs/*.md"]
exclude_patterns = ["docs/_build/**", "docs/before-after/**"]

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "clihelp",
]

myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"                # the numpy-style docstrings carry the types
autodoc_default_options = {"members": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {"figure.figsize": (6.0, 4.0)}

html_theme = "alabaster"
html_title = f"scaling-theory {release}"
html_theme_options = {
    "description": "Solvable models of neural scaling laws: derivations, numerics to any precision, "
                   "simulations, sweeps.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_static_path: list[str] = []
html_extra_path = ["_extra"]          # index.html at the site's root: a redirect to docs/index.html
