"""Reading exports as tables: encodings, delimiters, workbooks, mapping errors, joins and unmatched rows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa_engine.base.errors import InputError, MappingError
from qa_engine.exports.mapping import build_mapping, load_mapping
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.tables import detect_encoding
from qa_engine.exports.validation import Rejection, Validator
from qa_engine.records.model import CaseRecord

CASES = "case_id,child.child_id,order.order_id,order.order_type,order.sentence_date,child.name\n"
CONTACTS_MAPPING = {
    "mapping_version": 1,
    "date_formats": ["dd/mm/yyyy"],
    "tables": {
        "record": {"file": "orders.csv", "columns": {
            "case_id": "Order ID", "order.order_id": "Order ID", "child.child_id": "Child ID",
            "order.order_type": {"column": "Order", "values": {"YRO": "youth_rehabilitation_order", "RO": "referral_order"}},
            "order.sentence_date": "Sentenced"}},
        "child": {"file": "children.csv", "join": {"child.child_id": "Child ID"}, "columns": {
            "sex": {"column": "Sex", "values": {"1": "male", "2": "female"}}, "name": "Name"}},
        "contacts": {"file": "contacts.csv", "join": {"order.order_id": "Order ID"}, "columns": {
            "contact_id": "Contact ID", "date": "Contact Date", "type": {"value": "office"},
            "outcome": {"column": "Outcome", "values": {"ATT": "attended", "UA": "unacceptable_absence",
                                                        "Unacceptable absence": "unacceptable_absence"}},
            "note": "Notes"}},
    },
}


def _folder(tmp_path: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def _mapping(tmp_path: Path, data: dict | None = None) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(json.dumps(data or CONTACTS_MAPPING), encoding="utf-8")
    return path


def _read(folder: Path, mapping_path: Path | None = None) -> list:
    mapping = load_mapping(mapping_path) if mapping_path else None
    return [Validator.check(raw) for raw in read_inputs([str(folder)], mapping=mapping)]


ORDERS = "Order ID,Child ID,Order,Sentenced\nO-1,C-1,YRO,01/02/2016\nO-2,C-2,RO,2016-02-03\n"
CHILDREN = "Child ID,Sex,Name\nC-1,1,Ann Example\nC-2,2,Bea Example\nC-9,1,Nobody Example\n"
CONTACTS = ("Contact ID,Order ID,Contact Date,Outcome,Notes\n"
            "K-1,O-1,03/02/2016,ATT,\"said \"\"fine\"\", left early\"\n"
            "K-2,O-1,04/02/2016 00:00,unacceptable ABSENCE,\n"
            "K-3,O-2,05/02/2016,UA,\n")


def test_tables_join_into_records_with_codes_dates_and_a_child_table(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": CONTACTS})
    *records, unmatched = _read(folder, _mapping(tmp_path))
    one, two = records
    assert isinstance(one, CaseRecord) and isinstance(two, CaseRecord)
    assert one.order.sentence_date == dt.date(2016, 2, 1) and two.order.sentence_date == dt.date(2016, 2, 3)
    assert one.child.sex.value == "male" and one.child.name == "Ann Example"
    assert [c.outcome.value for c in one.contacts] == ["attended", "unacceptable_absence"]
    assert one.contacts[0].note == 'said "fine", left early'
    assert one.contacts[1].date == dt.date(2016, 2, 4)  # a time after the date is ignored
    assert [c.contact_id for c in two.contacts] == ["K-3"]
    # the child with no order is reported, not dropped, and its name is not in the message
    assert isinstance(unmatched, Rejection) and unmatched.kind == "unmatched_row"
    assert unmatched.source.endswith("children.csv") and unmatched.position == "row 4"
    assert "Nobody" not in json.dumps(unmatched.model_dump())


@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", b"", ","), ("utf-8", b"\xef\xbb\xbf", ";"), ("cp1252", b"", ";"), ("utf-16", b"", "\t"),
    ("latin-1", b"", ","),
])
def test_any_council_encoding_and_delimiter_is_read(tmp_path, encoding, bom, delimiter):
    children = CHILDREN.replace("Ann Example", "Zoë O’Brien £") if encoding != "latin-1" else CHILDREN.replace(
        "Ann Example", "Zoë")
    files = {"orders.csv": ORDERS, "children.csv": children, "contacts.csv": CONTACTS}
    folder = tmp_path / "export"
    folder.mkdir()
    for name, text in files.items():
        if delimiter != ",":
            text = text.replace(",", delimiter).replace(f'"said ""fine""{delimiter} left early"', '"said ""fine"", left early"')
        (folder / name).write_bytes(bom + text.encode(encoding))
    records = _read(folder, _mapping(tmp_path))
    assert records[0].child.name == ("Zoë O’Brien £" if encoding != "latin-1" else "Zoë")
    assert records[0].contacts[0].note == 'said "fine", left early'


def test_encoding_detection(tmp_path):
    cases = {"utf-8": "é".encode(), "cp1252": "’£".encode("cp1252"), "utf-8-sig": b"\xef\xbb\xbfx",
             "utf-16": "x".encode("utf-16"), "latin-1": b"\x81\x8d", "utf-16-le": "Case,Date\n".encode("utf-16-le"),
             "utf-16-be": "Case,Date\n".encode("utf-16-be")}
    for expected, data in cases.items():
        path = tmp_path / f"{expected}.csv"
        path.write_bytes(data)
        assert detect_encoding(path) == expected


def test_a_workbook_is_read_by_sheet_name_with_real_dates_and_numbers(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    orders = book.create_sheet("orders")
    orders.append(["Order ID", "Child ID", "Order", "Sentenced"])
    orders.append(["O-1", 17, "YRO", dt.datetime(2016, 2, 1)])
    orders.append([None, None, None, None])  # blank rows are skipped, but still counted
    orders.append(["O-2", 18.0, "RO", "03/02/2016"])
    children = book.create_sheet("children")
    children.append(["Child ID", "Sex", "Name"])
    children.append([17, 1, None])
    children.append([18, 2, None])
    contacts = book.create_sheet("contacts")
    contacts.append(["Contact ID", "Order ID", "Contact Date", "Outcome", "Notes"])
    contacts.append(["K-1", "O-2", dt.date(2016, 2, 5), "UA?", "=HYPERLINK(\"x\")"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    one, two = _read(path, _mapping(tmp_path))
    assert one.child.child_id == "17" and one.order.sentence_date == dt.date(2016, 2, 1)
    assert isinstance(two, Rejection)
    assert two.problems[0].where == 'export.xlsx sheet "contacts" row 2, column "Outcome"'
    assert two.position == "row 4"


def test_a_folder_without_cases_csv_needs_a_mapping(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS})
    with pytest.raises(InputError, match=r"without cases.csv.*--mapping"):
        _read(folder)


def test_a_missing_table_or_column_is_named_with_the_nearest(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN,
                                "contact.csv": CONTACTS})
    with pytest.raises(InputError, match=r"no contacts.csv .*did you mean 'contact.csv'"):
        _read(folder, _mapping(tmp_path))
    (folder / "contact.csv").rename(folder / "contacts.csv")
    (folder / "contacts.csv").write_text(CONTACTS.replace("Contact Date", "Contact Dte"))
    with pytest.raises(InputError, match=r'no column "Contact Date".*did you mean \'Contact Dte\''):
        _read(folder, _mapping(tmp_path))


def _broken(**changes) -> dict:
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("/")
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


@pytest.mark.parametrize(("changes", "message"), [
    ({"tables/contact": {"file": "x.csv", "join": {"case_id": "x"}, "columns": {}}},
     r"no part 'contact' \(did you mean 'contacts'\?\)"),
    ({"tables/contacts/columns/outcom": "Outcome"}, r"no field 'outcom' \(did you mean 'outcome'\?\)"),
    ({"tables/contacts/columns/outcome": {"column": "Outcome", "values": {"UA": "unacceptable"}}},
     r"code 'UA' maps to 'unacceptable', which is not one of: attended"),
    ({"tables/contacts/columns/date": None}, r"tables.contacts: no column is mapped to the required field\(s\) date"),
    ({"tables/contacts/join": {"team": "Team"}}, r"the record table does not map 'team'"),
    ({"tables/contacts/join": None}, r"give 'join'"),
    ({"date_formats": ["yyyy"]}, r"has no day or month"),
    ({"tables/record": None}, r"'record' is a required property"),
    ({"tables/child/columns/sex": {"column": "Sex", "values": {"1": True}}}, r"maps to True, which is not one of"),
    ({"tables/record/columns/child.sex": "Sex"}, r"child.sex is already mapped"),
    ({"tables/plans.reviews": {"file": "r.csv", "join": {"case_id": "Case"}, "columns": {"date": "Date"}}},
     r"nest in plans, which has no table"),
])
def test_mapping_mistakes_are_found_when_it_is_loaded(tmp_path, changes, message):
    with pytest.raises(MappingError, match=message):
        load_mapping(_mapping(tmp_path, _broken(**changes)))


def test_nested_rows_must_name_their_parent_item():
    data = _broken(**{"tables/plans": {"file": "plans.csv", "join": {"case_id": "Case"}, "columns": {
        "plan_id": "Plan", "plan_type": "Type", "created_date": "Created"}},
        "tables/plans.reviews": {"file": "r.csv", "join": {"case_id": "Case"}, "columns": {"date": "Date"}}})
    with pytest.raises(MappingError, match=r"name the plans item each row belongs to"):
        build_mapping(data)


def test_problems_name_file_row_column_and_value_and_the_batch_goes_on(tmp_path):
    contacts = CONTACTS + "K-4,O-2,31/02/2016,ATT,\nK-5,O-2,06/02/2016,UA?,\nK-6,O-7,06/02/2016,ATT,\n,,06/02/2016,ATT,\n"
    orders = ORDERS + "O-3,C-1,YRO,\n"
    folder = _folder(tmp_path, {"orders.csv": orders, "children.csv": CHILDREN, "contacts.csv": contacts})
    results = _read(folder, _mapping(tmp_path))
    ok, bad, empty_date, *unmatched = results
    assert isinstance(ok, CaseRecord)
    where = [(p.where.rsplit("/", 1)[-1], p.reason) for p in bad.problems]
    assert where == [('contacts.csv row 5, column "Contact Date"', '"31/02/2016" is not a date in the format dd/mm/yyyy'),
                     ('contacts.csv row 6, column "Outcome"', '"UA?" is not one of the mapped codes (ATT, UA, '
                                                              'Unacceptable absence)')]
    assert bad.case_id == "O-2" and bad.position == "row 3"
    assert [(p.where.rsplit("/", 1)[-1], p.reason) for p in empty_date.problems] == [
        ('orders.csv row 4, column "Sentenced"', "is empty, but a value is required")]
    reasons = {r.position: r.reason for r in unmatched}
    assert reasons["row 7"].startswith("no case in ") and 'column "Order ID"' in reasons["row 7"]
    assert reasons["row 8"] == 'column "Order ID" is empty, so the row joins no case; it was not audited'


def test_two_rows_for_one_child_are_a_problem_not_a_guess(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN + "C-1,2,\n", "contacts.csv": CONTACTS})
    first, second, *_ = _read(folder, _mapping(tmp_path))
    assert isinstance(first, Rejection) and isinstance(second, CaseRecord)
    assert "rows 2 and 5 both join this case" in first.problems[0].reason


def test_a_row_with_more_cells_than_the_header_is_reported(tmp_path):
    contacts = CONTACTS + "K-4,O-2,06/02/2016,ATT,left, early\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": contacts})
    _, second, *_ = _read(folder, _mapping(tmp_path))
    assert "row has 6 cells but the header has 5 columns" in second.problems[0].reason
    assert second.problems[0].where.endswith("contacts.csv row 5")


def test_an_unclosed_quote_is_an_input_error_naming_the_row(tmp_path):
    """A quote never closed would swallow every later row into one note: the export is refused, naming the row."""
    contacts = CONTACTS + 'K-4,O-2,06/02/2016,ATT,"never closed\n' + "K-5,O-2,07/02/2016,ATT,\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": contacts})
    with pytest.raises(InputError, match=r"contacts.csv row 5: cannot be read as CSV .*a quote that is never closed"):
        _read(folder, _mapping(tmp_path))


def test_excel_resaved_flat_layout_still_reads(tmp_path):
    """A UK-locale Excel re-saves ISO dates as dd/mm/yyyy and true as TRUE; the flat layout still reads, when a date
    shows the order (13/03/2016). With every day 12 or under (01/03/2016) the file cannot say which locale saved it,
    so the column is held back rather than guessed (tests/test_saved_exports.py)."""
    folder = _folder(tmp_path, {"cases.csv": CASES + "T-1,C-1,O-1,youth_rehabilitation_order,13/03/2016,\n"
                                             "T-2,C-2,O-2,Youth Rehabilitation Order,2016-03-02,\n"})
    one, two = _read(folder)
    assert one.order.sentence_date == dt.date(2016, 3, 13)
    assert two.order.order_type.value == "youth_rehabilitation_order"
    (tmp_path / "ambiguous").mkdir()
    ambiguous = _folder(tmp_path / "ambiguous", {"cases.csv": CASES + "T-1,C-1,O-1,youth_rehabilitation_order,"
                                                                   "01/03/2016,\n"})
    [held] = _read(ambiguous)
    assert isinstance(held, Rejection)
    assert "every date in it has the day and the month both 12 or under" in held.lines()[0]


def test_an_empty_export_reads_no_records(tmp_path):
    folder = _folder(tmp_path, {"cases.csv": CASES})
    assert _read(folder) == []


def test_a_repeated_header_or_a_file_that_is_not_a_workbook_is_an_input_error(tmp_path):
    folder = _folder(tmp_path, {"cases.csv": "case_id,case_id\nT-1,T-1\n"})
    with pytest.raises(InputError, match=r'column "case_id" appears twice in the header row'):
        _read(folder)
    fake = tmp_path / "export.xlsx"
    fake.write_text("not a workbook")
    with pytest.raises(InputError, match=r"cannot be read as an .xlsx workbook"):
        _read(fake)


def test_yes_no_columns_can_fill_a_list_and_one_file_can_have_its_own_encoding(tmp_path):
    """AssetPlus-style concern flags (one yes/no column per need) become identified_needs; a table may set its own
    encoding and delimiter where the export mixes them."""
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["tables"]["assessments"] = {
        "file": "asset.csv", "encoding": "latin-1", "delimiter": "|", "join": {"order.order_id": "Order ID"},
        "columns": {"assessment_id": "Assessment ID", "stage": {"value": "start_of_order"},
                    "identified_needs": {"flags": {"concernsMentalHealth": "mental_health",
                                                   "concernsSubstanceMisuse": "substance_misuse"}}}}
    asset = ("Assessment ID|Order ID|concernsMentalHealth|concernsSubstanceMisuse\n"
             "A-1|O-1|Y|N\nA-2|O-1|true|1\nA-3|O-2||\nA-4|O-2|perhaps|N\n")
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": CONTACTS})
    (folder / "asset.csv").write_bytes(asset.encode("latin-1"))
    one, two, *_ = _read(folder, _mapping(tmp_path, data))
    assert [a.identified_needs for a in one.assessments] == [["mental_health"], ["mental_health", "substance_misuse"]]
    assert isinstance(two, Rejection)
    problem = two.problems[0]
    assert problem.where.endswith('asset.csv row 5, column "concernsMentalHealth, concernsSubstanceMisuse"')
    assert problem.reason == 'in column "concernsMentalHealth", "perhaps" is not yes or no (Y, N, Yes, No, true, false, 1 or 0)'
    data["tables"]["assessments"]["columns"]["stage"] = {"flags": {"x": "review"}}
    with pytest.raises(MappingError, match="'flags' fills a list field"):
        build_mapping(data)
    data["tables"]["assessments"]["columns"]["stage"] = {"value": "review"}
    data["tables"]["assessments"]["columns"]["identified_needs"]["flags"]["x"] = "TODO"
    with pytest.raises(MappingError, match="code 'x' is still TODO"):
        build_mapping(data)


_CELL = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", "ATT", "UA", "O-1", "O-2", "01/02/2016", "31/02/2016", "2016-02-03", "=1+1", '"', ";", "\r\n", "1900-01-01"])


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    """The rows as CSV text, NUL characters included: Python 3.10's csv writer refuses to write them (3.11 and later
    write them as they are), and an export may hold them all the same, so the test writes them itself."""
    import csv
    import io

    cells = "".join("".join(row) for row in rows)
    stand_in = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in cells)  # a private-use character
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([[cell.replace("\x00", stand_in) for cell in row] for row in rows])
    return text.getvalue().replace(stand_in, "\x00")


def _cases_or_refusal(folder: Path, tmp: Path, fuzzed: str) -> list | None:
    """The cases read (every rejection located), or None when the export is refused naming the fuzzed file."""
    try:
        results = _read(folder, _mapping(tmp))
    except InputError as exc:
        assert fuzzed in exc.message
        return None
    for result in results:
        if isinstance(result, Rejection):
            assert result.problems and all(p.where and p.reason for p in result.problems)
    return [r for r in results if not (isinstance(r, Rejection) and r.kind == "unmatched_row")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=7), max_size=8),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
@example(rows=[["\x00"]], encoding="utf-8")  # a NUL character: refused on Python 3.10, read on 3.11 and later
def test_any_contacts_table_is_read_or_refused_with_a_reason(tmp_path_factory, rows, encoding):
    """Whatever the contacts table holds, every case is a record or a rejection with a located reason, every other
    row a record's or an unmatched row, or the whole export is refused with an InputError: never a crash."""
    tmp = tmp_path_factory.mktemp("fuzz")
    text = _csv_text(["Contact ID", "Order ID", "Contact Date", "Outcome", "Notes"], rows)
    folder = tmp / "export"
    folder.mkdir()
    (folder / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (folder / "children.csv").write_text(CHILDREN, encoding="utf-8")
    try:
        (folder / "contacts.csv").write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    cases = _cases_or_refusal(folder, tmp, "contacts.csv")
    assert cases is None or len(cases) == 2


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=0, max_size=6), max_size=8))
@example(rows=[["\x00"]])
def test_any_record_table_is_read_or_refused_with_a_reason(tmp_path_factory, rows):
    """The same for the record table: each non-blank row is one case (a record or a located rejection)."""
    import csv
    import io

    tmp = tmp_path_factory.mktemp("fuzz")
    text = _csv_text(["Order ID", "Child ID", "Order", "Sentenced"], rows)
    folder = tmp / "export"
    folder.mkdir()
    (folder / "orders.csv").write_text(text, encoding="utf-8")
    (folder / "children.csv").write_text(CHILDREN, encoding="utf-8")
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    cases = _cases_or_refusal(folder, tmp, "orders.csv")
    if cases is not None:  # (on Python 3.10 a table holding NUL is refused, and the csv module cannot parse it here either)
        parsed = list(csv.reader(io.StringIO(text)))[1:]
        assert len(cases) == sum(1 for row in parsed if any(c.strip() for c in row))


