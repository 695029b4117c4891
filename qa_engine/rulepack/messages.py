"""Finding messages: templates in rule files filled with the evidence, by substitution only, never by evaluation."""

from __future__ import annotations

import re
from functools import cache
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

    The template is split into its parts once (``_pieces``); a result that still holds a brace (a value
    or a piece of text that could form a placeholder) is made again by ``_render_by_regex``, which
    defines the result, so both always agree.
    """
    out = []
    for optional, parts in _pieces(template):
        if optional:
            shown = []
            for text, scope, name in parts:
                if scope is None:
                    shown.append(text)
                    continue
                value = count if scope == "count" else scopes.get(scope, {}).get(name)
                if value is None:
                    shown = []
                    break
                shown.append(_show(value))
            out.extend(shown)
        else:
            for text, scope, name in parts:
                out.append(text if scope is None else _show(count if scope == "count" else scopes.get(scope, {}).get(name)))
    result = "".join(out)
    if "{" in result:
        return _render_by_regex(template, scopes, count)
    return _agree(result)


@cache
def _pieces(template: str) -> tuple[tuple[bool, tuple[tuple[str, str | None, str], ...]], ...]:
    """A template split once into (is optional, parts) pieces; each part is (literal text, scope or None, name),
    scope "count" for ``{count}``."""

    def split(text: str) -> tuple[tuple[str, str | None, str], ...]:
        parts: list[tuple[str, str | None, str]] = []
        at = 0
        for m in PLACEHOLDER.finditer(text):
            parts.append((text[at:m.start()], None, ""))
            parts.append(("", m.group(1) or "count", m.group(2) or ""))
            at = m.end()
        parts.append((text[at:], None, ""))
        return tuple(p for p in parts if p[0] or p[1])

    pieces = []
    at = 0
    for m in OPTIONAL.finditer(template):
        pieces.append((False, split(template[at:m.start()])))
        pieces.append((True, split(m.group(1))))
        at = m.end()
    pieces.append((False, split(template[at:])))
    return tuple(pieces)


def _render_by_regex(template: str, scopes: dict[str, dict[str, Any]], count: int = 0) -> str:
    """``render`` as defined: the optional parts substituted, then every placeholder in the result.

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
