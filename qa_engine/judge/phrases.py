"""Proportions in the inspectorate's words ("two-thirds", "nearly one-third", "all but three") and their intervals.

HMI Probation publishes no table from percentages to words (domain-standards.md 6.1), so this one is
derived from the phrases of the Derbyshire SQS report (../shared/reference/sqs-report-derbyshire-2016.md)
and the engine convention of domain-standards.md section 6. For k of n cases, p = k / n, the first
matching row wins:

| # | when | phrase | a report example (implied counts) |
|---|---|---|---|
| 1 | n = 0 | "no cases" | |
| 2 | k = 0 | "none" | |
| 3 | k = n | "all" | |
| 4 | n >= 15 and n - k <= 4 | "all but one" ... "all but four" | "all but three" (31 of 34), "All but four" (30 of 34) |
| 5 | k <= 4 | "one case" ... "four cases" | "In four cases they had not" (4 of 34), "one referral order case" |
| 6 | p < 0.15 | "a small number" | "In a small number of cases" (5 of 34) |
| 7 | k = 5 | "five cases" | "this left five cases" (5 of 20) |
| 8 | p is exactly 1/5, 1/4, 1/3, 2/5, 1/2, 3/5, 2/3 or 3/4 | "one-fifth" ... "three-quarters" | "two-fifths" (6 of 15), "two-thirds" (20 of 30), "three-quarters" (15 of 20) |
| 9 | p >= 0.9 | "almost all" | |
| 10 | p >= 0.8 | "most" | "most of the cases" (28 of 34) |
| 11 | p < 0.21 | "a small number" | |
| 12 | the next of 1/4, 1/3, 1/2, 2/3, 3/4 above p is at most 0.04 away | "nearly <it>" | "Nearly one-third" (10 of 34), "nearly one-third" (6 of 19) |
| 13 | the last of those at or below p is at most 0.03 below | "just over <it>" | "just over one-quarter" (8 of 30) |
| 14 | that one is 3/4 | "the majority" | "The majority of assessments" (27 of 34) |
| 15 | otherwise | "over <the last at or below p>" | "Over two-thirds" (24 of 34), "over half" (19 of 34), "over one-third" (13 of 34) |

Small samples: the report always gives the counts beside the phrase ("two-thirds (20 of 30)"), and
the 95% Wilson interval shows how wide a small sample's proportion really is.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["describe_proportion", "wilson_interval"]

_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
_NAMES = {
    Fraction(1, 5): "one-fifth",
    Fraction(1, 4): "one-quarter",
    Fraction(1, 3): "one-third",
    Fraction(2, 5): "two-fifths",
    Fraction(1, 2): "half",
    Fraction(3, 5): "three-fifths",
    Fraction(2, 3): "two-thirds",
    Fraction(3, 4): "three-quarters",
}
_STEPS = [Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(3, 4)]
"""The fractions that take "nearly", "just over" and "over"; fifths are only said when exact."""
NEARLY = 0.04
JUST_OVER = 0.03


def describe_proportion(k: int, n: int) -> str:
    """The phrase for k of n cases in the style of an SQS report (see the module's table).

    >>> describe_proportion(31, 34), describe_proportion(10, 34), describe_proportion(24, 34)
    ('all but three', 'nearly one-third', 'over two-thirds')

    Raises:
        ValueError: k or n negative, or k greater than n.
    """
    if n < 0 or k < 0 or k > n:
        msg = f"need 0 <= k <= n, not k={k}, n={n}"
        raise ValueError(msg)
    if n == 0:
        return "no cases"
    if k == 0:
        return "none"
    if k == n:
        return "all"
    if n >= 15 and n - k <= 4:
        return f"all but {_NUMBERS[n - k]}"
    if k <= 4:
        return f"{_NUMBERS[k]} case" + ("s" if k > 1 else "")
    p = Fraction(k, n)
    if p < Fraction(15, 100):
        return "a small number"
    if k == 5:
        return "five cases"
    if p in _NAMES:
        return _NAMES[p]
    if p >= Fraction(9, 10):
        return "almost all"
    if p >= Fraction(8, 10):
        return "most"
    if p < Fraction(21, 100):
        return "a small number"
    above = next((f for f in _STEPS if f > p), None)
    if above is not None and float(above - p) <= NEARLY:
        return f"nearly {_NAMES[above]}"
    below = max(f for f in _STEPS if f <= p)
    if float(p - below) <= JUST_OVER:
        return f"just over {_NAMES[below]}"
    if below == Fraction(3, 4):
        return "the majority"
    return f"over {_NAMES[below]}"


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The 95% Wilson score interval for k successes in n trials, or None when n is 0."""
    if n == 0:
        return None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))
