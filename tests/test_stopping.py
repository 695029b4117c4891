"""SIGTERM stops a run as Ctrl-C does: a clear message, exit 143, no half-written file, --out left as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_sigterm_stops_cleanly(tmp_path, jobs):
    """Sent while findings are being written (with two jobs, to the whole process group, as a service manager does),
    SIGTERM leaves no .partial file and says what happened."""
    data = tmp_path / "cases.jsonl"
    subprocess.run([sys.executable, "-m", "qa_engine", "generate", "--cases", "4000", "--seed", "2", "--out", str(data)],
                   check=True, capture_output=True)
    out = tmp_path / "out"
    building = tmp_path / ".out.qa-engine-new"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen([sys.executable, "-m", "qa_engine", "--log-level", "error", "audit", str(data),
                              "--as-of", "2016-02-15", "--out", str(out), "--jobs", str(jobs)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    partial = building / "findings.jsonl.partial"
    while not partial.exists() or partial.stat().st_size < 10_000:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if jobs == 1:
        child.send_signal(signal.SIGTERM)
    else:
        os.killpg(child.pid, signal.SIGTERM)
    _, err = child.communicate(timeout=60)

    assert 143 == child.returncode, err
    assert "Stopped by SIGTERM" in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not building.exists()  # the half-written run is removed whole
