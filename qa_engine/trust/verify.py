"""Checking a run folder later: is it complete, and is every output byte-for-byte what the run wrote?"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from qa_engine.trust.files import sha256_file

__all__ = ["DIGEST_FIELD", "Verification", "run_digest", "seal_run", "verify_run"]

DIGEST_FIELD = "run_sha256"
"""run.json's digest of itself: the sha256 of its own content without this field (see run_digest)."""


def run_digest(run: dict) -> str:
    """The sha256 of a run record without its digest field, as canonical JSON (sorted keys, no spaces, UTF-8), so
    the layout of run.json does not matter but every value in it does."""
    content = {k: v for k, v in run.items() if k != DIGEST_FIELD}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_run(run: dict) -> dict:
    """The run record with its digest (written last into run.json, so `verify` covers run.json itself).

    A digest is not a signature: it shows that run.json was changed by hand or by another tool, not who wrote it.
    """
    return {**{k: v for k, v in run.items() if k != DIGEST_FIELD}, DIGEST_FIELD: run_digest(run)}


@dataclass
class Verification:
    """The outcome of checking a run folder: problems found (none means complete and unaltered)."""

    directory: Path
    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems




def verify_run(directory: Path | str) -> Verification:
    """Recompute the sha256 of every output listed in run.json, and run.json's digest of itself; report anything
    missing, changed or incomplete.

    Inputs are checked too when they are still where the run read them (their state is reported, not
    counted as a problem: the export may have moved on).
    """
    directory = Path(directory)
    result = Verification(directory)
    try:
        run = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        result.problems.append("run.json is missing: this is not a finished qa-engine run")
        return result
    except (OSError, ValueError) as exc:
        result.problems.append(f"run.json cannot be read: {exc}")
        return result
    if not isinstance(run, dict) or run.get("complete") is not True:
        result.problems.append("run.json says the run did not complete")
        return result
    if DIGEST_FIELD not in run:
        result.problems.append(f"run.json: holds no digest of itself ({DIGEST_FIELD}), so its audit date, counts and "
                               "list of outputs cannot be vouched for")
    elif run[DIGEST_FIELD] != run_digest(run):
        result.problems.append("run.json: changed since the run (its content no longer matches its digest)")
    outputs = run.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        result.problems.append("run.json lists no outputs to check")
        return result
    for name, expected in sorted(outputs.items()):
        path = directory / name
        if Path(name).name != name:
            result.problems.append(f"{name}: not a plain file name")
        elif not path.is_file():
            result.problems.append(f"{name}: missing")
        elif sha256_file(path) != expected:
            result.problems.append(f"{name}: changed since the run (sha256 differs)")
        else:
            result.checked.append(name)
    for leftover in sorted(directory.glob("*.partial")):
        result.problems.append(f"{leftover.name}: a half-written file from an interrupted run")
    for item in run.get("inputs", []):
        path, expected = item.get("path"), item.get("sha256")
        if not path or not expected:
            continue
        source = Path(path)
        if not source.is_file():
            result.inputs.append(f"{path}: not found here")
        elif sha256_file(source) == expected:
            result.inputs.append(f"{path}: unchanged")
        else:
            result.inputs.append(f"{path}: changed since the run")
    return result
