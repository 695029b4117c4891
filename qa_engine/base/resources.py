"""The files the program reads that ship inside the package: the rule pack, the JSON Schemas, the mappings, the examples.

In the repository they live once, at the top level (``rules/``, ``schemas/``, ``mappings/``,
``examples/``); pyproject.toml maps each folder to a data package under ``qa_engine.shipped``, so a
wheel carries them and an editable install finds the same folders. They are found through
``importlib.resources``, never by a path relative to a source checkout, so the installed package
works from any folder. A user's own files (``--rules DIR``, ``--mapping FILE``, ``--policy FILE``)
are plain paths and never looked up here.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from qa_engine.base.errors import ConfigError

__all__ = ["EXAMPLE_AS_OF", "example_path", "load_schema", "mappings_dir", "rules_dir", "schemas_dir", "shipped_dir"]

_PACKAGES = {
    "rules": "qa_engine.shipped.rules",
    "schemas": "qa_engine.shipped.schemas",
    "mappings": "qa_engine.shipped.mappings",
    "examples": "qa_engine.shipped.examples",
}

EXAMPLE_AS_OF = "2016-02-15"
"""The shipped example caseload's export date (the Derbyshire SQS fieldwork date): audit it as of this day."""


@cache
def shipped_dir(kind: str) -> Path:
    """The folder holding one kind of shipped file (``rules``, ``schemas``, ``mappings`` or ``examples``).

    Raises:
        ConfigError: the package was installed without its data (a broken or partial install).
    """
    try:
        folder = resources.files(_PACKAGES[kind])
    except ModuleNotFoundError as exc:
        msg = f"this installation of qa_engine has no shipped {kind} ({_PACKAGES[kind]}); reinstall the package"
        raise ConfigError(msg) from exc
    path = Path(str(folder))
    if not path.is_dir():  # pragma: no cover - only a zipped install would do this
        msg = f"the shipped {kind} are not a folder on disk ({folder}); install qa_engine unzipped"
        raise ConfigError(msg)
    return path


def rules_dir() -> Path:
    """The shipped rule pack: one YAML file per rule, its cases beside it, and criteria.yaml."""
    return shipped_dir("rules")


def schemas_dir() -> Path:
    """The shipped JSON Schemas (``<name>.schema.json``)."""
    return shipped_dir("schemas")


def mappings_dir() -> Path:
    """The shipped mappings: flat.yaml (qa_engine's own flat layout) and worked examples under examples/."""
    return shipped_dir("mappings")


def example_path(name: str) -> Path:
    """A shipped example file or folder, e.g. ``caseload.jsonl`` or ``cld-like-export``.

    Raises:
        ConfigError: there is no such example.
    """
    path = shipped_dir("examples") / name
    if not path.exists():
        msg = f"no shipped example {name!r}"
        raise ConfigError(msg)
    return path


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The shipped schema ``<name>.schema.json`` as a dict."""
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
