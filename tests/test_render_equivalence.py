"""Message rendering from templates split once gives exactly what the regex definition gives."""

from __future__ import annotations

import itertools

import pytest

from qa_engine.rulepack.messages import _render_by_regex, placeholders, render

_PATHOLOGICAL = [
    "",
    "plain text.",
    "[no placeholder] here",
    "{case.[{item.name}]}",
    "{case.a[{count}]x}",
    "{case.{count}",
    "[{case.a}[{case.b}]]",
    "[a {case.a}] and [{item.b} b] {count} case{count}s, 1 days, [1 {case.n} days]",
    "{param.p}{case.a}{count}{match.m}",
    "{case.a} [{case.missing} left out] {case.missing}",
]
_VALUES = [None, "x", "{count}", "{case.a}", "a_b", 0, 1, 2.5, True, False, "1 days", "}", "{"]


def _templates(pack):
    for rule in pack.rules:
        yield from (t for t in rule.messages.model_dump().values() if t)


def _scopes(template, values):
    names = placeholders(template)
    for combo in itertools.islice(itertools.product(values, repeat=min(len(names), 3)), 200):
        scopes: dict[str, dict] = {}
        for (scope, name), value in zip(names, itertools.cycle(combo or (None,)), strict=False):
            if scope != "count" and value is not None:
                scopes.setdefault(scope, {})[name] = value
        yield scopes


def test_every_template_of_the_pack_renders_as_the_regex_definition(pack):
    checked = 0
    for template in _templates(pack):
        for scopes in _scopes(template, [None, "late", 0, 1, 3, 2.5, True, "1 days"]):
            for count in (0, 1, 2):
                assert _render_by_regex(template, scopes, count) == render(template, scopes, count), template
                checked += 1
    assert checked > 1000


@pytest.mark.parametrize("template", _PATHOLOGICAL)
def test_odd_templates_and_values_with_braces_render_as_the_regex_definition(template):
    for scopes in _scopes(template, _VALUES):
        for count in (0, 1, 5):
            assert _render_by_regex(template, scopes, count) == render(template, scopes, count)
