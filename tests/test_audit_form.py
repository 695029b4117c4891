"""The case-audit form round trip: a sampled run, its workbook, filled as a manager would, read back into the audit.

The worked example (README "Judging cases by hand"): a sample of 30 of the shipped example's cases,
``audit-form``, ``fill_like_a_manager`` (answers, some blanks, a "No" that the data contradicts, a
comment containing markup), then ``audit --judgements``. Each refusal is tested with its message.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from qa_engine.cli import cli
from qa_engine.rulepack.load import DEFAULT_RULES_DIR
from tests.conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD

MARKUP = "<script>alert('x')</script> **see** [file](javascript:alert(1)) & <b>done</b>"
"""A comment a manager might paste: it must be inert wherever it is shown, and never logged."""
WORDS = {"yes": "Yes", "no": "No", "not_applicable": "Not applicable", None: None}


def _cli(*args: str):
    return CliRunner().invoke(cli, ["--log-format", "json", *args])


def _audit(out: Path, *extra: str, seed: str = "1"):
    result = _cli("audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--sample", "30", "--seed", seed,
                  "--out", str(out), "--jobs", "1", *extra)
    assert 0 == result.exit_code, result.output
    return result


@pytest.fixture(name="sampled", scope="module")
def _sampled(tmp_path_factory):
    """A sampled run of the example and its audit form (written once for the module; copy before changing)."""
    base = tmp_path_factory.mktemp("form")
    run = base / "run"
    _audit(run)
    result = _cli("audit-form", str(run), "--out", str(base / "form.xlsx"))
    assert 0 == result.exit_code, result.output
    return run, base / "form.xlsx"


def _case_sheets(book):
    return [ws for ws in book.worksheets if ws.title != "Cover"]


def _question_rows(ws):
    """Question key -> row, from column A of a case sheet."""
    rows = {}
    for row in range(10, 120):
        key = ws[f"A{row}"].value
        if isinstance(key, str) and re.fullmatch(r"([1-4]\.[1-4]|OM)[a-z]", key):
            rows[key] = row
    return rows


def fill_like_a_manager(form: Path, target: Path) -> dict[str, dict[str, str | None]]:
    """Fill the form as a manager would and return what was answered: case -> question -> answer (None: blank).

    Most cases: Yes throughout, Not applicable for the pre-sentence report questions (1.3) on every other
    case; every fourth case's plan judged not good enough (1.2c No, with a comment holding markup); two
    cases half done (section 2 left blank), and the last two not started at all.
    """
    book = load_workbook(form)
    given: dict[str, dict[str, str | None]] = {}
    sheets = _case_sheets(book)
    for index, ws in enumerate(sheets):
        case_id = ws["B2"].value
        answers: dict[str, str | None] = {}
        started = index < len(sheets) - 2
        if started:
            ws["B6"] = "MGR-1"
        for key, row in _question_rows(ws).items():
            answer: str | None = "yes"
            if key.startswith("1.3") and index % 2 == 0:
                answer = "not_applicable"
            if key == "1.2c" and index % 4 == 1:
                answer = "no"
                ws[f"F{row}"] = MARKUP
            if key.startswith("2.") and index in (len(sheets) - 4, len(sheets) - 3):
                answer = None
            if not started:
                answer = None
            ws[f"E{row}"] = WORDS[answer]
            answers[key] = answer
        given[case_id] = answers
    book.save(target)
    return given


def _expected(given: dict[str, dict[str, str | None]]) -> dict[str, dict[str, int]]:
    """Per criterion, cases by the roll-up rule: No if any No; not yet judged if any blank; Yes if any Yes."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for answers in given.values():
        by_criterion: dict[str, list] = defaultdict(list)
        for key, answer in answers.items():
            by_criterion[key[:-1]].append(answer)
        for criterion, values in by_criterion.items():
            outcome = ("not_met" if "no" in values else "insufficient_data" if None in values
                       else "met" if "yes" in values else "not_applicable")
            counts[criterion][outcome] += 1
    return counts


