"""Finding messages: templates in rule files filled with the evidence, by substitution only, never by evaluation."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["OPTIONAL", "PLACEHOLDER", "placeholders", "render"]

PLACEHOLDER = re.compile(r"\{(?:(case|item|match|param)\.([a-z][a-z0-9_]*)|(count))\}")
"""``{case.x}``, ``{item.x}``, ``{match.x}``, ``{param.x}`` or ``{count}``; anything else is literal text."""

MISSING = "not recorded"


def placeholders(template: str) -> list[tuple[str, str]]:
    """The (scope, name) pairs a template refers to; ``{count}`` is ("count", "")."""
    return [(m.group(1) or "count", m.group(2) or "") for m in PLACEHOLDER.finditer(template)]


def _show(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("_", " ")


OPTIONAL = re.compile(r"\[([^\[\]]*\{[^\[\]]*)\]")
"""``[...]`` around text holding a placeholder: kept (without the brackets) only when every value in it is recorded.
So "First appointment[ {case.first_contact_working_days} working days] after sentence." never reads "not recorded
working days". Square brackets holding no placeholder are literal text."""


def render(template: str, scopes: dict[str, dict[str, Any]], count: int = 0) -> str:
    """Fill a template from ``scopes`` (case, item, match, param).

    An optional part, ``[...]``, is left out when a value in it is missing; elsewhere a missing value
    reads "not recorded" (write it as a labelled value, "assessment completed: {case.x}").
    """

    def value(m: re.Match[str]) -> Any:
        return count if m.group(3) else scopes.get(m.group(1), {}).get(m.group(2))

    def fill(m: re.Match[str]) -> str:
        return _show(value(m))

    def optional(m: re.Match[str]) -> str:
        inner = m.group(1)
        if any(value(found) is None for found in PLACEHOLDER.finditer(inner)):
            return ""
        return PLACEHOLDER.sub(fill, inner)

    text = OPTIONAL.sub(optional, template) if "[" in template else template  # (each test: a regex's precondition)
    return _agree(PLACEHOLDER.sub(fill, text) if "{" in text else text)


_ONE = re.compile(r"(?<![\d.,])1 (working day|day|month|week|warning|time|review|failure|absence|case)s\b")
"""A count of one takes the singular: "1 working days" is written "1 working day"."""


def _agree(text: str) -> str:
    return _ONE.sub(r"1 \1", text) if "1 " in text else text
