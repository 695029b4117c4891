"""A starter mapping drafted from an export's own headers and codes, so a data officer edits a mapping instead of writing one."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from qa_engine.base.errors import InputError
from qa_engine.exports.mapping import YES_NO_WORDS, order_clash, strptime_format, without_time
from qa_engine.exports.tables import Export, TableReader, formula_text, normal_name, open_export
from qa_engine.records.layout import RECORD, FieldSpec, Target, targets

__all__ = ["Starter", "starter_mapping"]

_MAX_CODES = 20
"""A column with more different values than this in the sample is not treated as a code column."""
_MAX_CODE_LENGTH = 40
_MAX_CODE_WORDS = 4
"""A code is short: "Unacceptable absence", "First Warning Letter Sent"; a cell longer than this is text."""
_SINGLE = ("child", "order", "court")
"""The single objects of a record: filled by the record table, or by a table of their own with one row per case."""
_CASE_KEYS = ("case_id", "order.order_id", "child.child_id")
"""Record fields a table may join on, most preferred first."""
_ID_WORDS = ("id", "ref", "reference", "refno", "no", "number", "identifier", "key")
"""A column named just this (or a table's entity plus this: "Contact Ref") holds the target's own id."""
_FIELD_FUZZ = 0.88
_TABLE_FUZZ = 0.75
_US = "mm/dd/yyyy"
_SENTINELS = frozenset({"01/01/1900", "1900-01-01", "01-01-1900", "01.01.1900", "01-Jan-1900"})
"""Dates that mean "none" in some exports (YJB Child Level Data), outside the record's range."""
_DATE_SHAPES = {
    "dd/mm/yyyy": r"\d{1,2}/\d{1,2}/\d{4}",
    "dd/mm/yy": r"\d{1,2}/\d{1,2}/\d{2}",
    "dd-mm-yyyy": r"\d{1,2}-\d{1,2}-\d{4}",
    "dd.mm.yyyy": r"\d{1,2}\.\d{1,2}\.\d{4}",
    "dd-mmm-yyyy": r"\d{1,2}-[^\W\d_]{3}-\d{4}",
    "yyyy-mm-dd": r"\d{4}-\d{1,2}-\d{1,2}",
}
"""The date formats a starter chooses from, in the order it writes them (mm/dd/yyyy replaces dd/mm/yyyy when it must)."""

_TABLE_ALIASES: dict[str, tuple[str, ...]] = {
    RECORD: ("cases", "case", "caseload", "case details", "case list", "orders", "order", "intervention programme",
             "intervention programmes", "interventions"),
    "child": ("children", "child", "child details", "person", "people", "persons", "person details", "young people",
              "young person", "young persons", "yp", "clients"),
    "order": (),  # "orders" names the record table first; the order's own table only beside one (see below)
    "court": ("court", "court work", "psr", "psrs", "pre sentence reports", "pre sentence report", "reports"),
    "order.requirements": ("requirements", "requirement", "order requirements"),
    "assessments": ("assessments", "assessment", "asset plus", "assetplus", "asset", "asset plus assessments"),
    "assessments.factors": ("factors", "assessment factors", "factor", "desistance factors"),
    "plans": ("plans", "plan", "intervention plans"),
    "plans.objectives": ("objectives", "plan objectives", "objective"),
    "plans.reviews": ("plan reviews", "reviews", "review"),
    "contacts": ("contacts", "contact", "appointments", "appointment", "contact log", "contact logs"),
    "enforcement": ("enforcement", "warnings", "breaches", "compliance", "enforcement actions", "warning", "breach"),
    "referrals": ("referrals", "referral"),
    "safeguarding_events": ("safeguarding", "safeguarding events", "safeguarding event", "incidents"),
    "significant_changes": ("significant changes", "changes", "significant change"),
    "oversight": ("management oversight", "oversight", "manager oversight"),
    "practice_judgements": ("practice judgements", "judgements", "practice judgement", "audit answers"),
}
"""Table names (file stem or sheet, compared ignoring case and punctuation) -> the part of the record, best first."""
_TABLE_SECOND_CHOICE: dict[str, tuple[str, ...]] = {
    "order": ("orders", "order", "order details", "disposals", "disposal", "sentences"),
}
"""Names that fill a single object when another table already holds the record (orders.csv beside cases.csv)."""

_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    RECORD: {
        "case_id": ("case ref", "case reference", "case no", "case number", "case", "case key", "case identifier"),
        "team": ("yot", "yos", "yjs", "team name", "locality", "service"),
        "case_manager_id": ("case manager", "case worker", "caseworker", "worker id", "practitioner", "practitioner id",
                            "officer", "officer id", "allocated worker", "case manager ref", "keyworker"),
    },
    "child": {
        "child_id": ("ypid", "yp id", "young person id", "person id", "child ref", "child reference", "person ref",
                     "client id", "person key"),
        "name": ("full name", "child name", "young person name", "yp name", "name"),
        "date_of_birth": ("dob", "birth date", "date of birth", "birthdate"),
        "address": ("home address", "current address"),
        "age_at_sentence": ("age", "age at sentence", "age at order", "age at disposal", "age at outcome"),
        "sex": ("gender", "sex"),
        "ethnicity": ("ethnic group", "ethnic origin", "ethnicity"),
        "looked_after": ("lac", "cla", "looked after child", "child looked after", "in care"),
        "child_protection_plan": ("cpp", "cp plan", "child protection", "on cp plan"),
        "child_in_need": ("cin", "in need"),
        "send_identified": ("send", "sen", "special educational needs", "ehcp", "send aln", "identified send aln",
                            "kpi3 identified send aln"),
    },
    "order": {
        "order_id": ("order ref", "order reference", "disposal id", "programme id", "intervention programme id"),
        "order_type": ("disposal type", "disposal", "outcome type", "legal outcome", "sentence type", "order"),
        "sentence_date": ("date of sentence", "disposal date", "court date", "outcome date", "legal outcome date"),
        "start_date": ("order start", "commencement date", "commenced"),
        "contract_signed_date": ("contract date", "contract signed", "date contract signed"),
        "first_panel_date": ("first panel", "initial panel date", "panel date"),
        "expected_end_date": ("planned end date", "expected end", "scheduled end date", "due end date",
                              "outcome end date"),
        "actual_end_date": ("actual end", "closure date", "closed date", "date closed", "end date"),
        "length_months": ("length", "order length", "length in months", "months", "duration months", "duration",
                          "term months", "term"),
        "intervention_level": ("scaled approach", "scaled approach level", "level"),
        "main_offence_category": ("offence", "main offence", "offence category", "offence type", "primary offence",
                                  "yjb offence category"),
    },
    "court": {
        "psr_requested_date": ("psr requested", "requested", "date requested"),
        "psr_due_date": ("psr due", "due", "due date", "date due"),
        "psr_submitted_date": ("psr submitted", "submitted", "date submitted"),
        "psr_quality_assured_date": ("qa date", "quality assured", "date quality assured", "psr qa date"),
        "psr_quality_assured_by": ("qa by", "psr qa by"),
    },
    "order.requirements": {
        "type": ("requirement", "requirement type"),
    },
    "assessments": {
        "assessment_id": ("asset id", "assetplus id", "asset plus id"),
        "stage": ("stage type", "assessment type", "type", "asset stage", "stage"),
        "trigger": ("reason", "assessment reason", "stage reason"),
        "started_date": ("start date", "started", "date started", "stage start date"),
        "completed_date": ("completion date", "completed", "date completed", "end date", "stage end date"),
        "likelihood_of_reoffending": ("lor", "likelihood", "reoffending", "likelihood of reoffending"),
        "risk_of_serious_harm": ("rosh", "risk of harm", "serious harm", "rosh level", "rosh judgement"),
        "safety_and_wellbeing": ("sw", "saw", "safety wellbeing", "safety and wellbeing", "vulnerability",
                                 "safety wellbeing judgement"),
        "rosh_full_analysis": ("full rosh", "full rosh analysis", "rosh analysis"),
        "intervention_level": ("scaled approach", "level", "scaled approach intervention level"),
        "exploitation_indicators": ("vulnerable to criminal exploitation", "exploitation", "exploitation concerns"),
        "countersigned_by": ("countersigner", "signed off by"),
        "countersigned_date": ("countersigned", "signed off date", "countersign date", "date countersigned"),
        "exploitation_screening.date": ("exploitation screening", "cse screening date", "ce screening date",
                                        "exploitation screening date"),
        "exploitation_screening.result": ("exploitation screening result", "cse screening result", "ce screening result",
                                          "exploitation risk"),
        "identified_needs": ("needs", "needs identified"),
        "health_screened": ("health screening", "health screen"),
    },
    "assessments.factors": {
        "category": ("factor", "factor type"),
        "rating": ("level",),
    },
    "plans": {
        "plan_type": ("type",),
        "created_date": ("created", "date created", "date", "start date"),
        "countersigned_date": ("countersigned", "signed off date"),
        "child_involved": ("child involvement", "yp involved"),
        "parent_involved": ("parent involvement", "parent carer involved"),
    },
    "plans.objectives": {
        "factor_category": ("factor", "category"),
        "text": ("objective", "description", "detail"),
    },
    "plans.reviews": {
        "trigger": ("reason",),
    },
    "contacts": {
        "contact_id": ("appointment id",),
        "date": ("date of contact", "appointment date"),
        "type": ("appointment type", "method"),
        "counts_towards_required": ("counts", "counts towards", "enforceable", "national standards contact",
                                    "national standards", "ns contact"),
        "outcome": ("attendance", "attended"),
        "follow_up_date": ("follow up", "followup"),
        "note": ("notes", "comments", "comment", "details"),
    },
    "enforcement": {
        "action_id": ("breach id", "warning id"),
        "action": ("type", "warning type", "breach type"),
        "date": ("warning date", "breach date"),
        "answers_contact_ids": ("contact id", "contact ids", "contacts", "missed contact id", "missed contacts",
                                "appointment id", "failed contacts", "linked contact ids", "linked contacts",
                                "linked contact id"),
        "manager_authorised_by": ("authorised by", "approved by"),
        "manager_authorised_date": ("authorised date", "date authorised", "approved date"),
        "note": ("notes", "comments", "details"),
    },
    "referrals": {
        "need": ("need type", "type", "area of need"),
        "need_identified_date": ("identified date", "date identified", "need identified"),
        "referred_date": ("date", "date referred", "referred"),
        "offered_date": ("offer date", "date offered", "offered"),
    },
    "safeguarding_events": {
        "type": ("safeguarding type", "concern"),
        "note": ("notes", "comments", "details"),
    },
    "oversight": {
        "manager_id": ("manager", "supervisor", "supervisor id", "manager ref"),
        "target": ("oversight type", "oversight of", "subject", "area", "focus"),
        "decision_recorded": ("decision made",),
        "actions_requested": ("actions set",),
        "actions_completed": ("actions done",),
        "decision_text": ("decision", "notes", "comments", "rationale"),
    },
    "practice_judgements": {
        "criterion": ("criteria", "sqs criterion", "standard"),
        "answer": ("response",),
        "auditor_id": ("auditor", "audited by", "reviewer"),
        "date": ("audit date",),
    },
}
"""Other names for a field, per part of the record (compared ignoring case and punctuation)."""

_PREFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    RECORD: (("case", RECORD), ("child", "child"), ("yp", "child"), ("young person", "child"), ("person", "child"),
             ("care status", "child"),
             ("order", "order"), ("disposal", "order"), ("court", "court"), ("psr", "court")),
    "child": (("child", "child"), ("yp", "child"), ("young person", "child"), ("person", "child"),
              ("care status", "child")),
    "order": (("order", "order"), ("disposal", "order")),
    "court": (("court", "court"), ("psr", "court"), ("pre sentence report", "court")),
    "order.requirements": (("requirement", "order.requirements"), ("order requirement", "order.requirements")),
    "assessments": (("assessment", "assessments"), ("asset plus", "assessments"), ("asset", "assessments")),
    "assessments.factors": (("factor", "assessments.factors"), ("assessment factor", "assessments.factors")),
    "plans": (("plan", "plans"),),
    "plans.objectives": (("objective", "plans.objectives"), ("plan objective", "plans.objectives")),
    "plans.reviews": (("review", "plans.reviews"), ("plan review", "plans.reviews")),
    "contacts": (("contact", "contacts"), ("appointment", "contacts")),
    "enforcement": (("enforcement", "enforcement"), ("action", "enforcement"), ("breach", "enforcement"),
                    ("warning", "enforcement")),
    "referrals": (("referral", "referrals"),),
    "safeguarding_events": (("safeguarding", "safeguarding_events"), ("event", "safeguarding_events"),
                            ("incident", "safeguarding_events")),
    "significant_changes": (("change", "significant_changes"), ("significant change", "significant_changes")),
    "oversight": (("oversight", "oversight"), ("management oversight", "oversight")),
    "practice_judgements": (("judgement", "practice_judgements"), ("practice judgement", "practice_judgements"),
                            ("audit", "practice_judgements")),
}
"""Words a column name may start with that name the table's own entity ("Contact Date" in contacts -> date)."""