def test_form_has_a_cover_one_locked_sheet_per_case_and_drop_downs(sampled):
    """Cover: run as of, rule pack, run key, answer key, cases by case manager. Each case sheet: questions, evidence,
    answer cells with the drop-down, answer/comment/auditor cells unlocked, everything else locked, no password."""
    run, form = sampled
    run_json = json.loads((run / "run.json").read_text())
    with zipfile.ZipFile(form) as archive:
        assert not [n for n in archive.namelist() if "vba" in n.lower()]
    book = load_workbook(form)
    cover = book["Cover"]
    assert "Case audit form" == cover["A1"].value
    assert EXAMPLE_AS_OF == cover["B14"].value
    assert run_json["rule_pack"]["sha256"] == cover["B15"].value
    assert run_json["run_key"] == cover["B16"].value
    assert {"Yes", "No", "Not applicable", "(blank)"} <= {cover[f"A{r}"].value for r in range(22, 26)}
    assert cover.protection.sheet and not cover.protection.password
    assert book.security.lockStructure and not book.security.workbookPassword
    sheets = _case_sheets(book)
    assert 30 == len(sheets)
    managers = [cover[f"A{r}"].value for r in range(32, 62)]
    assert managers == sorted(managers)
    assert [ws["B2"].value for ws in sheets] == [cover[f"B{r}"].value for r in range(32, 62)]
    ws = sheets[0]
    rows = _question_rows(ws)
    assert 57 == len(rows)
    assert "Is there one?" == ws[f"B{rows['1.2a']}"].value and "Is it good enough?" == ws[f"B{rows['1.2c']}"].value
    assert ws.protection.sheet and not ws.protection.password
    for ref in ("B6", f"E{rows['1.1a']}", f"F{rows['1.1a']}", f"E{rows['OMc']}"):
        assert not ws[ref].protection.locked, ref
    for ref in ("B2", "A10", f"A{rows['1.1a']}", f"C{rows['1.1a']}", f"D{rows['1.1a']}", "E10"):
        assert ws[ref].protection.locked, ref
    (validation,) = ws.data_validations.dataValidation
    assert '"Yes,No,Not applicable"' == validation.formula1 and validation.type == "list"
    covered = {str(r) for r in validation.sqref.ranges}
    assert {f"E{row}" for row in rows.values()} == covered
    evidence = ws[f"D{rows['1.2a']}"].value
    assert re.search(r"(met|NOT MET|insufficient data)\. ", evidence), evidence
    tallest = max(d.height or 15 for s in book.worksheets for d in s.row_dimensions.values())
    assert tallest <= 409  # Excel's limit: a taller row is "repaired" on opening


def test_evidence_beside_each_criterion_quotes_the_cases_data_findings(sampled):
    """A case's not-met data finding appears, with its message, beside that criterion's questions."""
    run, form = sampled
    findings = [json.loads(line) for line in (run / "findings.jsonl").read_text().splitlines()]
    not_met = next(f for f in findings if f["outcome"] == "not_met" and f["criterion"] == "1.2"
                   and not f["rule_id"].endswith("practice-judgement"))
    book = load_workbook(form)
    ws = next(s for s in _case_sheets(book) if s["B2"].value == not_met["case_id"])
    evidence = ws[f"D{_question_rows(ws)['1.2a']}"].value
    assert f"NOT MET. {not_met['message']}" in evidence


