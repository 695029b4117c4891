"""The run key: one sha256 that says which run a file written from it (an audit form) belongs to.

Two runs share a key exactly when they judge the same inputs (by sha256, in order), as of the same
day, with the same rule pack, policy and mapping, the same sample and seed, and the same choice of
pseudonyms: then they audit the same cases, named the same way. It is computed from what run.json
records, so a finished run and a run about to start can both be keyed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["run_key"]


def run_key(run: dict[str, Any]) -> str:
    """The key of a run, from its run.json (or the same fields of a run about to start), as 64 hex digits."""
    sample = run.get("sample") or None
    identity = {
        "as_of": run.get("as_of"),
        "inputs": [item.get("sha256") for item in run.get("inputs", [])],
        "rule_pack": (run.get("rule_pack") or {}).get("sha256"),
        "policy": (run.get("policy") or {}).get("sha256"),
        "mapping": (run.get("mapping") or {}).get("sha256"),
        "sample": {"requested": sample.get("requested"), "seed": sample.get("seed")} if sample else None,
        "pseudonymised": bool(run.get("pseudonymised")),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
