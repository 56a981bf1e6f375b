"""Convergence coding of a proposition: explicit rules from the numbers, then a fixed matrix.

Quantitative result (per proposition, from its `expect` and the survey numbers; 95% intervals):

- majority:  interval lower bound > 0.5 → convergent; upper bound < 0.5 → divergent.
- minority:  interval upper bound < 0.5 → convergent; lower bound > 0.5 → divergent.
- increase:  change interval lower bound > 0 → convergent; upper bound < 0 → divergent.
- decrease:  change interval upper bound < 0 → convergent; lower bound > 0 → divergent.
- differs_by_group: test p < 0.05 → convergent; otherwise inconclusive (a non-significant test
  is absence of evidence, not evidence of no difference, so this rule is never divergent).
- anything else (interval straddles the threshold) → inconclusive.
- no `expect`, or no usable number → "not assessed".

A rule applied to several waves (majority, minority, differs_by_group on every wave the variable
was asked in) combines them: all convergent → convergent, all divergent → divergent, otherwise
inconclusive.

Qualitative support (cases where any code under the proposition's themes was applied):
present in at least half of the cases → supported; in some → partial; in none → absent.

Convergence (the triangulation protocol's codes):

| qualitative \\ quantitative | convergent        | inconclusive      | divergent  | not assessed |
|-----------------------------|-------------------|-------------------|------------|--------------|
| supported                   | agreement         | partial agreement | dissonance | silence      |
| partial                     | partial agreement | partial agreement | dissonance | silence      |
| absent                      | silence           | silence           | silence    | silence      |
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.triangulation import QUAL_SUPPORTS, QUANT_RESULTS

QuantResult = Literal["convergent", "divergent", "inconclusive", "not assessed"]
QualSupport = Literal["supported", "partial", "absent"]
Convergence = Literal["agreement", "partial agreement", "silence", "dissonance"]

MAJORITY_THRESHOLD = 0.5
ALPHA = 0.05

RULE_TEXT: dict[str, str] = {
    "majority": "lower bound > 50% → convergent, upper bound < 50% → divergent, else inconclusive",
    "minority": "upper bound < 50% → convergent, lower bound > 50% → divergent, else inconclusive",
    "increase": "change lower bound > 0 → convergent, upper bound < 0 → divergent, else inconclusive",
    "decrease": "change upper bound < 0 → convergent, lower bound > 0 → divergent, else inconclusive",
    "differs_by_group": f"p < {ALPHA} → convergent, else inconclusive",
}

_MATRIX: dict[tuple[str, str], Convergence] = {
    ("supported", "convergent"): "agreement",
    ("supported", "inconclusive"): "partial agreement",
    ("supported", "divergent"): "dissonance",
    ("partial", "convergent"): "partial agreement",
    ("partial", "inconclusive"): "partial agreement",
    ("partial", "divergent"): "dissonance",
}


@dataclass(frozen=True)
class Judgement:
    """One rule's verdict and the sentence explaining it with the numbers used."""

    result: QuantResult
    rule: str


def _missing(*values: float | None) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def judge_share(expect: str, lower: float | None, upper: float | None, label: str = "") -> Judgement:
    """majority / minority: where the interval lies relative to one half."""
    where = f"{label} " if label else ""
    if _missing(lower, upper):
        return Judgement("not assessed", f"{where}no interval → not assessed")
    assert lower is not None and upper is not None
    ci = f"{where}95% CI {_pct(lower)}–{_pct(upper)}"
    above, below = lower > MAJORITY_THRESHOLD, upper < MAJORITY_THRESHOLD
    if expect == "majority":
        result: QuantResult = "convergent" if above else "divergent" if below else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    if expect == "minority":
        result = "convergent" if below else "divergent" if above else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    raise ValueError(f"judge_share handles majority/minority, not {expect!r}")


def judge_change(expect: str, lower: float | None, upper: float | None) -> Judgement:
    """increase / decrease: whether the change interval excludes 0 in the expected direction."""
    if _missing(lower, upper):
        return Judgement("not assessed", "no change interval → not assessed")
    assert lower is not None and upper is not None
    ci = f"change 95% CI {100 * lower:+.1f} to {100 * upper:+.1f} points"
    up, down = lower > 0, upper < 0
    if expect == "increase":
        result: QuantResult = "convergent" if up else "divergent" if down else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    if expect == "decrease":
        result = "convergent" if down else "divergent" if up else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    raise ValueError(f"judge_change handles increase/decrease, not {expect!r}")


def judge_difference(p_value: float | None, label: str = "") -> Judgement:
    """differs_by_group: a test of independence with p below ALPHA."""
    where = f"{label} " if label else ""
    if _missing(p_value):
        return Judgement("not assessed", f"{where}no test → not assessed")
    assert p_value is not None
    result: QuantResult = "convergent" if p_value < ALPHA else "inconclusive"
    return Judgement(result, f"{where}p = {p_value:.3g} → {result}")


def combine_waves(judgements: Sequence[Judgement]) -> Judgement:
    """Several waves' verdicts: unanimous convergent/divergent stands, any mix is inconclusive."""
    usable = [j for j in judgements if j.result != "not assessed"]
    rule = "; ".join(j.rule for j in judgements)
    if not usable:
        return Judgement("not assessed", rule or "no quantitative evidence")
    results = {j.result for j in usable}
    if len(results) == 1 and len(usable) == len(judgements):
        return Judgement(usable[0].result, rule)
    why = "not every wave assessed" if len(usable) < len(judgements) else "waves disagree"
    return Judgement("inconclusive", f"{rule}; {why} → inconclusive")


def qualitative_support(cases_present: int, cases_total: int) -> QualSupport:
    """supported: present in at least half the cases; partial: in some; absent: in none."""
    if cases_present <= 0 or cases_total <= 0:
        return "absent"
    return "supported" if 2 * cases_present >= cases_total else "partial"


def convergence_code(qual: str, quant: str) -> Convergence:
    """The protocol code for a qualitative support level and a quantitative result."""
    if qual not in QUAL_SUPPORTS:
        raise ValueError(f"unknown qualitative support {qual!r}")
    if quant not in QUANT_RESULTS:
        raise ValueError(f"unknown quantitative result {quant!r}")
    return _MATRIX.get((qual, quant), "silence")
