"""The one adapter to durable_rules: every import of it, every trap it sets, handled in one place.

Traps handled here (../shared/reference/durable-rules-notes.md, section 0):

* Facts, never events: ``post`` fires one rule only; we only ``assert_fact``.
* A fact no rule reads raises ``MessageNotHandledException``: for item facts that only means no rule
  needs it (ignored); for the case fact it would mean a rule has no outcome, which is a bug.
* A rule on a missing field alone loops forever: ``register`` refuses any rule whose conditions do
  not open with a positive test on the fact kind.
* Exceptions in actions are swallowed into the state: actions only append to a list, and the state
  returned by ``assert_fact`` is checked for ``exception``.
* ``none()`` depends on the order facts arrive: item facts first, the case fact (which every rule
  joins) last, one at a time, so no rule can fire before all of a case's facts are in.
* 1,024 live sessions per ruleset and false duplicates in big sessions: one session (sid) per case,
  deleted in ``finally``, so state never accumulates across cases.
* ``register_rulesets`` mutates its argument and rulesets can never be removed: we register a deep
  copy, once per content-hashed name, on one Host per process.
* Two facts with the same ``id`` in one session are one fact to durable_rules (a duplicate raises
  MessageObservedException): every asserted fact's id is prefixed with its kind.
* Deleting a session can crash the process (found while testing this adapter): after a
  MessageObservedException in it (heap corruption), or when its every assert went unhandled and no
  session of that ruleset was ever handled (segmentation fault). A session is deleted only when all
  its asserts succeeded and one was handled; after an engine error the session is left in place
  (the error stops the run anyway), and an unhandled session stores nothing.
* ``Host()`` starts two timer threads that dispatch actions concurrently with our calls; we use no
  timers, so our Host does not start them, and a lock serialises every engine call.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import logging
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import durable_rules_engine
from durable import engine

from qa_engine.base.errors import EngineError, EngineLimitError, OutcomeInvariantError
from qa_engine.facts.derive import CASE_KIND, CaseFacts
from qa_engine.rulepack.compile import KIND_FIELD, CompiledRuleset, Variant

# durable_rules logs a traceback (through the logging module) for any exception inside an action,
# then hands the exception back to the caller, which raises it: silence the duplicate, keep the raise.
logging.getLogger("durable").addHandler(logging.NullHandler())
logging.getLogger("durable").propagate = False

_EPOCH = dt.datetime(1970, 1, 1)  # what durable_rules' datetime.utcfromtimestamp(0) returns, without its warning


def _unix_now() -> float:
    """durable_rules' own clock (a naive local now less the epoch), computed as it does but without
    ``datetime.utcfromtimestamp``, deprecated since Python 3.12: its DeprecationWarning would otherwise be
    raised from inside durable_rules (at start-up and on every timer tick). Same value, to the microsecond."""
    return (dt.datetime.now() - _EPOCH).total_seconds()


engine._unix_now = _unix_now

__all__ = ["ITEM_ID_FIELD", "DurableBackend", "Firing", "durable_version", "get_backend"]

ITEM_ID_FIELD = "_id"
"""Where an asserted item fact carries its own id (durable_rules' "id" must be unique in a session)."""

_ERROR_CODES = {
    "101": "durable_rules ran out of memory or live sessions (error 101)",
    "106": "durable_rules rule limit reached (error 106)",
    "108": "too many rules share one condition (durable_rules error 108)",
    "202": "durable_rules could not parse a ruleset (error 202)",
    "302": "a fact has more properties than durable_rules allows (error 302)",
    "303": "more rules match one fact than durable_rules allows (error 303)",
    "309": "durable_rules lost a session (error 309)",
}


def durable_version() -> str:
    """The installed durable_rules version, for run.json."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("durable_rules")
    except PackageNotFoundError:  # pragma: no cover - it is a hard dependency
        return "unknown"


@dataclass(frozen=True)
class Firing:
    """One durable_rules action: which compiled rule fired, and the facts it matched, by alias."""

    variant: Variant
    matched: dict[str, dict[str, Any]]


@contextmanager
def _mapped_errors(context: str) -> Iterator[None]:
    """Turn durable_rules' exceptions into qa_engine's, naming what was being done."""
    try:
        yield
    except durable_rules_engine.error as exc:
        text = str(exc)
        code = text.rsplit("error code:", 1)[-1].strip() if "error code:" in text else ""
        reason = _ERROR_CODES.get(code, f"durable_rules failed: {text}")
        error = EngineLimitError if code in ("101", "106", "108", "302", "303") else EngineError
        msg = f"{context}: {reason}"
        raise error(msg) from exc
    except engine.MessageObservedException as exc:
        msg = f"{context}: durable_rules rejected a fact as a duplicate"
        raise EngineError(msg) from exc
    except MemoryError as exc:
        msg = f"{context}: durable_rules has too many live sessions"
        raise EngineLimitError(msg) from exc


def _lean_flush(self: Any, state: Any, result_container: dict[str, Any], state_offset: Any, complete: Any) -> None:
    """durable_rules' action loop, for actions that only read their match and never change the session state.

    The stock loop builds a Closure per firing, copies the state through JSON and writes it back
    (``update_state``) after every action, about 25 us a firing. Our actions append the match to a
    list and touch nothing else, so the state round-trip is skipped; the next action is fetched the
    same way (``complete_and_start_action``). Exceptions are not swallowed here: they propagate.
    """
    actions = self._qa_actions
    while "message" in result_container:
        action_name, message = next(iter(result_container.pop("message").items()))
        try:
            actions[action_name](message)
        except Exception as exc:
            msg = f"an action failed inside durable_rules: {exc!r}"
            raise EngineError(msg) from exc
        new_result = durable_rules_engine.complete_and_start_action(self._handle, state_offset)
        if new_result:
            result_container["message"] = json.loads(new_result)
        else:
            complete(None, state)


class _Host(engine.Host):
    """A Host with no background dispatch threads; actions are looked up by rule name."""

    def __init__(self) -> None:
        self.actions: dict[str, Any] = {}
        super().__init__()

    def _run(self) -> None:
        """Start nothing: we use no timers, and the dispatch threads would race our own calls."""

    def get_action(self, action_name: str) -> Any:
        return self.actions[action_name]


def _opens_with_positive_kind_test(condition: dict[str, Any]) -> bool:
    (alias, test), = condition.items()
    if alias.endswith("$not"):
        return True  # a none() is fine after a positive condition; checked by position below
    if KIND_FIELD in test:
        return True
    return bool(test.get("$and")) and KIND_FIELD in test["$and"][0]


class DurableBackend:
    """Evaluates compiled rulesets on one case at a time, each case in its own durable_rules session."""

    def __init__(self, lean: bool = True) -> None:
        self.lean = lean
        """Use the lean action loop (see _lean_flush); False keeps durable_rules' own, for comparison in tests."""
        self._host = _Host()
        self._lock = threading.Lock()
        self._registered: dict[str, CompiledRuleset] = {}
        self._sink: list[Firing] = []
        self._sids = itertools.count()

    def register(self, ruleset: CompiledRuleset) -> None:
        """Create the ruleset in durable_rules once; later calls with the same content do nothing."""
        with self._lock:
            if ruleset.name in self._registered:
                return
            for rule_name, rule in ruleset.definition.items():
                conditions = rule["all"]
                first = next(iter(conditions[0]))
                if first.endswith("$not") or not all(_opens_with_positive_kind_test(c) for c in conditions):
                    msg = f"{rule_name}: every condition must open with a positive test on the fact kind"
                    raise EngineError(msg)
            for rule_name, variant in ruleset.variants.items():
                self._host.actions[rule_name] = self._action(variant)
            with _mapped_errors(f"registering ruleset {ruleset.name}"):
                self._host.register_rulesets({ruleset.name: copy.deepcopy(ruleset.definition)})
            if self.lean:
                handle = self._host.get_ruleset(ruleset.name)
                handle._qa_actions = {name: self._lean_action(variant) for name, variant in ruleset.variants.items()}
                handle._flush_actions = types.MethodType(_lean_flush, handle)
            self._registered[ruleset.name] = ruleset

    def _action(self, variant: Variant) -> Any:
        sink = self

        def action(c: Any) -> None:
            sink._sink.append(Firing(variant, c._m))

        return action

    def _lean_action(self, variant: Variant) -> Any:
        sink = self

        def action(message: dict[str, Any]) -> None:
            sink._sink.append(Firing(variant, message))

        return action

    def live_sessions(self, ruleset: CompiledRuleset) -> int:
        """How many sessions the ruleset holds (0 between cases: nothing accumulates)."""
        count = 0
        with self._lock:
            for sid in range(next(self._sids)):
                try:
                    self._host.get_state(ruleset.name, str(sid))
                    count += 1
                except durable_rules_engine.error:
                    continue
        return count

    def evaluate(self, ruleset: CompiledRuleset, facts: CaseFacts) -> list[Firing]:
        """Assert one case's facts (items first, the case fact last) and return every rule that fired."""
        if ruleset.name not in self._registered:
            self.register(ruleset)
        with self._lock:
            sid = str(next(self._sids))
            fired: list[Firing] = []
            self._sink = fired
            context = f"case {facts.case_id}, ruleset {ruleset.name}"
            handled = False
            clean = False
            try:
                with _mapped_errors(context):
                    for kind, items in facts.items.items():
                        names = ruleset.fields.get(kind)
                        if names is None:
                            continue
                        for item in items:
                            fact = {n: item[n] for n in names if n in item}
                            # durable_rules treats facts with the same "id" in a session as one fact
                            # (MessageObservedException), so the id is made unique across kinds.
                            fact.update({"id": f"{kind}/{item['id']}", ITEM_ID_FIELD: item["id"], KIND_FIELD: kind,
                                         "sid": sid})
                            try:
                                state = self._host.assert_fact(ruleset.name, fact)
                                handled = True
                                self._check(state, context)
                            except engine.MessageNotHandledException:
                                continue  # no rule in this ruleset reads this item
                    case = {n: facts.case[n] for n in ruleset.fields[CASE_KIND] if n in facts.case}
                    case.update({"id": f"{CASE_KIND}/{facts.case_id}", KIND_FIELD: CASE_KIND, "sid": sid})
                    try:
                        state = self._host.assert_fact(ruleset.name, case)
                        handled = True
                        self._check(state, context)
                    except engine.MessageNotHandledException as exc:
                        msg = f"{context}: no rule gave the case an outcome"
                        raise OutcomeInvariantError(msg) from exc
                clean = True
            finally:
                self._sink = []
                if handled and clean:
                    with suppress(durable_rules_engine.error):
                        self._host.delete_state(ruleset.name, sid)
            return fired

    @staticmethod
    def _check(state: Any, context: str) -> None:
        if state == 0:
            msg = f"{context}: a durable_rules action was abandoned"
            raise EngineError(msg)
        if isinstance(state, dict) and "exception" in state:
            msg = f"{context}: an action failed inside durable_rules: {state['exception']}"
            raise EngineError(msg)


_BACKEND: DurableBackend | None = None
_BACKEND_LOCK = threading.Lock()


def get_backend() -> DurableBackend:
    """The process's one backend (durable_rules never frees a Host, so there must be only one)."""
    global _BACKEND
    with _BACKEND_LOCK:
        if _BACKEND is None:
            _BACKEND = DurableBackend()
        return _BACKEND
