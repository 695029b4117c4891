"""Trustworthy outputs: no half-written run looks finished, runs can be verified, ids can be pseudonymised, no network."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from qa_engine.cli import cli
from qa_engine.records.generate import DEFAULT_UNTIL, generate_lines
from qa_engine.report import JUDGEMENT_FILES, OUTPUTS
from qa_engine.run.audit import audit
from qa_engine.trust.verify import verify_run

from .conftest import EXAMPLE_AS_OF, EXAMPLE_CASELOAD, EXAMPLES

KEY = "a-secret-key-of-sufficient-length"


@pytest.fixture(name="finished", scope="module")
def _finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    audit([str(EXAMPLE_CASELOAD)], out, as_of=DEFAULT_UNTIL, report=True)
    return out


def test_a_finished_run_verifies(finished):
    """verify recomputes every output's sha256 against run.json: complete and unaltered."""
    result = CliRunner().invoke(cli, ["verify", str(finished)])

    assert 0 == result.exit_code, result.output
    assert "complete and unaltered (7 outputs checked)" in result.stdout
    assert "input    " in result.stdout and "unchanged" in result.stdout


@pytest.mark.parametrize("name", [n for n in OUTPUTS if n not in JUDGEMENT_FILES])  # judgements.json: test_audit_form
def test_verify_detects_a_changed_byte(tmp_path, finished, name):
    """Changing one byte of any output makes verify fail and name the file."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    path = copy / name
    data = bytearray(path.read_bytes())
    if data:
        data[len(data) // 2] ^= 0x01
    else:
        data = bytearray(b" ")
    path.write_bytes(bytes(data))

    result = CliRunner().invoke(cli, ["verify", str(copy)])

    assert 1 == result.exit_code
    assert f"{name}: changed since the run" in result.stdout


def test_verify_detects_a_missing_output_and_an_unfinished_run(tmp_path, finished):
    """A deleted output, or a run.json marked incomplete, fails verification."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    (copy / "summary.json").unlink()
    assert "summary.json: missing" in verify_run(copy).problems

    run = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**run, "complete": False}))
    assert ["run.json says the run did not complete"] == verify_run(copy).problems


def test_report_rebuild_keeps_the_run_verifiable(tmp_path):
    """qa-engine report rewrites run.json with the new files' hashes, so the run still verifies."""
    out = tmp_path / "run"
    audit([str(EXAMPLE_CASELOAD)], out, as_of=DEFAULT_UNTIL)
    CliRunner().invoke(cli, ["report", str(out)])

    assert verify_run(out).ok
    assert "report.html" in json.loads((out / "run.json").read_text())["outputs"]


def test_killed_run_never_looks_finished(tmp_path):
    """SIGKILL part-way: the earlier run in the folder is untouched and verifies; the half-built run beside it never
    looks finished, and the next audit clears it."""
    data = tmp_path / "big.jsonl"
    data.write_text("".join(generate_lines(3000, seed=5)))
    out = tmp_path / "run"
    audit([str(EXAMPLE_CASELOAD)], out, as_of=DEFAULT_UNTIL, report=True)  # an earlier, complete run in the folder
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    building = tmp_path / ".run.qa-engine-new"
    process = subprocess.Popen([sys.executable, "-m", "qa_engine", "--log-level", "error", "audit", str(data),
                                "--as-of", EXAMPLE_AS_OF, "--out", str(out)])
    deadline = time.time() + 60
    while time.time() < deadline and not (building / "findings.jsonl.partial").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    workers = [int(p) for p in subprocess.run(["ps", "-o", "pid=", "--ppid", str(process.pid)], capture_output=True,
                                              text=True).stdout.split()]
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)

    assert workers, "the audit ran with worker processes"
    assert not [pid for pid in workers if _alive(pid)], "worker processes outlived their killed parent"
    assert before == {p.name: p.read_bytes() for p in out.iterdir()}
    assert verify_run(out).ok
    assert json.loads((building / "run.json").read_text())["complete"] is False
    assert not any((building / name).exists() for name in OUTPUTS)
    assert 2 == CliRunner().invoke(cli, ["report", str(building)]).exit_code
    assert not verify_run(building).ok
    audit([str(EXAMPLE_CASELOAD)], out, as_of=DEFAULT_UNTIL)
    assert not building.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(status) and not status.startswith("Z")


