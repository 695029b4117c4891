"""Write examples/cld-like-export/: twelve records of examples/caseload.jsonl in the layout of mappings/examples/cld-like.yaml.

Run from the project folder: ``.venv/bin/python tests/make_cld_example.py [OUT_DIR]`` (default
examples/cld-like-export). The output is the same bytes on every run: tests/test_cld_example.py
regenerates it and compares, then reads it back through the mapping and checks that it gives the same
case records and the same findings as the JSON Lines records it came from.

This is the mapping's inverse, written out by hand (not derived from the mapping), so the test checks
the mapping against an independent statement of the layout: CLD names and upper-case codes for the CLD
tables, CMS headers and local codes (nDelius codes and ChildView-style descriptions) for the rest,
dd/mm/yyyy dates (dd-mmm-yyyy in warnings_and_breach.csv), Windows-1252 for person_details.csv,
semicolons in contacts.csv and a UTF-8 byte-order mark on asset_plus.csv. No names, addresses, dates of
birth or free-text notes are written: the chosen records have none, and the script refuses any that do.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASELOAD = ROOT / "examples" / "caseload.jsonl"
DEFAULT_OUT = ROOT / "examples" / "cld-like-export"

CHOSEN = (
    "DBY-0001",  # YRO: a warning, three AssetPlus stages, plan reviews, referrals
    "DBY-0004",  # YRO: warning and final warning, MAPPA, no pre-sentence report
    "DBY-0005",  # YRO: a safeguarding event, two referrals
    "DBY-0015",  # YRO with ISS: warnings then breach authorised by a manager, oversight, exploitation indicators
    "DBY-0016",  # YRO with ISS: exceptional circumstances recorded
    "DBY-0019",  # referral order: return to panel; the auditor's practice judgements
    "DBY-0020",  # referral order: a change of address, the review stage it triggered
    "DBY-0028",  # referral order: contract not yet signed (no start date)
    "DBY-0030",  # referral order: a significant change
    "DBY-0032",  # DTO licence: management oversight, MAPPA
    "DBY-0033",  # DTO licence: exploitation screening, very high risk of serious harm
    "DBY-0036",  # YRO: an acceptable absence
)

PERSONAL = ("name", "address", "date_of_birth", "note", "decision_text", "text")
"""Fields never written into the example (objective text is free text too)."""

SENTINEL = "01/01/1900"
"""The CLD's date for "none / not applicable", written where a programme has not ended or no service was offered."""

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

ORDER_TYPE = {
    "referral_order": "REFERRAL_ORDER",
    "youth_rehabilitation_order": "YOUTH_REHABILITATION_ORDER",
    "youth_rehabilitation_order_iss": "YRO_WITH_ISS",
    "detention_and_training_order_licence": "DTO_LICENCE",
    "section_250_licence": "SECTION_250",
    "reparation_order": "REPARATION_ORDER",
    "youth_conditional_caution": "YOUTH_CONDITIONAL_CAUTION",
    "other": "OTHER",
}
SEX = {"male": "1", "female": "2", "not_known": "0"}
ETHNICITY = {
    "white": "White",
    "mixed": "Mixed",
    "asian_or_asian_british": "Asian or Asian British",
    "black_or_black_british": "Black or Black British",
    "other_ethnic_group": "Other Ethnic Group",
    "information_not_obtainable": "Information not obtainable",
}
STAGE = {
    "pre_sentence": "PRE_SENTENCE",
    "start_of_order": "POST_SENTENCE",
    "review": "REVIEW",
    "end_of_order": "END_OF_INTERVENTION",
    "transfer": "TRANSFER",
    "custody": "CUSTODY",
    "release": "RELEASE",
}
NEED = {need: need.upper() for need in (
    "mental_health", "substance_misuse", "education", "speech_language", "physical_health", "accommodation",
    "children_social_care", "parenting", "other")}
