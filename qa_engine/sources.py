"""Reading exported case records: JSON (an array or one object), JSON Lines, or stdin, each record with where it came from."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa_engine.errors import InputError

__all__ = ["RawRecord", "read_inputs"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before validation: its source file, its position there, and the data or why it is unreadable."""

    source: str
    position: str
    data: Any = None
    error: str | None = None


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{source}: not UTF-8 text (byte {exc.start}); export the file as UTF-8"
        raise InputError(msg) from exc


def _json_error(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"


def _lines(text: str, source: str) -> Iterator[RawRecord]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield RawRecord(source, f"line {number}", json.loads(line))
        except json.JSONDecodeError as exc:
            yield RawRecord(source, f"line {number}", error=_json_error(exc))
        except RecursionError:
            yield RawRecord(source, f"line {number}", error="not valid JSON: nested too deeply")


def _document(text: str, source: str) -> Iterator[RawRecord]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield RawRecord(source, "file", error=_json_error(exc))
        return
    except RecursionError:
        yield RawRecord(source, "file", error="not valid JSON: nested too deeply")
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield RawRecord(source, f"index {index}", item)
    else:
        yield RawRecord(source, "index 0", data)


def _read_one(name: str) -> Iterator[RawRecord]:
    if name == "-":
        source, text = "<stdin>", _decode(sys.stdin.buffer.read(), "<stdin>")
    else:
        path = Path(name)
        source = str(path)
        if path.is_dir():
            msg = f"{source} is a folder; give the JSON or JSON Lines files in it"
            raise InputError(msg)
        try:
            text = _decode(path.read_bytes(), source)
        except OSError as exc:
            msg = f"cannot read {source}: {exc.strerror or exc}"
            raise InputError(msg) from exc
        if path.suffix.lower() in _LINES_SUFFIXES:
            yield from _lines(text, source)
            return
    stripped = text.lstrip()
    if not stripped:
        return
    if name == "-" and not stripped.startswith("["):
        # stdin: one JSON object, or JSON Lines
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            yield from _lines(text, source)
            return
        yield RawRecord(source, "index 0", data)
        return
    yield from _document(text, source)


def read_inputs(names: list[str]) -> Iterator[RawRecord]:
    """Every record of every input in order; an unreadable file raises InputError before its records."""
    for name in names:
        yield from _read_one(name)