def test_ctrl_c_leaves_no_finished_looking_output(tmp_path):
    """SIGINT: a short message, exit 130, no traceback, and nothing left in or beside a new --out folder."""
    data = tmp_path / "big.jsonl"
    data.write_text("".join(generate_lines(3000, seed=6)))
    out = tmp_path / "run"
    building = tmp_path / ".run.qa-engine-new"
    process = subprocess.Popen([sys.executable, "-m", "qa_engine", "--log-level", "error", "audit", str(data),
                                "--as-of", EXAMPLE_AS_OF, "--out", str(out)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (building / "findings.jsonl.partial").exists():
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)

    assert 130 == process.returncode
    assert "Traceback" not in stderr and "Interrupted" in stderr
    assert not out.exists()
    assert not building.exists()


class TestPseudonymise:
    def _run(self, tmp_path, key, name="run"):
        env = {"QA_ENGINE_PSEUDONYM_KEY": key} if key else {}
        return CliRunner(env=env).invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF,
                                               "--out", str(tmp_path / name), "--pseudonymise"])

    def test_no_original_id_in_any_output(self, tmp_path, example_records):
        """Case, staff, contact and action ids never appear in any output; run.json says the run is pseudonymised."""
        result = self._run(tmp_path, KEY)
        ids = set()
        for r in example_records:
            ids |= {r["case_id"], r["case_manager_id"]}
            ids |= {c["contact_id"] for c in r.get("contacts", [])}
            ids |= {e["action_id"] for e in r.get("enforcement", [])}
        texts = {}
        for path in (tmp_path / "run").iterdir():
            if path.suffix == ".xlsx":
                import zipfile

                with zipfile.ZipFile(path) as book:
                    texts[path.name] = "".join(book.read(n).decode() for n in book.namelist())
            else:
                texts[path.name] = path.read_text()

        assert 0 == result.exit_code, result.output
        assert json.loads(texts["run.json"])["pseudonymised"] is True
        for name, text in texts.items():
            if name == "run.json":
                continue
            leaked = sorted(i for i in ids if f'"{i}"' in text or f">{i}<" in text or f" {i})" in text or f"{i}," in text)
            assert [] == leaked, name

    def test_stable_for_a_key_and_different_across_keys(self, tmp_path):
        """The same key gives the same pseudonyms (runs can be compared); another key gives others."""
        self._run(tmp_path, KEY, "a")
        self._run(tmp_path, KEY, "b")
        self._run(tmp_path, KEY + "-other", "c")
        a, b, c = ((tmp_path / n / "findings.jsonl").read_text() for n in "abc")

        assert a == b
        assert a != c

    def test_needs_a_key(self, tmp_path):
        """Without a key (or with a short one) the run stops with exit 2 and says how to give one."""
        missing = self._run(tmp_path, None)
        short = self._run(tmp_path, "short")

        assert 2 == missing.exit_code and "QA_ENGINE_PSEUDONYM_KEY" in missing.stderr
        assert 2 == short.exit_code and "at least 16 bytes" in short.stderr

    def test_key_file(self, tmp_path):
        """--key-file reads the key from a file."""
        key = tmp_path / "key"
        key.write_text(KEY + "\n")
        key.chmod(0o600)
        result = CliRunner().invoke(cli, ["audit", str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--out",
                                          str(tmp_path / "run"), "--pseudonymise", "--key-file", str(key), "--no-report"])

        assert 0 == result.exit_code, result.output
        assert "DBY-0001" not in (tmp_path / "run" / "findings.jsonl").read_text()


def test_audit_makes_no_network_connection(tmp_path, monkeypatch):
    """With every socket refused, a full audit and report still run: the tool never touches the network."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    result = audit([str(EXAMPLE_CASELOAD)], tmp_path / "run", as_of=DEFAULT_UNTIL, report=True,
                   policy_path=EXAMPLES / "policy.yaml")

    assert [] == attempts
    assert 37 == result.counts["audited"]


@pytest.mark.skipif(not os.path.exists("/usr/bin/unshare"), reason="needs util-linux unshare")
def test_audit_in_a_namespace_without_network(tmp_path):
    """The CLI runs in a network namespace with no interfaces up (unshare -n, as root; skipped elsewhere)."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot create a network namespace here")
    result = subprocess.run(["unshare", "-n", sys.executable, "-m", "qa_engine", "--log-level", "error", "audit",
                             str(EXAMPLE_CASELOAD), "--as-of", EXAMPLE_AS_OF, "--out", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=300)

    assert 0 == result.returncode, result.stderr
    assert verify_run(tmp_path / "run").ok


def test_rebuilding_the_report_does_not_bless_a_changed_output(tmp_path, finished):
    """`qa-engine report` re-hashes only the report files: a findings.jsonl changed since the audit still fails."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    with (copy / "rejected.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert CliRunner().invoke(cli, ["report", str(copy)]).exit_code == 0
    assert verify_run(copy).problems == ["rejected.jsonl: changed since the run (sha256 differs)"]
