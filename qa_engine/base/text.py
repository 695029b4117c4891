"""Control characters in text: one rule for every input and output.

A control character (C0 or C1, and DEL) in a label read from an export (a team, a factor category)
is refused on input, naming the character but not the text; free text (notes) may hold them, and
is never shown. Whatever text still reaches an output (a rule title, a policy's service name, an
earlier run's findings) is shown with each control character written as ``[U+XXXX]``: a spreadsheet
cannot store them (openpyxl raises), a terminal would obey them, and a reader cannot see them.
Tab and new line are text, not controls, here.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL", "display", "first_control"]

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""A control character other than tab, new line and carriage return."""


def display(text: str) -> str:
    """``text`` with each control character written as ``[U+XXXX]`` (tab and new line kept)."""
    return CONTROL.sub(lambda m: f"[U+{ord(m.group()):04X}]", text) if CONTROL.search(text) else text


def first_control(text: str) -> str | None:
    """The first control character in ``text``, as ``U+XXXX``, or None."""
    found = CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
