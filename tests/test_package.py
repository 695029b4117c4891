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


@pytest.mark.parametrize("path", sorted((ROOT / "qa_engine").rglob("*.py")), ids=lambda p: p.relative_to(ROOT).as_posix())
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


def test_the_shipped_files_are_found_as_package_resources(tmp_path, monkeypatch):
    """Rules, schemas, mappings and the example come from the package (importlib.resources), from any folder."""
    from qa_engine.base import resources
    from qa_engine.exports.mapping import shipped_mappings

    monkeypatch.chdir(tmp_path)
    assert (resources.rules_dir() / "criteria.yaml").is_file()
    assert (resources.schemas_dir() / "case-record.schema.json").is_file()
    assert {"flat", "cld-like"} <= set(shipped_mappings())
    assert resources.example_path("caseload.jsonl").is_file()
    assert resources.load_schema("rule")["type"] == "object"
    with pytest.raises(qa_engine.ConfigError, match=r"no shipped example 'nothing\.jsonl'"):
        resources.example_path("nothing.jsonl")


def test_audit_example_and_shipped_mapping_names_work_from_another_folder(tmp_path, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "--example", "--out", "out", "--jobs", "1", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "Audited 37 of 37 records as of 2016-02-15" in result.output
    assert (tmp_path / "out" / "findings.jsonl").stat().st_size > 0

    result = runner.invoke(cli, ["mapping", "check", "cld-like"])
    assert result.exit_code == 0, result.output
    assert "valid (16 tables" in result.output

    result = runner.invoke(cli, ["mapping", "check", "cld-lik"])
    assert result.exit_code == 2
    assert "no file 'cld-lik', and no shipped mapping of that name (shipped: cld-like, cld-warehouse, flat)" in result.output

    result = runner.invoke(cli, ["audit", "--example", "x.jsonl", "--out", "out2"])
    assert result.exit_code == 2
    assert "give INPUTS or --example, not both" in result.output
