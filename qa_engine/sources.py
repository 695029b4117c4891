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
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from qa_engine.errors import InputError

if TYPE_CHECKING:
    from qa_engine.mapping import Mapping

__all__ = ["DEFAULT_LIMITS", "Limits", "Locator", "RawRecord", "export_mapping", "read_inputs"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Limits:
    """How big and how deep one record may be; a record over a limit is rejected, not parsed."""

    max_record_bytes: int = 1_000_000
    """One record (one JSON Lines line) at most this many bytes: a case file is a few kilobytes."""
    max_depth: int = 32
    """Objects and arrays nested at most this deep: a case record needs about 5."""


DEFAULT_LIMITS = Limits()


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


COLUMN_INDEXES: dict[str, dict[str, dict[tuple[str, ...], str]]] = {}
"""Mapping key -> table -> field path within its object -> column: registered once per process (see
assemble.register_mapping), so a record sent to a worker carries a key, not its mapping's column names."""


@dataclass(frozen=True)
class Locator:
    """Where each part of a record assembled from tables came from, to name a problem in the export's terms."""

    objects: dict[tuple[Any, ...], tuple[str, int, str]]
    """Location of the record, an object or a list item (as pydantic reports it) -> (table label, row, table)."""
    columns_key: str
    """The key of the mapping's column index in COLUMN_INDEXES."""

    def locate(self, loc: tuple[Any, ...]) -> tuple[str, bool]:
        """``contacts.csv row 118, column "Outcome"`` for a location (the nearest row if no column is known),
        and whether a column was found."""
        columns = COLUMN_INDEXES.get(self.columns_key, {})
        nearest = ""
        for end in range(len(loc), -1, -1):
            if loc[:end] not in self.objects:
                continue
            label, row, table = self.objects[loc[:end]]
            column = columns.get(table, {}).get(tuple(loc[end:]))
            if column is not None:
                return f'{label} row {row}, column "{column}"', True
            nearest = nearest or f"{label} row {row}"
        return nearest, False


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before validation: its source, its position there, and the data or why it is unreadable.

    A JSON Lines record keeps its ``text`` unparsed until ``parsed()`` is called, so a batch can hand
    raw lines to worker processes and parse them there.
    """

    source: str
    position: str
    data: Any = None
    error: str | None = None
    text: bytes | None = None
    max_depth: int = DEFAULT_LIMITS.max_depth
    locator: Locator | None = None
    """For a record assembled from tables: where each field came from."""
    problems: tuple[tuple[tuple[Any, ...], str], ...] = ()
    """For a record assembled from tables: cells that could not be read, as (location, reason)."""
    unmatched: bool = False
    """A table row that joins no case (``error`` says why): reported, never audited."""
    unreadable_root: bool = False
    """For a record assembled from tables: the case's own row could not be read, so only its problems are reported."""

    def parsed(self) -> RawRecord:
        """This record with its text parsed (or the reason it cannot be)."""
        if self.text is None:
            return self
        return _parse(self.source, self.position, self.text, Limits(max_depth=self.max_depth))


def _json_error(exc: json.JSONDecodeError) -> str:
    return f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}".replace(": line 1 column", " at column")


def _parse(source: str, position: str, text: bytes | str, limits: Limits = DEFAULT_LIMITS) -> RawRecord:
    try:
        if isinstance(text, bytes):
            text.decode("utf-8")  # orjson's own message for bad UTF-8 names no byte; check first
        data = orjson.loads(text)
        if _depth(data, limits.max_depth):
            return RawRecord(source, position,
                             error=f"nests deeper than {limits.max_depth} levels (the limit; see --max-depth)")
        return RawRecord(source, position, data)
    except UnicodeDecodeError as exc:
        return RawRecord(source, position, error=f"not UTF-8 text (byte {exc.start}); export the file as UTF-8")
    except orjson.JSONDecodeError as exc:
        return RawRecord(source, position, error=_json_error(exc))
    except RecursionError:
        return RawRecord(source, position, error="not valid JSON: nested too deeply")


