"""No name, date of birth, address or free-text note from the input reaches a log line or a finding."""

from __future__ import annotations

import json

from click.testing import CliRunner

from qa_engine.cli import cli

from .conftest import EXAMPLE_AS_OF

SENTINELS = {
    "name": "Zebedee Sentinelname",
    "dob": "2001-02-03",
    "address": "17 Sentinel Street, Derby",
    "note": "SENTINEL-NOTE said something private",
    "decision": "SENTINEL-DECISION text",
}


def _records(example_records):
    good = json.loads(json.dumps(example_records[0]))
    good["child"].update(name=SENTINELS["name"], date_of_birth=SENTINELS["dob"], address=SENTINELS["address"])
    good["contacts"][0]["note"] = SENTINELS["note"]
    good["oversight"] = [{"entry_id": "OV-1", "date": "2016-01-05", "manager_id": "MGR-1", "target": "case",
                          "decision_text": SENTINELS["decision"]}]
    bad_dob = json.loads(json.dumps(good))
    bad_dob["case_id"] = "BAD-1"
    bad_dob["child"]["date_of_birth"] = SENTINELS["name"]  # a name typed into the date of birth column
    bad_extra = json.loads(json.dumps(good))
    bad_extra["case_id"] = "BAD-2"
    bad_extra["child"]["home_address"] = SENTINELS["address"]
    bad_note = json.loads(json.dumps(good))
    bad_note["case_id"] = "BAD-3"
    bad_note["contacts"][0]["note"] = {"text": SENTINELS["note"]}
    return [good, bad_dob, bad_extra, bad_note]


def _text(path):
    """A file's text; a spreadsheet's is every part of its zip."""
    import zipfile

    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "".join(book.read(name).decode("utf-8") for name in book.namelist())
    return path.read_text(encoding="utf-8")


def test_sentinels_never_reach_logs_or_findings(tmp_path, example_records):
    """Personal details planted in good and bad records appear in no log line, finding, report or worklist."""
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _records(example_records)) + "\n")
    out = tmp_path / "out"

    result = CliRunner().invoke(cli, ["--log-format", "json", "--log-level", "debug", "audit", str(path),
                                      "--as-of", EXAMPLE_AS_OF, "--out", str(out), "--max-rejected", "100"])
    validated = CliRunner().invoke(cli, ["--log-format", "json", "validate", str(path)])

    assert 0 == result.exit_code, result.output
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"audit.start", "record.rejected", "audit.done"} <= {e["event"] for e in events}
    texts = {
        "audit log": result.stderr,
        "audit stdout": result.stdout,
        "validate output": validated.stdout + validated.stderr,
        **{p.name: _text(p) for p in out.iterdir()},
    }
    for where, text in texts.items():
        for what, sentinel in SENTINELS.items():
            assert sentinel not in text, f"{what} leaked into {where}"
            assert "Sentinel" not in text and "SENTINEL" not in text, where


def test_personal_fields_are_exactly_those_marked_so():
    """PERSONAL_FIELDS names every field the model marks "never logged or reported", and no derived fact reads one."""
    from qa_engine.facts.derive import CATALOGUE
    from qa_engine.records import model as records

    marked = set()
    for model in vars(records).values():
        if isinstance(model, type) and issubclass(model, records._Model):
            marked |= {name for name, info in model.model_fields.items()
                       if "never logged or reported" in (info.description or "")}

    assert records.PERSONAL_FIELDS == marked
    assert not records.PERSONAL_FIELDS & {name for facts in CATALOGUE.values() for name in facts}


def test_sentinels_never_reach_logs_or_outputs_from_a_csv_export(tmp_path, example_records):
    """The same from a folder of CSV files: a name typed into the date-of-birth column, and an unmatched contact row
    carrying a private note, are reported by file, row and column without their values."""
    import csv

    from qa_engine.exports.flat import export_flat

    good = _records(example_records)[0]
    second = json.loads(json.dumps(good))
    second["case_id"] = "BAD-1"
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(good) + "\n" + json.dumps(second) + "\n")
    folder = tmp_path / "export"
    export_flat([str(source)], folder)
    with (folder / "cases.csv").open(encoding="utf-8-sig", newline="") as handle:
        cases = list(csv.reader(handle))
    cases[2][cases[0].index("child.date_of_birth")] = SENTINELS["name"]
    with (folder / "contacts.csv").open(encoding="utf-8-sig", newline="") as handle:
        contacts = list(csv.reader(handle))
    orphan = list(contacts[1])
    orphan[contacts[0].index("case_id")] = "NO-SUCH-CASE"
    orphan[contacts[0].index("note")] = SENTINELS["note"]
    contacts.append(orphan)
    for name, rows in (("cases.csv", cases), ("contacts.csv", contacts)):
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
    out = tmp_path / "out"

    result = CliRunner().invoke(cli, ["--log-format", "json", "--log-level", "debug", "audit", str(folder),
                                      "--as-of", EXAMPLE_AS_OF, "--out", str(out)])
    validated = CliRunner().invoke(cli, ["--log-format", "json", "validate", str(folder)])

    assert 0 == result.exit_code, result.output
    assert 'row 3, column "child.date_of_birth" (case BAD-1): (value not shown: personal data)' in validated.stdout
    run = json.loads((out / "run.json").read_text())
    assert run["counts"] == {"records_read": 2, "audited": 1, "rejected": 1, "unmatched_rows": 1}
    texts = {"audit log": result.stderr, "audit stdout": result.stdout,
             "validate output": validated.stdout + validated.stderr, **{p.name: _text(p) for p in out.iterdir()}}
    for where, text in texts.items():
        for what, sentinel in SENTINELS.items():
            assert sentinel not in text, f"{what} leaked into {where}"