@dataclass
class Starter:
    """A starter mapping and how much of the export it matched."""

    text: str
    """The mapping as YAML, with comments; every open question is marked TODO."""
    tables: int
    """Tables matched to a part of the case record."""
    columns: int
    """Columns matched to a field."""

    @property
    def todos(self) -> int:
        """TODO markers written (a header's own "TODO" is escaped, so each one is a question to settle)."""
        return self.text.count("TODO")

    @property
    def unsettled(self) -> int:
        """TODOs left as a value or a column: what `qa-engine mapping check` counts and refuses until settled."""
        import yaml

        from qa_engine.exports.mapping import unsettled

        return len(unsettled(yaml.safe_load(self.text) or {}))


@dataclass
class _Table:
    """One table of the export matched to a part of the record, and what was found in it."""

    target: Target
    label: str
    """The file (folder) or sheet (workbook) name."""
    header: list[str]
    samples: dict[str, list[str]]
    """Column -> its non-empty cells in the sampled rows."""
    columns: dict[str, tuple[str, bool]] = field(default_factory=dict)
    """Field -> (column, matched only by a close spelling)."""
    join: dict[str, str | None] = field(default_factory=dict)
    """Field of the case (or parent item) -> column; None when no column was found."""
    notes: list[str] = field(default_factory=list)
    """Comment lines written under the table's columns."""
    via: tuple[str, str, str] | None = None
    """(link table, its column, this table's column) when the table joins its cases through a link table."""


def _norm(text: str) -> str:
    """A name compared ignoring case, spaces and punctuation ("Contact Date" -> "contactdate")."""
    return re.sub(r"[\W_]+", "", text.casefold())


_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def _quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON's quoting, plus escapes YAML needs); TODO inside it is escaped so
    the word only ever appears in the file as a marker."""
    quoted = json.dumps(text, ensure_ascii=False)
    quoted = _ESCAPE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", quoted)
    return quoted.replace("TODO", "TOD\\x4f")


def _comment(text: str) -> str:
    """Text safe on a YAML comment line (no line breaks)."""
    return re.sub(r"[\r\n\x85\u2028\u2029]+", " ", text)


def _id_field(name: str) -> str | None:
    """The target's own id field (``contact_id`` for contacts), if its first field is one."""
    first = next(iter(targets()[name].fields), "")
    return first if first.endswith("_id") and "." not in first else None


