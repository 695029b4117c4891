"""The JSON Schemas in schemas/: loading the hand-written ones, and regenerating those that come from models."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_DIR", "generated_schemas", "load_schema", "write_generated_schemas"]

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
"""The project's top-level schemas/ folder."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.schema.json`` as a dict."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def generated_schemas() -> dict[str, dict[str, Any]]:
    """Schemas that are generated from pydantic models, by file stem."""
    from qa_engine.findings import Finding, Summary
    from qa_engine.records import record_json_schema

    out = {"case-record": record_json_schema()}
    for stem, model in (("findings", Finding), ("summary", Summary)):
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://qa-engine.invalid/schemas/{stem}.schema.json"
        out[stem] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """The checked-in text of a schema: stable key order, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_generated_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Rewrite the generated schema files; returns the paths written."""
    written = []
    for stem, schema in generated_schemas().items():
        path = directory / f"{stem}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written

