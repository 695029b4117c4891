"""Run folders are kept, never clobbered: the earlier run survives a new one, an interrupted one, and a second audit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_engine.base.errors import InputError
from qa_engine.cli import cli
from qa_engine.records.generate import generate_lines
from qa_engine.run.audit import audit
from qa_engine.run.folder import RunFolderError, open_run_folder
from qa_engine.trust.verify import verify_run

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD

AS_OF = "2016-02-15"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _finished(tmp_path: Path, name: str = "out") -> Path:
    out = tmp_path / name
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF,
                                      "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return out


def _start(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qa_engine", "--log-level", "error", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _wait_for(path: Path, seconds: float = 60) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not path.exists():
        time.sleep(0.01)
    assert path.exists(), f"{path} never appeared"


@pytest.mark.slow
def test_an_audit_interrupted_at_once_leaves_the_finished_run_whole_and_verified(tmp_path):
    out = _finished(tmp_path)
    before = _snapshot(out)
    data = tmp_path / "big.jsonl"
    data.write_text("".join(generate_lines(2000, seed=3)))
    process = _start(["audit", str(data), "--as-of", AS_OF, "--out", str(out), "--jobs", "2"])
    _wait_for(tmp_path / ".out.qa-engine-new")  # the first moment the new run touches anything
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert _snapshot(out) == before
    assert verify_run(out).ok
    assert not (tmp_path / ".out.qa-engine-new").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["big.jsonl", "out"]


@pytest.mark.slow
def test_ctrl_c_while_workers_start_is_a_clean_stop(tmp_path):
    """Ctrl-C at a terminal reaches the whole process group, workers starting included: exit 130, no traceback."""
    data = tmp_path / "big.jsonl"
    data.write_text("".join(generate_lines(3000, seed=4)))
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        process = _start(["audit", str(data), "--as-of", AS_OF, "--out", str(out), "--jobs", "2"],
                         start_new_session=True)
        _wait_for(tmp_path / f".out{attempt}.qa-engine-new")
        time.sleep(0.05 * attempt)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr and "BrokenProcessPool" not in stderr
        assert "Interrupted" in stderr
        assert not out.exists()


def test_a_second_run_moves_the_first_aside_whole(tmp_path):
    out = _finished(tmp_path)
    (out / "report.md").write_text("my own edits of the draft\n")  # a manager's edits
    edited = _snapshot(out)
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF,
                                      "--out", str(out), "--no-report", "--jobs", "1"])

    assert result.exit_code == 0, result.output
    earlier = [p for p in tmp_path.iterdir() if p.name.startswith("out.earlier-")]
    assert len(earlier) == 1
    assert _snapshot(earlier[0]) == edited
    assert f"kept, whole, in {earlier[0]}" in result.output
    assert not (out / "report.md").exists()
    assert verify_run(out).ok


def test_compare_can_name_the_run_being_replaced(tmp_path):
    out = _finished(tmp_path)
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", "2016-03-15",
                                      "--out", str(out), "--compare", str(out), "--jobs", "1"])

    assert result.exit_code == 0, result.output
    assert "Compared with the audit as of 2016-02-15" in (out / "report.md").read_text()
    assert verify_run(out).ok
    assert any(p.name.startswith("out.earlier-") for p in tmp_path.iterdir())


def test_a_folder_that_is_not_a_run_is_refused_and_untouched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "findings.jsonl").write_text("someone else's file\n")
    result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF, "--out", str(out)])

    assert result.exit_code == 2
    assert f"{out} is not empty and holds no qa-engine run" in result.output
    assert (out / "findings.jsonl").read_text() == "someone else's file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_second_audit_into_a_folder_being_written_refuses_at_once(tmp_path):
    out = _finished(tmp_path)
    before = _snapshot(out)
    holder = open_run_folder(out, [str(EXAMPLE_CASELOAD)])
    try:
        started = time.monotonic()
        result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF, "--out", str(out)])
        waited = time.monotonic() - started
    finally:
        holder.abandon()
        holder.release()

    assert result.exit_code == 2
    assert f"another qa-engine run (pid {os.getpid()}, started {holder.started_at}) is writing {out}" in result.output
    assert waited < 5
    assert _snapshot(out) == before
    assert verify_run(out).ok


def test_an_input_inside_out_is_refused_before_anything_is_written(tmp_path):
    out = _finished(tmp_path)
    inside = out / "caseload.jsonl"
    inside.write_bytes(EXAMPLE_CASELOAD.read_bytes())
    result = CliRunner().invoke(cli, ["audit", str(inside), "--as-of", AS_OF, "--out", str(out)])

    assert result.exit_code == 2
    assert f"the input {inside} is inside the output folder {out}" in result.output
    assert inside.exists()


@pytest.mark.parametrize("root", [Path(Path.cwd().anchor), Path("/usr"), Path.home()])
def test_a_system_root_is_refused(root):
    result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF, "--out", str(root)])

    assert result.exit_code == 2
    assert "is a system or home folder" in result.output


def test_run_folder_errors_are_input_errors(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError) as raised:
        open_run_folder(tmp_path / "x", [])
    assert isinstance(raised.value, InputError)


def test_run_json_duration_covers_the_report_and_inputs_are_absolute(tmp_path, monkeypatch):
    import qa_engine.report.build as build

    real = build.build_report

    def slow_report(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "build_report", slow_report)
    monkeypatch.setattr("qa_engine.report.build_report", slow_report)
    monkeypatch.chdir(EXAMPLE_CASELOAD.parent)
    result = audit([EXAMPLE_CASELOAD.name], tmp_path / "out", as_of=None, report=True)

    assert result.run["duration_seconds"] >= 1.0
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["inputs"][0]["path"] == str(EXAMPLE_CASELOAD)
    assert run["duration_seconds"] == result.run["duration_seconds"]


def test_verify_from_another_folder_finds_the_inputs_and_counts_in_english(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "caseload.jsonl").write_bytes(EXAMPLE_CASELOAD.read_bytes())
    monkeypatch.chdir(data)
    audit(["caseload.jsonl"], tmp_path / "out", as_of=None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "summary.json").write_text("{}")
    result = CliRunner().invoke(cli, ["verify", "out"])

    assert f"input    {data / 'caseload.jsonl'}: unchanged" in result.output
    assert "NOT verified (1 problem)." in result.output
    assert result.exit_code == 1


def test_the_audit_date_is_stated_and_an_old_export_draws_a_warning(tmp_path):
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--out",
                                      str(tmp_path / "out"), "--jobs", "1"])
    import datetime as dt

    today = dt.date.today().isoformat()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Audit date: {today}, the day of the audit, as no --as-of was given."
    # the example's newest entry is a referral dated 2016-02-22, after the fieldwork date its README commands use
    assert lines[1].startswith("Warning: the newest date in the records is 2016-02-22, ")
    assert lines[1].endswith("If the export was taken on 2016-02-22, audit again with --as-of 2016-02-22.")
    report = (tmp_path / "out" / "report.md").read_text().splitlines()
    assert any(line.startswith("> Audit date: " + today) for line in report[:6])
    assert any("audit again with --as-of 2016-02-22" in line for line in report[:8])
    html = (tmp_path / "out" / "report.html").read_text()
    assert "audit again with --as-of 2016-02-22" in html
    date = json.loads((tmp_path / "out" / "run.json").read_text())["audit_date"]
    assert (date["newest_recorded"], date["suggested_as_of"]) == ("2016-02-22", "2016-02-22")

    given = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF,
                                     "--out", str(tmp_path / "given"), "--jobs", "1"])
    assert "Audit date:" not in given.output and "Warning" not in given.output
    assert "--as-of" not in (tmp_path / "given" / "report.md").read_text()


def test_a_newest_date_well_after_the_audit_date_draws_a_warning(tmp_path):
    """Records hold what was done, so a date far after the audit date is most likely a day and month read the wrong
    way round, or a wrong --as-of. The example's newest entry (2016-02-22) is 7 days after its audit date: no warning
    there (see the test above); 38 days after 2016-01-15: a warning, on the terminal and in the report's first lines."""
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", "2016-01-15",
                                      "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("Warning: the newest date in the records is 2016-02-22, 38 days after the audit date "
                            "2016-01-15, ")
    assert "day and the month the wrong way round" in first and "wrong --as-of" in first
    report = (tmp_path / "out" / "report.md").read_text().splitlines()
    assert any("2016-02-22, 38 days after the audit date" in line for line in report[:8])
    assert "38 days after the audit date" in (tmp_path / "out" / "report.html").read_text()
    date = json.loads((tmp_path / "out" / "run.json").read_text())["audit_date"]
    assert (date["days_after_newest"], date["ahead"], date["ahead_after_days"]) == (-38, True, 31)


