"""The output schemas generated from the models (case record, findings, summary), so the checked-in files never drift.

``schemas/case-record.schema.json``, ``findings.schema.json`` and ``summary.schema.json`` are
written from the pydantic models by ``write_generated_schemas`` and compared with them by a test;
the other schemas (rule, criteria, policy, mapping) are written by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa_engine.base.resources import schemas_dir
from qa_engine.judge.findings import Finding, Summary
from qa_engine.records.model import record_json_schema

__all__ = ["generated_schemas", "render", "write_generated_schemas"]


def generated_schemas() -> dict[str, dict[str, Any]]:
    """Schemas that are generated from pydantic models, by file stem."""
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


def write_generated_schemas(directory: Path | None = None) -> list[Path]:
    """Rewrite the generated schema files (default: the shipped schemas folder); returns the paths written."""
    written = []
    for stem, schema in generated_schemas().items():
        path = (directory or schemas_dir()) / f"{stem}.schema.json"
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