def test_round_trip_judged_proportions_match_the_answers(sampled, tmp_path):
    """The worked example: audit --sample, audit-form, fill, audit --judgements; summary.json's judged counts are the
    answers given, the practice-judgement rules come out met, not met, not applicable and not yet judged, and the
    report sets judgement beside data, with the markup comment escaped and never logged."""
    _run, form = sampled
    filled = tmp_path / "filled.xlsx"
    given = fill_like_a_manager(form, filled)
    out = tmp_path / "judged"
    result = _audit(out, "--judgements", str(filled))
    assert "Audit forms read: 1" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    expected = _expected(given)
    for crit in summary["criteria"]:
        judged = crit["by_judgement"]
        want = expected[crit["criterion"]]
        assert (want["met"], want["not_met"], want["not_applicable"], want["insufficient_data"]) == (
            judged["met"], judged["not_met"], judged["not_applicable"], judged["insufficient_data"]), crit["criterion"]
        n = want["met"] + want["not_met"]
        assert (round(want["met"] / n, 4) if n else None) == judged["proportion_met"]
    findings = [json.loads(line) for line in (out / "findings.jsonl").read_text().splitlines()]
    practice = {f["outcome"] for f in findings if f["rule_id"].endswith("practice-judgement")}
    assert {"met", "not_met", "not_applicable", "insufficient_data"} == practice
    assert {"met", "not_applicable", "insufficient_data"} == {
        f["outcome"] for f in findings if f["rule_id"] == "1.3-practice-judgement"}
    # per question: 1.2c was answered No on every fourth case
    judgements = json.loads((out / "judgements.json").read_text())
    q = next(q for q in judgements["questions"] if q["question"] == "1.2c")
    answers_12c = [a["1.2c"] for a in given.values()]
    assert (answers_12c.count("yes"), answers_12c.count("no"), answers_12c.count(None)) == (
        q["yes"], q["no"], q["not_yet_judged"])
    report = (out / "report.md").read_text()
    assert "## Judgement beside data" in report
    assert "The question that failed most often: 1.2c" in report
    assert "<script>" not in report and "\\<script\\>" in report
    html = (out / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    still = sum(1 for answers in given.values() if None in answers.values())
    assert f"{still} sampled cases have questions still blank" in report
    # data says met, manager says no: listed
    assert re.search(r"\| 1\.2 \| good enough \| not good enough \|", report)
    assert MARKUP not in result.stderr and "alert" not in result.stderr
    assert json.loads((out / "run.json").read_text())["judgements"]["forms"][0]["sha256"]


def test_a_judged_runs_report_reads_its_findings_once(sampled, tmp_path, monkeypatch):
    """With audit forms read, the judgement section is gathered in the same one read of findings.jsonl as the rest
    (it was read five times: report.md, report.html, the worklists, and the judgement section for each page)."""
    from .test_report import _counting_reads

    _run, form = sampled
    filled = tmp_path / "filled.xlsx"
    fill_like_a_manager(form, filled)
    out = tmp_path / "judged"
    _audit(out, "--judgements", str(filled))
    before = (out / "report.md").read_text()
    reads = _counting_reads(monkeypatch)
    assert 0 == _cli("report", str(out)).exit_code

    assert reads == {"findings": 1, "rule pack": 1}
    assert "## Judgement beside data" in before
    assert before == (out / "report.md").read_text()


def test_report_judgements_rebuilds_the_run_with_the_same_result(sampled, tmp_path):
    """qa-engine report RUN_DIR --judgements judges the finished run again: the same summary as audit --judgements
    (which gives the same bytes in two worker processes as in one)."""
    run, form = sampled
    filled = tmp_path / "filled.xlsx"
    fill_like_a_manager(form, filled)
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = _cli("report", str(copy), "--judgements", str(filled), "--jobs", "1")
    assert 0 == result.exit_code, result.output
    direct = tmp_path / "direct"
    _audit(direct, "--judgements", str(filled), "--jobs", "2")  # and in two worker processes: the same bytes
    assert (direct / "summary.json").read_text() == (copy / "summary.json").read_text()
    assert (direct / "findings.jsonl").read_text() == (copy / "findings.jsonl").read_text()
    assert 0 == _cli("verify", str(copy)).exit_code
    path = copy / "judgements.json"
    path.write_bytes(path.read_bytes().replace(b'"no"', b'"yes"', 1))
    result = _cli("verify", str(copy))
    assert 1 == result.exit_code and "judgements.json: changed since the run" in result.stdout


def test_two_forms_answering_differently_are_a_disagreement_not_resolved(sampled, tmp_path):
    """Two managers' copies that differ on one question: listed, and that question stands as not yet judged."""
    _run, form = sampled
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    given = fill_like_a_manager(form, first)
    book = load_workbook(first)
    ws = _case_sheets(book)[0]
    case_id = ws["B2"].value
    row = _question_rows(ws)["4.2a"]
    ws[f"E{row}"] = "No"
    book.save(second)
    out = tmp_path / "out"
    result = _cli("audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--sample", "30", "--seed", "1",
                  "--out", str(out), "--jobs", "1", "--judgements", str(first), str(second))
    assert 0 == result.exit_code, result.output
    judgements = json.loads((out / "judgements.json").read_text())
    (d,) = judgements["disagreements"]
    assert (case_id, "4.2a") == (d["case_id"], d["question"])
    assert {"yes", "no"} == {a["answer"] for a in d["answers"]}
    assert {f"first.xlsx E{row}", f"second.xlsx E{row}"} == {f"{a['form']} {a['cell']}" for a in d["answers"]}
    findings = [json.loads(line) for line in (out / "findings.jsonl").read_text().splitlines()]
    f = next(f for f in findings if f["case_id"] == case_id and f["rule_id"] == "4.2-practice-judgement")
    assert "yes" == given[case_id]["4.2a"] and "insufficient_data" == f["outcome"]
    assert f"Case {case_id}, question 4.2a: first.xlsx E{row}: yes; second.xlsx E{row}: no." in (out / "report.md").read_text()
    assert "judgements.disagree" in result.stderr


def _edited(form: Path, target: Path, edit) -> Path:
    book = load_workbook(form)
    edit(book)
    book.save(target)
    return target


def _refused(form: Path, out: Path, *extra: str) -> str:
    result = _cli("audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--sample", "30", "--seed", "1",
                  "--out", str(out), "--jobs", "1", "--judgements", str(form), *extra)
    assert 2 == result.exit_code, result.output
    assert not (out / "findings.jsonl").exists()
    return result.stderr.strip().splitlines()[-1]


def test_an_answer_not_in_the_key_is_refused_with_sheet_and_cell(sampled, tmp_path):
    _run, form = sampled

    def edit(book):
        ws = _case_sheets(book)[2]
        ws["B6"] = "MGR-1"
        ws[f"E{_question_rows(ws)['3.1b']}"] = "Maybe, ask Jo Bloggs"

    book = load_workbook(form)
    ws = _case_sheets(book)[2]
    row = _question_rows(ws)["3.1b"]
    message = _refused(_edited(form, tmp_path / "f.xlsx", edit), tmp_path / "out")
    assert (f"Error: f.xlsx, sheet '{ws.title}', cell E{row}: the answer is not in the key: choose Yes, No or Not "
            "applicable from the drop-down, or leave it blank if not yet judged") == message
    assert "Jo Bloggs" not in message


def test_an_unknown_case_id_is_refused(sampled, tmp_path):
    _run, form = sampled

    def edit(book):
        _case_sheets(book)[0]["B2"] = "DBY-9999"

    title = _case_sheets(load_workbook(form))[0].title
    message = _refused(_edited(form, tmp_path / "f.xlsx", edit), tmp_path / "out")
    assert (f"Error: f.xlsx, sheet '{title}', cell B2: case DBY-9999 is not in this run: answer on the form written "
            "from this run") == message


def test_a_form_from_another_run_is_refused(sampled, tmp_path):
    """A form written from the same caseload sampled with another seed belongs to another run."""
    _run, form = sampled
    other = tmp_path / "other"
    _audit(other, seed="2")
    assert 0 == _cli("audit-form", str(other), "--out", str(tmp_path / "other.xlsx")).exit_code
    message = _refused(tmp_path / "other.xlsx", tmp_path / "out")
    assert ("Error: other.xlsx, sheet 'Cover', cell B16: this form was written for another run (other inputs, sample, "
            "seed or policy): audit the same inputs with the same --sample, --seed and --policy, or write a new form "
            "from this run") == message
    message = _refused(form, tmp_path / "out2", "--as-of", "2016-03-01")
    assert message.startswith("Error: form.xlsx, sheet 'Cover', cell B14: this form was written for a run as of "
                              "2016-02-15, not this run as of 2016-03-01")


def test_a_form_from_another_rule_pack_is_refused(sampled, tmp_path):
    _run, form = sampled
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    path = rules / "criteria.yaml"
    path.write_text(path.read_text().replace("Is there a plan", "Is there a written plan"))
    message = _refused(form, tmp_path / "out", "--rules", str(rules))
    assert message.startswith("Error: form.xlsx, sheet 'Cover', cell B15: this form was written for another rule pack (")
    assert message.endswith("write a new form from this run with qa-engine audit-form")


def test_moved_rows_and_a_missing_auditor_are_refused(sampled, tmp_path):
    """Only answers, comments and the auditor's id are read; a row that no longer holds its question is refused."""
    _run, form = sampled

    def moved(book):
        ws = _case_sheets(book)[1]
        rows = _question_rows(ws)
        ws[f"A{rows['2.1a']}"], ws[f"A{rows['2.1b']}"] = "2.1b", "2.1a"

    ws = _case_sheets(load_workbook(form))[1]
    row = _question_rows(ws)["2.1a"]
    message = _refused(_edited(form, tmp_path / "moved.xlsx", moved), tmp_path / "out")
    assert (f"Error: moved.xlsx, sheet '{ws.title}', cell A{row}: this row should hold question 2.1a; rows were moved, "
            "added or deleted: answer on an unaltered form") == message

    def no_auditor(book):
        ws = _case_sheets(book)[1]
        ws[f"E{_question_rows(ws)['1.1a']}"] = "Yes"

    message = _refused(_edited(form, tmp_path / "anon.xlsx", no_auditor), tmp_path / "out")
    assert (f"Error: anon.xlsx, sheet '{ws.title}', cell B6: answers are given (first at "
            f"E{_question_rows(ws)['1.1a']}) but not the auditor's id: give it (e.g. MGR-1) so each judgement says "
            "who made it") == message


def test_not_a_form_and_an_oversized_form_are_refused(sampled, tmp_path, monkeypatch):
    """What is read is bounded: the file's size and what it unpacks to are checked before openpyxl opens it."""
    run, form = sampled
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    assert "notes.xlsx is not an .xlsx workbook" in _refused(text, tmp_path / "out")
    worklist = run / "worklist.xlsx"
    assert "has no sheet 'Cover': it is not a form written by qa-engine audit-form" in _refused(worklist, tmp_path / "o")
    monkeypatch.setattr("qa_engine.exports.auditform.MAX_FORM_BYTES", 10_000)
    assert f"form.xlsx is {form.stat().st_size:,} bytes, more than an audit form can be (10,000)" in _refused(
        form, tmp_path / "o2")
    monkeypatch.setattr("qa_engine.exports.auditform.MAX_FORM_BYTES", 20_000_000)
    monkeypatch.setattr("qa_engine.exports.auditform.MAX_UNPACKED_BYTES", 100_000)
    assert "more than an audit form can (limit 100,000)" in _refused(form, tmp_path / "o3")


def test_split_by_case_manager_writes_one_form_each(sampled, tmp_path):
    """--split-by case_manager: one workbook per case manager, each holding that manager's cases only."""
    run, _form = sampled
    result = _cli("audit-form", str(run), "--out", str(tmp_path / "form.xlsx"), "--split-by", "case_manager")
    assert 0 == result.exit_code, result.output
    findings = [json.loads(line) for line in (run / "findings.jsonl").read_text().splitlines()]
    by_manager = defaultdict(set)
    for f in findings:
        by_manager[f["case_manager_id"]].add(f["case_id"])
    written = sorted(tmp_path.glob("form-*.xlsx"))
    assert [f"form-{m}.xlsx" for m in sorted(by_manager)] == [p.name for p in written]
    for path in written:
        manager = path.stem.removeprefix("form-")
        book = load_workbook(path)
        assert by_manager[manager] == {ws["B2"].value for ws in _case_sheets(book)}
        assert f"case manager {manager}" == book["Cover"]["B18"].value


def test_workbook_survives_an_openpyxl_round_trip(sampled, tmp_path):
    """Valid OOXML as openpyxl reads it: loaded, saved and loaded again with the same cells and validations."""
    _run, form = sampled
    again = tmp_path / "again.xlsx"
    book = load_workbook(form)
    book.save(again)
    first, second = load_workbook(form), load_workbook(again)
    assert first.sheetnames == second.sheetnames
    for a, b in zip(first.worksheets, second.worksheets, strict=True):
        assert [[c.value for c in r] for r in a.iter_rows()] == [[c.value for c in r] for r in b.iter_rows()]
        assert len(a.data_validations.dataValidation) == len(b.data_validations.dataValidation)


@pytest.mark.slow
def test_libreoffice_opens_the_form_and_prints_it(sampled, tmp_path):
    """LibreOffice (Debian's libreoffice-calc) converts the form to PDF without complaint, and a filled form saved
    again by LibreOffice as .xlsx reads back to the same summary."""
    soffice = shutil.which("libreoffice") or shutil.which("soffice")
    if soffice is None:
        pytest.skip("libreoffice is not installed (apt-get install -y libreoffice-calc)")
    import subprocess

    _run, form = sampled
    done = subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(form)],
                          capture_output=True, text=True, timeout=300, check=False)
    pdf = tmp_path / "form.pdf"
    assert 0 == done.returncode and pdf.is_file(), done.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
    if shutil.which("pdftoppm"):  # a picture of the first case sheet, to look at (poppler-utils)
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "page")],
                       check=True, timeout=120)
        assert list(tmp_path.glob("page*.png"))
    # a form filled, then saved again by LibreOffice Calc as .xlsx, reads back to the same answers
    filled = tmp_path / "filled.xlsx"
    fill_like_a_manager(form, filled)
    saved = tmp_path / "saved"
    done = subprocess.run([soffice, "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(saved),
                           str(filled)], capture_output=True, text=True, timeout=300, check=False)
    assert 0 == done.returncode and (saved / "filled.xlsx").is_file(), done.stderr
    _audit(tmp_path / "a", "--judgements", str(filled))
    _audit(tmp_path / "b", "--judgements", str(saved / "filled.xlsx"))
    assert (tmp_path / "a" / "summary.json").read_text() == (tmp_path / "b" / "summary.json").read_text()


