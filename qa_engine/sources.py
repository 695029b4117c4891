"""Reading exported case records: JSON (an array or one object), JSON Lines, or stdin, each record with where it came from.

JSON Lines are read a line at a time, so memory does not grow with the size of the file; a JSON
document (an array of records) has to be read whole.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from qa_engine.errors import InputError

__all__ = ["RawRecord", "read_inputs"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before validation: its source, its position there, and the data or why it is unreadable."""

    source: str
    position: str
    data: Any = None
    error: str | None = None


def _json_error(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"


def _parse(source: str, position: str, text: bytes | str) -> RawRecord:
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        return RawRecord(source, position, json.loads(text))
    except UnicodeDecodeError as exc:
        return RawRecord(source, position, error=f"not UTF-8 text (byte {exc.start}); export the file as UTF-8")
    except json.JSONDecodeError as exc:
        return RawRecord(source, position, error=_json_error(exc))
    except RecursionError:
        return RawRecord(source, position, error="not valid JSON: nested too deeply")


def _lines(lines: Iterable[bytes], source: str, first_number: int = 1) -> Iterator[RawRecord]:
    for number, line in enumerate(lines, start=first_number):
        if number == 1:
            line = line.removeprefix(_BOM)
        if line.strip():
            yield _parse(source, f"line {number}", line)


def _document(data: bytes, source: str) -> Iterator[RawRecord]:
    record = _parse(source, "file", data.removeprefix(_BOM))
    if record.error is not None:
        yield record
    elif isinstance(record.data, list):
        for index, item in enumerate(record.data):
            yield RawRecord(source, f"index {index}", item)
    else:
        yield RawRecord(source, "index 0", record.data)


def _stdin(stream: BinaryIO) -> Iterator[RawRecord]:
    """Standard input: JSON Lines if the first line is a whole JSON value, otherwise one JSON document."""
    source = "<stdin>"
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    head = first.removeprefix(_BOM)
    try:
        json.loads(head)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        if head.lstrip()[:1] in (b"[", b"{"):
            yield from _document(head + stream.read(), source)
            return
    yield from _lines([first], source)
    yield from _lines(stream, source, first_number=2)


def _read_one(name: str) -> Iterator[RawRecord]:
    if name == "-":
        yield from _stdin(sys.stdin.buffer)
        return
    path = Path(name)
    source = str(path)
    if path.is_dir():
        msg = f"{source} is a folder; give the JSON or JSON Lines files in it"
        raise InputError(msg)
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"cannot read {source}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    with handle:
        if path.suffix.lower() in _LINES_SUFFIXES:
            yield from _lines(handle, source)
        else:
            data = handle.read()
            if data.strip():
                yield from _document(data, source)


def read_inputs(names: list[str]) -> Iterator[RawRecord]:
    """Every record of every input in order; a file that cannot be opened raises InputError before its records."""
    for name in names:
        yield from _read_one(name)