def test_report_rebuild_waits_for_no_audit_it_refuses_while_one_writes_the_folder(tmp_path):
    out = _finished(tmp_path)
    holder = open_run_folder(out, [str(EXAMPLE_CASELOAD)])
    try:
        refused = CliRunner().invoke(cli, ["report", str(out)])
    finally:
        holder.abandon()
        holder.release()
    rebuilt = CliRunner().invoke(cli, ["report", str(out)])

    assert refused.exit_code == 2 and "another qa-engine run" in refused.output
    assert rebuilt.exit_code == 0, rebuilt.output
    assert verify_run(out).ok


def _copy_as_earlier(run: Path, stamp: str) -> Path:
    """A copy of a finished run, named as an earlier run that started at ``stamp`` (YYYYMMDD-HHMMSS)."""
    import shutil

    earlier = run.with_name(f"{run.name}.earlier-{stamp}")
    shutil.copytree(run, earlier)
    return earlier


def test_only_the_most_recent_earlier_runs_are_kept_and_the_terminal_names_each(tmp_path):
    """--keep-earlier 2: the run moved aside and the most recent earlier one stay; older unaltered ones are removed
    and named; an older one holding an edit, or a file the run did not write, is kept and the reason given."""
    out = _finished(tmp_path)
    oldest, old, edited, added, recent = (_copy_as_earlier(out, stamp) for stamp in (
        "20150101-000000", "20150201-000000", "20150301-000000", "20150401-000000", "20990101-000000"))
    (edited / "report.md").write_text("my own edits of the draft\n")
    (added / "notes.txt").write_text("mine\n")
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF,
                                      "--out", str(out), "--no-report", "--jobs", "1", "--keep-earlier", "2"])

    assert result.exit_code == 0, result.output
    moved = next(p for p in tmp_path.iterdir()
                 if p.name.startswith("out.earlier-") and p not in (oldest, old, edited, added, recent))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", moved.name, recent.name, edited.name,
                                                                 added.name, ".out.qa-engine.lock"])
    assert f"The earlier run that was in {out} is kept, whole, in {moved}." in result.output
    assert f"Removed 2 older runs (only the 2 most recent earlier runs are kept; --keep-earlier N to change): " \
           f"{old}, {oldest}." in result.output
    assert f"Kept {added}, older than the 2 most recent earlier runs, because it holds notes.txt, which that run " \
           "did not write" in result.output
    assert f"Kept {edited}, older than the 2 most recent earlier runs, because report.md was changed since that " \
           "run" in result.output
    assert (edited / "report.md").read_text() == "my own edits of the draft\n"
    assert json.loads((out / "run.json").read_text())["keep_earlier"] == 2