FACTOR = {
    "lifestyle": "LIFESTYLE",
    "education": "LEARNING_AND_ETE",
    "substance_use": "SUBSTANCE_MISUSE",
    "emotional_health": "MENTAL_HEALTH",
    "family": "FAMILY_BEHAVIOUR",
    "thinking_and_behaviour": "OFFENCES_ATTITUDES",
}
PLAN_TYPE = {
    "intervention": "Intervention Plan",
    "risk_of_harm": "Risk Management Plan",
    "safety_and_wellbeing": "Safety and Wellbeing Plan",
    "referral_order_contract": "Referral Order Contract",
}
REVIEW_REASON = {
    "scheduled": "Scheduled review",
    "new_offence": "New offence",
    "risk_change": "Change in risk",
    "custody": "Custody",
    "change_of_address": "Change of address",
    "safeguarding": "Safeguarding",
    "other": "Other",
}
CONTACT_TYPE = {
    "office": "Office Appointment",
    "home_visit": "Home Visit",
    "panel": "Panel Meeting",
    "reparation": "Reparation Session",
    "programme": "Programme Session",
    "education": "ETE",
    "health": "Health Appointment",
    "phone": "Telephone",
    "multi_agency_meeting": "Multi-Agency Meeting",
    "follow_up": "24 Hour Follow Up",
    "other": "Other",
}
OUTCOME = {
    # (nDelius code, the CMS's description): a case's contacts alternate between them, as an export mixing
    # records keyed before and after a code change would. Enforcement actions alternate likewise, file-wide.
    "attended": ("ATTC", "Attended"),
    "acceptable_absence": ("AAME", "Acceptable absence"),
    "unacceptable_absence": ("UAAB", "Failed to attend"),
    "not_recorded": ("Not recorded", "Not recorded"),
}
ACTION = {
    "warning": ("EA02", "First Warning Letter Sent"),
    "final_warning": ("EA03", "Second Warning Letter Sent"),
    "return_to_panel": ("Referral Back to Panel", "Referral Back to Panel"),
    "breach_requested": ("BRE01", "Breach Requested"),
    "breach_laid": ("BRE02", "Breach Request Actioned"),
    "exceptional_circumstances": ("Exceptional Circumstances Recorded", "Exceptional Circumstances Recorded"),
    "no_further_action": ("NFA", "No Further Action"),
}
SAFEGUARDING = {
    "missing": "Missing episode",
    "exploitation_concern": "Exploitation concern",
    "self_harm": "Self-harm",
    "strategy_meeting": "Strategy meeting",
    "child_protection_conference": "Child protection conference",
    "looked_after_review": "Looked after review",
    "nrm_referral": "NRM referral",
    "information_shared_with_social_care": "Information shared with social care",
    "other": "Other",
}
CHANGE = {
    "new_offence": "New offence",
    "custody": "Custody",
    "release": "Release",
    "change_of_address": "Change of address",
    "change_of_care_status": "Change of care status",
    "risk_change": "Change in risk",
    "safeguarding_incident": "Safeguarding incident",
}
OVERSIGHT = {
    "assessment": "AssetPlus",
    "plan": "Plan",
    "risk_of_harm": "Risk of Harm",
    "safety_and_wellbeing": "Safety and Wellbeing",
    "enforcement": "Enforcement",
    "case": "Case",
}
ANSWER = {"yes": "Yes", "no": "No", "not_applicable": "N/A"}


def _dmy(value: str | None, empty: str = "") -> str:
    """2016-02-15 as 15/02/2016."""
    if not value:
        return empty
    year, month, day = value.split("-")
    return f"{day}/{month}/{year}"


def _dmmmy(value: str | None) -> str:
    """2016-02-15 as 15-Feb-2016 (month names fixed, not the locale's)."""
    if not value:
        return ""
    year, month, day = value.split("-")
    return f"{day}-{_MONTHS[int(month) - 1]}-{year}"


def _yn(value: bool | None) -> str:
    return "" if value is None else ("Y" if value else "N")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _code(table: dict[str, str], value: str | None) -> str:
    return "" if value is None else table[value]


def _upper(value: str | None) -> str:
    return "" if value is None else value.upper()


