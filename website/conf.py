"""Sphinx configuration of the course website (``make site``; ``website/build.py`` runs it).

The source folder is the one ``website/build.py`` assembles under ``build/``: the committed
executed notebooks, ``docs/``, ``benchmarks/results/`` and the top-level pages at their paths in
the checkout, so every relative link between them works on the site as it does on disk.
Notebooks are never executed here (``nb_execution_mode = "off"``, myst-nb's documented setting):
the site shows the outputs nbval verifies.
"""

from pathlib import Path

import astroid

import lstm_lessons

project = "lstm-lessons"
author = "the lstm-lessons authors"
copyright = "the lstm-lessons authors, MIT licence"
version = release = lstm_lessons.__version__

extensions = ["myst_nb", "sphinx_design", "sphinx.ext.napoleon", "autoapi.extension"]

root_doc = "index"
# downloads/: the committed notebooks as they are, for the "Download the notebook" links.
exclude_patterns = ["_doctrees", "downloads"]
templates_path = []

# Notebooks: shown as committed, never run (https://myst-nb.readthedocs.io/en/latest/computation/execute.html).
nb_execution_mode = "off"
nb_merge_streams = True
# Markdown: anchors for headings down to ###, so links such as testing.md#the-budget resolve
# (https://myst-parser.readthedocs.io/en/latest/syntax/optional.html#auto-generated-header-anchors).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# The API reference, read from the source without importing it (sphinx-autoapi): the public
# modules, classes and functions with their docstrings.
autoapi_dirs = [str(Path(__file__).resolve().parent.parent / "lstm_lessons")]
autoapi_root = "api"
autoapi_options = ["members", "undoc-members", "show-inheritance", "show-module-summary"]
autoapi_ignore = ["*/course/*"]
autoapi_add_toctree_entry = False
autoapi_keep_files = True
autoapi_member_order = "groupwise"
# autoapi's reader (astroid) follows every import to infer values, into pandas and Keras too,
# most of the build's time; the reference documents this package, and names other libraries'
# objects as written, so astroid is told not to load them (its AstroidManager.module_denylist).
THIRD_PARTY = ("pandas", "numpy", "keras", "tensorflow", "sklearn", "scipy", "matplotlib", "joblib",
               "IPython", "traitlets", "nbformat", "nbconvert", "nbclient", "papermill", "mistune",
               "distributed", "dask", "cryptography", "tqdm", "psutil", "jupyter_client")
astroid.MANAGER.module_denylist.update(THIRD_PARTY)
# Google-style docstrings (Args:, Raises:); a class's Attributes: section as fields, since
# autoapi documents the attributes themselves (https://www.sphinx-doc.org/en/master/usage/extensions/napoleon.html).
napoleon_use_ivar = True
# autoapi reads the source without running it, so it cannot follow a name bound inside an ``if``
# (``lstm_lessons._tf.keras``) or by unpacking a tuple; such imports only lose a cross-reference.
suppress_warnings = ["autoapi.python_import_resolution"]

html_theme = "sphinx_book_theme"
html_title = "lstm-lessons"
html_favicon = "_static/favicon.svg"
html_static_path = ["_static"]
html_css_files = ["site.css"]
# Each lesson links to its committed notebook; the pages' own sources are not offered.
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
# The colour mode of a first visit; left unset, pydata-sphinx-theme logs a console error
# (https://pydata-sphinx-theme.readthedocs.io/en/stable/user_guide/light-dark.html).
html_context = {"default_mode": "auto"}
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # The sidebar shows the pages of the toctrees, not the sections inside each page (the
    # right-hand column has those): quicker to read, and to build.
    "max_navbar_depth": 2,
    "collapse_navbar": True,
}