def test_keep_earlier_0_removes_the_run_it_replaces_and_says_so(tmp_path):
    out = _finished(tmp_path)
    result = CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF,
                                      "--out", str(out), "--no-report", "--jobs", "1", "--keep-earlier", "0"])

    assert result.exit_code == 0, result.output
    assert f"The earlier run that was in {out} was removed (--keep-earlier 0)." in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.qa-engine.lock", "out"]
    assert verify_run(out).ok


def test_report_judgements_keeps_as_many_earlier_runs_as_the_audit_said(tmp_path, monkeypatch):
    """A re-judged run keeps the audit's --keep-earlier (recorded in run.json), never the default."""
    import qa_engine.run.audit as run_audit

    class Seen(Exception):
        pass

    def spy(*args, **kwargs):
        raise Seen(kwargs)

    CliRunner().invoke(cli, ["--log-level", "error", "audit", str(EXAMPLE_CASELOAD), "--as-of", AS_OF,
                             "--out", str(tmp_path / "out"), "--no-report", "--jobs", "1", "--keep-earlier", "7"])
    monkeypatch.setattr(run_audit, "audit", spy)
    with pytest.raises(Seen) as seen:
        run_audit.rejudge(tmp_path / "out", [tmp_path / "form.xlsx"])
    assert seen.value.args[0]["keep_earlier"] == 7


def test_a_killed_run_leaves_no_lock_that_blocks_the_next(tmp_path):
    """The lock is the OS's: a process killed while holding it (SIGKILL, no clean-up at all) never blocks the next."""
    from qa_engine.run.folder import acquire

    out = tmp_path / "out"
    code = ("import os, signal, sys; from pathlib import Path; from qa_engine.run.folder import acquire; "
            f"acquire(Path({str(out)!r})); print('held', flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    held = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert held.stdout == "held\n" and held.returncode == -signal.SIGKILL
    assert (tmp_path / ".out.qa-engine.lock").exists()  # left behind by the kill (hidden, and not a lock any more)
    acquire(out).release()


@pytest.mark.parametrize("when", ["as the summary is written", "while the report is written"])
def test_ctrl_c_after_the_last_record_still_stops_the_run(tmp_path, monkeypatch, when):
    """A first Ctrl-C that comes after the last record was judged (while the summary or the report is written, which
    takes a while on a big run) stops the run too: the new run is never swapped in, the earlier one stays whole."""
    import datetime as dt

    import qa_engine.report as report_package
    from qa_engine.judge.findings import SummaryBuilder
    from qa_engine.run.audit import STOP

    out = _finished(tmp_path)
    before = _snapshot(out)
    step = (SummaryBuilder, "build") if when == "as the summary is written" else (report_package, "build_report")
    original = getattr(*step)

    def pressed_during(*args, **kwargs):
        result = original(*args, **kwargs)
        STOP.set()  # what the first Ctrl-C's handler does (cli._stop_between_records)
        return result

    monkeypatch.setattr(*step, pressed_during)
    try:
        with pytest.raises(KeyboardInterrupt):
            audit([str(EXAMPLE_CASELOAD)], out, as_of=dt.date.fromisoformat(EXAMPLE_AS_OF), report=True)
    finally:
        STOP.clear()

    assert _snapshot(out) == before
    assert verify_run(out).ok
    assert not (tmp_path / ".out.qa-engine-new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out.earlier-")]
