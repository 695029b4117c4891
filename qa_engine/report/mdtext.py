"""Text from the input, a form, the policy or a rule file made inert in report.md: one escaper for the whole file.

Why this module exists: report.md is built by narrative.py and, for a run that read audit forms, by
judgements.py (which narrative.py imports, so the escaper cannot live in narrative.py). Two escapers had
grown apart: the judgement section turned control characters into spaces where the rest of the report
shows them as [U+XXXX], and left criterion titles and question texts from criteria.yaml unescaped.
"""

from __future__ import annotations

import re

from qa_engine.base.text import display

__all__ = ["md"]

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#!|~&])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What Markdown reads as the end of a line."""


def md(text: object) -> str:
    """Text as Markdown that shows it literally: every character Markdown or HTML gives a meaning to is
    backslash-escaped (so no tag, image, link, table cell or javascript: URL is ever made), line breaks (CR, LF)
    become spaces and control characters are shown as [U+XXXX] (qa_engine.base.text). None is empty."""
    if text is None:
        return ""
    return _MARKDOWN.sub(r"\\\1", display(" ".join(_LINE_BREAK.split(str(text)))))