@cache
def _base_spellings(name: str) -> dict[str, str]:
    """Normalised names -> field, for a target's own fields and their synonyms."""
    out: dict[str, str] = {}
    for path in targets()[name].fields:
        out.setdefault(_norm(path), path)
        if name == "court" and path.startswith("psr_"):
            out.setdefault(_norm(path[4:]), path)
    for path, words in _SYNONYMS.get(name, {}).items():
        for word in words:
            out.setdefault(_norm(word), path)
    return out


@cache
def _own_spellings(name: str) -> dict[str, str]:
    """Normalised names -> field, for a target's fields, synonyms and id words (the record's include its single
    objects' fields: "Gender" is child.sex); no entity prefixes."""
    out = dict(_base_spellings(name))
    if name == RECORD:
        for sub in _SINGLE:
            for key, path in _base_spellings(sub).items():
                out.setdefault(key, f"{sub}.{path}")
    id_field = _id_field(name)
    if id_field:
        for word in _ID_WORDS:
            out.setdefault(word, id_field)
    return out


@cache
def _spellings(name: str) -> dict[str, str]:
    """Normalised column names -> field of the target ``name``, with the table's entity words as optional prefixes."""
    out = dict(_own_spellings(name))
    for prefix, sub in _PREFIXES.get(name, ()):
        own = _own_spellings(sub)
        if sub == RECORD:
            own = {k: v for k, v in own.items() if "." not in v}
        for key, path in own.items():
            whole = path if sub == name else f"{sub}.{path}"
            out.setdefault(_norm(prefix) + key, whole)
    return out


def _match_column(name: str, column: str) -> tuple[str, bool] | None:
    """The field of target ``name`` a column feeds, and whether only a close spelling matched; None if none."""
    key = _norm(column)
    if not key:
        return None
    spellings = _spellings(name)
    if key in spellings:
        return spellings[key], False
    if len(key) >= 5:  # a misspelt field name ("assesment_id"), never a near miss of a synonym
        names = {_norm(path): path for path in targets()[name].fields}
        if name == RECORD:
            names.update({_norm(path.split(".", 1)[1]): path for path in targets()[name].fields if "." in path})
        close = difflib.get_close_matches(key, list(names), n=1, cutoff=_FIELD_FUZZ)
        if close:
            return names[close[0]], True
    return None


