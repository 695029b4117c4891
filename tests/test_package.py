"""The package's public surface and documentation stay in step with the code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import qa_engine
from qa_engine.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_complete():
    """__all__ is sorted and every name in it exists."""
    assert sorted(qa_engine.__all__) == qa_engine.__all__
    for name in qa_engine.__all__:
        assert hasattr(qa_engine, name), name


@pytest.mark.parametrize("path", sorted((ROOT / "qa_engine").glob("*.py")), ids=lambda p: p.name)
def test_every_module_says_why_it_exists(path):
    """Each module opens with a one-line docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text()))

    assert doc, path.name
    assert doc.splitlines()[0].strip()


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        yield f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")


@pytest.mark.parametrize("command", sorted(_commands(cli)))
def test_every_command_is_documented(command):
    """Every CLI command appears in the README and has help text."""
    assert f"qa-engine {command}" in (ROOT / "README.md").read_text()


def test_only_the_cli_configures_logging():
    """Library modules log; only the CLI configures structlog."""
    offenders = [p.name for p in (ROOT / "qa_engine").glob("*.py")
                 if "structlog.configure(" in p.read_text() and p.name != "_logging.py"]

    assert [] == offenders