def _lines(lines: Iterable[bytes], source: str, limits: Limits, first_number: int = 1) -> Iterator[RawRecord]:
    for number, line in enumerate(lines, start=first_number):
        if number == 1:
            line = line.removeprefix(_BOM)
        if len(line) > limits.max_record_bytes:
            yield RawRecord(source, f"line {number}", error=(
                f"record is {len(line):,} bytes, over the limit of {limits.max_record_bytes:,} (see --max-record-bytes)"))
        elif line.strip():
            yield RawRecord(source, f"line {number}", text=line, max_depth=limits.max_depth)


def _document(data: bytes, source: str, limits: Limits) -> Iterator[RawRecord]:
    record = _parse(source, "file", data.removeprefix(_BOM), Limits(limits.max_record_bytes, limits.max_depth + 1))
    if record.error is not None:
        yield record
    elif isinstance(record.data, list):
        for index, item in enumerate(record.data):
            yield RawRecord(source, f"index {index}", item)
    else:
        yield RawRecord(source, "index 0", record.data)


def _stdin(stream: BinaryIO, limits: Limits) -> Iterator[RawRecord]:
    """Standard input: JSON Lines if the first line is a whole JSON value, otherwise one JSON document."""
    source = "<stdin>"
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    head = first.removeprefix(_BOM)
    try:
        orjson.loads(head)
    except (orjson.JSONDecodeError, UnicodeDecodeError, RecursionError):
        if head.lstrip()[:1] in (b"[", b"{"):
            yield from _document(head + stream.read(), source, limits)
            return
    yield from _lines([first], source, limits)
    yield from _lines(stream, source, limits, first_number=2)


def export_mapping(name: str, mapping: Mapping | None) -> Mapping:
    """The mapping to read the export ``name`` with: the one given, or the flat layout's for a folder that has cases.csv."""
    from qa_engine.mapping import flat_mapping

    if mapping is not None:
        return mapping
    path = Path(name)
    if path.is_dir() and not any(p.name.casefold() == "cases.csv" for p in path.iterdir()):
        msg = (f"{name} is a folder without cases.csv, so it is not in qa_engine's flat layout: give --mapping FILE "
               "to say how its tables become case records (`qa-engine mapping init` writes a starter)")
        raise InputError(msg)
    return flat_mapping()


TABLE_SUFFIXES = (".csv", ".tsv", ".xls", ".ods")


def refuse_lone_table(path: Path) -> None:
    """A single CSV file or an old-style workbook is not a JSON input: say what to give instead."""
    if path.suffix.lower() in TABLE_SUFFIXES:
        from qa_engine.tables import kind_hint

        msg = f"{path} is not a JSON file: {kind_hint(path)}"
        raise InputError(msg)


def _read_one(name: str, limits: Limits, mapping: Mapping | None) -> Iterator[RawRecord]:
    if name == "-":
        yield from _stdin(sys.stdin.buffer, limits)
        return
    from qa_engine.assemble import is_export, read_export

    path = Path(name)
    source = str(path)
    if is_export(path):
        yield from read_export(path, export_mapping(name, mapping), limits)
        return
    refuse_lone_table(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"cannot read {source}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    with handle:
        if path.suffix.lower() in _LINES_SUFFIXES:
            yield from _lines(handle, source, limits)
        else:
            data = handle.read()
            if data.strip():
                yield from _document(data, source, limits)


def read_inputs(names: list[str], limits: Limits = DEFAULT_LIMITS, mapping: Mapping | None = None) -> Iterator[RawRecord]:
    """Every record of every input in order; a file that cannot be opened raises InputError before its records.

    An input that is a folder of CSV files or an .xlsx workbook is read through ``mapping`` (a folder
    in qa_engine's flat layout needs none); JSON and JSON Lines files are read as case records.
    """
    for name in names:
        yield from _read_one(name, limits, mapping)
