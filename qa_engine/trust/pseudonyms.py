"""Keyed pseudonyms (HMAC-SHA256) for case, child and staff ids, so a report can leave the team without identifying anyone."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Any

from qa_engine.base.errors import ConfigError

__all__ = ["ENV_KEY", "ID_FIELDS", "LABEL_FIELDS", "MIN_KEY_BYTES", "Pseudonymiser", "identifiers", "load_key", "month"]

ENV_KEY = "QA_ENGINE_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
ID_FIELDS = frozenset({"id", "case_id", "child_id", "case_manager_id", "manager_id", "contact_id", "action_id",
                       "answers_contact_id", "change_id", "entry_id", "referral_id", "assessment_id", "plan_id",
                       "countersigned_by", "psr_quality_assured_by", "manager_authorised_by", "auditor_id"})
"""Fields whose values are identifiers from the case-management system, and so are pseudonymised."""
LABEL_FIELDS = frozenset({"team", "category", "factor_category"})
"""Free-text labels that reach outputs and could point to a team, a child or a member of staff: pseudonymised too."""

_ISO_DATE = re.compile(r"(?<![0-9])((?:19|20|21)[0-9]{2}-[01][0-9])-[0-3][0-9](?![0-9])")


def month(text: str) -> str:
    """Every ISO date in ``text`` cut to its month (2015-10-08 -> 2015-10): a shared output shows no exact day."""
    return _ISO_DATE.sub(r"\1", text)


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
        """A copy of ``value`` with every id and label field's string pseudonymised and every date cut to its month."""
        if isinstance(value, dict):
            return {k: self.walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, field) for v in value]
        if isinstance(value, str) and field in LABEL_FIELDS:
            return self(value)
        if isinstance(value, str) and field not in ID_FIELDS:
            return month(value)
        if isinstance(value, str) and field in ID_FIELDS:
            return self(value)
        return value


    def text(self, text: str, values: set[str]) -> str:
        """``text`` (a rejection's reason, say) with each of ``values`` (a record's ids and labels) replaced by its
        pseudonym wherever it stands as a whole word, and every ISO date cut to its month."""
        if values:
            pattern = re.compile("(?<![A-Za-z0-9])(" + "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
                                 + ")(?![A-Za-z0-9])")
            text = pattern.sub(lambda m: self(m.group(1)), text)
        return month(text)


def identifiers(data: Any, field: str | None = None) -> set[str]:
    """Every id and label in a raw record (any field of ID_FIELDS or LABEL_FIELDS, and the contacts an action
    answers), to take out of a rejection's text."""
    found: set[str] = set()
    stack = [(data, field)]
    while stack:
        value, name = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, k) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, name) for v in value)
        elif isinstance(value, str) and value and (name in ID_FIELDS or name in LABEL_FIELDS
                                                   or name == "answers_contact_ids"):
            found.add(value)
    return found


def load_key(key_file: Path | None) -> bytes:
    """The key from ``key_file``, else from the QA_ENGINE_PSEUDONYM_KEY environment variable.

    Raises:
        ConfigError: neither is given, the file cannot be read, or the key is too short.
    """
    if key_file is not None:
        try:
            if os.name == "posix" and key_file.stat().st_mode & 0o077:
                msg = (f"the pseudonym key file {key_file} can be read by other users: make it yours alone with "
                       f"`chmod 600 {key_file}`, then run again")
                raise ConfigError(msg)
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
