"""The case-audit form read back: a manager's answers from a workbook written by ``qa-engine audit-form``.

An input like any export, so it lives in this stage: the writer (report/auditform.py) reads a
finished run and imports the layout from here, so the two can never disagree on where a cell is.

Nothing in the form is trusted but three kinds of cell: each question's answer and comment, and each
case sheet's auditor id. Everything else is checked against the run the caller names (its run key,
rule pack hash and audit date on the cover, the case ids, the question in each row) and a form
that does not match is refused with its sheet, cell and reason. A comment is free text: it is
never logged, never quoted in a message, and the caller escapes it wherever it is shown.

Layout of a case sheet (one sheet per case; rows from ``case_rows``)::

    A2 "Case"          B2 case id
    A3 "Case manager"  B3      A4 "Team"  B4      A5 "Order"  B5
    A6 "Auditor's id"  B6  <- read
    row 9: headers; from row 10, per criterion: a heading row (A = criterion), then one row per
    question: A question key (1.2c), B asks, C question, D the data findings, E answer <- read,
    F comment <- read
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa_engine.base.errors import InputError

__all__ = [
    "ANSWER_KEY",
    "AUDITOR_CELL",
    "CASE_ID_CELL",
    "CASE_LABEL",
    "COLUMNS",
    "COVER",
    "COVER_SHEET",
    "FIRST_ROW",
    "FORM_TITLE",
    "HEADER_ROW",
    "MAX_COMMENT_CHARS",
    "Disagreement",
    "FormAnswer",
    "FormRead",
    "case_rows",
    "is_audit_form",
    "merge_forms",
    "read_form",
]

COVER_SHEET = "Cover"
FORM_TITLE = "Case audit form"
"""Cell A1 of the cover: how a form is told apart from an export workbook."""
COVER = {"as_of": "B14", "pack": "B15", "run_key": "B16"}
"""Cells of the cover that say which run the form belongs to (checked against the run, never trusted)."""
CASE_LABEL = "Case"
CASE_ID_CELL = "B2"
AUDITOR_CELL = "B6"
HEADER_ROW = 9
FIRST_ROW = 10
COLUMNS = {"key": "A", "asks": "B", "question": "C", "evidence": "D", "answer": "E", "comment": "F"}
ANSWER_KEY = {"yes": "Yes", "no": "No", "not_applicable": "Not applicable"}
"""Stored answer -> the words the drop-down offers. A blank answer is "not yet judged"."""
_BY_WORDS = {words.casefold(): answer for answer, words in ANSWER_KEY.items()}

MAX_COMMENT_CHARS = 2000
MAX_FORM_BYTES = 20_000_000
"""A form for 30 cases is about 100 KB; one for 2,000 cases about 6 MB."""
MAX_UNPACKED_BYTES = 200_000_000
MAX_SHEETS = 2001
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def case_rows(criteria: Iterable[tuple[str, Iterable[str]]]) -> list[tuple[int, str, str]]:
    """The rows of a case sheet: (row, criterion, question key or "" for the criterion's heading row).

    ``criteria`` is each criterion id with its question keys (``1.2a`` ...), in the catalogue's order.
    """
    rows = []
    row = FIRST_ROW
    for criterion, keys in criteria:
        rows.append((row, criterion, ""))
        row += 1
        for key in keys:
            rows.append((row, criterion, key))
            row += 1
    return rows


@dataclass(frozen=True)
class FormAnswer:
    """One question for one case as a form holds it: the answer (None: not yet judged), who, and where."""

    case_id: str
    criterion: str
    question: str
    answer: str | None
    auditor_id: str | None
    comment: str | None
    form: str
    sheet: str
    cell: str


@dataclass
class FormRead:
    """What one form says: where it is, its sha256, and one FormAnswer per case and question it holds."""

    path: Path
    sha256: str
    answers: list[FormAnswer] = field(default_factory=list)
    cases: int = 0


@dataclass(frozen=True)
class Disagreement:
    """Two forms (or two sheets) answering the same case and question differently: left unjudged, reported."""

    case_id: str
    criterion: str
    question: str
    answers: tuple[FormAnswer, ...]


class _Problems:
    """A form's problems, each "FILE, sheet 'S', cell C: reason"; raised together as one InputError."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[str] = []

    def add(self, sheet: str, cell: str, reason: str) -> None:
        self.items.append(f"{self.name}, sheet {_sheet_label(sheet)}, cell {cell}: {reason}")

    def raise_any(self) -> None:
        if not self.items:
            return
        more = len(self.items) - 1
        msg = self.items[0] + (f" (and {more} more {'problem' if more == 1 else 'problems'} in this form)" if more else "")
        raise InputError(msg)


def _sheet_label(title: str) -> str:
    """A sheet title as a message shows it: quoted, printable, short (titles are editable, so never trusted)."""
    shown = "".join(ch if ch.isprintable() else "?" for ch in title)[:40]
    return "'" + shown.replace("'", "''") + "'"


def is_audit_form(path: Path | str) -> bool:
    """Whether a file is a workbook written by ``qa-engine audit-form`` (its cover's title), without reading further."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return False
    try:
        _check_size(path)
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            if COVER_SHEET not in book.sheetnames:
                return False
            first = next(book[COVER_SHEET].iter_rows(min_row=1, max_row=1, max_col=1, values_only=True), (None,))
            return first[0] == FORM_TITLE
        finally:
            book.close()
    except Exception:  # anything unreadable is not a form; the export reader will say what is wrong with it
        return False


def _check_size(path: Path) -> None:
    """Refuse a file too big to be a form, or one that would unpack to far more than it weighs."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        msg = f"cannot read the audit form {path}: {exc.strerror or exc}"
        raise InputError(msg) from exc
    if size > MAX_FORM_BYTES:
        msg = f"{path.name} is {size:,} bytes, more than an audit form can be ({MAX_FORM_BYTES:,}); give the form itself"
        raise InputError(msg)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        msg = f"{path.name} is not an .xlsx workbook (save it from Excel as .xlsx); it cannot be an audit form"
        raise InputError(msg) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        msg = f"{path.name} unpacks to {unpacked:,} bytes, more than an audit form can (limit {MAX_UNPACKED_BYTES:,})"
        raise InputError(msg)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_form(path: Path | str, *, run_key: str, pack_sha256: str, as_of: dt.date, case_ids: set[str],
              criteria: list[tuple[str, list[str]]]) -> FormRead:
    """Read one audit form written for the run identified by ``run_key``.

    ``case_ids`` are the run's cases (as its outputs name them); ``criteria`` is each criterion with its
    question keys, in the catalogue's order (the rule pack the run used).

    Raises:
        InputError: the file is not a workbook or is over a size limit; it belongs to another run or rule
            pack; a sheet names a case not in the run; a row holds another question than the run's
            catalogue puts there; an answer is not in the key; an answered sheet has no valid auditor id;
            a comment is too long. The message names the file, sheet and cell, never a cell's text.
    """
    import hashlib

    from openpyxl import load_workbook

    path = Path(path)
    _check_size(path)
    name = path.name
    problems = _Problems(name)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        msg = f"{name} cannot be opened as a workbook ({type(exc).__name__}); save it again from Excel as .xlsx"
        raise InputError(msg) from exc
    try:
        if COVER_SHEET not in book.sheetnames:
            msg = f"{name} has no sheet '{COVER_SHEET}': it is not a form written by qa-engine audit-form"
            raise InputError(msg)
        if len(book.sheetnames) > MAX_SHEETS:
            msg = f"{name} has {len(book.sheetnames)} sheets, more than an audit form can ({MAX_SHEETS})"
            raise InputError(msg)
        _check_cover(book[COVER_SHEET], problems, run_key=run_key, pack_sha256=pack_sha256, as_of=as_of)
        problems.raise_any()
        layout = case_rows(criteria)
        last_row = layout[-1][0] if layout else FIRST_ROW
        read = FormRead(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
        for title in book.sheetnames:
            if title == COVER_SHEET:
                continue
            sheet = book[title]
            if getattr(sheet, "iter_rows", None) is None:  # a chart sheet
                continue
            rows = {n: row for n, row in enumerate(sheet.iter_rows(min_row=1, max_row=last_row, max_col=6,
                                                                   values_only=True), start=1)}
            head = rows.get(2, ())
            if not head or _text(head[0]) != CASE_LABEL:
                continue  # not a case sheet (the cover's index, or a sheet the user added): nothing is read
            read.cases += 1
            _read_case_sheet(title, rows, layout, case_ids, problems, read, name)
        problems.raise_any()
        return read
    finally:
        book.close()


def _check_cover(cover: Any, problems: _Problems, *, run_key: str, pack_sha256: str, as_of: dt.date) -> None:
    values = {}
    for field_name, ref in COVER.items():
        row = int(ref[1:])
        cells = next(cover.iter_rows(min_row=row, max_row=row, min_col=2, max_col=2, values_only=True), (None,))
        values[field_name] = _text(cells[0])
    form_pack = values["pack"]
    if form_pack != pack_sha256:
        shown = f" ({form_pack[:12]}...)" if _HEX.match(form_pack) else ""
        problems.add(COVER_SHEET, COVER["pack"],
                     f"this form was written for another rule pack{shown}; this run used rule pack {pack_sha256[:12]}...: "
                     "write a new form from this run with qa-engine audit-form")
        return
    form_day = values["as_of"]
    if form_day != as_of.isoformat():
        shown = f" as of {form_day}" if re.fullmatch(r"\d{4}-\d{2}-\d{2}", form_day) else ""
        problems.add(COVER_SHEET, COVER["as_of"],
                     f"this form was written for a run{shown}, not this run as of {as_of.isoformat()}: audit with the "
                     "form's --as-of, or write a new form")
        return
    if values["run_key"] != run_key:
        problems.add(COVER_SHEET, COVER["run_key"],
                     "this form was written for another run (other inputs, sample, seed or policy): audit the same "
                     "inputs with the same --sample, --seed and --policy, or write a new form from this run")


def _read_case_sheet(title: str, rows: dict[int, tuple], layout: list[tuple[int, str, str]], case_ids: set[str],
                     problems: _Problems, read: FormRead, name: str) -> None:
    def cell(row: int, column: str) -> Any:
        values = rows.get(row, ())
        index = "ABCDEF".index(column)
        return values[index] if index < len(values) else None

    case_id = _text(cell(2, "B"))
    if case_id not in case_ids:
        reason = ("the case id is blank" if not case_id else
                  f"case {case_id} is not in this run" if _ID.match(case_id) else "the case id is not one this run holds")
        problems.add(title, CASE_ID_CELL, reason + ": answer on the form written from this run")
        return
    auditor = _text(cell(6, "B")) or None
    auditor_ok = auditor is None or bool(_ID.match(auditor))
    if not auditor_ok:
        problems.add(title, AUDITOR_CELL, "the auditor's id must be letters, digits and . _ : / - only (e.g. MGR-1), "
                                          "not a name")
    answered = False
    first_answer_cell = ""
    for row, criterion, key in layout:
        found = _text(cell(row, COLUMNS["key"]))
        expected = key or criterion
        if found != expected:
            problems.add(title, f"{COLUMNS['key']}{row}",
                         f"this row should hold {'question ' + key if key else 'the heading of criterion ' + criterion}; "
                         "rows were moved, added or deleted: answer on an unaltered form")
            return
        if not key:
            continue
        answer_ref = f"{COLUMNS['answer']}{row}"
        raw = cell(row, COLUMNS["answer"])
        words = _text(raw) if isinstance(raw, str) or raw is None else None
        if words is None or (words and words.casefold() not in _BY_WORDS):
            problems.add(title, answer_ref, "the answer is not in the key: choose Yes, No or Not applicable from the "
                                            "drop-down, or leave it blank if not yet judged")
            continue
        answer = _BY_WORDS[words.casefold()] if words else None
        comment = _text(cell(row, COLUMNS["comment"])) or None
        if comment and len(comment) > MAX_COMMENT_CHARS:
            problems.add(title, f"{COLUMNS['comment']}{row}", f"the comment is longer than {MAX_COMMENT_CHARS:,} "
                                                               "characters; shorten it")
            comment = None
        if answer is not None and not answered:
            answered, first_answer_cell = True, answer_ref
        read.answers.append(FormAnswer(case_id=case_id, criterion=criterion, question=key, answer=answer,
                                       auditor_id=auditor if auditor_ok else None, comment=comment, form=name,
                                       sheet=title, cell=answer_ref))
    if answered and auditor is None:
        problems.add(title, AUDITOR_CELL, f"answers are given (first at {first_answer_cell}) but not the auditor's id: "
                                          "give it (e.g. MGR-1) so each judgement says who made it")


def merge_forms(forms: list[FormRead]) -> tuple[dict[str, dict[str, FormAnswer]], list[Disagreement]]:
    """Every case and question the forms hold, once: case id -> question key -> the answer that stands.

    Where one form answers and another leaves the question blank, the answer stands. Where two answer
    it differently, it stands as not yet judged (answer None) and is listed as a Disagreement: never
    resolved silently. Forms are taken in the order given, sheets in workbook order.
    """
    seen: dict[tuple[str, str], list[FormAnswer]] = {}
    for form in forms:
        for item in form.answers:
            seen.setdefault((item.case_id, item.question), []).append(item)
    merged: dict[str, dict[str, FormAnswer]] = {}
    disagreements: list[Disagreement] = []
    for (case_id, key), items in seen.items():
        given = [i for i in items if i.answer is not None]
        distinct = {i.answer for i in given}
        if len(distinct) > 1:
            disagreements.append(Disagreement(case_id, items[0].criterion, key, tuple(given)))
            first = given[0]
            chosen = FormAnswer(case_id, first.criterion, key, None, None, None, first.form, first.sheet, first.cell)
        else:
            chosen = given[0] if given else items[0]
        merged.setdefault(case_id, {})[key] = chosen
    disagreements.sort(key=lambda d: (d.case_id, d.question))
    return merged, disagreements
