"""describe_proportion reproduces every proportion phrase of the Derbyshire SQS report from the counts behind it."""

from __future__ import annotations

import pytest

from qa_engine import describe_proportion
from qa_engine.judge.phrases import wilson_interval

# (phrase as the report writes it, where, k, n): the counts each phrase implies (34 cases were inspected;
# where a question applied to fewer cases, the denominator is that subset).
DERBYSHIRE = [
    ("The majority", "1.1 assessments detailed and considered", 27, 34),
    ("Over two-thirds", "1.1 reviewed appropriately", 24, 34),
    ("all but three", "1.2 plans in place", 31, 34),
    ("two-thirds", "1.2 plans of good enough quality", 20, 30),
    ("Nearly one-third", "1.2 diversity and barriers not considered", 10, 34),
    ("over half", "1.2 plans not reviewed", 19, 34),
    ("two-fifths", "1.3 reports not good enough", 6, 15),
    ("most", "2.1 risk of harm assessment good enough", 28, 34),
    ("nearly one-third", "2.1 reviews required but not done", 6, 19),
    ("a small number", "2.1 relevant behaviour not included", 5, 34),
    ("All but four", "2.2 plans to manage risk of harm", 30, 34),
    ("just over one-quarter", "2.2 planning inadequate", 8, 30),
    ("three-quarters", "2.3 risk of harm effectively managed", 15, 20),
    ("five cases", "2.3 the cases where it had not", 5, 20),
    ("over one-third", "2.3 oversight ineffective", 13, 34),
    ("most", "3.1 vulnerability assessment good enough", 29, 34),
    ("Most", "3.1 reviewed where required", 23, 28),
    ("a small number", "3.1 exploitation indicators recognised", 5, 34),
    ("three-quarters", "3.2 vulnerability planning good enough", 24, 32),
    ("nearly one-third", "3.2 planning not reviewed", 10, 32),
    ("most", "3.3 joint work evident and routine", 29, 34),
    ("over half", "3.4 safeguarding factors not reduced", 19, 34),
    ("over one-third", "3.4 oversight ineffective", 13, 34),
    ("most", "4.1 attention to health and well-being", 29, 34),
    ("one case", "4.2 one referral order case", 1, 34),
    ("Most", "4.3 complied fully (others complied in part)", 28, 34),
    ("four cases", "4.3 had not complied", 4, 34),
    ("most", "summary: engaging children successfully", 28, 34),
]


@pytest.mark.parametrize(("phrase", "where", "k", "n"), DERBYSHIRE, ids=[f"{w}" for _, w, _, _ in DERBYSHIRE])
def test_every_derbyshire_phrase(phrase, where, k, n):
    """Each phrase of the report comes back from the counts it implies."""
    assert phrase.lower() == describe_proportion(k, n)


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0, 0, "no cases"), (0, 5, "none"), (7, 7, "all"), (2, 3, "two cases"), (33, 34, "all but one"),
     (95, 100, "almost all"), (50, 100, "half"), (20, 100, "one-fifth"), (48, 100, "nearly half"),
     (52, 100, "just over half"), (18, 100, "a small number")],
)
def test_edges(k, n, expected):
    """Empty, none, all, small counts, near-all, exact and near fractions."""
    assert expected == describe_proportion(k, n)


def test_every_count_has_a_phrase():
    """Every k of n up to 120 gets a phrase, from "none" to "all"."""
    for n in range(1, 121):
        phrases = [describe_proportion(k, n) for k in range(n + 1)]

        assert all(phrases)
        assert ("none", "all") == (phrases[0], phrases[-1])


def test_bad_counts():
    """k above n, or negative counts, are errors."""
    with pytest.raises(ValueError, match="0 <= k <= n"):
        describe_proportion(5, 4)


def test_wilson_interval():
    """The 95% Wilson interval: wide for a small sample, narrow for a large one, None without cases."""
    low, high = wilson_interval(20, 30)
    big_low, big_high = wilson_interval(2000, 3000)

    assert (0.488, 0.808) == (round(low, 3), round(high, 3))
    assert big_high - big_low < 0.04
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == 0 and 0.25 < high < 0.30  # none of 10 met: still up to about 28% at 95%