def test_a_case_whose_rows_exceed_the_record_size_limit_is_rejected(tmp_path):
    from qa_engine.exports.raw import Limits

    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN,
                                "contacts.csv": CONTACTS + "".join(f"K-{n},O-2,05/02/2016,UA,{'x' * 90}\n" for n in range(20))})
    mapping = load_mapping(_mapping(tmp_path))
    one, two, _ = [Validator.check(r) for r in read_inputs([str(folder)], Limits(max_record_bytes=1024), mapping)]
    assert isinstance(one, CaseRecord)
    assert isinstance(two, Rejection) and two.case_id == "O-2"
    assert "over 1,024 characters, the limit for one case (see --max-record-bytes)" in two.reason


# --- found in review: nothing lost silently, nothing echoed, no traceback -------------------------------------------


def _flat_copy(tmp_path: Path) -> Path:
    from qa_engine.exports.flat import export_flat

    folder = tmp_path / "flat"
    export_flat([str(Path(__file__).resolve().parent.parent / "examples" / "caseload.jsonl")], folder)
    return folder


def test_flat_layout_names_match_ignoring_case_and_unknown_ones_are_refused(tmp_path):
    folder = _flat_copy(tmp_path)
    before = _read(folder)
    (folder / "contacts.csv").rename(folder / "Contacts.csv")
    text = (folder / "contacts.csv" if (folder / "contacts.csv").exists() else folder / "Contacts.csv").read_text(
        encoding="utf-8-sig")
    (folder / "Contacts.csv").write_text(text.replace("follow_up_date", "Follow-up date", 1), encoding="utf-8-sig")
    assert _read(folder) == before
    (folder / "enforcement.csv").rename(folder / "enforcement (1).csv")
    with pytest.raises(InputError, match=r"'enforcement \(1\).csv' is not a table of qa_engine flat layout "
                                         r"\(did you mean 'enforcement.csv'\?\)"):
        _read(folder)
    (folder / "enforcement (1).csv").rename(folder / "enforcement.csv")
    (folder / "Contacts.csv").write_text(text.replace("counts_towards_required", "counts_toward_required", 1),
                                         encoding="utf-8-sig")
    with pytest.raises(InputError, match=r'column "counts_toward_required" is not a column of the contacts table '
                                         r"\(did you mean 'counts_towards_required'\?\)"):
        _read(folder)


