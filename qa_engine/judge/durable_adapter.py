"""The one adapter to durable_rules: every import of it, every trap it sets, handled in one place.

How a case is evaluated (``DurableBackend.evaluate``), driving durable_rules' C functions directly:
one ``assert_facts`` per case and ruleset (the item facts first, the case fact last), then the
firings read with ``start_action_for_state`` / ``complete_and_start_action`` (the rule name read
from the message text; only firings judged per item are parsed, for their matched item), then the
case's facts retracted (the case fact first) so the one session serves the next case. This is about
six times faster than durable_rules' Host, which serialises and JSON-parses every fact and firing,
builds a Closure per firing and round-trips the session state after each action.

Traps handled here (../shared/reference/durable-rules-notes.md, section 0):

* Facts, never events: ``post`` fires one rule only; we only assert facts.
* A fact no rule reads is "not handled", and in a batch one such fact hides any other result code
  (a duplicate, say): every ruleset gets one never-firing rule per fact kind (``~handled-KIND``,
  joined to a fact kind that never exists), so every asserted fact is handled and every non-zero
  result code is an error.
* A rule on a missing field alone loops forever: ``register`` refuses any rule whose conditions do
  not open with a positive test on the fact kind.
* A value durable_rules cannot compare (null, a list, an object, NaN, infinity, a huge number)
  makes neither a test nor its negation true: with default outcomes left unfired (compile.py) it
  would silently become the default. Every value is checked against its type in the fact catalogue
  before anything is asserted (``FactTypeError``).
* ``none()`` depends on the order facts arrive: item facts first, the case fact (which every rule
  joins) last, so no rule can fire before all of a case's facts are in; and on retraction the case
  fact goes first, so no rule can fire while the items go.
* Sessions: 1,024 live per ruleset, and false duplicates when one holds many facts. One session per
  ruleset holds one case's facts at a time, and is replaced every ``SESSION_CASES`` cases and after
  any error (so an error never leaves a half-judged case's facts behind).
* Exactly one outcome per rule: the firings are checked by findings.reduce (several outcomes of one
  rule, or one item with two, raise OutcomeInvariantError); no firing means the rule's default.
* ``register_rulesets`` mutates its argument and rulesets can never be removed: we register a deep
  copy, once per content-hashed name, on one Host per process.
* Two facts with the same ``id`` in one session are one fact to durable_rules (a duplicate is result
  code 2): every asserted fact's id is prefixed with its kind, and a repeated one is refused first.
* Deleting a session can crash the process (found while testing this adapter): after a duplicate
  was rejected in it (heap corruption), or when its every assert went unhandled and no session of
  that ruleset was ever handled (segmentation fault). A session is deleted only after a clean case;
  after an engine error it is left in place and a new one started. So after about a thousand
  engine errors in one process durable_rules refuses new sessions (EngineLimitError).
* ``Host()`` starts two timer threads that dispatch actions concurrently with our calls; we use no
  timers, so our Host does not start them, and a lock serialises every engine call.

``DurableBackend(lean=False)`` keeps durable_rules' own path (Host.assert_fact one fact at a time,
its own action loop, a session per case) so tests can check the direct path fires exactly the same.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, NamedTuple

import durable_rules_engine
import orjson
from durable import engine

from qa_engine.base.errors import EngineError, EngineLimitError
from qa_engine.facts.derive import CASE_KIND, CATALOGUE, CaseFacts, FactSpec
from qa_engine.records.model import LEVEL_RANK
from qa_engine.rulepack.compile import CASE_ALIAS, KIND_FIELD, CompiledRuleset, Variant

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

__all__ = ["ITEM_ID_FIELD", "SESSION_CASES", "DurableBackend", "FactTypeError", "Firing", "durable_version", "get_backend"]

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


class Firing(NamedTuple):
    """One durable_rules action: which compiled rule fired, and the facts it matched, by alias.

    From the direct path, ``matched`` holds only the item facts (aliases ``i`` and ``x``) of a firing
    judged per item, and nothing for one judged per case (reduce reads the case fact itself).
    """

    variant: Variant
    matched: dict[str, dict[str, Any]]


_raw_decode = json.JSONDecoder().raw_decode


def _item_facts(message: str, name: str) -> dict[str, dict[str, Any]]:
    """The item facts (``i``, and ``x`` if matched) of a firing message ``{"NAME":{"c":{...},"i":{...},"x":{...}}}``.

    Only those are parsed, not the case fact before them (most of the message): ``,"i":{`` can only be
    structure, since a quote inside a JSON string is always escaped. Anything unexpected parses it all.
    """
    try:
        start = message.index(',"i":{', len(name) + 4)
        if message.find(',"x":{', 0, start) != -1:
            raise ValueError("x before i")
        item, end = _raw_decode(message, start + 5)
        matched = {"i": item}
        if message.startswith(',"x":{', end):
            matched["x"] = _raw_decode(message, end + 5)[0]
        elif not message.startswith("}}", end):
            raise ValueError(message[end:end + 10])
    except ValueError:
        whole = orjson.loads(message)[name]
        return {alias: fact for alias, fact in whole.items() if alias != CASE_ALIAS}
    return matched


_ITEM_LABELS = {"failure": "contact", "absence": "contact", "enforcement": "enforcement action",
                "change": "significant change", "referral": "referral", "need": "need", "oversight": "oversight entry",
                "objective": "plan objective"}
"""What an item fact of each kind is called in the export (for a repeated item refused here)."""


def _duplicate_reason(kind: str, item_id: str) -> str:
    """Why two facts of one kind sharing an id were refused, in the export's words."""
    if kind == "factor" and ":" in item_id:
        assessment, category = item_id.split(":", 1)
        return f"factor {category} appears twice in assessment {assessment}"
    if kind == "response" and ">" in item_id:
        action, contact = item_id.split(">", 1)
        return f"enforcement action {action} answers contact {contact} twice"
    return f"{_ITEM_LABELS.get(kind, kind)} {item_id} appears twice"


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


_MISSING = object()
_NEVER_KIND = "~never"
"""A fact kind no fact ever has: the second condition of the never-firing ``~handled-KIND`` rules."""
SESSION_CASES = 5_000
"""Cases one session serves before it is deleted and a fresh one started."""
_LARGEST = 2**53
"""Numbers beyond this lose precision in durable_rules' double arithmetic (and 1e308 is an error)."""


_Check = tuple[frozenset[type], frozenset[Any] | None, bool]
"""(the Python types a fact may hold, the values it may take or None for any, whether it is a bounded number)."""


def _type_check(spec: FactSpec) -> _Check:
    """How a value is checked to be what the catalogue says the fact holds, and comparable by durable_rules."""
    if spec.type == "integer":
        return frozenset({int}), None, True
    if spec.type == "number":
        return frozenset({int, float}), None, True  # NaN and infinity fail the bounds
    if spec.type == "boolean":
        return frozenset({bool}), None, False
    if spec.type == "level":
        return frozenset({int}), frozenset(LEVEL_RANK.values()), False
    if spec.type == "enum":
        return frozenset({str}), frozenset(spec.values), False
    return frozenset({str}), None, False  # date (ISO text) and id


class FactTypeError(EngineError):
    """A derived fact holds a value of the wrong type, which durable_rules could not judge (a bug)."""


@dataclass
class _Registered:
    """A ruleset as registered: its C handle, the checked fields it reads per kind, and its current session."""

    ruleset: CompiledRuleset
    handle: int
    names: dict[str, tuple[str, ...]]
    checks: dict[str, dict[str, _Check]]
    sid: str = ""
    cases: int = 0


class DurableBackend:
    """Evaluates compiled rulesets on one case at a time, through one reused durable_rules session per ruleset."""

    def __init__(self, lean: bool = True) -> None:
        self.lean = lean
        """Drive durable_rules' C functions directly; False keeps durable_rules' own path, for comparison in tests."""
        self._host = _Host()
        self._lock = threading.Lock()
        self._registered: dict[str, _Registered] = {}
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
            checks = {}
            for kind, names in ruleset.fields.items():
                specs = CATALOGUE.get(kind, {})
                unknown = sorted(set(names) - set(specs))
                if unknown or kind not in CATALOGUE:
                    msg = f"ruleset {ruleset.name} reads {kind} facts not in the fact catalogue: {unknown or kind}"
                    raise EngineError(msg)
                checks[kind] = {name: _type_check(specs[name]) for name in names}
            for rule_name, variant in ruleset.variants.items():
                self._host.actions[rule_name] = self._action(variant)
            definition = copy.deepcopy(ruleset.definition)
            for kind in ruleset.fields:
                name = f"~handled-{kind}"
                definition[name] = {"all": [{"a": {KIND_FIELD: kind}}, {"b": {KIND_FIELD: _NEVER_KIND}}], "run": name}
                self._host.actions[name] = self._never
            with _mapped_errors(f"registering ruleset {ruleset.name}"):
                self._host.register_rulesets({ruleset.name: definition})
            registered = _Registered(ruleset, self._host.get_ruleset(ruleset.name)._handle, dict(ruleset.fields), checks)
            self._new_session(registered)
            self._registered[ruleset.name] = registered

    @staticmethod
    def _never(_c: Any) -> None:
        msg = "a ~handled rule fired, which no fact can make it do"
        raise EngineError(msg)

    def _action(self, variant: Variant) -> Any:
        sink = self

        def action(c: Any) -> None:
            sink._sink.append(Firing(variant, c._m))

        return action

    def _new_session(self, registered: _Registered) -> None:
        registered.sid = str(next(self._sids))
        registered.cases = 0

    def live_sessions(self, ruleset: CompiledRuleset) -> int:
        """How many sessions the ruleset holds (at most one between cases: nothing accumulates)."""
        count = 0
        with self._lock:
            for sid in range(next(self._sids)):
                try:
                    self._host.get_state(ruleset.name, str(sid))
                    count += 1
                except durable_rules_engine.error:
                    continue
        return count

    def facts_held(self, ruleset: CompiledRuleset) -> int:
        """How many facts the ruleset's current session holds (0 between cases: each case's are retracted)."""
        with self._lock:
            registered = self._registered[ruleset.name]
            try:
                return len(json.loads(durable_rules_engine.get_facts(registered.handle, registered.sid)))
            except durable_rules_engine.error:
                return 0  # the session was never used

    def _encode(self, registered: _Registered, facts: CaseFacts, context: str) -> list[bytes]:
        """The case's facts as durable_rules reads them, as JSON: items first, the case fact last.

        Raises:
            FactTypeError: a value is not of its catalogued type.
            EngineError: two items of one kind share an id.
        """
        sid = registered.sid
        dumps = orjson.dumps
        encoded = []
        for kind, items in facts.items.items():
            names = registered.names.get(kind)
            if names is None or not items:
                continue
            checks = registered.checks[kind]
            seen = set()
            for item in items:
                fact = {n: item[n] for n in names if n in item}
                for name, value in fact.items():
                    types, values, bounded = checks[name]
                    if type(value) not in types or (values is not None and value not in values) or (
                            bounded and not -_LARGEST <= value <= _LARGEST):
                        self._refuse(kind, name, value, context)
                item_id = item["id"]
                if type(item_id) is not str or item_id in seen:
                    self._refuse_id(kind, item_id, item_id in seen, context)
                seen.add(item_id)
                # durable_rules treats facts with the same "id" in a session as one fact, so the id
                # is made unique across kinds.
                fact["id"] = kind + "/" + item_id
                fact[ITEM_ID_FIELD] = item_id
                fact[KIND_FIELD] = kind
                fact["sid"] = sid
                encoded.append(dumps(fact))
        source = facts.case
        checks = registered.checks[CASE_KIND]
        case = {n: source[n] for n in registered.names[CASE_KIND] if n in source}
        for name, value in case.items():
            types, values, bounded = checks[name]
            if type(value) not in types or (values is not None and value not in values) or (
                    bounded and not -_LARGEST <= value <= _LARGEST):
                self._refuse(CASE_KIND, name, value, context)
        case["id"] = f"{CASE_KIND}/{facts.case_id}"
        case[KIND_FIELD] = CASE_KIND
        case["sid"] = sid
        encoded.append(dumps(case))
        return encoded

    @staticmethod
    def _refuse(kind: str, name: str, value: Any, context: str) -> None:
        msg = (f"{context}: the {kind} fact {name} holds a {type(value).__name__} durable_rules could not "
               f"judge as a {CATALOGUE[kind][name].type}")
        raise FactTypeError(msg)

    @staticmethod
    def _refuse_id(kind: str, item_id: Any, repeated: bool, context: str) -> None:
        if not repeated:
            msg = f"{context}: a {kind} fact's id is not text"
            raise EngineError(msg)
        error = EngineError(f"{context}: two {kind} facts share the id {item_id!r}")
        error.reason = _duplicate_reason(kind, item_id)  # the case is rejected with this
        raise error

    def evaluate(self, ruleset: CompiledRuleset, facts: CaseFacts) -> list[Firing]:
        """Assert one case's facts (items first, the case fact last) and return every rule that fired.

        Raises:
            FactTypeError: a fact's value is not of its catalogued type (nothing was asserted).
            EngineError, EngineLimitError: durable_rules failed or refused; the session is replaced.
        """
        if ruleset.name not in self._registered:
            self.register(ruleset)
        if not self.lean:
            return self._evaluate_stock(ruleset, facts)
        with self._lock:
            registered = self._registered[ruleset.name]
            context = f"case {facts.case_id}, ruleset {ruleset.name}"
            encoded = self._encode(registered, facts, context)
            handle = registered.handle
            variants = ruleset.variants
            fired: list[Firing] = []
            clean = False
            try:
                with _mapped_errors(context):
                    code, state = durable_rules_engine.assert_facts(handle, (b"[" + b",".join(encoded) + b"]").decode())
                    self._check_code(code, context, "asserting")
                    result = durable_rules_engine.start_action_for_state(handle, state)
                    message = result[1] if result else None
                    while message is not None:
                        name = message[2:message.index('"', 2)]
                        variant = variants[name]
                        matched = _item_facts(message, name) if variant.scope == "item" else {}
                        fired.append(Firing(variant, matched))
                        message = durable_rules_engine.complete_and_start_action(handle, state)
                    encoded.insert(0, encoded.pop())  # the case fact first: no rule can fire while the items go
                    code, _ = durable_rules_engine.retract_facts(handle, (b"[" + b",".join(encoded) + b"]").decode())
                    self._check_code(code, context, "retracting")
                    if durable_rules_engine.start_action_for_state(handle, state) is not None:
                        msg = f"{context}: a rule fired while the case's facts were retracted"
                        raise EngineError(msg)
                clean = True
            finally:
                registered.cases += 1
                if not clean:
                    self._new_session(registered)  # left in place: deleting it may crash (see above)
                elif registered.cases >= SESSION_CASES:
                    with suppress(durable_rules_engine.error):
                        durable_rules_engine.delete_state(handle, registered.sid)
                    self._new_session(registered)
            return fired

    @staticmethod
    def _check_code(code: int, context: str, doing: str) -> None:
        if code == 0:
            return
        if code == 2:
            msg = f"{context}: durable_rules rejected a fact as a duplicate while {doing}"
        elif code == 1:
            msg = f"{context}: durable_rules handled no rule for a fact while {doing}"
        else:
            msg = f"{context}: durable_rules deferred a fact (result {code}) while {doing}"
        raise EngineError(msg)

    def _evaluate_stock(self, ruleset: CompiledRuleset, facts: CaseFacts) -> list[Firing]:
        """durable_rules' own path: Host.assert_fact one fact at a time, its own action loop, a session per case."""
        with self._lock:
            sid = str(next(self._sids))
            fired: list[Firing] = []
            self._sink = fired
            context = f"case {facts.case_id}, ruleset {ruleset.name}"
            clean = False
            try:
                with _mapped_errors(context):
                    for kind, items in facts.items.items():
                        names = ruleset.fields.get(kind)
                        if names is None:
                            continue
                        for item in items:
                            fact = {n: item[n] for n in names if n in item}
                            fact.update({"id": f"{kind}/{item['id']}", ITEM_ID_FIELD: item["id"], KIND_FIELD: kind,
                                         "sid": sid})
                            self._check(self._host.assert_fact(ruleset.name, fact), context)
                    case = {n: facts.case[n] for n in ruleset.fields[CASE_KIND] if n in facts.case}
                    case.update({"id": f"{CASE_KIND}/{facts.case_id}", KIND_FIELD: CASE_KIND, "sid": sid})
                    self._check(self._host.assert_fact(ruleset.name, case), context)
                clean = True
            finally:
                self._sink = []
                if clean:
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
