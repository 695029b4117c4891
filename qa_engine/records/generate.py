"""A realistic synthetic caseload, streamed as JSON Lines, with tunable rates of each kind of shortfall.

For demonstrations, tests and benchmarks: no real child is described. Each case is built from its own
random stream (seeded by the run's seed and the case's number), so a million cases take no more
memory than ten, any case can be rebuilt alone, and the same seed gives the same bytes. Every date
falls on or before the export date (``until``), as in a real export.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from qa_engine.base.calendar import WorkingCalendar

__all__ = ["DEFAULT_RATES", "DEFAULT_UNTIL", "generate", "generate_lines"]

DEFAULT_UNTIL = dt.date(2016, 2, 15)
"""Default export date: the first day of the Derbyshire SQS fieldwork, so generated data looks like that period."""

DEFAULT_RATES: dict[str, float] = {
    "late_assessment": 0.12,       # start-of-order assessment after the deadline
    "missing_assessment": 0.04,    # no start-of-order assessment at all
    "incomplete_assessment": 0.10,  # likelihood of reoffending, factors, behaviour or health not recorded
    "missing_review": 0.20,        # a three-monthly assessment or plan review skipped
    "no_change_review": 0.30,      # no review after a significant change
    "late_plan": 0.10,             # intervention plan after the deadline, or none
    "weak_plan": 0.20,             # child/parent not involved, diversity or barriers not addressed, factor unanswered
    "missing_risk_plan": 0.15,     # risk-of-harm or safety plan missing, late or without contingency
    "missing_countersign": 0.20,   # assessment, plan or high risk not countersigned
    "missing_oversight": 0.25,     # oversight gaps or entries without a decision; requested actions not done
    "psr_shortfall": 0.20,         # report late, not quality-assured first, or missing risk or vulnerability
    "missing_referral": 0.15,      # an identified need not referred, or referred late
    "late_first_contact": 0.10,    # first appointment or home visit late
    "low_contact": 0.12,           # fewer contacts than the intervention level requires
    "late_follow_up": 0.12,        # missed appointment not followed up next working day, or not classified
    "unanswered_failure": 0.15,    # a failure to comply without a warning, or with a late one
    "no_breach": 0.35,             # after two warnings, no breach and no authorised exceptional circumstances;
                                   # on a referral order, repeated non-compliance not returned to the panel
    "missing_mappa": 0.25,         # MAPPA not considered, or category or level missing
    "missing_social_care": 0.15,   # children's social care not involved in time
    "missing_panel": 0.15,         # referral order panel late, or contract not signed
    "practice_judgement_no": 0.30,  # an auditing manager answers "no"
}
"""Rates of each kind of shortfall (a probability per case, or per opportunity where it says so)."""

_ORDER_MIX = [("youth_rehabilitation_order", 40), ("referral_order", 38), ("youth_rehabilitation_order_iss", 6),
              ("detention_and_training_order_licence", 12), ("section_250_licence", 4)]
_OFFENCES = [("violence_against_the_person", 25), ("theft_and_handling", 18), ("criminal_damage", 10),
             ("drugs", 10), ("robbery", 8), ("burglary", 8), ("public_order", 8), ("motoring_offences", 6),
             ("sexual_offences", 4), ("other", 3)]
_ETHNICITY = [("white", 78), ("mixed", 7), ("asian_or_asian_british", 6), ("black_or_black_british", 6),
              ("other_ethnic_group", 2), ("information_not_obtainable", 1)]
_LEVELS = ["low", "medium", "high", "very_high"]
_FACTORS = ["education", "family", "lifestyle", "substance_use", "thinking_and_behaviour", "attitudes_to_offending",
            "emotional_health", "living_arrangements", "neighbourhood"]
_NEEDS = ["mental_health", "substance_misuse", "education", "speech_language", "physical_health", "accommodation"]
_CONTACT_TYPES = ["office", "office", "office", "reparation", "programme", "education", "phone"]
_TEAMS = {"North": ["CM-N1", "CM-N2", "CM-N3", "CM-N4"], "South": ["CM-S1", "CM-S2", "CM-S3", "CM-S4"],
          "City": ["CM-C1", "CM-C2", "CM-C3", "CM-C4"]}
_PER_4_WEEKS = {"standard": (2, 1), "enhanced": (4, 2), "intensive": (8, 4)}
_CRITERIA = ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "3.4", "4.1", "4.2", "4.3", "OM"]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


@dataclass
class _Dates:
    """Working-day arithmetic for one generator run."""

    calendar: WorkingCalendar

    def add(self, day: dt.date, n: int) -> dt.date:
        step = 1 if n >= 0 else -1
        for _ in range(abs(n)):
            day += dt.timedelta(days=step)
            while not self.calendar.is_working_day(day):
                day += dt.timedelta(days=step)
        return day

    def working(self, day: dt.date) -> dt.date:
        while not self.calendar.is_working_day(day):
            day -= dt.timedelta(days=1)
        return day


class _Case:
    """Builds one case record from its own random stream."""

    def __init__(self, number: int, seed: int, until: dt.date, rates: dict[str, float], dates: _Dates) -> None:
        self.n = number
        self.rng = random.Random(f"qa-engine:{seed}:{number}")
        self.until = until
        self.rates = rates
        self.d = dates
        self.record: dict[str, Any] = {}

    def short(self, name: str) -> bool:
        return self.rng.random() < self.rates[name]

    def on_or_before(self, day: dt.date | None) -> dt.date | None:
        return day if day is not None and day <= self.until else None

    def iso(self, day: dt.date | None) -> str | None:
        return day.isoformat() if day else None

    def build(self) -> dict[str, Any]:
        rng = self.rng
        team = rng.choice(sorted(_TEAMS))
        order_type = _pick(rng, _ORDER_MIX)
        self.order_type = order_type
        back = rng.randint(1, 6) if rng.random() < 0.05 else rng.randint(7, 330)
        self.sentence = self.d.working(self.until - dt.timedelta(days=back))
        self.age = rng.choices(range(10, 18), weights=[1, 2, 4, 8, 12, 16, 18, 16])[0]
        self.rosh = rng.choices(_LEVELS, weights=[45, 35, 15, 5])[0]
        self.sw = rng.choices(_LEVELS, weights=[35, 40, 20, 5])[0]
        self.level = {"low": "standard", "medium": "enhanced"}.get(self.rosh, "intensive")
        if order_type == "youth_rehabilitation_order_iss":
            self.level = "intensive"
        self.offence = _pick(rng, _OFFENCES)
        care = rng.random()
        self.record = {
            "case_id": f"GEN-{self.n:07d}",
            "team": team,
            "case_manager_id": rng.choice(_TEAMS[team]),
            "child": {
                "child_id": f"CH-{self.n:07d}",
                "age_at_sentence": self.age,
                "sex": rng.choices(["male", "female"], weights=[82, 18])[0],
                "ethnicity": _pick(rng, _ETHNICITY),
                "looked_after": care < 0.10,
                "child_protection_plan": 0.10 <= care < 0.14,
                "child_in_need": 0.14 <= care < 0.24,
            },
        }
        self.order()
        self.court()
        self.assessments()
        self.plans()
        self.contacts_and_enforcement()
        self.joint_work()
        self.oversight()
        self.judgements()
        self.as_exported()
        return self.record

    def as_exported(self) -> None:
        """Drop whatever would be dated after the export date (only the expected end may lie ahead)."""
        until = self.until.isoformat()

        def due(day: str | None) -> bool:
            return day is not None and day > until

        kept = []
        for a in self.record.get("assessments", []):
            if due(a.get("completed_date")):
                if a["stage"] != "start_of_order":
                    continue
                a["completed_date"] = None
            if a.get("completed_date") is None or due(a.get("countersigned_date")):
                a.pop("countersigned_by", None)
                a.pop("countersigned_date", None)
            if a.get("exploitation_screening") and due(a["exploitation_screening"]["date"]):
                a.pop("exploitation_screening")
            if due(a.get("started_date")):
                continue
            kept.append(a)
        self.record["assessments"] = kept
        plans = []
        for p in self.record.get("plans", []):
            if due(p["created_date"]):
                continue
            p["reviews"] = [r for r in p.get("reviews", []) if not due(r["date"])]
            if due(p.get("countersigned_date")):
                p.pop("countersigned_date")
            plans.append(p)
        self.record["plans"] = plans
        self.record["significant_changes"] = [c for c in self.record.get("significant_changes", []) if not due(c["date"])]
    def order(self) -> None:
        rng, d = self.rng, self.d
        months = {"referral_order": rng.choice([3, 6, 9, 12]), "detention_and_training_order_licence": rng.choice([2, 3, 6]),
                  "section_250_licence": 12}.get(self.order_type, rng.choice([6, 9, 12, 18]))
        order: dict[str, Any] = {"order_id": f"ORD-{self.n:07d}", "order_type": self.order_type,
                                 "sentence_date": self.iso(self.sentence), "length_months": months,
                                 "intervention_level": self.level, "main_offence_category": self.offence}
        self.start: dt.date | None = self.sentence
        if self.order_type == "referral_order":
            panel = d.add(self.sentence, rng.randint(22, 35) if self.short("missing_panel") else rng.randint(6, 19))
            if (self.short("missing_panel") and rng.random() < 0.3) or not self.on_or_before(panel):
                self.start = None
            else:
                self.start = panel
                order["contract_signed_date"] = self.iso(panel)
                order["first_panel_date"] = self.iso(panel)
        if self.start is not None:
            order["start_date"] = self.iso(self.start)
            end = self.start + dt.timedelta(days=int(months * 30.44))
            order["expected_end_date"] = self.iso(end)
            if end <= self.until:
                order["actual_end_date"] = self.iso(end)
        if self.order_type.startswith("youth_rehabilitation_order"):
            order["requirements"] = [{"type": "supervision", "start_date": self.iso(self.start)}]
            if rng.random() < 0.4:
                order["requirements"].append({"type": rng.choice(["curfew", "reparation", "activity"])})
        self.record["order"] = order

    def court(self) -> None:
        rng, d = self.rng, self.d
        if rng.random() > 0.7:
            return
        due = d.add(self.sentence, -1)
        submitted = d.add(due, rng.randint(1, 4)) if self.short("psr_shortfall") else d.add(due, -rng.randint(0, 3))
        qa = d.add(submitted, 2) if self.short("psr_shortfall") else d.add(submitted, -1)
        weak = self.short("psr_shortfall")
        self.record["court"] = {
            "psr_requested_date": self.iso(d.add(self.sentence, -15)),
            "psr_due_date": self.iso(due),
            "psr_submitted_date": self.iso(self.on_or_before(submitted)),
            "psr_quality_assured_date": self.iso(self.on_or_before(qa)),
            "psr_quality_assured_by": "MGR-01",
            "psr_covers_risk_of_harm": not (weak and rng.random() < 0.6),
            "psr_covers_vulnerability": not (weak and rng.random() < 0.6),
        }

    def assessments(self) -> None:
        rng, d = self.rng, self.d
        self.assessment_list: list[dict[str, Any]] = []
        self.first_assessed: dt.date | None = None
        self.identified: list[str] = []
        self.high_factors: list[str] = []
        self.changes: list[dict[str, Any]] = []
        if self.start is None or self.short("missing_assessment"):
            self.record["assessments"] = []
            return
        deadline = 20 if self.order_type == "referral_order" else 15
        offset = rng.randint(deadline + 1, deadline + 15) if self.short("late_assessment") else rng.randint(3, deadline)
        done = d.add(self.sentence, offset)  # due from the day the order is made (rows 5.1-5.2)
        incomplete = self.short("incomplete_assessment")
        factors = [{"category": c, "rating": rng.choices(_LEVELS, weights=[30, 35, 25, 10])[0]}
                   for c in rng.sample(_FACTORS, rng.randint(2, 5))]
        self.high_factors = [f["category"] for f in factors if f["rating"] in ("high", "very_high")]
        self.identified = sorted(rng.sample(_NEEDS, rng.choice([0, 0, 1, 1, 2, 3])))
        violent = self.offence in ("violence_against_the_person", "sexual_offences", "robbery")
        first: dict[str, Any] = {
            "assessment_id": f"AS-{self.n:07d}-1", "stage": "start_of_order",
            "started_date": self.iso(self.sentence), "completed_date": self.iso(done),
            "likelihood_of_reoffending": None if incomplete and rng.random() < 0.5 else rng.choice(_LEVELS[:3]),
            "risk_of_serious_harm": self.rosh, "safety_and_wellbeing": self.sw,
            "rosh_full_analysis": self.rosh != "low" and not (incomplete and rng.random() < 0.5),
            "relevant_behaviour_considered": not (incomplete and rng.random() < 0.5),
            "health_screened": not (incomplete and rng.random() < 0.5),
            "intervention_level": self.level,
            "identified_needs": self.identified,
            "factors": [] if incomplete and rng.random() < 0.3 else factors,
        }
        if not self.short("missing_countersign"):
            first["countersigned_by"] = "MGR-01"
            first["countersigned_date"] = self.iso(d.add(done, rng.randint(0, 4)))
        if (violent or self.rosh in ("high", "very_high")) and not self.short("missing_mappa"):
            first["mappa_eligible"] = (violent and self.rosh in ("high", "very_high")) or self.offence == "sexual_offences"
            if first["mappa_eligible"] and not self.short("missing_mappa"):
                first["mappa_category"] = 1 if self.offence == "sexual_offences" else 2
                first["mappa_level"] = rng.choice([1, 1, 2])
        if rng.random() < 0.15 and self.sw != "low":
            first["exploitation_indicators"] = True
            if not self.short("incomplete_assessment"):
                first["exploitation_screening"] = {"date": self.iso(d.add(done, 2)), "result": rng.choice(_LEVELS[:3])}
        self.first_assessed = done
        self.assessment_list.append(first)
        # significant changes, each usually followed by a reviewed assessment
        change_dates = []
        if rng.random() < 0.2:
            when = d.add(done, rng.randint(10, 60))
            change_dates.append(when)
            self.changes.append({"change_id": f"SC-{self.n:07d}-1", "date": self.iso(when),
                                 "type": rng.choice(["new_offence", "change_of_address", "change_of_care_status",
                                                     "custody", "risk_change"])})
        # three-monthly reviews
        reviews = []
        when = done
        k = 1
        while True:
            when = when + dt.timedelta(days=rng.randint(70, 88))
            if self.short("missing_review"):
                when = when + dt.timedelta(days=rng.randint(20, 60))
            reviews.append(when)
            if when > self.until:
                break
        for change in change_dates:
            if not self.short("no_change_review"):
                reviews.append(d.add(change, rng.randint(1, 8)))
        sw_index = _LEVELS.index(self.sw)
        for when in sorted(reviews):
            k += 1
            sw = _LEVELS[max(0, min(3, sw_index + rng.choice([-1, 0, 0, 1])))]
            review = {
                "assessment_id": f"AS-{self.n:07d}-{k}", "stage": "review", "completed_date": self.iso(when),
                "risk_of_serious_harm": self.rosh, "safety_and_wellbeing": sw, "rosh_full_analysis": self.rosh != "low",
            }
            if self.rosh in ("high", "very_high") and not self.short("missing_countersign"):
                review.update(countersigned_by="MGR-01", countersigned_date=self.iso(d.add(when, rng.randint(0, 4))))
            self.assessment_list.append(review)
        self.review_dates = sorted(reviews)
        self.record["assessments"] = self.assessment_list
        self.record["significant_changes"] = self.changes

    def plans(self) -> None:
        rng, d = self.rng, self.d
        plans = []
        if self.start is not None and not (self.short("late_plan") and rng.random() < 0.4):
            created = d.add(self.sentence, rng.randint(21, 35) if self.short("late_plan") else rng.randint(0, 15))
            if self.order_type == "referral_order":
                created = self.start if not self.short("late_plan") else created
            weak = self.short("weak_plan")
            objectives = [{"factor_category": f} for f in self.high_factors]
            if weak and objectives and rng.random() < 0.5:
                objectives.pop()
            reviews = [{"date": self.iso(r), "trigger": "scheduled"} for r in getattr(self, "review_dates", [])
                       if not self.short("missing_review")]
            for change in self.changes:
                if not self.short("no_change_review"):
                    reviews.append({"date": self.iso(d.add(dt.date.fromisoformat(change["date"]), rng.randint(1, 9))),
                                    "trigger": "other"})
            plan = {
                "plan_id": f"PL-{self.n:07d}",
                "plan_type": "referral_order_contract" if self.order_type == "referral_order" else "intervention",
                "created_date": self.iso(created),
                "child_involved": not (weak and rng.random() < 0.4),
                "parent_involved": (self.age >= 16 and rng.random() < 0.5) or not (weak and rng.random() < 0.5),
                "diversity_addressed": not (weak and rng.random() < 0.5),
                "barriers_addressed": not (weak and rng.random() < 0.5),
                "objectives": objectives,
                "reviews": sorted(reviews, key=lambda r: r["date"]),
            }
            if not self.short("missing_countersign"):
                plan["countersigned_date"] = self.iso(d.add(created, rng.randint(0, 3)))
            plans.append(plan)
        for kind, level in (("risk_of_harm", self.rosh), ("safety_and_wellbeing", self.sw)):
            if self.start is None or level == "low" or (self.short("missing_risk_plan") and rng.random() < 0.4):
                continue
            late = self.short("missing_risk_plan")
            created = d.add(self.sentence, rng.randint(21, 35) if late else rng.randint(2, 15))
            plans.append({
                "plan_id": f"{'RP' if kind == 'risk_of_harm' else 'SP'}-{self.n:07d}",
                "plan_type": kind, "created_date": self.iso(created),
                "contingency_recorded": not (late and rng.random() < 0.6),
                "reviews": [{"date": self.iso(r)} for r in getattr(self, "review_dates", []) if r > created
                            and not self.short("missing_review")],
            })
        self.record["plans"] = plans

    def contacts_and_enforcement(self) -> None:
        rng, d = self.rng, self.d
        contacts: list[dict[str, Any]] = []
        enforcement: list[dict[str, Any]] = []
        self.record["contacts"], self.record["enforcement"] = contacts, enforcement
        if self.order_type == "referral_order" and self.start is None:
            first = d.add(self.sentence, rng.randint(6, 10) if self.short("late_first_contact") else rng.randint(1, 5))
        else:
            first = d.add(self.sentence, rng.randint(6, 12) if self.short("late_first_contact") else rng.randint(1, 5))
        end = self.until
        order_end = self.record["order"].get("actual_end_date")
        if order_end:
            end = min(end, dt.date.fromisoformat(order_end))
        early, late = _PER_4_WEEKS[self.level]
        thin = self.short("low_contact")
        day = first
        n = 0
        home_visit_at = 2 if not self.short("late_first_contact") else 9
        warnings: list[dt.date] = []
        failures = 0
        while day <= end:
            n += 1
            weeks = ((day - (self.start or self.sentence)).days) // 7
            per = early if weeks < 12 else late
            gap = max(1, round(20 / max(per, 1)))
            if thin:
                gap = gap * 2 + 3
            contact_type = "home_visit" if n == home_visit_at else rng.choice(_CONTACT_TYPES)
            contact: dict[str, Any] = {"contact_id": f"K-{self.n:07d}-{n:03d}", "date": self.iso(day),
                                       "type": contact_type, "outcome": "attended"}
            roll = rng.random()
            if roll < 0.06:
                contact["outcome"] = "acceptable_absence"
            elif roll < 0.13:
                contact["outcome"] = "unacceptable_absence"
            elif roll < 0.14:
                contact["outcome"] = "not_recorded"
            if contact["outcome"] != "attended":
                follow = d.add(day, rng.randint(2, 5) if self.short("late_follow_up") else 1)
                if follow <= self.until:
                    contact["follow_up_date"] = self.iso(follow)
            contacts.append(contact)
            if contact["outcome"] == "unacceptable_absence":
                failures += 1
                self.respond(contact, day, warnings, failures, enforcement)
            day = d.add(day, gap)

    def respond(self, contact: dict[str, Any], day: dt.date, warnings: list[dt.date], failures: int,
                enforcement: list[dict[str, Any]]) -> None:
        rng, d = self.rng, self.d
        action_id = f"EN-{contact['contact_id'][2:]}"
        answer: dict[str, Any] = {"action_id": action_id, "answers_contact_ids": [contact["contact_id"]]}
        if self.order_type == "referral_order":
            if failures >= 3:
                if self.short("no_breach"):  # the escalation a referral order has instead of breach
                    return
                answer.update(action="return_to_panel", date=self.iso(d.add(day, rng.randint(2, 8))))
            elif not self.short("unanswered_failure"):
                answer.update(action="warning", date=self.iso(d.add(day, rng.randint(1, 3))))
            else:
                return
        elif self.order_type.startswith("youth_rehabilitation_order"):
            live = [w for w in warnings if day <= w + dt.timedelta(days=365)]
            if len(live) >= 2:
                if self.short("no_breach"):
                    if rng.random() < 0.5:
                        return
                    answer.update(action="exceptional_circumstances", date=self.iso(d.add(day, 2)))
                    if rng.random() < 0.4:
                        answer["manager_authorised_by"] = "MGR-02"
                else:
                    answer.update(action=rng.choice(["breach_laid", "breach_laid", "exceptional_circumstances"]),
                                  date=self.iso(d.add(day, rng.randint(2, 9))), manager_authorised_by="MGR-02")
            elif self.short("unanswered_failure"):
                if rng.random() < 0.5:
                    return
                answer.update(action="warning", date=self.iso(d.add(day, rng.randint(7, 15))))
            else:
                when = d.add(day, rng.randint(1, 4))
                answer.update(action="final_warning" if live else "warning", date=self.iso(when))
                warnings.append(when)
        else:
            if self.short("unanswered_failure"):
                return
            answer.update(action="warning", date=self.iso(d.add(day, rng.randint(1, 4))))
        if dt.date.fromisoformat(answer["date"]) <= self.until:
            enforcement.append(answer)

    def joint_work(self) -> None:
        rng, d = self.rng, self.d
        referrals, events = [], []
        for k, need in enumerate(self.identified):
            if self.short("missing_referral") and rng.random() < 0.5:
                continue
            found = self.first_assessed or self.sentence
            when = d.add(found, rng.randint(21, 40) if self.short("missing_referral") else rng.randint(1, 15))
            if when <= self.until:
                referrals.append({"referral_id": f"RF-{self.n:07d}-{k}", "need": need, "referred_date": self.iso(when)})
        child = self.record["child"]
        status = child["looked_after"] or child["child_protection_plan"] or child["child_in_need"]
        if status and self.start and not (self.short("missing_social_care") and rng.random() < 0.5):
            late = self.short("missing_social_care")
            when = d.add(self.sentence, rng.randint(11, 25) if late else rng.randint(0, 8))
            if when <= self.until:
                events.append({"event_id": f"SG-{self.n:07d}-1", "date": self.iso(when),
                               "type": rng.choice(["information_shared_with_social_care", "strategy_meeting",
                                                   "looked_after_review"])})
        if rng.random() < 0.05 and self.start:
            when = d.add(self.start, rng.randint(5, 40))
            if when <= self.until:
                events.append({"event_id": f"SG-{self.n:07d}-2", "date": self.iso(when), "type": "missing"})
        self.record["referrals"], self.record["safeguarding_events"] = referrals, events

    def oversight(self) -> None:
        rng, d = self.rng, self.d
        entries = []
        if self.start is None:
            self.record["oversight"] = entries
            return
        high = self.rosh in ("high", "very_high") or self.sw in ("high", "very_high")
        when = d.add(self.sentence, rng.randint(5, 20))
        k = 0
        while when <= self.until:
            k += 1
            requested = rng.choice([0, 0, 1, 2])
            done = requested if not self.short("missing_oversight") else max(0, requested - 1)
            entries.append({"entry_id": f"OV-{self.n:07d}-{k}", "date": self.iso(when), "manager_id": "MGR-01",
                            "target": rng.choice(["case", "risk_of_harm", "safety_and_wellbeing", "plan"]),
                            "decision_recorded": not self.short("missing_oversight"),
                            "actions_requested": requested, "actions_completed": done})
            step = rng.randint(40, 85) if high and not self.short("missing_oversight") else rng.randint(60, 140)
            when = when + dt.timedelta(days=step)
        self.record["oversight"] = entries

    def judgements(self) -> None:
        rng = self.rng
        if rng.random() > 0.3:
            self.record["practice_judgements"] = []
            return
        day = self.d.working(self.until - dt.timedelta(days=rng.randint(0, 10)))
        self.record["practice_judgements"] = [
            {"criterion": c, "question": f"Was the work under criterion {c} good enough?",
             "answer": "no" if self.short("practice_judgement_no") else rng.choice(["yes", "yes", "yes", "not_applicable"]),
             "auditor_id": "MGR-03", "date": self.iso(day)}
            for c in rng.sample(_CRITERIA, rng.randint(3, len(_CRITERIA)))
        ]


def _clean(value: Any) -> Any:
    """Drop keys whose value is None, so records stay small and look exported."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def generate(cases: int, seed: int = 0, until: dt.date = DEFAULT_UNTIL,
             rates: dict[str, float] | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``cases`` synthetic case records, one at a time.

    Raises:
        ValueError: an unknown rate name (the message names the nearest) or a rate outside 0..1.
    """
    merged = dict(DEFAULT_RATES)
    for name, value in (rates or {}).items():
        if name not in DEFAULT_RATES:
            from qa_engine.base.yamlfile import suggest

            msg = f"unknown shortfall rate {name!r}{suggest(name, DEFAULT_RATES)}; known: {', '.join(sorted(DEFAULT_RATES))}"
            raise ValueError(msg)
        if not 0 <= value <= 1:
            msg = f"rate {name} must be between 0 and 1, not {value}"
            raise ValueError(msg)
        merged[name] = value
    dates = _Dates(WorkingCalendar())
    for number in range(1, cases + 1):
        yield _clean(_Case(number, seed, until, merged, dates).build())


def generate_lines(cases: int, seed: int = 0, until: dt.date = DEFAULT_UNTIL,
                   rates: dict[str, float] | None = None) -> Iterator[str]:
    """The same records as JSON Lines text, one line each (with its newline)."""
    for record in generate(cases, seed, until, rates):
        yield json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
