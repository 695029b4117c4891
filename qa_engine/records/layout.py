"""The case record seen as tables: which parts are lists of rows, and each field's type, read from the record's schema.

A table layout needs to know, for every place in a case record, whether it is one object per case
(the record itself, ``child``, ``order``, ``court``) or a list of rows (``contacts``,
``plans.reviews``), and, for every field, how a spreadsheet cell becomes its value (text, date,
yes/no, whole number, one of a set of codes, or a list of them). All of it is derived from
``CaseRecord.model_json_schema()``, so a new field in the model is a new column with no change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from qa_engine.records.model import PERSONAL_FIELDS, STAFF_FIELDS, CaseRecord

__all__ = ["RECORD", "FieldSpec", "Target", "get_path", "set_path", "targets"]

RECORD = "record"
"""The name of the target that is the case record itself (one row per case)."""

_FREE_TEXT_LENGTH = 10_000


@dataclass(frozen=True)
class FieldSpec:
    """How one field's cell is read: its kind, its allowed values, and whether its value may be shown."""

    path: str
    kind: str  # "string", "date", "boolean", "integer", "enum", "list"
    required: bool = False
    values: tuple[Any, ...] = ()
    item: FieldSpec | None = None
    personal: bool = False
    """Never echo this field's value in a message (names, dates of birth, addresses, free text)."""


@dataclass(frozen=True)
class Target:
    """A place in the record a table fills: the record, a single object in it, or a list of rows."""

    name: str
    many: bool
    parent: str | None
    """The list target this one nests in (``plans`` for ``plans.reviews``), or None at record level."""
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    """Field paths relative to the target, dotted through single nested objects (``exploitation_screening.date``)."""


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The node with $ref followed and a null alternative removed; and whether null was allowed."""
    nullable = False
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        node = {**options[0], **{k: v for k, v in node.items() if k != "anyOf"}} if len(options) == 1 else node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node, nullable


def _scalar(schema: dict[str, Any], path: str, node: dict[str, Any], required: bool) -> FieldSpec:
    last = path.rsplit(".", 1)[-1]
    personal = last in PERSONAL_FIELDS or last in STAFF_FIELDS or node.get("maxLength", 0) >= _FREE_TEXT_LENGTH
    if node.get("type") == "array":
        item_node, _ = _resolve(schema, node["items"])
        return FieldSpec(path, "list", required, item=_scalar(schema, path, item_node, True), personal=personal)
    if "enum" in node:
        return FieldSpec(path, "enum", required, tuple(node["enum"]), personal=personal)
    if node.get("format") == "date":
        return FieldSpec(path, "date", required, personal=personal)
    kind = {"boolean": "boolean", "integer": "integer"}.get(node.get("type", ""), "string")
    return FieldSpec(path, kind, required, personal=personal)


def _walk(schema: dict[str, Any], obj: dict[str, Any], prefix: str, name: str, out: dict[str, Target],
          parent: str | None, target: Target, inside_list: bool, optional: bool = False) -> None:
    """Add ``obj``'s fields to ``target`` (and its lists to ``out``); ``optional``: ``obj`` itself may be absent."""
    required = set() if optional else set(obj.get("required", ()))
    for key, raw in obj.get("properties", {}).items():
        node, _nullable = _resolve(schema, raw)
        path = f"{prefix}{key}"
        is_required = key in required
        if node.get("type") == "object" or "properties" in node:
            if not inside_list and name == RECORD:
                # child, order, court: one object per case, fillable by the record's own table or by one of its own
                sub = Target(key, many=False, parent=None)
                out[key] = sub
                _walk(schema, node, "", key, out, None, sub, inside_list=False)
                for sub_path, spec in sub.fields.items():
                    target.fields[f"{key}.{sub_path}"] = replace(spec, path=f"{key}.{sub_path}",
                                                                 required=spec.required and is_required)
            else:
                _walk(schema, node, f"{path}.", name, out, parent, target, inside_list, optional=not is_required)
            continue
        if node.get("type") == "array":
            item, _ = _resolve(schema, node["items"])
            if item.get("type") == "object" or "properties" in item:
                list_name = f"{name}.{key}" if name != RECORD else key
                sub = Target(list_name, many=True, parent=name if inside_list else None)
                out[list_name] = sub
                _walk(schema, item, "", list_name, out, list_name, sub, inside_list=True)
                continue
        target.fields[path] = _scalar(schema, path, node, is_required)


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path in a record's dict (``order.order_id``), or None where any part is missing."""
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def set_path(data: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    """Set the value at a path in a record's dict, making the objects on the way."""
    for part in parts[:-1]:
        data = data.setdefault(part, {})
    data[parts[-1]] = value


@cache
def targets() -> dict[str, Target]:
    """Every target of the case record by name: ``record``, ``child``, ``order``, ``court``, ``contacts``, ..."""
    schema = CaseRecord.model_json_schema()
    root = Target(RECORD, many=False, parent=None)
    out: dict[str, Target] = {RECORD: root}
    _walk(schema, schema, "", RECORD, out, None, root, inside_list=False)
    return out