def _match_tables(names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Target -> table name, for every table matched; and table name -> why it was left out."""
    aliases = {t: [_norm(a) for a in names_] for t, names_ in _TABLE_ALIASES.items()}
    for name in targets():  # every part is also matched by its own name ("plans.reviews", "reviews")
        aliases.setdefault(name, [])
        for spelling in (name, name.split(".")[-1]):
            if _norm(spelling) not in aliases[name] and name != "order":
                aliases[name].append(_norm(spelling))
    second = {t: [_norm(a) for a in names_] for t, names_ in _TABLE_SECOND_CHOICE.items()}
    every = {alias: t for t, list_ in aliases.items() for alias in reversed(list_)}
    candidates: list[tuple[tuple[float, float], int, str]] = []
    for index, table in enumerate(names):
        key = _norm(Path(table).stem if table.lower().endswith((".csv", ".txt")) else table)
        found = [((0.0, float(a.index(key))), index, t) for t, a in aliases.items() if key in a]
        found += [((1.0, float(a.index(key))), index, t) for t, a in second.items() if key in a]
        if not found:
            inside = [(len(alias), t) for alias, t in every.items() if len(alias) >= 6 and alias in key]
            found = [((2.0, -float(length)), index, t) for length, t in inside]
        if not found:
            for alias in difflib.get_close_matches(key, list(every), n=3, cutoff=_TABLE_FUZZ):
                ratio = difflib.SequenceMatcher(None, key, alias).ratio()
                found.append(((3.0, -ratio), index, every[alias]))
        candidates += found
    chosen: dict[str, str] = {}
    taken: set[int] = set()
    wanted: dict[int, list[str]] = {}
    for _score, index, target in sorted(candidates):
        wanted.setdefault(index, []).append(target)
        if index in taken or target in chosen:
            continue
        chosen[target] = names[index]
        taken.add(index)
    left: dict[str, str] = {}
    for index, table in enumerate(names):
        if index in taken:
            continue
        holders = [f"{t}, which {_quote(chosen[t])} fills" for t in dict.fromkeys(wanted.get(index, [])) if t in chosen]
        left[table] = f" (it looks like {'; or '.join(holders)})" if holders else ""
    return chosen, left


def _sample(reader: TableReader, columns: list[str], rows: int) -> dict[str, list[str]]:
    """Each column's non-empty cells in the first ``rows`` rows."""
    out: dict[str, list[str]] = {c: [] for c in columns if c}
    iterator = reader.rows()
    try:
        for _, cells, problem in itertools.islice(iterator, rows):
            if problem is not None:  # a row with shifted cells: its values are not what their columns say
                continue
            for column, value in cells.items():
                text = (value or "").strip()
                if text and column in out:
                    out[column].append(text)
    finally:
        iterator.close()
    return out


def _find_key(table: _Table, owner: str, path: str, owner_column: str | None) -> str | None:
    """The column of ``table`` holding the same value as field ``path`` of ``owner`` (read from ``owner_column``)."""
    if owner_column and owner_column in table.header:
        return owner_column
    for column in table.header:
        found = _match_column(owner, column)
        if found and not found[1] and found[0] == path:
            return column
    return None


def _parses(text: str, label: str) -> bool:
    if not re.fullmatch(_DATE_SHAPES.get(label, _DATE_SHAPES["dd/mm/yyyy"]), text):
        return False
    try:
        dt.datetime.strptime(text, strptime_format(label))
    except ValueError:
        return False
    return True


def _date_formats(dates: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """The date formats that read the sampled dates (column label -> cells), and comment lines on what was seen."""
    counts: Counter[str] = Counter()
    unread: Counter[str] = Counter()
    slash: list[tuple[str, str]] = []
    total = 0
    for where, values in dates.items():
        for raw in values:
            text = without_time(raw)
            total += 1
            if re.fullmatch(_DATE_SHAPES["dd/mm/yyyy"], text):
                slash.append((where, text))
                continue
            label = next((f for f in _DATE_SHAPES if f != "dd/mm/yyyy" and _parses(text, f)), None)
            if label:
                counts[label] += 1
            else:
                unread[where] += 1
    notes: list[str] = []
    slash_label = "dd/mm/yyyy"
    if slash:
        day_first = [w for w, t in slash if _parses(t, "dd/mm/yyyy")]
        month_first = [w for w, t in slash if _parses(t, _US)]
        if len(day_first) < len(slash) and len(month_first) == len(slash):
            slash_label = _US
            notes.append("# Dates like 12/31/2016 were seen: month first (mm/dd/yyyy); check this is right.")
        elif all(int(t.split("/")[0]) <= 12 for _, t in slash):
            notes.append("# No sampled date shows whether the day or the month comes first; read as day first "
                         "(dd/mm/yyyy).")
        for where, text in slash:
            if _parses(text, slash_label):
                counts[slash_label] += 1
            else:
                unread[where] += 1
    order = [slash_label, *(f for f in _DATE_SHAPES if f != "dd/mm/yyyy")]
    formats = [f for f in order if counts[f]]
    if not any("/" in f for f in formats):
        formats.insert(0, "dd/mm/yyyy")
    if total:
        seen = ", ".join(f"{f} {counts[f]}" for f in order if counts[f]) or "none readable"
        notes.insert(0, f"# Dates: {total} sampled values in {len(dates)} date columns ({seen}); "
                        "yyyy-mm-dd is always read.")
    else:
        notes.insert(0, "# Dates: none in the sampled rows; dd/mm/yyyy assumed (yyyy-mm-dd is always read).")
    if any(without_time(raw) in _SENTINELS for values in dates.values() for raw in values):
        notes.append("# TODO null_values: 01/01/1900 was seen in date columns; if it means \"none\" (as in YJB Child "
                     "Level Data), add this line:")
        notes.append('#   null_values: ["01/01/1900", "1900-01-01"]')
    for where, number in unread.items():
        notes.append(f"# TODO dates: {number} sampled values in {where} are in none of these formats; "
                     "add theirs to date_formats.")
    return formats, notes


_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./:-]{0,99}")
"""A code written as one token (NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT, kpi4MHDateScreened): however long,
not a sentence."""


def _looks_like_text(cell: str) -> bool:
    """A cell that reads as free text rather than a code (so it may name a person, and is never copied): words with
    spaces between them, more or longer than a code's ("First Warning Letter Sent" is a code). One token without spaces
    is a code however long."""
    text = cell.strip()
    if _CODE.fullmatch(text):
        return False
    return len(text) > _MAX_CODE_LENGTH or len(text.split()) > _MAX_CODE_WORDS or text.endswith((".", "?", "!"))


def _values_lines(spec: FieldSpec, samples: list[str], separator: str) -> list[str]:
    """The lines of a column's ``values`` map for the codes sampled (empty when every code reads as it is)."""
    item = spec.item if spec.kind == "list" and spec.item else spec
    if spec.personal or item.personal or item.kind not in ("enum", "boolean"):
        return []
    cells = [part.strip() for cell in samples for part in (cell.split(separator) if spec.kind == "list" else [cell])]
    own_words = {_norm(str(v)) for v in item.values}
    if any(_looks_like_text(c) and _norm(c) not in own_words for c in cells):
        return ["# TODO values: this column holds sentences, not codes (not copied here); is it the right column?"]
    codes = list(dict.fromkeys(c for c in cells if c and not _looks_like_text(c)))
    if item.kind == "boolean":
        odd = [c for c in codes if c.casefold() not in YES_NO_WORDS]
        if not odd:
            return []
        if len(odd) > _MAX_CODES:
            return [f"# TODO values: more than {_MAX_CODES} different values in the sampled rows for a yes/no field; "
                    "is this the right column?"]
        lines = ["# TODO values: map each code to true or false (or null: nothing recorded); Y, N, Yes, No, true, false, "
                 "1 and 0 are read without a map.", "values:"]
        lines += [f"  {_quote(c)}: TODO" for c in sorted(odd)]
        return lines
    if len(codes) > _MAX_CODES:
        return [f"# TODO values: more than {_MAX_CODES} different values in the sampled rows; is this a code column? "
                "Map its codes with a values map if they are not the record's own."]
    allowed = list(item.values)
    mapped: dict[str, Any] = {}
    for code in codes:
        same = [v for v in allowed if _norm(str(v)) == _norm(code)]  # "VeryHigh" is very_high
        mapped[code] = same[0] if same else None
    if all(value is not None and normal_name(str(value)) == normal_name(code) for code, value in mapped.items()):
        return []
    lines = []
    if any(value is None for value in mapped.values()):
        lines.append(f"# TODO values: map each code to one of: {', '.join(str(v) for v in allowed)} "
                     "(or null: nothing recorded)")
    lines.append("values:")
    for code in sorted(mapped, key=str.casefold):
        value = mapped[code]
        lines.append(f"  {_quote(code)}: {'TODO' if value is None else json.dumps(value)}")
    return lines


def _separator(spec: FieldSpec, samples: list[str]) -> str | None:
    """A list field's separator when its cells use commas, not the default semicolons."""
    if spec.kind != "list":
        return None
    if any("," in s for s in samples) and not any(";" in s for s in samples):
        return ","
    return None


def starter_mapping(path: Path, sample_rows: int = 200) -> Starter:
    """A starter mapping for the export at ``path`` (a folder of CSV files or an .xlsx workbook).

    Each table is matched to a part of the case record by its name, each column to a field by its header,
    and the join, local codes and date formats are drafted from the first ``sample_rows`` rows. What could
    not be settled is marked TODO; an unmapped code or a required field with no column is written so that
    ``load_mapping`` refuses the file until it is settled. No value of a personal field is ever written.

    Raises:
        InputError: the export cannot be opened or read.
    """
    with open_export(path) as export:
        names = export.names()
        if not names:
            msg = f"{path} holds no CSV file or workbook sheet, so there is nothing to draft a mapping from"
            raise InputError(msg)
        link_names = [n for n in names if _norm(Path(n).stem if n.lower().endswith((".csv", ".txt")) else n)
                      .startswith("link")]
        chosen, left_out = _match_tables([n for n in names if n not in link_names])
        tables = _read_tables(export, chosen, left_out, sample_rows)
        links = _read_links(export, link_names, sample_rows)
    _match(tables, links)
    used_links = {t.via[0] for t in tables.values() if t.via}
    left_out.update({name: " (a link table no other table was found to join through)" for name in link_names
                     if name not in used_links})
    dates: dict[str, list[str]] = {}
    for table in tables.values():
        for field_path, (column, _) in table.columns.items():
            spec = table.target.fields[field_path]
            if (spec.item.kind if spec.kind == "list" and spec.item else spec.kind) == "date":
                where = f"column {_quote(column)} of {_quote(table.label)}"
                dates.setdefault(where, []).extend(table.samples.get(column, []))
    formats, date_notes = _date_formats(dates)
    date_notes += _saved_warnings(tables, dates, formats)

    lines = [
        f"# A starter mapping for {_quote(path.name)}, drafted from its tables' headers and the first {sample_rows} "
        "rows of each.",
        "# Check every line against the export. Open questions are marked; the file is refused by",
        "# `qa-engine mapping check` until each code, join and required field is settled.",
        "# Cell values are never copied here, except the codes of code columns.",
        "mapping_version: 1",
        f"name: {_quote(f'{path.name} export'[:200])}",
        *date_notes,
        f"date_formats: [{', '.join(_quote(f) for f in formats)}]",
        f"separator: {_quote(';')}",
        "tables:" if tables else "tables: {}",
    ]
    if RECORD not in tables:
        lines.append("  # TODO record: a record table (one row per case) is required; which table is it? Add it as "
                     "record: {file: ..., columns: {case_id: ...}}.")
    for table in tables.values():
        lines += _table_lines(table, "sheet" if export.workbook else "file")
    lines += [f"  # TODO table {_quote(name)}: which part of the case record does it hold?{_comment(why)}"
              for name, why in left_out.items()]
    text = "\n".join(lines) + "\n"
    return Starter(text=text, tables=len(tables), columns=sum(len(t.columns) for t in tables.values()))


def _read_tables(export: Export, chosen: dict[str, str], left_out: dict[str, str], rows: int) -> dict[str, _Table]:
    """Each matched table's header and sampled cells, by target, in the record's order (a table that cannot be
    used is added to ``left_out`` instead)."""
    all_targets = targets()
    if RECORD not in chosen:
        for name in _SINGLE:
            if name in chosen:  # a child, order or court table joins a record table; there is none
                left_out[chosen.pop(name)] = f" (it looks like {name}, which joins a record table; there is none)"
    tables: dict[str, _Table] = {}
    for name, target in all_targets.items():
        if name not in chosen:
            continue
        label = chosen[name]
        if target.parent and target.parent not in tables:
            left_out[label] = f" (it looks like {name}, whose rows nest in {target.parent}; no table holds those)"
            continue
        reader = export.table(label, label)  # names() listed it: a file of a folder, or a sheet of a workbook
        assert reader is not None
        try:  # one table the reader refuses (a repeated column, a stray quote) is left out, not the whole export
            header = reader.header()
            sample = _sample(reader, header, rows) if any(header) else {}
        except InputError as exc:
            left_out[label] = f" ({_quote(exc.message)}; fix the export, then run this again)"
            continue
        if not any(header):
            left_out[label] = " (it has no header row; fix the export, then run this again)"
            continue
        tables[name] = _Table(target, label, header, sample)
    return tables


_ORDERS = {"dd/mm/yyyy": {"day"}, "mm/dd/yyyy": {"month"}}


def _saved_warnings(tables: dict[str, _Table], dates: dict[str, list[str]], formats: list[str]) -> list[str]:
    """Warnings about what a spreadsheet did to the export on save, found the way a run finds them (so a run would
    hold cases back): formulas never calculated, a date column in the other day/month order, join keys that match
    only once leading zeros are ignored."""
    notes: list[str] = []
    for table in tables.values():
        for column, cells in table.samples.items():
            formula = next((formula_text(c) for c in cells if formula_text(c) is not None), None)
            if formula is not None:
                notes.append(f"# WARNING: column {_comment(_quote(column))} of {_comment(_quote(table.label))} holds "
                             f"formulas never calculated ({_comment(_quote(formula[:60]))}): open and save the file in "
                             "Excel before auditing, or every case reading one is held back.")
    order = next((_ORDERS[f] for f in formats if f in _ORDERS), {"day"})
    for where, cells in dates.items():
        clash = next(((c, why) for c in cells if (why := order_clash(c, order)) is not None), None)
        if clash is not None:
            notes.append(f"# WARNING: {where} holds {_comment(_quote(clash[0]))}, which can only be {clash[1]}: its "
                         "other dates are ambiguous. Give that column its own date_formats, or a run holds its dates "
                         "back.")
    record = tables.get(RECORD)
    if record is not None:
        for table in tables.values():
            for key, column in table.join.items():
                mine = record.columns.get(key, (None, False))[0]
                if table is record or column is None or mine is None:
                    continue
                ours = {c for c in record.samples.get(mine, []) if c.isdigit()}
                theirs = {c for c in table.samples.get(column, []) if c.isdigit()}
                if {c.lstrip("0") for c in ours} & {c.lstrip("0") for c in theirs} and not ours & theirs:
                    notes.append(f"# WARNING: the ids in column {_comment(_quote(column))} of "
                                 f"{_comment(_quote(table.label))} match those of the record table only once leading "
                                 "zeros are ignored (0001 and 1): was one file re-saved in Excel? Re-export it with "
                                 "the id column as text, or a run holds those cases back.")
    return notes


def _read_links(export: Export, names: list[str], rows: int) -> dict[str, _Table]:
    """Each link table's header and sampled cells, by name (a link table the reader refuses is left out)."""
    links = {}
    for name in names:
        reader = export.table(name, name)
        assert reader is not None
        try:
            header = reader.header()
            links[name] = _Table(targets()[RECORD], name, header, _sample(reader, header, rows) if any(header) else {})
        except InputError:
            continue
    return links


def _link_join(table: _Table, links: dict[str, _Table], record_columns: dict[str, str]) -> tuple[str, str] | None:
    """For a table holding no case key: a link table with a case key column and a column holding this table's ids
    (by name, else by the values both hold), as Child Level Data links AssetPlus stages to programmes. Sets
    ``table.via``; returns (case field, the link table's column for it), or None."""
    for label, link in links.items():
        for key in _CASE_KEYS:
            column = record_columns.get(key)
            if column is None or column not in link.header:
                continue
            others = [c for c in link.header if c and c != column]
            for other in others:
                mine = next((c for c in table.header if _norm(c) == _norm(other)), None)
                if mine is None:
                    seen = set(link.samples.get(other, []))
                    overlap = sorted(((len(seen & set(table.samples.get(c, []))), c) for c in table.header if c),
                                     reverse=True)
                    mine = overlap[0][1] if overlap and overlap[0][0] else None
                if mine is not None:
                    table.via = (label, other, mine)
                    return key, column
    return None


def _match(tables: dict[str, _Table], links: dict[str, _Table] | None = None) -> None:
    """Match the record table's columns, then each other table's join (through a link table when it holds no case
    key) and columns; note required fields with none."""
    record = tables.get(RECORD)
    if record is not None:
        _match_columns(record, set(), {})
    record_columns = {f: c for f, (c, _) in record.columns.items()} if record else {}
    for name, table in tables.items():
        if name == RECORD:
            continue
        for key in _CASE_KEYS:
            if record is not None and key not in record_columns:
                continue
            column = _find_key(table, RECORD, key, record_columns.get(key))
            if column:
                table.join[key] = column
                break
        parent = table.target.parent
        if parent:
            id_field = _id_field(parent) or next(iter(tables[parent].target.fields))
            parent_column = tables[parent].columns.get(id_field, (None, False))[0]
            table.join[f"{parent}.{id_field}"] = _find_key(table, parent, id_field, parent_column)
        elif not table.join:
            found = _link_join(table, links or {}, record_columns) if record is not None else None
            if found:
                table.join[found[0]] = found[1]
            else:
                table.join["case_id"] = None
        keys = {c for c in table.join.values() if c} if table.via is None else {table.via[2]}
        _match_columns(table, keys, record_columns)
        if table.via is not None and table.via[2] not in {c for c, _ in table.columns.values()}:
            id_field = _id_field(name)
            if id_field and id_field not in table.columns:
                table.columns[id_field] = (table.via[2], False)
    _required(tables)


def _table_lines(table: _Table, where: str) -> list[str]:
    """The table's entry under ``tables:``."""
    lines = [f"  {table.target.name}:", f"    {where}: {_quote(table.label)}"]
    if table.join:
        lines.append("    join:")
        for key, column in table.join.items():
            if column is None:
                owner = "the case's key" if key == "case_id" else f"the {table.target.parent} item"
                lines += [f"      # TODO join: which column holds {owner} ({key})?", f"      {key}: TODO"]
            else:
                lines.append(f"      {key}: {_quote(column)}")
    if table.via is not None:
        link, theirs, mine = table.via
        lines += [f"    # joined through the link table {_comment(_quote(link))}: check its columns",
                  "    via:", f"      {where}: {_quote(link)}", f"      on: {{{_quote(theirs)}: {_quote(mine)}}}"]
    lines.append("    columns:" if table.columns else "    columns: {}")
    for field_path, (column, fuzzy) in table.columns.items():
        spec = table.target.fields[field_path]
        samples = table.samples.get(column, [])
        separator = _separator(spec, samples)
        values = _values_lines(spec, samples, separator or ";")
        note = "  # a close spelling: check" if fuzzy else ""
        if not values and not separator:
            lines.append(f"      {field_path}: {_quote(column)}{note}")
            continue
        lines += [f"      {field_path}:{note}", f"        column: {_quote(column)}"]
        if separator:
            lines.append(f"        separator: {_quote(separator)}")
        lines += [f"        {line}" for line in values]
    lines += [f"      {line}" for line in table.notes]
    return lines


def _match_columns(table: _Table, join_columns: set[str], record_columns: dict[str, str]) -> None:
    """Match each column of ``table`` to a field; note the columns that match none (or a field already fed)."""
    name = table.target.name
    for column in table.header:
        if not column or column in join_columns:
            continue
        found = _match_column(name, column)
        if found is None:
            shown = "(a name that reads like a sentence, not copied here)" if _looks_like_text(column) else _comment(
                _quote(column))
            table.notes.append(f"# TODO column {shown}: no field matched; map it or leave it out")
            continue
        path, fuzzy = found
        if name in _SINGLE and f"{name}.{path}" in record_columns:
            table.notes.append(f"# column {_comment(_quote(column))} would feed {path}, which the record table "
                               "already reads; left out")
            continue
        if path in table.columns:
            table.notes.append(f"# TODO column {_comment(_quote(column))}: it looks like {path} too, which column "
                               f"{_comment(_quote(table.columns[path][0]))} already feeds; map it or leave it out")
            continue
        table.columns[path] = (column, fuzzy)
    named = [c for c in table.header if c]
    data_like = sum(1 for c in named if _looks_like_data(c)) > len(named) / 2  # names are not dates, numbers or ids
    if len(table.header) > 1 and (data_like or (not table.columns and not join_columns & set(table.header))):
        # nothing in row 1 reads as a column name: it is probably data, so none of it is copied here or mapped
        table.columns.clear()
        table.notes = [f"# TODO: none of this table's {len(table.header)} columns matched a field; does the file start "
                       "with its header row? (its first row is not copied here)"]


_NUMBER = re.compile(r"[+-]?[0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ID_LIKE = re.compile(r"[A-Za-z]{1,6}[-/_][0-9]+|[A-Za-z]{1,6}[0-9]{2,}")


def _looks_like_data(cell: str) -> bool:
    """A row-1 cell that reads as a value rather than a column name: a date, a number, an id such as ORD-0001 or
    CH7001, a yes/no word. (A name may hold digits: kpi4MHDateScreened, termMonths2.)"""
    text = without_time(cell.strip())
    if not text:
        return False
    if any(re.fullmatch(shape, text) for shape in _DATE_SHAPES.values()) or _NUMBER.fullmatch(text):
        return True
    return bool(_ID_LIKE.fullmatch(text)) or text.casefold() in YES_NO_WORDS


def _required(tables: dict[str, _Table]) -> None:
    """A TODO note for each required field no column feeds, in the table that should feed it."""
    for name, table in tables.items():
        if name in _SINGLE:
            continue
        for path, spec in table.target.fields.items():
            if not spec.required or path in table.columns:
                continue
            owner, relative = name, path
            if name == RECORD and path.split(".")[0] in _SINGLE:
                sub = path.split(".")[0]
                relative = path[len(sub) + 1:]
                if sub in tables:
                    if relative in tables[sub].columns:
                        continue
                    owner = sub
            if owner == RECORD:
                relative = path
            tables[owner].notes.append(f"# TODO {relative}: required; which column holds it?")
