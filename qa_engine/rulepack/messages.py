"""Finding messages: templates in rule files filled with the evidence, by substitution only, never by evaluation."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PLACEHOLDER", "placeholders", "render"]

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


def render(template: str, scopes: dict[str, dict[str, Any]], count: int = 0) -> str:
    """Fill a template from ``scopes`` (case, item, match, param); a missing value reads "not recorded"."""

    def fill(m: re.Match[str]) -> str:
        if m.group(3):
            return str(count)
        return _show(scopes.get(m.group(1), {}).get(m.group(2)))

    return PLACEHOLDER.sub(fill, template)
