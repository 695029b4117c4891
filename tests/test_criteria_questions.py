"""The hand-audit questions in rules/criteria.yaml, and how a criterion's answers roll up into one judgement."""

from __future__ import annotations

import re
import shutil

import pytest

from qa_engine.base.errors import RuleSchemaError
from qa_engine.facts.derive import roll_up
from qa_engine.rulepack.load import DEFAULT_RULES_DIR, load_rules


def test_every_criterion_has_questions_with_one_headline_and_known_sources():
    """Each criterion 1.1 to 4.3 and OM asks questions, one of them the headline, each with a status and sources."""
    pack = load_rules()
    for key, criterion in pack.criteria.items():
        assert criterion.questions, key
        assert 1 == sum(q.headline for q in criterion.questions), key
        for q in criterion.questions:
            assert q.status in ("verified", "recalled", "local_practice")
            assert all(s in pack.question_sources for s in q.sources)
            assert q.key == f"{key}{q.id}"
    plan = pack.criteria["1.2"].questions
    assert "is_there_one" == plan[0].asks and "Is there a plan" in plan[0].text
    assert "good_enough" == next(q for q in plan if q.headline).asks
    assert 57 == sum(len(c.questions) for c in pack.criteria.values())


def test_criteria_file_is_part_of_the_pack_hash(tmp_path):
    """Changing a question changes the pack hash, so a form from another catalogue is refused."""
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder)
    before = load_rules(folder).sha256
    path = folder / "criteria.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Is there a plan", "Is there a written plan"),
                    encoding="utf-8")
    assert before != load_rules(folder).sha256


@pytest.mark.parametrize(("edit", "replacement", "message"), [
    ('"1.2":\n    - {id: a,', '"4.4":\n    - {id: a,', "criterion '4.4' is not in the criteria list"),
    ("sources: [S4],", "sources: [S99],", "source 'S99' is not listed in question_sources"),
])
def test_a_question_naming_an_unknown_criterion_or_source_is_refused(tmp_path, edit, replacement, message):
    folder = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, folder)
    path = folder / "criteria.yaml"
    text = path.read_text(encoding="utf-8")
    assert edit in text
    path.write_text(text.replace(edit, replacement, 1), encoding="utf-8")
    with pytest.raises(RuleSchemaError, match=re.escape(message)):
        load_rules(folder)


@pytest.mark.parametrize(("answers", "expected"), [
    ([], "not_audited"),
    (["yes", "not_applicable"], "yes"),
    (["not_applicable", "not_applicable"], "not_applicable"),
    (["yes", None], None),
    (["yes", None, "no"], "no"),
    ([None], None),
])
def test_roll_up(answers, expected):
    """No if any question is no; not yet judged while any is blank; yes if any yes; else not applicable."""
    assert expected == roll_up(answers)
