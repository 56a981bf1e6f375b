"""Convergence coding of a proposition: explicit rules from the numbers, then a fixed matrix.

Every rule takes its thresholds from a `Setting` (study.yaml `triangulation`: case_prevalence,
confidence, weighted); the sensitivity analysis re-applies the same rules under neighbouring
settings. The rules are documented for researchers in docs/triangulation.md.

Quantitative result (per proposition, from its `expect`; intervals at the setting's confidence,
weighted design-based or unweighted Wilson):

- majority:  interval lower bound > 0.5 → convergent; upper bound < 0.5 → divergent.
- minority:  interval upper bound < 0.5 → convergent; lower bound > 0.5 → divergent.
- increase:  change interval lower bound > 0 → convergent; upper bound < 0 → divergent.
- decrease:  change interval upper bound < 0 → convergent; lower bound > 0 → divergent.
- differs_by_group: test p < alpha (= 1 − confidence) → convergent; otherwise inconclusive (a
  non-significant test is absence of evidence, not evidence of no difference, so this rule is
  never divergent).
- anything else (interval straddles the threshold) → inconclusive.
- no `expect`, or no usable number → "not assessed".

A rule applied to several waves (majority, minority, differs_by_group on every wave the variable
was asked in) combines them: all convergent → convergent, all divergent → divergent, otherwise
inconclusive.

Qualitative support. Per case the evidence is supporting only, contradicting only, both
(contested) or none. With t = case_prevalence, "for" = cases with any supporting evidence
(supporting only or contested) and "against" = cases with any contradicting evidence:

- for ≥ t of the cases and against < t → supported;
- against ≥ t and for < t → contradicted;
- both ≥ t → contested;
- neither reaches t → absent (too few cases either way).

Convergence (the triangulation protocol's codes):

| qualitative \\ quantitative | convergent        | inconclusive      | divergent         | not assessed |
|-----------------------------|-------------------|-------------------|-------------------|--------------|
| supported                   | agreement         | partial agreement | dissonance        | silence      |
| contested                   | partial agreement | partial agreement | partial agreement | silence      |
| contradicted                | dissonance        | partial agreement | agreement         | silence      |
| absent                      | silence           | silence           | silence           | silence      |

Contested evidence is at most partial agreement: some cases side with the survey whichever way it
points. Contradicted × divergent is agreement *against* the proposition (both strands reject it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from schemas.triangulation import QUAL_SUPPORTS, QUANT_RESULTS

QuantResult = Literal["convergent", "divergent", "inconclusive", "not assessed"]
QualSupport = Literal["supported", "contested", "contradicted", "absent"]
Convergence = Literal["agreement", "partial agreement", "silence", "dissonance"]

MAJORITY_THRESHOLD = 0.5
# Neighbouring settings of the sensitivity analysis (each varied alone from the study's setting).
PREVALENCE_SETTINGS: tuple[Fraction, ...] = (Fraction(1, 3), Fraction(1, 2), Fraction(2, 3))
CONFIDENCE_SETTINGS: tuple[float, ...] = (0.90, 0.95, 0.99)
WEIGHTING_SETTINGS: tuple[bool, ...] = (True, False)

RULE_TEXT: dict[str, str] = {
    "majority": "lower bound > 50% → convergent, upper bound < 50% → divergent, else inconclusive",
    "minority": "upper bound < 50% → convergent, lower bound > 50% → divergent, else inconclusive",
    "increase": "change lower bound > 0 → convergent, upper bound < 0 → divergent, else inconclusive",
    "decrease": "change upper bound < 0 → convergent, lower bound > 0 → divergent, else inconclusive",
    "differs_by_group": "p < alpha → convergent, else inconclusive",
}

MATRIX: dict[tuple[str, str], Convergence] = {
    ("supported", "convergent"): "agreement",
    ("supported", "inconclusive"): "partial agreement",
    ("supported", "divergent"): "dissonance",
    ("contested", "convergent"): "partial agreement",
    ("contested", "inconclusive"): "partial agreement",
    ("contested", "divergent"): "partial agreement",
    ("contradicted", "convergent"): "dissonance",
    ("contradicted", "inconclusive"): "partial agreement",
    ("contradicted", "divergent"): "agreement",
}


def fraction(share: float) -> Fraction:
    """A configured share as an exact fraction (1/3 stays 1/3), for exact case-count comparisons."""
    return Fraction(share).limit_denominator(1000)


def fraction_text(share: Fraction) -> str:
    """"1/2", "2/3", "1"."""
    return str(share)


@dataclass(frozen=True)
class Setting:
    """The thresholds one verdict is derived under."""

    case_prevalence: Fraction = Fraction(1, 2)
    confidence: float = 0.95
    weighted: bool = True

    @property
    def alpha(self) -> float:
        """Significance level matching the interval level."""
        return 1.0 - self.confidence

    @property
    def level(self) -> str:
        """"95%"."""
        return f"{100 * self.confidence:g}%"


@dataclass(frozen=True)
class Variation:
    """One neighbouring setting of the sensitivity analysis: what changed, and the setting."""

    name: str
    setting: Setting


def variations(base: Setting) -> list[Variation]:
    """Each sensitivity setting varied alone from the base (the base's own values are skipped)."""
    out = [Variation(f"case prevalence {fraction_text(t)}", replace(base, case_prevalence=t))
           for t in PREVALENCE_SETTINGS if t != base.case_prevalence]
    out += [Variation(f"{100 * c:g}% intervals", replace(base, confidence=c))
            for c in CONFIDENCE_SETTINGS if not math.isclose(c, base.confidence)]
    out += [Variation("weighted" if w else "unweighted", replace(base, weighted=w))
            for w in WEIGHTING_SETTINGS if w != base.weighted]
    return out


@dataclass(frozen=True)
class Judgement:
    """One rule's verdict and the sentence explaining it with the numbers used."""

    result: QuantResult
    rule: str


@dataclass(frozen=True)
class QualJudgement:
    """Qualitative support and the sentence explaining it with the case counts used."""

    support: QualSupport
    rule: str


def _missing(*values: float | None) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def judge_share(expect: str, lower: float | None, upper: float | None, label: str = "", level: str = "95%") -> Judgement:
    """majority / minority: where the interval lies relative to one half."""
    where = f"{label} " if label else ""
    if _missing(lower, upper):
        return Judgement("not assessed", f"{where}no interval → not assessed")
    assert lower is not None and upper is not None
    ci = f"{where}{level} CI {_pct(lower)}–{_pct(upper)}"
    above, below = lower > MAJORITY_THRESHOLD, upper < MAJORITY_THRESHOLD
    if expect == "majority":
        result: QuantResult = "convergent" if above else "divergent" if below else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    if expect == "minority":
        result = "convergent" if below else "divergent" if above else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    raise ValueError(f"judge_share handles majority/minority, not {expect!r}")


def judge_change(expect: str, lower: float | None, upper: float | None, level: str = "95%") -> Judgement:
    """increase / decrease: whether the change interval excludes 0 in the expected direction."""
    if _missing(lower, upper):
        return Judgement("not assessed", "no change interval → not assessed")
    assert lower is not None and upper is not None
    ci = f"change {level} CI {100 * lower:+.1f} to {100 * upper:+.1f} points"
    up, down = lower > 0, upper < 0
    if expect == "increase":
        result: QuantResult = "convergent" if up else "divergent" if down else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    if expect == "decrease":
        result = "convergent" if down else "divergent" if up else "inconclusive"
        return Judgement(result, f"{ci} → {result}")
    raise ValueError(f"judge_change handles increase/decrease, not {expect!r}")


def judge_difference(p_value: float | None, label: str = "", alpha: float = 0.05) -> Judgement:
    """differs_by_group: a test of independence with p below alpha."""
    where = f"{label} " if label else ""
    if _missing(p_value):
        return Judgement("not assessed", f"{where}no test → not assessed")
    assert p_value is not None
    result: QuantResult = "convergent" if p_value < alpha else "inconclusive"
    return Judgement(result, f"{where}p = {p_value:.3g} vs alpha {alpha:.2g} → {result}")


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


def qualitative_support(
    supporting: int, contradicting: int, contested: int, total: int, threshold: Fraction = Fraction(1, 2)
) -> QualJudgement:
    """Supported / contradicted / contested / absent from per-case evidence counts (rule above)."""
    if min(supporting, contradicting, contested, total) < 0 or supporting + contradicting + contested > total:
        raise ValueError(f"case counts {supporting}+{contradicting}+{contested} do not fit {total} cases")
    for_cases, against_cases = supporting + contested, contradicting + contested
    # Exact: a count reaches t of the cases when count ≥ t·total (no floating point at 1/3).
    need = threshold * total
    is_for, is_against = total > 0 and for_cases >= need, total > 0 and against_cases >= need
    support: QualSupport = (
        "contested" if is_for and is_against else "supported" if is_for
        else "contradicted" if is_against else "absent"
    )
    rule = (f"cases for {for_cases} of {total} (supporting only {supporting}, contested {contested}), "
            f"against {against_cases} of {total} (contradicting only {contradicting}); threshold "
            f"{fraction_text(threshold)} of the cases → {support}")
    return QualJudgement(support, rule)


def convergence_code(qual: str, quant: str) -> Convergence:
    """The protocol code for a qualitative support level and a quantitative result."""
    if qual not in QUAL_SUPPORTS:
        raise ValueError(f"unknown qualitative support {qual!r}")
    if quant not in QUANT_RESULTS:
        raise ValueError(f"unknown quantitative result {quant!r}")
    return MATRIX.get((qual, quant), "silence")