def test_a_short_row_reads_as_empty_trailing_cells_and_a_long_one_is_not_read(tmp_path):
    """Excel drops the delimiters of empty trailing cells: such a row is read, its missing cells empty. A row with more
    cells than the header is shifted, so none of it is read (and no value of it is echoed)."""
    contacts = CONTACTS + "K-4,O-2,06/02/2016\n" + "K-5,O-2,Derby DE1 1AA,06/02/2016,ATT,\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": contacts})
    _, second, *_ = _read(folder, _mapping(tmp_path))
    lines = second.lines()
    assert [p.reason for p in second.problems] == [
        "row has 6 cells but the header has 5 columns, so its values cannot be told apart (a delimiter "
        "inside a value that is not quoted, or a line cut short?)",
        "is empty, but a value is required"]
    assert lines[1] == f'{folder / "contacts.csv"} row 5, column "Outcome" (case O-2): is empty, but a value is required'
    assert "Derby" not in json.dumps(second.model_dump())
    short = CONTACTS + "K-4,O-2,06/02/2016,ATT\n"  # the last column (notes) empty, its delimiter dropped
    (tmp_path / "short").mkdir()
    folder = _folder(tmp_path / "short", {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": short})
    _, second, *_ = _read(folder, _mapping(tmp_path))
    assert isinstance(second, CaseRecord) and second.contacts[-1].note is None


def test_a_workbooks_recorded_size_is_not_trusted(tmp_path):
    """A workbook may record a smaller size than it has: every row and column is still read, numbered from 1."""
    import re
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, text in (("orders", ORDERS), ("children", CHILDREN), ("contacts", CONTACTS)):
        sheet = book.create_sheet(title)
        for line in text.splitlines():
            sheet.append(line.split(",") if title != "contacts" else next(__import__("csv").reader([line])))
    good = tmp_path / "good.xlsx"
    book.save(good)
    bad = tmp_path / "export.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="B3:C3"/>', data)
            dst.writestr(item, data)
    assert _read(bad, _mapping(tmp_path))[0].contacts[1].contact_id == "K-2"
    raws = list(read_inputs([str(bad)], mapping=load_mapping(_mapping(tmp_path))))
    assert [r.position for r in raws[:2]] == ["row 2", "row 3"]


def test_formula_cells_as_openpyxl_gives_them_to_the_sheet_reader(tmp_path):
    """Pins the openpyxl internals exports/tables.py builds on, so an openpyxl upgrade that changes them fails here,
    by name, rather than reading a formula column as empty cells.

    tables.py subclasses ``openpyxl.worksheet._reader.WorkSheetParser`` (its ``parse_row`` must call ``parse_cell``
    once a cell, which with ``data_only=True`` must give the cached ``<v>`` as ``value`` and ``"d"`` as ``data_type``
    for a date-styled number), reads ``sheet._get_source()``, ``sheet._shared_strings`` and the workbook's
    ``_date_formats``, and skips ``ReadOnlyWorksheet._get_size`` while a workbook opens. openpyxl's public API has no
    read that gives a formula and its cached value together (``data_only=False`` drops the cached value, so it would
    take a second pass over every sheet), nor one that stops at a row of a million cells before holding it."""
    import re
    import zipfile

    from openpyxl import Workbook, load_workbook

    from qa_engine.exports.tables import FORMULA, formula_text, open_export

    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    sheet.append(["Due", "Name", "Pending", "Shared", "Zero date", "Count"])
    sheet.append(["=WORKDAY(A1,15)", "=B1", "=WORKDAY(A1,15)", "=C2", "=WORKDAY(A1,15)", "=1-1"])
    for ref in ("A2", "C2", "E2"):
        sheet[ref].number_format = "dd/mm/yyyy"
    written = tmp_path / "written.xlsx"
    book.save(written)
    cells = {  # what Excel, a script and some report writers save for a formula cell
        "A2": ("", "<f>WORKDAY(A1,15)</f><v>42436</v>"),  # calculated: 7 March 2016 as a date serial
        "B2": (' t="str"', "<f>B1</f><v>Smith, Jo</v>"),  # calculated: text
        "C2": ("", "<f>WORKDAY(A1,15)</f>"),  # never calculated (a script-written workbook)
        "D2": ("", '<f t="shared" si="0"/>'),  # a shared formula's copy, never calculated: no text of its own
        "E2": ("", "<f>WORKDAY(A1,15)</f><v>0</v>"),  # 0 saved as a date formula's value: a placeholder
        "F2": ("", "<f>1-1</f><v>0</v>"),  # a number formula whose value is 0
    }
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for ref, (kind, inner) in cells.items():
                    data, found = re.subn(rf'<c r="{ref}"( s="\d+")?>.*?</c>'.encode(),
                                          rf'<c r="{ref}"\1{kind}>{inner}</c>'.encode(), data)
                    assert found == 1, ref
            target.writestr(item, data)

    with open_export(path) as export:
        assert export.book()["cases"].max_row is None  # openpyxl's measuring on opening was skipped
        [(number, row, problem)] = list(export.table("cases.csv", "cases").rows())
    assert (2, None) == (number, problem)
    assert {"Due": "2016-03-07", "Name": "Smith, Jo", "Count": "0"} == {k: row[k] for k in ("Due", "Name", "Count")}
    assert [FORMULA + "=WORKDAY(A1,15)", FORMULA, FORMULA + "=WORKDAY(A1,15)"] == [row["Pending"], row["Shared"],
                                                                                    row["Zero date"]]
    assert ["=WORKDAY(A1,15)", "a shared formula"] == [formula_text(row["Pending"]), formula_text(row["Shared"])]
    plain = load_workbook(path, read_only=True)  # openpyxl measures each sheet when it opens: restored afterwards
    assert 2 == plain["cases"].max_row
    plain.close()


def test_a_row_joining_two_cases_and_a_case_without_its_child_row_are_reported(tmp_path):
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["tables"]["contacts"]["join"] = {"child.child_id": "Child ID"}
    orders = ORDERS + "O-3,C-1,YRO,05/02/2016\nO-4,C-5,YRO,05/02/2016\n"
    contacts = CONTACTS.replace("Order ID", "Child ID").replace(",O-1,", ",C-1,").replace(",O-2,", ",C-2,")
    folder = _folder(tmp_path, {"orders.csv": orders, "children.csv": CHILDREN, "contacts.csv": contacts})
    first, second, third, fourth, *rest = _read(folder, _mapping(tmp_path, data))
    # child C-1 has orders O-1 and O-3: contacts joined on the child cannot be told apart between them, so neither
    # order is judged with the other's contacts (issue 14: C1 was audited with C2's assessment)
    for held in (first, third):
        assert isinstance(held, Rejection)
        assert held.problems[0].reason == (
            f'{folder / "contacts.csv"} joins its rows on the child\'s id (column "Child ID"), and this child has 2 '
            "orders in orders.csv, so which order each row belongs to cannot be told: the case is not judged with "
            "another order's rows. Join the table on the order (through its link table, with via)")
    assert isinstance(second, CaseRecord) and [c.contact_id for c in second.contacts] == ["K-3"]
    assert not any(r.kind == "unmatched_row" and "contacts.csv" in r.source for r in rest)
    assert fourth.problems[0].reason == 'children.csv has no row for this case (joined on column "Child ID")'.replace(
        "children.csv", str(folder / "children.csv"))


def test_codes_that_yaml_reads_as_booleans_must_be_quoted(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(json.dumps(CONTACTS_MAPPING).replace('"ATT": "attended"', '"ATT": "attended", "Other": null'))
    load_mapping(path)
    text = path.read_text().replace('"Other": null', '"Other": null, "UA2": "unacceptable_absence"')
    import yaml

    data = yaml.safe_load(text)
    data["tables"]["contacts"]["columns"]["outcome"]["values"][True] = "attended"
    with pytest.raises(MappingError, match=r"code True was read by YAML as bool, not as text: put it in quotes"):
        build_mapping(data)


def test_dates_with_times_zones_and_sentinels(tmp_path):
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["date_formats"] = ["dd/mm/yyyy", "dd mmm yyyy", "dd/mm/yyyy hh:mm"]
    data["null_values"] = ["01/01/1900"]
    data["tables"]["contacts"]["columns"]["follow_up_date"] = "Follow Up"
    orders = "Order ID,Child ID,Order,Sentenced\nO-1,C-1,YRO,15 Feb 2016 10:00\nO-2,C-2,RO,2016-02-15T23:30:00+01:00\n"
    contacts = ("Contact ID,Order ID,Contact Date,Outcome,Notes,Follow Up\n"
                "K-1,O-1,16/02/2016 09:15,ATT,,01/01/1900 00:00\nK-2,O-1,16/02/2016,ATT,,1900-01-01\n"
                "K-3,O-2,42416,ATT,,\n")
    folder = _folder(tmp_path, {"orders.csv": orders, "children.csv": CHILDREN, "contacts.csv": contacts})
    one, two, _ = _read(folder, _mapping(tmp_path, data))
    assert one.order.sentence_date == dt.date(2016, 2, 15)
    assert [c.follow_up_date for c in one.contacts] == [None, None]
    assert two.problems[0].reason.startswith('"42416" is not a date in the format dd/mm/yyyy or dd mmm yyyy or '
                                             "dd/mm/yyyy hh:mm (an Excel date number")


def test_whole_numbers_are_read_exactly():
    from qa_engine.exports.mapping import CellError, Column
    from qa_engine.records.layout import targets

    column = Column(targets()["oversight"].fields["actions_requested"], "Actions")
    assert column.read("9007199254740993") == 9007199254740993
    assert column.read("3.0") == 3
    for text in ("1_6", "1e1", "3.5", "inf"):
        with pytest.raises(CellError, match="is not a whole number"):
            column.read(text)


@pytest.mark.parametrize(("name", "hint"), [("cases.csv", "give the folder that holds"), ("book.xls", "save it as an .xlsx")])
def test_a_lone_csv_file_or_an_old_workbook_gets_a_hint(tmp_path, name, hint):
    path = tmp_path / name
    path.write_text("a,b\n")
    with pytest.raises(InputError, match=hint):
        list(read_inputs([str(path)]))


def test_codes_are_text_as_written_in_the_mapping_file(tmp_path):
    """YAML 1.1 reads Yes, No, ON and 01 as true, false, true and 1: a mapping keeps its codes as written."""
    path = tmp_path / "m.yaml"
    path.write_text(json.dumps(CONTACTS_MAPPING).replace('"ATT": "attended"', '"ATT": "attended"')
                    .replace('"values": {"ATT"', '"values": {"Yes": "attended", "01": "not_recorded", "ATT"'))
    text = path.read_text().replace('"Yes":', "Yes:").replace('"01":', "01:")
    path.write_text(text)
    outcome = next(c for c in load_mapping(path).tables["contacts"].columns if c.field.path == "outcome")
    assert outcome.read("Yes") == "attended" and outcome.read("01") == "not_recorded"


def test_a_blank_first_row_above_data_is_refused(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": ",,,,\n" + CONTACTS})
    with pytest.raises(InputError, match=r"contacts.csv: row 1 is blank but row 2 is not: the header must be the first"):
        _read(folder, _mapping(tmp_path))
    (folder / "contacts.csv").write_text("")  # a mapping that names a table wants at least its header
    with pytest.raises(InputError, match=r"contacts.csv is empty: it needs at least a header row"):
        _read(folder, _mapping(tmp_path))
    flat = _flat_copy(tmp_path)
    (flat / "contacts.csv").write_text("")  # the flat layout may leave a table out: an empty file has no rows
    assert all(not r.contacts for r in _read(flat) if isinstance(r, CaseRecord))


def test_a_table_can_join_its_cases_through_a_link_table(tmp_path):
    """Child Level Data links AssetPlus stages to programmes in link_intervention_programme_asset: a stage linked
    to two orders serves both; a stage linked to none is reported."""
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["tables"]["assessments"] = {
        "file": "asset_plus.csv", "join": {"order.order_id": "interventionProgrammeID"},
        "via": {"file": "link_intervention_programme_asset.csv", "on": {"assetID": "assessmentID"}},
        "columns": {"assessment_id": "assessmentID", "stage": {"value": "start_of_order"}}}
    asset = "assessmentID,stage\nA-1,START\nA-2,START\nA-3,START\n"
    link = "assetID,interventionProgrammeID\nA-1,O-1\nA-1,O-2\nA-2,O-2\nA-2,O-9\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": CONTACTS,
                                "asset_plus.csv": asset, "link_intervention_programme_asset.csv": link})
    one, two, *unmatched = _read(folder, _mapping(tmp_path, data))
    assert [a.assessment_id for a in one.assessments] == ["A-1"]
    assert [a.assessment_id for a in two.assessments] == ["A-1", "A-2"]
    reasons = {Path(r.source).name + " " + r.position: r.reason for r in unmatched}
    assert reasons["asset_plus.csv row 4"] == ('no row of the link table link_intervention_programme_asset.csv links it '
                                               '(on column "assessmentID"); the row was not audited')
    (folder / "link_intervention_programme_asset.csv").write_text(link.replace("assetID", "asset"))
    with pytest.raises(InputError, match=r'link_intervention_programme_asset.csv: no column "assetID" \(the link table'):
        _read(folder, _mapping(tmp_path, data))


def test_checks_across_fields_name_the_column_they_concern(tmp_path):
    """A start before the sentence, or a warning answering a contact not in the case, points at the exact cell."""
    folder = _flat_copy(tmp_path)
    import csv

    with (folder / "cases.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    rows[1][header.index("order.start_date")] = "2001-01-01"
    with (folder / "cases.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with (folder / "enforcement.csv").open(encoding="utf-8-sig", newline="") as handle:
        actions = list(csv.reader(handle))
    pick = next(i for i, a in enumerate(actions[1:], start=1)
                if a[actions[0].index("case_id")] != rows[1][header.index("case_id")])
    actions[pick][actions[0].index("answers_contact_ids")] = "K-NOT-THERE"
    with (folder / "enforcement.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(actions)
    results = {r.case_id: r for r in _read(folder) if isinstance(r, Rejection)}
    first = results[rows[1][header.index("case_id")]]
    assert first.problems[0].where.endswith('cases.csv row 2, column "order.start_date"')
    assert first.problems[0].pointer == "/order/start_date"
    linked = results[actions[pick][actions[0].index("case_id")]]
    assert linked.problems[-1].where.endswith(f'enforcement.csv row {pick + 1}, column "answers_contact_ids"')
    assert "answers contact K-NOT-THERE, which is not in this case" in linked.problems[-1].reason


# --- found in the second review ---------------------------------------------------------------------------------------


def test_a_case_over_the_size_limit_still_claims_all_its_rows(tmp_path):
    from qa_engine.exports.raw import Limits

    folder = _flat_copy(tmp_path)
    results = [Validator.check(r) for r in read_inputs([str(folder)], Limits(max_record_bytes=1024))]
    assert not [r for r in results if isinstance(r, Rejection) and r.kind == "unmatched_row"]
    assert any(isinstance(r, Rejection) and "the limit for one case" in r.reason for r in results)


def test_repeated_link_rows_and_shared_one_per_case_rows(tmp_path):
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["tables"]["assessments"] = {
        "file": "asset.csv", "join": {"order.order_id": "programme"},
        "via": {"file": "link.csv", "on": {"asset": "assessmentID"}},
        "columns": {"assessment_id": "assessmentID", "stage": {"value": "start_of_order"}}}
    data["tables"]["court"] = {"file": "psr.csv", "join": {"child.child_id": "Child ID"},
                               "columns": {"psr_requested_date": "Requested"}}
    folder = _folder(tmp_path, {"orders.csv": ORDERS + "O-3,C-1,YRO,05/02/2016\n", "children.csv": CHILDREN,
                                "contacts.csv": CONTACTS, "asset.csv": "assessmentID\nA-1\n",
                                "link.csv": "asset,programme\nA-1,O-2\nA-1,O-2\n",
                                "psr.csv": "Child ID,Requested\nC-1,01/01/2016\n"})
    one, two, three, *_ = _read(folder, _mapping(tmp_path, data))
    assert [a.assessment_id for a in two.assessments] == ["A-1"]  # the repeated link row adds it once
    for held in (one, three):  # child C-1 has two orders: whose report the one row is cannot be told
        assert "psr.csv joins its rows on the child's id" in held.problems[0].reason


def test_a_case_row_with_shifted_cells_reports_only_that(tmp_path):
    folder = _folder(tmp_path, {"orders.csv": ORDERS + "O-3,C-1,YRO,05/02/2016,extra\n", "children.csv": CHILDREN,
                                "contacts.csv": CONTACTS})
    third = _read(folder, _mapping(tmp_path))[2]
    assert [p.reason for p in third.problems] == [
        "row has 5 cells but the header has 4 columns, so its values cannot be told apart (a delimiter inside a value "
        "that is not quoted, or a line cut short?)"]


def test_odd_yaml_keys_and_json_named_txt_and_a_capitalised_cases_file(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("mapping_version: 1\ntables:\n  ? [a, b]\n  : 1\n")
    with pytest.raises(MappingError, match="found a key that is not plain text"):
        load_mapping(path)
    records = tmp_path / "records.txt"
    records.write_text(json.dumps([{"case_id": "T-1", "child": {"child_id": "C-1"}, "order": {
        "order_id": "O-1", "order_type": "other", "sentence_date": "2016-01-01"}}]))
    assert isinstance(_read(records)[0], CaseRecord)
    folder = _folder(tmp_path, {"Cases.csv": CASES + "T-1,C-1,O-1,other,01/03/2016,\n"})
    assert _read(folder)[0].case_id == "T-1"


def test_a_null_date_in_a_columns_own_format_and_the_mappings(tmp_path):
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["null_values"] = ["01/01/1900"]
    data["tables"]["contacts"]["columns"]["follow_up_date"] = {"column": "Follow Up", "date_formats": ["dd-mmm-yyyy"]}
    contacts = "Contact ID,Order ID,Contact Date,Outcome,Notes,Follow Up\nK-1,O-1,03/02/2016,ATT,,01-Jan-1900\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": contacts})
    assert _read(folder, _mapping(tmp_path, data))[0].contacts[0].follow_up_date is None


def test_text_nulls_separators_unknown_encodings_and_a_missing_order_row(tmp_path):
    """Mapping settings no other test reaches: a null value in a code column and in a list, a list separator, an
    encoding that does not exist, and a case with no row in its own order table."""
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["null_values"] = ["N/A"]
    data["separator"] = "|"
    data["tables"]["assessments"] = {
        "file": "asset.csv", "join": {"order.order_id": "Order ID"},
        "columns": {"assessment_id": "ID", "stage": {"value": "start_of_order"}, "identified_needs": "Needs",
                    "risk_of_serious_harm": "RoSH"}}
    asset = "ID,Order ID,Needs,RoSH\nA-1,O-1,mental_health|N/A|substance_misuse,N/A\n"
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": CONTACTS,
                                "asset.csv": asset})
    one = _read(folder, _mapping(tmp_path, data))[0]
    assert one.assessments[0].identified_needs == ["mental_health", "substance_misuse"]
    assert one.assessments[0].risk_of_serious_harm is None
    data["tables"]["assessments"]["encoding"] = "no-such-encoding"
    with pytest.raises(InputError, match=r"asset.csv: unknown encoding 'no-such-encoding' in the mapping"):
        _read(folder, _mapping(tmp_path, data))
    del data["tables"]["assessments"]
    data["tables"]["record"]["columns"].pop("order.order_type")
    data["tables"]["order"] = {"file": "order_types.csv", "join": {"order.order_id": "Order ID"},
                               "columns": {"order_type": {"column": "Order", "values": {"YRO": "youth_rehabilitation_order"}}}}
    (folder / "order_types.csv").write_text("Order ID,Order\nO-1,YRO\n")
    one, two, *_ = _read(folder, _mapping(tmp_path, data))
    assert one.order.order_type.value == "youth_rehabilitation_order"
    assert any(p.reason.endswith('order_types.csv has no row for this case (joined on column "Order ID")')
               for p in two.problems)


def test_two_tables_can_feed_one_list_and_an_empty_list_row_is_no_item(tmp_path):
    """Mental-health and substance-misuse referral files both feed referrals (a table named as you like, with part:);
    a requirements row with its order's id and nothing else (an order with no requirement) is no item, even where
    an empty cell is mapped to null."""
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    referral = {"referral_id": "Referral", "need": {"value": "mental_health"}, "referred_date": "Referred"}
    data["tables"]["referrals"] = {"file": "mh.csv", "join": {"order.order_id": "Order ID"}, "columns": referral}
    data["tables"]["substance_referrals"] = {
        "part": "referrals", "file": "sm.csv", "join": {"order.order_id": "Order ID"},
        "columns": {**referral, "need": {"value": "substance_misuse"}}}
    data["tables"]["order.requirements"] = {
        "file": "requirements.csv", "join": {"order.order_id": "Order ID"},
        "columns": {"type": {"column": "Requirement", "values": {"": None, "SUP": "supervision"}}}}
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": CONTACTS,
                                "mh.csv": "Order ID,Referral,Referred\nO-1,R-1,05/02/2016\n",
                                "sm.csv": "Order ID,Referral,Referred\nO-1,R-2,06/02/2016\nO-2,R-3,\n",
                                "requirements.csv": "Order ID,Requirement\nO-1,SUP\nO-2,\n"})
    one, two, *rest = _read(folder, _mapping(tmp_path, data))
    assert [(r.referral_id, r.need.value) for r in one.referrals] == [("R-1", "mental_health"), ("R-2", "substance_misuse")]
    assert [r.referral_id for r in two.referrals] == ["R-3"]
    assert [q.type for q in one.order.requirements] == ["supervision"] and two.order.requirements == []
    assert [r for r in rest if r.kind == "unmatched_row" and "requirements" in r.source] == []
    data["tables"]["contacts"]["part"] = "referrals"
    with pytest.raises(MappingError, match="contacts is a part of the record itself, so it cannot feed referrals"):
        build_mapping(data)