def _personal(data: Any, path: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            if key in PERSONAL and value not in (None, ""):
                yield where
            yield from _personal(value, where)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _personal(item, f"{path}[{index}]")


def chosen_records(path: Path = CASELOAD) -> list[dict[str, Any]]:
    """The CHOSEN records of the caseload, in the caseload's order.

    Raises:
        ValueError: a chosen case is missing, or holds personal data or free text.
    """
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [r for r in records if r["case_id"] in CHOSEN]
    missing = set(CHOSEN) - {r["case_id"] for r in out}
    if missing:
        msg = f"{path}: no case {', '.join(sorted(missing))}"
        raise ValueError(msg)
    for record in out:
        found = list(_personal(record))
        if found:
            msg = f"{record['case_id']} holds personal data or free text ({', '.join(found)}); it cannot go in the example"
            raise ValueError(msg)
    return out


def _write(out: Path, name: str, header: list[str], rows: Iterable[list[str]], encoding: str = "utf-8",
           delimiter: str = ",") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = out / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def _programme(r: dict[str, Any]) -> list[str]:
    o, c = r["order"], r["child"]
    return [r["case_id"], o["order_id"], c["child_id"], _text(r.get("team")), _text(r.get("case_manager_id")),
            _text(c.get("age_at_sentence")), ORDER_TYPE[o["order_type"]], _dmy(o["sentence_date"]), _dmy(o.get("start_date")),
            _dmy(o.get("expected_end_date")), _dmy(o.get("actual_end_date"), SENTINEL), _text(o.get("length_months")),
            _dmy(o.get("contract_signed_date")), _dmy(o.get("first_panel_date")), _upper(o.get("intervention_level")),
            _upper(o.get("main_offence_category"))]


def _person(r: dict[str, Any]) -> list[str]:
    c = r["child"]
    send = c.get("send_identified")
    return [c["child_id"], SEX[c.get("sex", "not_known")], ETHNICITY[c.get("ethnicity", "information_not_obtainable")], "",
            _yn(c.get("looked_after")), _yn(c.get("child_protection_plan")), _yn(c.get("child_in_need")),
            "" if send is None else ("YES" if send else "NO")]


def _assessment(order_id: str, a: dict[str, Any]) -> list[str]:
    screening = a.get("exploitation_screening") or {}
    return [a["assessment_id"], order_id, STAGE[a["stage"]], _upper(a.get("trigger")), _dmy(a.get("started_date")),
            _dmy(a.get("completed_date")), _upper(a.get("likelihood_of_reoffending")), _upper(a.get("risk_of_serious_harm")),
            _upper(a.get("safety_and_wellbeing")), _upper(a.get("intervention_level")), _text(a.get("mappa_category")),
            _text(a.get("mappa_level")), _yn(a.get("mappa_eligible")), _yn(a.get("rosh_full_analysis")),
            _yn(a.get("relevant_behaviour_considered")), _yn(a.get("health_screened")), _text(a.get("countersigned_by")),
            _dmy(a.get("countersigned_date")), _yn(a.get("exploitation_indicators")), _dmy(screening.get("date")),
            _upper(screening.get("result")), ";".join(NEED[n] for n in a.get("identified_needs", []))]


def write_export(out: Path, records: list[dict[str, Any]]) -> list[Path]:
    """Write the export's CSV files into ``out`` (created if need be); the files written, in order."""
    out.mkdir(parents=True, exist_ok=True)
    written = [
        _write(out, "intervention_programme.csv",
               ["Case Reference", "interventionProgrammeID", "ypid", "Team", "Case Manager ID", "Age at Sentence",
                "disposalType", "outcomeDate", "startDate", "outcomeEndDate", "endDate", "termMonths",
                "Contract Signed Date", "First Panel Date", "Intervention Level", "yjboffenceCategory"],
               [_programme(r) for r in records]),
        _write(out, "person_details.csv",
               ["ypid", "sex", "ethnicity", "dateOfBirth", "Care status – looked after",
                "Care status – child protection plan", "Care status – child in need", "kpi3IdentifiedSENDALN"],
               [_person(r) for r in records], encoding="cp1252"),
    ]
    psr, requirements, stages, factors, plans, objectives, reviews = [], [], [], [], [], [], []
    contacts, actions, referrals, events, changes, oversight, judgements = [], [], [], [], [], [], []
    for r in records:
        oid = r["order"]["order_id"]
        court = r.get("court")
        if court:
            psr.append([oid, _dmy(court.get("psr_requested_date")), _dmy(court.get("psr_due_date")),
                        _dmy(court.get("psr_submitted_date")), _dmy(court.get("psr_quality_assured_date")),
                        _text(court.get("psr_quality_assured_by")), _yn(court.get("psr_covers_risk_of_harm")),
                        _yn(court.get("psr_covers_vulnerability"))])
        requirements += [[oid, _upper(q["type"]), _dmy(q.get("start_date"))] for q in r["order"].get("requirements", [])]
        for a in r.get("assessments", []):
            stages.append(_assessment(oid, a))
            factors += [[oid, a["assessment_id"], FACTOR[f["category"]], _upper(f["rating"])] for f in a.get("factors", [])]
        for p in r.get("plans", []):
            plans.append([p["plan_id"], oid, PLAN_TYPE[p["plan_type"]], _dmy(p["created_date"]), _yn(p.get("child_involved")),
                          _yn(p.get("parent_involved")), _yn(p.get("diversity_addressed")), _yn(p.get("barriers_addressed")),
                          _yn(p.get("contingency_recorded")), _dmy(p.get("countersigned_date"))])
            objectives += [[oid, p["plan_id"], _code(FACTOR, j.get("factor_category"))] for j in p.get("objectives", [])]
            reviews += [[oid, p["plan_id"], _dmy(v["date"]), REVIEW_REASON[v.get("trigger", "scheduled")]]
                        for v in p.get("reviews", [])]
        for i, k in enumerate(r.get("contacts", [])):
            contacts.append([k["contact_id"], oid, _dmy(k["date"]), CONTACT_TYPE[k["type"]],
                             _yn(k.get("counts_towards_required", True)), OUTCOME[k["outcome"]][i % 2],
                             _dmy(k.get("follow_up_date"))])
        for e in r.get("enforcement", []):
            actions.append([e["action_id"], oid, ACTION[e["action"]][len(actions) % 2], _dmmmy(e["date"]),
                            ";".join(e.get("answers_contact_ids", [])), _text(e.get("manager_authorised_by")),
                            _dmmmy(e.get("manager_authorised_date"))])
        referrals += [[f["referral_id"], oid, NEED[f["need"]], _dmy(f.get("need_identified_date")),
                       _dmy(f.get("referred_date")), _dmy(f.get("offered_date"), SENTINEL)] for f in r.get("referrals", [])]
        events += [[s["event_id"], oid, _dmy(s["date"]), SAFEGUARDING[s["type"]]] for s in r.get("safeguarding_events", [])]
        changes += [[s["change_id"], oid, _dmy(s["date"]), CHANGE[s["type"]]] for s in r.get("significant_changes", [])]
        oversight += [[v["entry_id"], oid, _dmy(v["date"]), v["manager_id"], OVERSIGHT[v["target"]],
                       _yn(v.get("decision_recorded", False)), _text(v.get("actions_requested", 0)),
                       _text(v.get("actions_completed", 0))] for v in r.get("oversight", [])]
        judgements += [[oid, j["criterion"], j["question"], ANSWER[j["answer"]], j["auditor_id"], _dmy(j["date"])]
                       for j in r.get("practice_judgements", [])]
    written += [
        _write(out, "pre_sentence_reports.csv",
               ["Order ID", "PSR Requested", "PSR Due", "PSR Submitted", "QA Date", "QA By", "Covers Risk of Harm",
                "Covers Vulnerability"], psr),
        _write(out, "requirements.csv", ["interventionProgrammeID", "requirement", "startDate"], requirements),
        _write(out, "asset_plus.csv",
               ["assessmentID", "interventionProgrammeID", "stage", "stageReason", "stageStartDate", "stageEndDate",
                "likelihoodOfReoffending", "roshjudgement", "safetyWellbeingJudgement", "scaledApproachInterventionLevel",
                "mappacategory", "mappalevel", "MAPPA Eligible", "Full RoSH Analysis", "Relevant Behaviour Considered",
                "Health Screened", "Countersigned By", "Countersigned Date", "vulnerableToCriminalExploitation",
                "CE Screening Date", "CE Screening Result", "Identified Needs"], stages, encoding="utf-8-sig"),
        _write(out, "asset_plus_factors.csv", ["interventionProgrammeID", "assessmentID", "category", "rating"], factors),
        _write(out, "plans.csv",
               ["Plan ID", "Order ID", "Plan Type", "Created Date", "Child Involved", "Parent/Carer Involved",
                "Diversity Addressed", "Barriers Addressed", "Contingency Recorded", "Countersigned Date"], plans),
        _write(out, "plan_objectives.csv", ["Order ID", "Plan ID", "Factor"], objectives),
        _write(out, "plan_reviews.csv", ["Order ID", "Plan ID", "Review Date", "Review Reason"], reviews),
        _write(out, "contacts.csv",
               ["Contact ID", "Order ID", "Contact Date", "Contact Type", "National Standards Contact", "Outcome",
                "Follow-up Date"], contacts, delimiter=";"),
        _write(out, "warnings_and_breach.csv",
               ["Action ID", "Order ID", "Action", "Action Date", "Linked Contact IDs", "Authorised By", "Authorised Date"],
               actions),
        _write(out, "referrals.csv",
               ["Referral ID", "Order ID", "Need", "Need Identified Date", "Referred Date", "Offered Date"], referrals),
        _write(out, "safeguarding_events.csv", ["Event ID", "Order ID", "Event Date", "Event Type"], events),
        _write(out, "significant_changes.csv", ["Change ID", "Order ID", "Change Date", "Change Type"], changes),
        _write(out, "oversight.csv",
               ["Oversight ID", "Order ID", "Oversight Date", "Manager ID", "Oversight Of", "Decision Recorded",
                "Actions Set", "Actions Completed"], oversight),
        _write(out, "audit_judgements.csv", ["Order ID", "Criterion", "Question", "Answer", "Auditor ID", "Audit Date"],
               judgements),
    ]
    return written


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    for path in write_export(out, chosen_records()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
