"""The starter mapping behind `qa-engine mapping init`: what it matches, and that it fails closed on what it cannot."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from qa_engine.base.errors import InputError, MappingError
from qa_engine.exports.flat import export_flat
from qa_engine.exports.mapping import FLAT_MAPPING, load_mapping
from qa_engine.exports.sources import read_inputs
from qa_engine.exports.starter import Starter, starter_mapping
from qa_engine.exports.validation import Validator
from qa_engine.records.model import CaseRecord

from .conftest import EXAMPLE_CASELOAD


def _records(export: Path, mapping) -> list:
    return [Validator.check(raw) for raw in read_inputs([str(export)], mapping=mapping)]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _save(tmp_path: Path, starter: Starter | str, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(starter if isinstance(starter, str) else starter.text, encoding="utf-8")
    return path


def _tables(starter: Starter) -> dict:
    return yaml.safe_load(starter.text)["tables"]


@pytest.fixture(name="flat_folder", scope="module")
def _flat_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("starter") / "flat"
    export_flat([str(EXAMPLE_CASELOAD)], folder)
    return folder


CASES = [
    ["Case Ref", "YPID", "Name", "Date of Birth", "Gender", "Disposal Type", "Order ID", "Sentence Date", "Team"],
    ["C-1", "P-1", "Jane Doe", "03/04/2001", "Female", "Referral Order", "O-1", "15/02/2016", "North"],
    ["C-2", "P-2", "John Roe", "13/11/2000", "Male", "Youth Rehabilitation Order", "O-2", "01/03/2016", "South"],
]
CONTACTS = [
    ["Case Ref", "Contact ID", "Contact Date", "Type", "Outcome", "Worker Notes Colour"],
    ["C-1", "K-1", "16/02/2016", "office", "ATT", "blue"],
    ["C-1", "K-2", "23/02/2016", "home visit", "UA", "red"],
    ["C-2", "K-3", "02/03/2016", "office", "AA", "green"],
]


@pytest.fixture(name="local_folder")
def _local_folder(tmp_path):
    folder = tmp_path / "local"
    folder.mkdir()
    _write_csv(folder / "Cases.csv", CASES)
    _write_csv(folder / "Contacts.csv", CONTACTS)
    _write_csv(folder / "misc.csv", [["a", "b"], ["1", "2"]])
    return folder


def test_flat_layout_folder_needs_no_edits_and_reads_as_the_flat_mapping(flat_folder, tmp_path):
    starter = starter_mapping(flat_folder)
    assert starter.todos == 0 and "TODO" not in starter.text
    assert starter.tables == 14
    assert starter.columns == sum(len(t.columns) for t in load_mapping(FLAT_MAPPING).tables.values())
    records = _records(flat_folder, load_mapping(_save(tmp_path, starter)))
    assert records == _records(flat_folder, load_mapping(FLAT_MAPPING))
    assert records and all(isinstance(r, CaseRecord) for r in records)


def test_flat_layout_workbook_needs_no_edits(tmp_path):
    book = tmp_path / "flat.xlsx"
    export_flat([str(EXAMPLE_CASELOAD)], book)
    starter = starter_mapping(book)
    assert starter.todos == 0
    tables = _tables(starter)
    assert tables["record"]["sheet"] == "cases" and "file" not in tables["record"]
    assert _records(book, load_mapping(_save(tmp_path, starter))) == _records(book, load_mapping(FLAT_MAPPING))


def test_local_names_are_matched_and_the_rest_marked_todo(local_folder):
    starter = starter_mapping(local_folder)
    tables = _tables(starter)
    assert set(tables) == {"record", "contacts"}
    assert tables["record"]["file"] == "Cases.csv"
    assert tables["record"]["columns"] == {
        "case_id": "Case Ref", "child.child_id": "YPID", "child.name": "Name", "child.date_of_birth": "Date of Birth",
        "child.sex": "Gender", "order.order_type": "Disposal Type", "order.order_id": "Order ID",
        "order.sentence_date": "Sentence Date", "team": "Team"}
    contacts = tables["contacts"]
    assert contacts["join"] == {"case_id": "Case Ref"}
    assert contacts["columns"]["date"] == "Contact Date"
    assert contacts["columns"]["contact_id"] == "Contact ID"
    assert contacts["columns"]["outcome"] == {"column": "Outcome", "values": {"AA": "TODO", "ATT": "TODO", "UA": "TODO"}}
    assert yaml.safe_load(starter.text)["date_formats"] == ["dd/mm/yyyy"]
    assert '# TODO column "Worker Notes Colour": no field matched; map it or leave it out' in starter.text
    assert '# TODO table "misc.csv": which part of the case record does it hold?' in starter.text
    assert "attended, acceptable_absence, unacceptable_absence, not_recorded" in starter.text
    assert (starter.tables, starter.columns) == (2, 13)
    assert starter.todos == 6


def test_unmapped_codes_stop_the_mapping_loading_until_they_are_fixed(local_folder, tmp_path):
    starter = starter_mapping(local_folder)
    with pytest.raises(MappingError, match=r"3 TODOs are still to settle: tables.contacts.columns.outcome.values.AA; "):
        load_mapping(_save(tmp_path, starter))
    text = (starter.text.replace('"AA": TODO', '"AA": acceptable_absence')
            .replace('"ATT": TODO', '"ATT": attended').replace('"UA": TODO', '"UA": unacceptable_absence'))
    mapping = load_mapping(_save(tmp_path, text, "fixed.yaml"))
    records = _records(local_folder, mapping)
    assert all(isinstance(r, CaseRecord) for r in records)
    first = records[0]
    assert first.case_id == "C-1" and first.child.sex.value == "female"
    assert first.order.order_type.value == "referral_order" and first.order.sentence_date == dt.date(2016, 2, 15)
    assert [(c.contact_id, c.date.isoformat(), c.type, c.outcome.value) for c in first.contacts] == [
        ("K-1", "2016-02-16", "office", "attended"), ("K-2", "2016-02-23", "home_visit", "unacceptable_absence")]
    assert records[1].contacts[0].outcome.value == "acceptable_absence"


def test_a_workbook_is_read_by_sheet(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    cases = book.active
    cases.title = "Cases"
    cases.append(["Case ID", "Child ID", "Child Name", "Order Type", "Order ID", "Sentence Date", "LAC"])
    cases.append(["C-1", "P-1", "Jane Doe", "youth_rehabilitation_order", "O-1", dt.datetime(2016, 2, 15), "Ticked"])
    visits = book.create_sheet("Appointments")
    visits.append(["Case ID", "Appointment ID", "Appointment Date", "Appointment Type", "Attendance"])
    visits.append(["C-1", "A-1", dt.datetime(2016, 2, 16), "office", "Attended"])
    visits.append(["C-1", "A-2", dt.datetime(2016, 2, 23), "phone", "Unacceptable absence"])
    book.create_sheet("Notes").append(["Anything"])
    path = tmp_path / "export.xlsx"
    book.save(path)

    starter = starter_mapping(path)
    tables = _tables(starter)
    assert tables["record"]["sheet"] == "Cases"
    assert tables["contacts"] == {"sheet": "Appointments", "join": {"case_id": "Case ID"}, "columns": {
        "contact_id": "Appointment ID", "date": "Appointment Date", "type": "Appointment Type", "outcome": "Attendance"}}
    assert tables["record"]["columns"]["child.looked_after"] == {"column": "LAC", "values": {"Ticked": "TODO"}}
    assert '# TODO table "Notes"' in starter.text
    with pytest.raises(MappingError, match="Ticked"):
        load_mapping(_save(tmp_path, starter))
    fixed = starter.text.replace('"Ticked": TODO', '"Ticked": true')
    record = _records(path, load_mapping(_save(tmp_path, fixed, "fixed.yaml")))[0]
    assert isinstance(record, CaseRecord)
    assert record.child.looked_after is True
    assert [(c.date.isoformat(), c.outcome.value) for c in record.contacts] == [
        ("2016-02-16", "attended"), ("2016-02-23", "unacceptable_absence")]


def test_no_personal_value_is_written(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [
        ["Case Ref", "YPID", "Full Name", "DOB", "Home Address", "Key Worker Name", "Order ID", "Order Type",
         "Sentence Date"],
        ["C-1", "P-1", "Jane Doe", "29/02/2004", "1 Acacia Avenue", "Mary Major", "O-1", "YRO", "15/02/2016"]])
    _write_csv(folder / "contacts.csv", [
        ["Case Ref", "Contact ID", "Date", "Type", "Outcome", "Notes"],
        ["C-1", "K-1", "16/02/2016", "office", "attended", "Jane Doe was seen with Mary Major"]])
    starter = starter_mapping(folder)
    for secret in ("Jane", "Doe", "Acacia", "Mary", "Major", "29/02/2004", "2004"):
        assert secret not in starter.text
    columns = _tables(starter)["record"]["columns"]
    assert columns["child.name"] == "Full Name" and columns["child.date_of_birth"] == "DOB"
    assert columns["child.address"] == "Home Address"
    assert _tables(starter)["contacts"]["columns"]["note"] == "Notes"
    assert '"YRO": TODO' in starter.text  # a code of a code column is not personal


def test_without_a_record_table_none_is_picked_and_it_is_asked_for(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "contacts.csv", [["Case Ref", "Contact ID", "Date", "Type", "Outcome"],
                                         ["C-1", "K-1", "16/02/2016", "office", "attended"]])
    starter = starter_mapping(folder)
    assert "a record table (one row per case) is required" in starter.text
    assert set(_tables(starter)) == {"contacts"}
    assert _tables(starter)["contacts"]["join"] == {"case_id": "Case Ref"}
    with pytest.raises(MappingError, match="'record' is a required property"):
        load_mapping(_save(tmp_path, starter))


def test_required_fields_and_joins_with_no_column_are_todo(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case Ref", "YPID", "Order ID", "Order Type", "Sentence Date"],
                                      ["C-1", "P-1", "O-1", "referral_order", "15/02/2016"]])
    _write_csv(folder / "breaches.csv", [["Breach ID", "Breach Date", "Breach Type"], ["B-1", "16/02/2016", "warning"]])
    _write_csv(folder / "appointments.csv", [["Case Ref", "Appointment Date", "Outcome"], ["C-1", "16/02/2016", "attended"]])
    starter = starter_mapping(folder)
    tables = _tables(starter)
    assert tables["enforcement"]["join"] == {"case_id": "TODO"}
    assert tables["enforcement"]["columns"] == {"action_id": "Breach ID", "date": "Breach Date", "action": "Breach Type"}
    assert "# TODO join: which column holds the case's key (case_id)?" in starter.text
    assert "# TODO contact_id: required; which column holds it?" in starter.text
    assert "# TODO type: required; which column holds it?" in starter.text
    with pytest.raises(MappingError, match=r"tables.enforcement.join.case_id: the column is still TODO"):
        load_mapping(_save(tmp_path, starter))
    fixed = starter.text.replace("case_id: TODO", 'case_id: "Breach ID"')
    with pytest.raises(MappingError, match="contact_id"):
        load_mapping(_save(tmp_path, fixed, "fixed.yaml"))


def test_nested_tables_join_on_their_parent_item(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "orders.csv", [["Order Ref", "Case", "YPID", "Disposal", "Sentence Date"],
                                       ["O-1", "C-1", "P-1", "referral_order", "2016-02-15"]])
    _write_csv(folder / "asset_plus.csv", [["Order Ref", "Assessment ID", "Assessment Stage", "Completed"],
                                           ["O-1", "A-1", "start_of_order", "2016-03-01"]])
    _write_csv(folder / "factors.csv", [["Order Ref", "Assessment ID", "Factor", "Rating"],
                                        ["O-1", "A-1", "lifestyle", "High"]])
    _write_csv(folder / "plan_reviews.csv", [["Review Date"], ["2016-03-01"]])
    starter = starter_mapping(folder)
    tables = _tables(starter)
    assert tables["record"]["columns"]["order.order_id"] == "Order Ref"
    assert tables["record"]["columns"]["case_id"] == "Case"
    assert tables["assessments"]["join"] == {"order.order_id": "Order Ref"}
    assert tables["assessments"]["columns"] == {"assessment_id": "Assessment ID", "stage": "Assessment Stage",
                                                "completed_date": "Completed"}
    assert tables["assessments.factors"] == {"file": "factors.csv", "columns": {"category": "Factor", "rating": "Rating"},
                                             "join": {"order.order_id": "Order Ref",
                                                      "assessments.assessment_id": "Assessment ID"}}
    assert '# TODO table "plan_reviews.csv"' in starter.text and "plans.reviews" not in tables
    mapping = load_mapping(_save(tmp_path, starter))
    record = _records(folder, mapping)[0]
    assert isinstance(record, CaseRecord)
    assert record.assessments[0].factors[0].rating.value == "high"


@pytest.mark.parametrize(("stem", "target"), [
    ("Appointments", "contacts"), ("person_details", "child"), ("Young People", "child"), ("asset-plus", "assessments"),
    ("AssessmentFactors", "assessments.factors"), ("pre_sentence_reports", "court"), ("Breaches", "enforcement"),
    ("Management Oversight", "oversight"), ("Plan Objectives", "plans.objectives"), ("Reviews", "plans.reviews"),
    ("Safeguarding", "safeguarding_events"), ("changes", "significant_changes"), ("Judgements", "practice_judgements"),
    ("yot_contacts_2016", "contacts"), ("Referals", "referrals"), ("orders", "order"),
])
def test_tables_are_matched_by_name(tmp_path, stem, target):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case ID", "Child ID", "Order ID", "Order Type", "Sentence Date"]])
    if target.startswith("assessments."):
        _write_csv(folder / "assessments.csv", [["Case ID", "Assessment ID", "Stage"]])
    if target.startswith("plans."):
        _write_csv(folder / "plans.csv", [["Case ID", "Plan ID", "Plan Type", "Created Date"]])
    _write_csv(folder / f"{stem}.csv", [["Case ID"]])
    tables = _tables(starter_mapping(folder))
    assert tables[target]["file"] == f"{stem}.csv"


@pytest.mark.parametrize(("dates", "formats", "note"), [
    (["15/02/2016", "01/03/2016 00:00"], ["dd/mm/yyyy"], None),
    (["01/02/2016", "03/04/2016"], ["dd/mm/yyyy"], "No sampled date shows whether the day or the month comes first"),
    (["02/15/2016", "03/01/2016"], ["mm/dd/yyyy"], "month first"),
    (["15-Feb-2016", "2016-03-01"], ["dd/mm/yyyy", "dd-mmm-yyyy", "yyyy-mm-dd"], None),
    (["15.02.2016", "15/02/16"], ["dd/mm/yy", "dd.mm.yyyy"], None),
    (["2016-02-15"], ["dd/mm/yyyy", "yyyy-mm-dd"], None),
    (["15/02/2016", "Feb 15th"], ["dd/mm/yyyy"], '# TODO dates: 1 sampled values in column "Date" of "contacts.csv"'),
    (["01/01/1900", "15/02/2016"], ["dd/mm/yyyy"], '#   null_values: ["01/01/1900", "1900-01-01"]'),
])
def test_date_formats_are_chosen_from_the_sampled_dates(tmp_path, dates, formats, note):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case ID"], ["C-1"]])
    _write_csv(folder / "contacts.csv", [["Case ID", "Date"], *(["C-1", d] for d in dates)])
    starter = starter_mapping(folder)
    assert yaml.safe_load(starter.text)["date_formats"] == formats
    if note:
        assert note in starter.text
    for value in dates:
        if value not in ("01/01/1900",):
            assert value not in starter.text


def test_codes_close_to_record_values_are_mapped_and_standard_yes_no_needs_no_map(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case ID"], ["C-1"]])
    _write_csv(folder / "assessments.csv", [
        ["Case ID", "Assessment ID", "Stage", "RoSH", "MAPPA Eligible", "Health Screened", "Identified Needs", "MAPPA Level"],
        ["C-1", "A-1", "Start of order", "VeryHigh", "Y", "Ticked", "MH, education", "2"],
        ["C-1", "A-2", "review", "Low", "no", "", "education", "1"]])
    columns = _tables(starter_mapping(folder))["assessments"]["columns"]
    assert columns["stage"] == "Stage"  # read as it is: the reader ignores case and spacing
    assert columns["risk_of_serious_harm"] == {"column": "RoSH", "values": {"Low": "low", "VeryHigh": "very_high"}}
    assert columns["mappa_eligible"] == "MAPPA Eligible"
    assert columns["health_screened"] == {"column": "Health Screened", "values": {"Ticked": "TODO"}}
    assert columns["identified_needs"] == {"column": "Identified Needs", "separator": ",",
                                           "values": {"education": "education", "MH": "TODO"}}
    assert columns["mappa_level"] == "MAPPA Level"


def test_headers_are_quoted_safely(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    awkward = 'Case — "Ref": #\x85’'
    _write_csv(folder / "cases.csv", [[awkward, "Child ID", "Order ID", "Order Type", "Sentence Date", "TODO: x #y"],
                                      ["C-1", "P-1", "O-1", "referral_order", "15/02/2016", "1"]])
    starter = starter_mapping(folder)
    assert _tables(starter)["record"]["columns"]["case_id"] == awkward
    assert starter.todos == 1  # the unmatched column; none from the header's own text
    assert '# TODO column "TOD\\x4f: x #y": no field matched' in starter.text
    record = _records(folder, load_mapping(_save(tmp_path, starter)))[0]
    assert isinstance(record, CaseRecord) and record.case_id == "C-1"


def test_an_export_with_nothing_matched_still_gives_a_file_that_says_so(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    with pytest.raises(InputError, match="holds no CSV file or workbook sheet"):
        starter_mapping(folder)  # an empty folder is no export at all
    (folder / "weather.csv").write_text("station,rainfall\nA,3\n", encoding="utf-8")
    starter = starter_mapping(folder)
    assert (starter.tables, starter.columns) == (0, 0)
    assert "tables: {}" in starter.text and "record table (one row per case) is required" in starter.text
    with pytest.raises(MappingError, match="should be non-empty"):
        load_mapping(_save(tmp_path, starter))


def test_mapping_init_and_check_from_the_command_line(tmp_path):
    """`qa-engine mapping init` writes a starter (never over a file unless --force); `mapping check` judges it."""
    from click.testing import CliRunner

    from qa_engine.cli import cli
    from qa_engine.exports.flat import export_flat

    folder = tmp_path / "export"
    export_flat([str(Path(__file__).resolve().parent.parent / "examples" / "caseload.jsonl")], folder)
    out = tmp_path / "mapping.yaml"
    runner = CliRunner()
    made = runner.invoke(cli, ["mapping", "init", str(folder), "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert "0 TODOs" in made.output and f"qa-engine validate --mapping {out} {folder}" in made.output
    again = runner.invoke(cli, ["mapping", "init", str(folder), "--out", str(out)])
    assert again.exit_code == 2 and "give --force" in again.output
    assert runner.invoke(cli, ["mapping", "init", str(folder), "--out", str(out), "--force"]).exit_code == 0
    checked = runner.invoke(cli, ["mapping", "check", str(out)])
    assert checked.exit_code == 0 and "valid (14 tables" in checked.output
    audited = runner.invoke(cli, ["--log-level", "error", "audit", "--mapping", str(out), str(folder), "--as-of",
                                  "2016-02-15", "--out", str(tmp_path / "run"), "--no-report"])
    assert audited.exit_code == 0, audited.output
    assert "Audited 37 of 37 records" in audited.output
    out.write_text(out.read_text().replace('outcome: "outcome"', 'outcome: "Outcme"'))
    broken = runner.invoke(cli, ["--log-level", "error", "validate", "--mapping", str(out), str(folder)])
    assert broken.exit_code == 2
    assert 'no column "Outcme"' in broken.output and "did you mean 'outcome'" in broken.output
    out.write_text("mapping_version: 1\ntables: {record: {file: a.csv, columns: {cse_id: x}}}\n")
    bad = runner.invoke(cli, ["mapping", "check", str(out)])
    assert bad.exit_code == 2 and "no field 'cse_id' (did you mean 'case_id'?)" in bad.output


def test_a_table_the_reader_refuses_is_left_out_not_the_whole_export(tmp_path):
    """A repeated column in one table leaves that table out with a TODO; the rest of the starter is still written."""
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case Ref", "YPID", "Order ID", "Order Type", "Sentence Date"],
                                      ["C-1", "P-1", "O-1", "referral_order", "15/02/2016"]])
    _write_csv(folder / "contacts.csv", [["Case Ref", "Date", "Date"], ["C-1", "16/02/2016", "16/02/2016"]])
    starter = starter_mapping(folder)
    assert set(_tables(starter)) == {"record"}
    assert '# TODO table "contacts.csv": which part of the case record does it hold? (' in starter.text
    assert "appears twice in the header row" in starter.text


def test_a_data_row_in_place_of_the_header_maps_nothing(tmp_path):
    """When row 1 looks like data, the note says so and no column is mapped under it."""
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case Ref", "YPID", "Order ID", "Order Type", "Sentence Date"],
                                      ["C-1", "P-1", "O-1", "referral_order", "15/02/2016"]])
    _write_csv(folder / "contacts.csv", [["C-1", "K-1", "16/02/2016", "Date", "2"], ["C-1", "K-2", "17/02/2016", "x", "3"]])
    contacts = _tables(starter_mapping(folder))["contacts"]
    assert not contacts.get("columns")


def test_the_cld_warehouse_layout_drafts_the_link_table_join(tmp_path):
    """An AssetPlus table holding no case key joins through link_intervention_programme_asset, whose columns are
    named differently (assetID for assessmentID): the starter drafts the via join from the values both hold."""
    from .make_cld_warehouse_example import write_export

    folder = tmp_path / "cld"
    write_export(folder)
    starter = starter_mapping(folder)
    from qa_engine.base.yamlfile import TextKeyLoader  # "on" stays text, as load_mapping reads it

    assessments = yaml.load(starter.text, Loader=TextKeyLoader)["tables"]["assessments"]
    assert assessments["via"] == {"file": "link_intervention_programme_asset.csv", "on": {"assetID": "assessmentID"}}
    assert assessments["join"] == {"order.order_id": "interventionProgrammeID"}
    assert assessments["columns"]["assessment_id"] == "assessmentID"
    assert "link_intervention_programme_asset.csv" not in "".join(
        line for line in starter.text.splitlines() if line.lstrip().startswith("# TODO table"))


def test_a_header_with_digits_is_a_header_and_a_long_code_is_a_code(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    _write_csv(folder / "cases.csv", [["Case Ref", "Order ID", "kpi4MHDateScreened", "Disposal Type", "termMonths2"],
                                      ["C-1", "O-1", "01/02/2016", "NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT",
                                       "6"],
                                      ["C-2", "O-2", "", "REFERRAL_ORDER", "12"]])
    starter = starter_mapping(folder)
    record = _tables(starter)["record"]["columns"]
    assert record["order.order_type"]["values"] == {"NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT": "TODO",
                                                    "REFERRAL_ORDER": "referral_order"}
    assert 'TODO column "kpi4MHDateScreened": no field matched' in starter.text
    assert "does the file start with its header row" not in starter.text
    data_row = tmp_path / "data"
    data_row.mkdir()
    _write_csv(data_row / "cases.csv", [["C-1", "O-1", "01/02/2016", "REFERRAL_ORDER", "6"]])
    assert "does the file start with its header row" in starter_mapping(data_row).text


def test_a_starter_warns_about_what_a_save_did(tmp_path):
    """Formulas never calculated, a month-first date column, and ids that lost their leading zeros are named."""
    from openpyxl import Workbook

    book = Workbook()
    cases = book.active
    cases.title = "cases"
    cases.append(["Case Ref", "Order ID", "Sentence Date", "PSR Due"])
    cases.append(["0001", "O-1", "15/02/2016", "=WORKDAY(C2,15)"])
    cases.append(["0002", "O-2", "16/02/2016", "=WORKDAY(C3,15)"])
    for row in (2, 3):
        cases.cell(row, 1).data_type = "s"
        cases.cell(row, 3).data_type = "s"
    contacts = book.create_sheet("contacts")
    contacts.append(["Case Ref", "Contact ID", "Contact Date", "Outcome"])
    contacts.append(["1", "K-1", "11/20/2015", "ATT"])
    contacts.append(["2", "K-2", "11/06/2015", "ATT"])
    for row in (2, 3):
        contacts.cell(row, 1).data_type = "s"
    book.save(tmp_path / "export.xlsx")
    text = starter_mapping(tmp_path / "export.xlsx").text
    assert ('# WARNING: column "PSR Due" of "cases" holds formulas never calculated ("=WORKDAY(C2,15)"): open and '
            "save the file in Excel before auditing") in text
    assert ('# WARNING: column "Contact Date" of "contacts" holds "11/20/2015", which can only be month-first '
            "(mm/dd/yyyy, as a US-locale tool writes dates): its other dates are ambiguous") in text
    assert ('# WARNING: the ids in column "Case Ref" of "contacts" match those of the record table only once leading '
            "zeros are ignored (0001 and 1)") in text
