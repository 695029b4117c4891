"""Keyed pseudonyms (HMAC-SHA256) for case, child and staff ids, so a report can leave the team without identifying anyone."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from qa_engine.base.errors import ConfigError

__all__ = ["ENV_KEY", "ID_FIELDS", "MIN_KEY_BYTES", "Pseudonymiser", "load_key"]

ENV_KEY = "QA_ENGINE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
ID_FIELDS = frozenset({"id", "case_id", "child_id", "case_manager_id", "manager_id", "contact_id", "action_id",
                       "answers_contact_id", "change_id", "entry_id", "referral_id", "assessment_id", "plan_id",
                       "countersigned_by", "psr_quality_assured_by", "manager_authorised_by", "auditor_id"})
"""Fields whose values are identifiers from the case-management system, and so are pseudonymised."""


class Pseudonymiser:
    """Maps an id to ``P-`` and 16 hex digits of HMAC-SHA256 under a secret key: stable, and not reversible without it."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            msg = f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes long"
            raise ConfigError(msg)
        self._key = key

    def __call__(self, value: str) -> str:
        return "P-" + hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    def walk(self, value: Any, field: str | None = None) -> Any:
        """A copy of ``value`` with every id field's string pseudonymised."""
        if isinstance(value, dict):
            return {k: self.walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, field) for v in value]
        if isinstance(value, str) and field in ID_FIELDS:
            return self(value)
        return value


def load_key(key_file: Path | None) -> bytes:
    """The key from ``key_file``, else from the QA_ENGINE_PSEUDONYM_KEY environment variable.

    Raises:
        ConfigError: neither is given, the file cannot be read, or the key is too short.
    """
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            msg = f"cannot read the pseudonym key file {key_file}: {exc.strerror or exc}"
            raise ConfigError(msg) from exc
    else:
        key = os.environ.get(ENV_KEY, "").encode("utf-8")
        if not key:
            msg = f"--pseudonymise needs a key: give --key-file FILE or set {ENV_KEY}"
            raise ConfigError(msg)
    if len(key) < MIN_KEY_BYTES:
        msg = f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes long"
        raise ConfigError(msg)
    return key