def test_row_filters_pick_the_rows_a_table_reads(tmp_path):
    data = json.loads(json.dumps(CONTACTS_MAPPING))
    data["tables"]["contacts"]["where"] = {"Kind": ["Appointment", "home visit"]}
    contacts = ("Contact ID,Order ID,Contact Date,Outcome,Notes,Kind\n"
                "K-1,O-1,03/02/2016,ATT,,APPOINTMENT\nK-2,O-1,04/02/2016,UA,,Letter\nK-3,O-2,05/02/2016,UA,,Home Visit\n")
    folder = _folder(tmp_path, {"orders.csv": ORDERS, "children.csv": CHILDREN, "contacts.csv": contacts})
    one, two, *rest = _read(folder, _mapping(tmp_path, data))
    assert [c.contact_id for c in one.contacts] == ["K-1"] and [c.contact_id for c in two.contacts] == ["K-3"]
    assert not [r for r in rest if "contacts.csv" in r.source]  # a row filtered out is not reported as unmatched


def test_a_key_written_twice_in_a_mapping_or_rule_is_refused(tmp_path):
    from qa_engine.base.yamlfile import load_yaml

    path = tmp_path / "m.yaml"
    path.write_text("mapping_version: 1\ntables:\n  contacts:\n    file: a.csv\n  contacts:\n    file: b.csv\n",
                    encoding="utf-8")
    with pytest.raises(MappingError, match=r"not valid YAML at line 5, column 3: 'contacts' is written twice in the same "
                                           r"place \(first at line 3\)"):
        load_mapping(path)
    rule = tmp_path / "r.yaml"
    rule.write_text("id: x\nexpects: {fact: a}\nexpects: {fact: b}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'expects' is written twice"):
        load_yaml(rule, ValueError)