def test_a_case_in_no_returned_form_is_still_to_judge(sampled, tmp_path):
    """Split forms, only one returned: the other managers' sampled cases are not yet judged, never not applicable."""
    run, _form = sampled
    assert 0 == _cli("audit-form", str(run), "--out", str(tmp_path / "f.xlsx"), "--split-by", "case_manager").exit_code
    returned = sorted(tmp_path.glob("f-*.xlsx"))[0]
    given = fill_like_a_manager(returned, tmp_path / "back.xlsx")
    out = tmp_path / "out"
    _audit(out, "--judgements", str(tmp_path / "back.xlsx"))
    summary = json.loads((out / "summary.json").read_text())
    expected = _expected(given)
    elsewhere = 30 - len(given)
    assert 0 < len(given) < 30
    for crit in summary["criteria"]:
        j, want = crit["by_judgement"], expected[crit["criterion"]]
        assert (want["met"], want["not_met"], want["not_applicable"], want["insufficient_data"] + elsewhere) == (
            j["met"], j["not_met"], j["not_applicable"], j["insufficient_data"]), crit["criterion"]
    still = elsewhere + sum(1 for answers in given.values() if None in answers.values())
    assert f"{still} sampled cases have questions still blank" in (out / "report.md").read_text()


def test_pseudonymised_run_round_trip_leaves_comments_out(tmp_path, monkeypatch):
    """A pseudonymised run's form names cases by pseudonym; read back with the same key, its answers count, and the
    auditors' comments are left out of judgements.json and the report. `report --judgements` refuses such a run."""
    monkeypatch.setenv("QA_ENGINE_PSEUDONYM_KEY", "a-key-of-at-least-16-bytes")
    run = tmp_path / "run"
    _audit(run, "--pseudonymise")
    assert 0 == _cli("audit-form", str(run), "--out", str(tmp_path / "form.xlsx")).exit_code
    given = fill_like_a_manager(tmp_path / "form.xlsx", tmp_path / "filled.xlsx")
    assert all(case.startswith("P-") for case in given)
    out = tmp_path / "out"
    _audit(out, "--pseudonymise", "--judgements", str(tmp_path / "filled.xlsx"))
    judgements = json.loads((out / "judgements.json").read_text())
    assert judgements["comments_left_out"] and not any(a["comment"] for a in judgements["answers"])
    assert {a["auditor_id"] for a in judgements["answers"] if a["answer"]} == {judgements["answers"][0]["auditor_id"]}
    assert judgements["answers"][0]["auditor_id"].startswith("P-")
    assert any(a["answer"] == "no" for a in judgements["answers"])
    assert "script" not in (out / "report.md").read_text() and "left out: pseudonymised run" in (out / "report.md").read_text()
    result = _cli("report", str(out), "--judgements", str(tmp_path / "filled.xlsx"))
    assert 2 == result.exit_code
    assert "is a pseudonymised run: read the forms with qa-engine audit INPUT... --pseudonymise" in result.stderr


