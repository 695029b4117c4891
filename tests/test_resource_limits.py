"""Small hostile files stop in seconds with one line, in bounded memory.

Each input is a few kilobytes to a few megabytes and once exhausted memory or time (an alias bomb,
a shared string of hundreds of megabytes, a header of millions of columns, a line of tens of
megabytes). Each runs the real command in a fresh process whose peak resident memory (ru_maxrss)
is read (by the benchmark's own measuring script, bench/run.py's MEASURED_COMMAND), recorded (the test's user
properties, and printed: ``pytest -s``) and compared with the same command on a small valid input, so the check does
not depend on the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from bench.run import MEASURED_COMMAND

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD, EXAMPLES

_MARGIN_MB = 60
"""How far above the same command on a small valid input a hostile one may peak (the blow-ups were 1 to 4 GB)."""


def _run(args: list[str], timeout: float = 60) -> tuple[int, str, str, float, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED_COMMAND, json.dumps(["--log-level", "error", *args])],
                          capture_output=True, text=True, timeout=timeout)
    *errors, last = done.stderr.strip().splitlines()
    result = json.loads(last)
    return result["exit"], done.stdout, "\n".join(errors), result["own_mb"], time.monotonic() - start


@pytest.fixture(name="baseline", scope="module")
def _baseline(tmp_path_factory):
    """Peak memory of validating the example caseload: what any command costs anyway."""
    out = tmp_path_factory.mktemp("baseline")
    _, _, _, peak, _ = _run(["audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--out", str(out / "run"),
                             "--no-report", "--jobs", "1"])
    return peak


def _record(request, name, value):
    """Record a measurement on the test (its user properties, as pytest's record_property does, which junit_family
    xunit2 would turn into an error) and print it (``pytest -s``)."""
    request.node.user_properties.append((name, value))
    print(f"{request.node.name}: {name} = {value}")


def _stops(request, baseline, args, phrase, code=2, seconds=30):
    exit_code, out, err, peak, took = _run(args)
    _record(request, "peak_rss_mb", round(peak, 1))
    _record(request, "baseline_rss_mb", round(baseline, 1))
    _record(request, "seconds", round(took, 1))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == exit_code, (out, err)
    assert 1 == len(lines), err
    assert phrase in lines[0], lines[0]
    assert "Traceback" not in err
    assert peak < baseline + _MARGIN_MB, (peak, baseline)
    assert took < seconds
    return lines[0]


_BOMB = "\n".join(
    ["service: bomb", "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"x{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    + ["calendar: {region: england}"]) + "\n"


def test_a_yaml_alias_bomb_is_refused(tmp_path, request, baseline):
    """A 1 KB policy whose aliases expand to a billion values is refused before anything is built."""
    (tmp_path / "bomb.yaml").write_text(_BOMB)
    assert len(_BOMB) < 1500

    _stops(request, baseline, ["audit", str(EXAMPLE_CASELOAD), "--policy", str(tmp_path / "bomb.yaml"),
                                       "--as-of", EXAMPLE_AS_OF, "--out", str(tmp_path / "out")], "alias")


def test_an_oversized_yaml_file_is_refused(tmp_path, request, baseline):
    """A mapping file of several megabytes is refused by its size, before it is parsed."""
    path = tmp_path / "mapping.yaml"
    path.write_text("tables:\n" + "".join(f"  # padding {n:08d} {'x' * 60}\n" for n in range(40_000)))

    _stops(request, baseline, ["mapping", "check", str(path)], "1,000,000 bytes")


def test_a_workbook_with_a_huge_shared_string_is_refused(tmp_path, request, baseline):
    """A few hundred KB of workbook holding a 150 MB shared string (unused) is refused from the zip's directory."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    sheet.append(["case_id", "team"])
    sheet.append(["C-1", "North"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    bomb = tmp_path / "bomb.xlsx"
    relation = ('<Relationship Id="rIdStrings" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships/sharedStrings"/></Relationships>')
    override = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", relation.encode())
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", override.encode())
            target.writestr(item.filename, data)
        with target.open("xl/sharedStrings.xml", "w") as handle:
            handle.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            block = b"x" * (1 << 20)
            for _ in range(150):
                handle.write(block)
            handle.write(b"</t></si></sst>")
    assert bomb.stat().st_size < 1_000_000

    _stops(request, baseline, ["validate", str(bomb)], "shared-strings table")


def test_a_workbook_row_of_too_many_cells_is_refused(tmp_path, request, baseline):
    """A sheet row of a million empty cells (a few KB compressed) stops at the cell limit, never held whole."""
    shutil.copy(EXAMPLES / "caseload.jsonl", tmp_path / "in.jsonl")
    from click.testing import CliRunner

    from qa_engine.cli import cli

    book = tmp_path / "export.xlsx"
    assert 0 == CliRunner().invoke(cli, ["export-csv", str(tmp_path / "in.jsonl"), "--out", str(book)]).exit_code
    wide = tmp_path / "wide.xlsx"
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(wide, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<row r="2">', b'<row r="2">' + b"<c/>" * 1_000_000, 1)
            target.writestr(item.filename, data)
    assert wide.stat().st_size < 2_000_000

    _stops(request, baseline, ["validate", str(wide)], "cells")


@pytest.mark.parametrize(("file", "columns", "phrase"), [
    ("cases.csv", lambda: ",x" * 2_000_000, "longer than 2,000,000 characters"),
    ("contacts.csv", lambda: "".join(f",c{n}" for n in range(50_000)), "2,000 a "),
], ids=["a 4 MB header line (two million columns) is refused by its length before it is split",
        "a header of 50,000 columns (under the line limit) is refused by its width"])
def test_a_csv_header_too_long_or_too_wide_is_refused(tmp_path, request, baseline, file, columns, phrase):
    folder = tmp_path / "export"
    shutil.copytree(EXAMPLES / "caseload-csv", folder)
    text = (folder / file).read_text(encoding="utf-8-sig")
    header, rest = text.split("\n", 1)
    (folder / file).write_text(header + columns() + "\n" + rest, encoding="utf-8")

    _stops(request, baseline, ["validate", str(folder)], phrase)


def test_an_over_long_json_lines_line_is_never_read_whole(tmp_path, request, baseline):
    """A 120 MB line is counted in blocks and rejected by size; memory does not grow with it."""
    path = tmp_path / "long.jsonl"
    good = EXAMPLE_CASELOAD.read_text().splitlines()[0]
    with path.open("w") as handle:
        handle.write(good + "\n")
        handle.write('{"case_id": "L-1", "note": "')
        block = "x" * (1 << 20)
        for _ in range(120):
            handle.write(block)
        handle.write('"}\n')
        handle.write(good.replace("DBY-0001", "DBY-9001") + "\n")

    exit_code, out, err, peak, _ = _run(["validate", str(path)])
    _record(request, "peak_rss_mb", round(peak, 1))

    assert 1 == exit_code, err
    assert "2 of 3 records valid, 1 rejected" in out
    assert "line 2" in out and "over the limit of 1,000,000" in out
    assert peak < baseline + _MARGIN_MB, (peak, baseline)


def test_max_record_bytes_applies_inside_a_json_array(tmp_path):
    """Each record of a .json array is held to --max-record-bytes; the others are read."""
    from qa_engine.exports.raw import Limits
    from qa_engine.run.audit import validate_inputs

    records = [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines()[:3]]
    records[1]["child"]["name"] = "x" * 20_000
    (tmp_path / "in.json").write_text(json.dumps(records))

    counts, rejections = validate_inputs([str(tmp_path / "in.json")], limits=Limits(max_record_bytes=16_000))

    assert {"records_read": 3, "valid": 2, "rejected": 1} == counts
    assert "index 1" == rejections[0].position
    assert "over the limit of 16,000" in rejections[0].reason


def test_a_json_document_over_the_document_limit_is_refused(tmp_path):
    """A .json document over max_document_bytes stops before the output folder is touched, pointing to JSON Lines."""
    from qa_engine.base.errors import InputError
    from qa_engine.exports.raw import Limits
    from qa_engine.run.audit import audit

    records = [json.loads(line) for line in EXAMPLE_CASELOAD.read_text().splitlines()]
    (tmp_path / "in.json").write_text(json.dumps(records))

    with pytest.raises(InputError, match="JSON Lines"):
        audit([str(tmp_path / "in.json")], tmp_path / "out", limits=Limits(max_document_bytes=10_000))
    assert not (tmp_path / "out").exists()
