"""The package's layout is the pipeline: every module in a stage subpackage, imports pointing down, no cycles.

Read from the source with ``ast`` (imports inside functions included), so a lazy import cannot hide
a cycle. The stage order is the pipeline's (see each subpackage's docstring and the README's "How
the code is laid out").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qa_engine"

STAGES = ["base", "trust", "records", "exports", "facts", "rulepack", "judge", "report", "run"]
"""Lowest first: a module may import its own stage and any stage before it, never one after."""

TOP_LEVEL = {"__init__", "__main__", "cli"}
"""The only modules outside a stage: the public API, ``python -m``, and the thin command line."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The qa_engine modules ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for candidate in [module, *(f"{module}.{alias.name}" for alias in node.names)]:
                if candidate in modules and candidate != name:
                    found.add(candidate)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules and alias.name != name}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    """The check below can fail: a two-module loop and a three-module loop are found, a line is not."""
    assert [["a", "b"], ["c", "d", "e"]] == sorted(_cycles({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"},
                                                            "f": {"a"}}))
    assert [] == _cycles({"a": {"b"}, "b": {"c"}, "c": set()})


def test_no_import_cycle_inside_qa_engine():
    assert [] == _cycles(_graph())


def test_every_module_sits_in_a_stage():
    loose = sorted(name for name in _modules() if name.count(".") == 1 and name.split(".")[1] not in TOP_LEVEL | set(STAGES)
                   and name.split(".")[1] != "shipped")
    assert [] == loose
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == {*STAGES, "shipped"}


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_takes_gives_and_must_never_do(stage):
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert "never" in doc, f"qa_engine/{stage}/__init__.py must say what the stage must never do"


def test_imports_point_down_the_pipeline():
    upward = []
    for module, imported in _graph().items():
        mine = _stage(module)
        if mine is None:
            continue  # the public API, __main__ and the CLI sit above every stage
        for other in imported:
            theirs = _stage(other)
            if theirs is None or STAGES.index(theirs) > STAGES.index(mine):
                upward.append(f"{module} -> {other}")
    assert [] == sorted(upward)


def test_only_the_adapter_imports_durable_rules():
    importers = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(
                node, ast.ImportFrom) and not node.level else []
            if any(n.split(".")[0] in {"durable", "durable_rules_engine", "rules"} for n in names):
                importers.append(name)
    assert ["qa_engine.judge.durable_adapter"] == sorted(set(importers))
