"""Text that may come from a hand-in or a notebook (an exception's message, a file name, a claim's
name), made safe to show: on one line of a terminal or a table (:func:`one_line`), in a CSV cell
(:func:`csv_text`), as literal Markdown (:func:`markdown_text`). The grader's reports, the command
line and the lessons' run summary share them."""

from __future__ import annotations

import re

from lstm_lessons.params import cut

MESSAGE_CHARACTERS = 500
"""The most characters of a message a table, a page or the terminal shows in one line."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e"
                     "\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
"""Control characters (C0 with CR, LF, TAB, ESC and BEL; DEL; C1), zero-width, invisible and
direction marks and overrides (the Arabic letter mark included), the byte-order mark, tag
characters, and Unicode's line and paragraph separators."""


def one_line(text, limit: int = MESSAGE_CHARACTERS) -> str:
    """Text that may come from a hand-in (an exception's message, a file name), safe for one line
    of a table, a page or a terminal: every character of :data:`_UNSAFE` becomes a space (a bare
    CR can split a CSV record, ESC sequences retitle a terminal or rewrite what it shows, a
    direction override reorders what a reader sees), and the text is cut at ``limit`` characters
    (the cut ends in ``...``). A lone surrogate (a file name's byte that is not UTF-8, as Python
    decodes it) becomes its escape, ``\\udcff``, so that the text can be written as UTF-8."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return cut(_UNSAFE.sub(" ", text), limit)


def csv_text(text) -> str:
    """:func:`one_line` for a CSV cell, neutralised as OWASP recommends against CSV injection
    (https://owasp.org/www-community/attacks/CSV_Injection): a cell that starts with ``=``,
    ``+``, ``-``, ``@`` (or a tab or CR, already spaces here) gets a leading ``'``, so that a
    spreadsheet shows it as text instead of running it as a formula."""
    text = one_line(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


MARKDOWN_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
"""ASCII punctuation, every character of which CommonMark lets a backslash make literal
(https://spec.commonmark.org/0.31.2/#backslash-escapes)."""


def markdown_text(text) -> str:
    """Text that may come from a hand-in (an exception's message, a file name), as literal text on
    one line of Markdown (a line, a table cell): :func:`one_line`, then every ASCII punctuation
    character backslash-escaped, so that it makes no link, image, emphasis, heading, code, math
    or table column (``[full marks](https://...)`` stays text: a page must not offer a hand-in's
    link to the instructor)."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", one_line(text))
