"""Reading exported case records: JSON (an array or one object), JSON Lines, or stdin, each record with where it came from.

JSON Lines are read a line at a time, in blocks, so memory does not grow with the size of the file
or of a line: a line over --max-record-bytes is skipped to its end, never held whole. A JSON
document (an array of records) has to be read whole, so it may be at most ``max_document_bytes``
(checked before it is read), and each record in it is held to --max-record-bytes too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from qa_engine.base.errors import InputError
from qa_engine.exports.raw import DEFAULT_LIMITS, Limits, RawRecord, parse_record

if TYPE_CHECKING:
    from qa_engine.exports.mapping import Mapping

__all__ = ["export_mapping", "read_inputs", "refuse_lone_table"]

_LINES_SUFFIXES = (".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"


_BLOCK = 1 << 16


def bounded_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | int]:
    """Each line of ``stream`` (its newline kept), read in 64 KB blocks; a line longer than ``limit`` bytes comes back
    as its length (an int) instead, read to its end without ever holding more than ``limit`` bytes of it."""
    pending = b""
    skipping = 0  # bytes of an over-long line counted so far (0: not skipping)
    while True:
        block = stream.read(_BLOCK)
        if not block:
            break
        start = 0
        while True:
            end = block.find(b"\n", start)
            if end < 0:
                rest = block[start:]
                if skipping:
                    skipping += len(rest)
                elif len(pending) + len(rest) > limit:
                    skipping, pending = len(pending) + len(rest), b""
                else:
                    pending += rest
                break
            piece = block[start:end + 1]
            if skipping:
                yield skipping + len(piece)
                skipping = 0
            elif len(pending) + len(piece) > limit:
                yield len(pending) + len(piece)
                pending = b""
            else:
                yield pending + piece
                pending = b""
            start = end + 1
    if skipping:
        yield skipping
    elif pending:
        yield pending


def _lines(lines: Iterable[bytes | int], source: str, limits: Limits, first_number: int = 1) -> Iterator[RawRecord]:
    for number, line in enumerate(lines, start=first_number):
        if isinstance(line, bytes) and number == 1:
            line = line.removeprefix(_BOM)
        size = line if isinstance(line, int) else len(line.rstrip(b"\r\n"))
        if size > limits.max_record_bytes:
            yield RawRecord(source, f"line {number}", error=(
                f"record is {size:,} bytes, over the limit of {limits.max_record_bytes:,} (see --max-record-bytes)"))
        elif isinstance(line, bytes) and line.strip():
            yield RawRecord(source, f"line {number}", text=line, max_depth=limits.max_depth)


def _document(data: bytes, source: str, limits: Limits) -> Iterator[RawRecord]:
    if len(data) > limits.max_document_bytes:
        raise InputError(_too_big(source, len(data), limits))
    record = parse_record(source, "file", data.removeprefix(_BOM), Limits(limits.max_record_bytes, limits.max_depth + 1))
    del data
    if record.error is not None:
        yield record
    elif isinstance(record.data, list):
        items, record = record.data, None
        for index in range(len(items)):
            item, items[index] = items[index], None  # let each record go once it is handed on
            yield _sized(RawRecord(source, f"index {index}", item), limits)
    else:
        yield _sized(RawRecord(source, "index 0", record.data), limits)


def _sized(record: RawRecord, limits: Limits) -> RawRecord:
    """A record from a JSON document, or its rejection when its JSON is over --max-record-bytes."""
    size = len(orjson.dumps(record.data))
    if size > limits.max_record_bytes:
        return RawRecord(record.source, record.position, error=(
            f"record is {size:,} bytes, over the limit of {limits.max_record_bytes:,} (see --max-record-bytes)"))
    return record


def _too_big(source: str, size: int | None, limits: Limits) -> str:
    amount = f"{size:,} bytes" if size is not None else "too big"
    return (f"{source} is {amount}: a JSON document (read whole) may be at most {limits.max_document_bytes:,} bytes; "
            "write the records as JSON Lines (.jsonl, one record a line), which has no such limit")


def _stdin(stream: BinaryIO, limits: Limits) -> Iterator[RawRecord]:
    """Standard input: JSON Lines if the first line is a whole JSON value, otherwise one JSON document (at most
    max_document_bytes). No line is read past --max-record-bytes before it is judged."""
    source = "<stdin>"
    limit = limits.max_record_bytes + 2
    first = stream.readline(limit)
    while first and not first.strip():
        first = stream.readline(limit)
    if not first:
        return
    head = first.removeprefix(_BOM)
    whole = first.endswith(b"\n") or len(first) < limit
    try:
        if not whole:
            raise ValueError
        orjson.loads(head)
    except (orjson.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        if head.lstrip()[:1] in (b"[", b"{"):
            rest = stream.read(limits.max_document_bytes + 1 - len(head))
            if len(head) + len(rest) > limits.max_document_bytes:
                raise InputError(_too_big(source, None, limits)) from None
            yield from _document(head + rest, source, limits)
            return
    lines = bounded_lines(stream, limit)
    if not whole:  # an over-long first line that is not a document: count the rest of it, never hold it
        remainder = next(lines, b"")
        first = len(first) + (remainder if isinstance(remainder, int) else len(remainder))
    yield from _lines([first], source, limits)
    yield from _lines(lines, source, limits, first_number=2)


def export_mapping(name: str, mapping: Mapping | None) -> Mapping:
    """The mapping to read the export ``name`` with: the one given, or the flat layout's for a folder that has cases.csv."""
    from qa_engine.exports.mapping import flat_mapping

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
        from qa_engine.exports.tables import kind_hint

        msg = f"{path} is not a JSON file: {kind_hint(path)}"
        raise InputError(msg)


def _read_one(name: str, limits: Limits, mapping: Mapping | None, notes: list[Any] | None = None) -> Iterator[RawRecord]:
    if name == "-":
        yield from _stdin(sys.stdin.buffer, limits)
        return
    from qa_engine.exports.assemble import is_export, read_export

    path = Path(name)
    source = str(path)
    if is_export(path):
        yield from read_export(path, export_mapping(name, mapping), limits, notes)
        return
    refuse_lone_table(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        msg = f"cannot read {source}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    with handle:
        if path.suffix.lower() in _LINES_SUFFIXES:
            yield from _lines(bounded_lines(handle, limits.max_record_bytes + 2), source, limits)
        else:
            size = os.fstat(handle.fileno()).st_size
            if size > limits.max_document_bytes:
                raise InputError(_too_big(source, size, limits))
            data = handle.read(limits.max_document_bytes + 1)
            if data.strip():
                yield from _document(data, source, limits)


def read_inputs(names: list[str], limits: Limits = DEFAULT_LIMITS, mapping: Mapping | None = None,
                notes: list[Any] | None = None) -> Iterator[RawRecord]:
    """Every record of every input in order; a file that cannot be opened raises InputError before its records.

    An input that is a folder of CSV files or an .xlsx workbook is read through ``mapping`` (a folder
    in qa_engine's flat layout needs none); JSON and JSON Lines files are read as case records. Each export's date
    columns held back (assemble.HeldDates: said once per file and column) are added to ``notes`` once it is read.
    """
    for name in names:
        yield from _read_one(name, limits, mapping, notes)
