"""Sphinx configuration of the course website (``make site``; ``website/build.py`` runs it).

The source folder is the one ``website/build.py`` assembles under ``build/``: the committed
executed notebooks, ``docs/``, ``benchmarks/results/`` and the top-level pages at their paths in
the checkout, so every relative link between them works on the site as it does on disk.
Notebooks are never executed here (``nb_execution_mode = "off"``, myst-nb's documented setting):
the site shows the outputs nbval verifies.
"""

import logging
from pathlib import Path

import astroid
from sphinx.ext import napoleon

import lstm_lessons  # the checkout's: website/build.py, which runs this build, puts it first on the path

ROOT = Path(__file__).resolve().parent.parent

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
autoapi_dirs = [str(ROOT / "lstm_lessons")]
autoapi_root = "api"
# No summary tables: they show each docstring's first line, and many first sentences run on.
autoapi_options = ["members", "undoc-members", "show-inheritance", "imported-members"]
# The exercises' checks are left out: their constants' docstrings work out the answers.
autoapi_ignore = ["*/course/*", "*/exercises.py"]
autoapi_add_toctree_entry = False
autoapi_keep_files = True
autoapi_member_order = "groupwise"
# autoapi's reader (astroid) follows imports to infer values, into pandas and Keras too, which
# took a third of the build's time. The reference documents this package and names other
# libraries' objects as written, so astroid is told not to load these top-level modules (its
# AstroidManager.module_denylist; their submodules, imported by name, still load). What is lost:
# a method that overrides Keras's (``on_epoch_end``) no longer shows Keras's docstring.
THIRD_PARTY = ("pandas", "numpy", "keras", "tensorflow", "sklearn", "scipy", "matplotlib", "joblib",
               "IPython", "traitlets", "nbformat", "nbconvert", "nbclient", "papermill", "mistune",
               "distributed", "dask", "cryptography", "tqdm", "psutil", "jupyter_client")
astroid.MANAGER.module_denylist.update(THIRD_PARTY)
# Google-style docstrings (Args:, Raises:); a class's Attributes: section as fields, since
# autoapi documents the attributes themselves (https://www.sphinx-doc.org/en/master/usage/extensions/napoleon.html).
napoleon_use_ivar = True
# A docstring's cross-reference by full name to this package (``lstm_lessons.doctor...``) must
# resolve, or the build fails. Not checked: references to other libraries (no inventory of theirs
# offline) and short names (``:func:`load_history```), which Sphinx reports unresolved under the
# name as written (https://www.sphinx-doc.org/en/master/usage/configuration.html#confval-nitpicky).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!lstm_lessons\b).*")]
PRIVATE_NAMES = {"lstm_lessons._tf.keras": "keras", "lstm_lessons._tf.tf": "tensorflow"}
"""Names autoapi resolves through the package's private import module, and the public names
the reference shows instead (a return type ``keras.Model``, not ``lstm_lessons._tf.keras.Model``)."""

html_theme = "sphinx_book_theme"
html_title = "the lstm-lessons course"
# Signatures without their module's path, which the page's title already gives.
add_module_names = False
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
    # One search box, the sidebar's: pydata-sphinx-theme also puts one in a header bar unless this
    # is set (https://pydata-sphinx-theme.readthedocs.io/en/stable/user_guide/search.html).
    "navbar_persistent": [],
    # The landing page's cards take the whole width: no "Contents" column beside them.
    "secondary_sidebar_items": {"**": ["page-toc.html"], "index": []},
}


def napoleon_except_data(app, what, name, obj, options, lines):
    """Napoleon's reading of Google-style sections, for every docstring but a constant's, an
    attribute's or a property's: napoleon reads those as ``type: description``, so a constant
    documented as "Exercise 2: ..." would show the type "Exercise 2"."""
    if what not in ("data", "attribute", "property"):
        napoleon._process_docstring(app, what, name, obj, options, lines)


def public_names(app, docname, source):
    """Show the public names of :data:`PRIVATE_NAMES` in the API reference's pages."""
    if docname.startswith("api/"):
        for private, public in PRIVATE_NAMES.items():
            source[0] = source[0].replace(private, public)


class PrivateImports(logging.Filter):
    """Drop autoapi's warning that it cannot resolve an import from ``lstm_lessons._tf``: that
    module binds ``keras`` and ``tf`` inside an ``if``, which a reader of the source cannot
    follow, and the reference names them by :data:`PRIVATE_NAMES`. Any other unresolved import
    still fails the build."""

    def filter(self, record):
        return "Cannot resolve import of lstm_lessons._tf." not in record.getMessage()


def setup(app):
    logging.getLogger("sphinx.autoapi._mapper").addFilter(PrivateImports())
    # napoleon's handler is replaced by napoleon_except_data; if a new Sphinx registers it some
    # other way, stop rather than let the constants' docstrings be misread again.
    napoleons = [listener for listener in app.events.listeners["autodoc-process-docstring"]
                 if listener.handler is napoleon._process_docstring]
    if len(napoleons) != 1:
        raise RuntimeError(f"expected napoleon's docstring handler once, found {len(napoleons)}")
    app.disconnect(napoleons[0].id)
    app.connect("autodoc-process-docstring", napoleon_except_data)
    app.connect("source-read", public_names)