def test_report_judgements_refuses_a_run_whose_input_changed(tmp_path):
    caseload = tmp_path / "caseload.jsonl"
    shutil.copy(EXAMPLE_CASELOAD, caseload)
    first = tmp_path / "run"
    result = _cli("audit", str(caseload), "--as-of", EXAMPLE_AS_OF, "--sample", "30", "--seed", "1", "--out", str(first),
                  "--jobs", "1")
    assert 0 == result.exit_code
    assert 0 == _cli("audit-form", str(first), "--out", str(tmp_path / "f.xlsx")).exit_code
    caseload.write_text(caseload.read_text() + "\n")
    result = _cli("report", str(first), "--judgements", str(tmp_path / "f.xlsx"), "--jobs", "1")
    assert 2 == result.exit_code
    assert f"Error: the input {caseload} has changed since the run; audit it again, then write a new form" == (
        result.stderr.strip().splitlines()[-1])


def test_long_evidence_never_makes_a_row_taller_than_excel_allows(pack, tmp_path):
    """Evidence that needs more height than a criterion's rows is spread over them, none past 409 points."""
    import io

    from qa_engine.report.auditform import MAX_ROW_HEIGHT, FormCase, _workbook

    long = [(f"Rule {n}", "not_met", "A long finding message " * 12) for n in range(40)]
    case = FormCase("T-1", "CM-1", "North", "youth_rehabilitation_order", "2016-01-04", evidence={"4.2": long})
    data = _workbook({"as_of": EXAMPLE_AS_OF, "rule_pack": {"sha256": pack.sha256}}, "k" * 64, [case], pack, "all")
    ws = load_workbook(io.BytesIO(data))["T-1"]
    heights = [d.height or 15 for d in ws.row_dimensions.values()]
    assert MAX_ROW_HEIGHT == max(heights)
    rows = _question_rows(ws)
    assert sum(ws.row_dimensions[rows[k]].height for k in ("4.2a", "4.2b", "4.2c", "4.2d")) > 1000


if __name__ == "__main__":  # the worked example by hand: python -m tests.test_audit_form FORM.xlsx FILLED.xlsx
    import sys

    answered = fill_like_a_manager(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"Filled {len(answered)} cases into {sys.argv[2]} as a manager would (some blank, a comment with markup).")
