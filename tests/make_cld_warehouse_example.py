"""Write examples/cld-warehouse-export/: an export in the real table and column names of the YJB's Child Level Data.

Run from the project folder: ``.venv/bin/python tests/make_cld_warehouse_example.py [OUT_DIR]`` (default
examples/cld-warehouse-export). The output is the same bytes on every run; tests/test_cld_warehouse.py regenerates it
and compares, then audits it through mappings/examples/cld-warehouse.yaml.

The names are those of the Ministry of Justice's warehouse view definitions (case-data-model.md section 1.2):
person_details (ypid, dateOfBirth, sex, ethnicity); intervention_programme (interventionProgrammeID, ypid,
startDate, endDate, disposalType); offence with its flattened offenceLegalOutcome (offenceID, yjboffenceCategory,
legalOutcome, outcomeDate, outcomeEndDate, mainOrOther) linked to programmes through
link_offence_intervention_programme; asset_plus (assessmentID, date, stage, likelihoodOfReoffending, roshjudgement,
safetyWellbeingJudgement, scaledApproachInterventionLevel, mappacategory, mappalevel,
vulnerableToCriminalExploitation and concerns* flags) linked through link_intervention_programme_asset. Dates are
yyyy-mm-dd with 1900-01-01 for "none"; booleans are 't' and 'f', as Postgres and Redshift write them.

Such an export has no contacts, plans, reviews, oversight, warnings and breach, referrals, safeguarding, pre-sentence
report or practice-judgement tables: the CLD holds none of them (end of section 1.2).

The data is invented from records of examples/caseload.jsonl (dates of birth made up from the recorded age), with
what only a warehouse export shows: an order sentenced for two offences (a MAIN and an OTHER outcome), one child with
two orders whose assessments are linked to each order, an assessment linked to no order, and three disposals outside
the rule pack's scope (a youth caution, a community resolution and an Outcome 22). ``reduced_records`` gives the case
records the export holds, for the test to compare with.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASELOAD = ROOT / "examples" / "caseload.jsonl"
DEFAULT_OUT = ROOT / "examples" / "cld-warehouse-export"

CHOSEN = ("DBY-0001", "DBY-0004", "DBY-0005", "DBY-0019", "DBY-0020", "DBY-0028", "DBY-0030", "DBY-0032", "DBY-0033",
          "DBY-0036")
SECOND_ORDER = ("DBY-0005", "DBY-0036")
"""The second case's order is given to the first case's child: one child, two orders (C1 and C2)."""
OUT_OF_SCOPE = (("YOUTH_CAUTION", "2015-10-02"), ("COMMUNITY_RESOLUTION", "2015-11-12"),
                ("NO_FURTHER_ACTION_OUTCOME_22_WITH_YJS_INVOLVEMENT", "2015-12-01"))
NOT_EXPORTED = ["contacts", "court", "enforcement", "oversight", "plans", "plans.objectives", "plans.reviews",
                "practice_judgements", "referrals", "safeguarding_events", "significant_changes", "assessments.factors",
                "assessments.countersigned_date", "assessments.exploitation_screening.date", "assessments.health_screened",
                "assessments.mappa_eligible", "assessments.relevant_behaviour_considered", "assessments.rosh_full_analysis",
                "child.child_in_need", "child.child_protection_plan", "child.looked_after", "order.contract_signed_date",
                "order.first_panel_date", "order.intervention_level"]
"""The parts of a case record this export does not hold, and the fields of held parts it has no column for."""
NONE = "1900-01-01"

DISPOSAL = {"referral_order": "REFERRAL_ORDER", "youth_rehabilitation_order": "YOUTH_REHABILITATION_ORDER",
            "detention_and_training_order_licence": "DTO_LICENCE"}
SEX = {"male": "1", "female": "2", "not_known": "0"}
ETHNICITY = {"white": "White", "mixed": "Mixed", "asian_or_asian_british": "Asian or Asian British",
             "black_or_black_british": "Black or Black British", "other_ethnic_group": "Other Ethnic Group",
             "information_not_obtainable": "Information not obtainable"}
STAGE = {"pre_sentence": "PRE_SENTENCE", "start_of_order": "POST_SENTENCE", "review": "REVIEW",
         "end_of_order": "END_OF_INTERVENTION", "transfer": "TRANSFER", "custody": "CUSTODY", "release": "RELEASE"}
CONCERNS = (("concernsMentalHealth", "mental_health"), ("concernsSubstanceMisuse", "substance_misuse"),
            ("concernsLearningAndETE", "education"), ("concernsSpeechLanguageCommunication", "speech_language"),
            ("concernsPhysicalHealth", "physical_health"), ("concernsAccommodation", "accommodation"),
            ("concernsParenting", "parenting"))
"""AssetPlus concerns flags -> the needs they identify (the needs no flag stands for are not exported)."""
ASSESSMENT_FIELDS = ("assessment_id", "stage", "completed_date", "likelihood_of_reoffending", "risk_of_serious_harm",
                     "safety_and_wellbeing", "intervention_level", "mappa_category", "mappa_level",
                     "exploitation_indicators")


def _tf(value: bool | None) -> str:
    return "" if value is None else ("t" if value else "f")


def _upper(value: Any) -> str:
    return "" if value is None else str(value).upper()


def _records(path: Path = CASELOAD) -> list[dict[str, Any]]:
    records = {r["case_id"]: r for r in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                                          if line.strip())}
    return [copy.deepcopy(records[case_id]) for case_id in CHOSEN]


def _birth(sentence: str, age: int | None) -> str | None:
    """An invented date of birth giving the recorded age at sentence."""
    if age is None:
        return None
    day = dt.date.fromisoformat(sentence)
    return (day.replace(year=day.year - age) - dt.timedelta(days=100)).isoformat()


def reduced_records(path: Path = CASELOAD) -> list[dict[str, Any]]:
    """The in-scope case records the export holds: what is left of the chosen records once reduced to what the CLD
    carries, in the order of intervention_programme.csv, each saying which parts the export does not hold."""
    out = []
    records = _records(path)
    children = {r["case_id"]: {"child_id": r["child"]["child_id"],
                               "date_of_birth": _birth(r["order"]["sentence_date"], r["child"].get("age_at_sentence")),
                               "sex": r["child"].get("sex", "not_known"),
                               "ethnicity": r["child"].get("ethnicity", "information_not_obtainable")} for r in records}
    children[SECOND_ORDER[1]] = children[SECOND_ORDER[0]]
    for r in records:
        o = r["order"]
        child = children[r["case_id"]]
        order = {"order_id": o["order_id"], "order_type": o["order_type"], "sentence_date": o["sentence_date"],
                 "start_date": o.get("start_date"), "expected_end_date": o.get("expected_end_date"),
                 "actual_end_date": o.get("actual_end_date"), "main_offence_category": o.get("main_offence_category")}
        assessments = []
        for a in r.get("assessments", []):
            kept = {k: a[k] for k in ASSESSMENT_FIELDS if a.get(k) is not None}
            needs = [need for _, need in CONCERNS if need in a.get("identified_needs", [])]
            if needs:
                kept["identified_needs"] = needs
            assessments.append(kept)
        record = {"case_id": o["order_id"], "child": {k: v for k, v in child.items() if v is not None},
                  "order": {k: v for k, v in order.items() if v is not None}, "assessments": assessments,
                  "not_exported": sorted(NOT_EXPORTED)}
        out.append(record)
    return out


def _write(out: Path, name: str, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = out / name
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def write_export(out: Path, path: Path = CASELOAD) -> list[Path]:
    """Write the export's CSV files into ``out`` (created if need be); the files written, in order."""
    out.mkdir(parents=True, exist_ok=True)
    records = reduced_records(path)
    people: dict[str, list[str]] = {}
    programmes, offences, offence_links, stages, stage_links = [], [], [], [], []
    for number, r in enumerate(records, start=1):
        o, c = r["order"], r["child"]
        people.setdefault(c["child_id"], [c["child_id"], c.get("date_of_birth", NONE), SEX[c["sex"]],
                                          ETHNICITY[c["ethnicity"]]])
        programmes.append([o["order_id"], c["child_id"], o.get("start_date", NONE), o.get("actual_end_date", NONE),
                           DISPOSAL[o["order_type"]]])
        main = f"OFF-{number:03d}"
        offences.append([main, _upper(o.get("main_offence_category")) or "NOT_KNOWN", DISPOSAL[o["order_type"]],
                         o["sentence_date"], o.get("expected_end_date", NONE), "MAIN"])
        offence_links.append([main, o["order_id"]])
        if number % 3 == 1:  # sentenced for two offences: the other outcome must not be read as the order's
            other = f"OFF-{number:03d}B"
            offences.append([other, "CRIMINAL_DAMAGE", DISPOSAL[o["order_type"]], o["sentence_date"], NONE, "OTHER"])
            offence_links.append([other, o["order_id"]])
        for a in r["assessments"]:
            flags = [_tf(need in a.get("identified_needs", [])) for _, need in CONCERNS]
            stages.append([a["assessment_id"], a.get("completed_date", NONE), STAGE[a["stage"]],
                           _upper(a.get("likelihood_of_reoffending")), _upper(a.get("risk_of_serious_harm")),
                           _upper(a.get("safety_and_wellbeing")), _upper(a.get("intervention_level")),
                           _upper(a.get("mappa_category")), _upper(a.get("mappa_level")),
                           _tf(a.get("exploitation_indicators")), *flags])
            stage_links.append([a["assessment_id"], o["order_id"]])
    stages.append(["AS-UNLINKED", "2015-09-01", "REVIEW", "LOW", "LOW", "LOW", "", "", "", "f", *["f"] * len(CONCERNS)])
    for index, (disposal, day) in enumerate(OUT_OF_SCOPE, start=1):
        child = f"CH-80{index:02d}"
        people[child] = [child, "2001-05-17", "1", "White"]
        programme = f"IP-OOS-{index}"
        programmes.append([programme, child, day, NONE, disposal])
        offences.append([f"OFF-OOS-{index}", "THEFT_AND_HANDLING", disposal, day, NONE, "MAIN"])
        offence_links.append([f"OFF-OOS-{index}", programme])
    return [
        _write(out, "person_details.csv", ["ypid", "dateOfBirth", "sex", "ethnicity"], list(people.values())),
        _write(out, "intervention_programme.csv",
               ["interventionProgrammeID", "ypid", "startDate", "endDate", "disposalType"], programmes),
        _write(out, "offence.csv", ["offenceID", "yjboffenceCategory", "legalOutcome", "outcomeDate", "outcomeEndDate",
                                    "mainOrOther"], offences),
        _write(out, "link_offence_intervention_programme.csv", ["offenceID", "interventionProgrammeID"], offence_links),
        _write(out, "asset_plus.csv",
               ["assessmentID", "date", "stage", "likelihoodOfReoffending", "roshjudgement", "safetyWellbeingJudgement",
                "scaledApproachInterventionLevel", "mappacategory", "mappalevel", "vulnerableToCriminalExploitation",
                *[flag for flag, _ in CONCERNS]], stages),
        _write(out, "link_intervention_programme_asset.csv", ["assetID", "interventionProgrammeID"], stage_links),
    ]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for written in write_export(target):
        print(written)
