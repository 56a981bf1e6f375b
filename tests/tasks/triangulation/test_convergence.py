"""Each convergence rule on explicit numbers, and the qualitative × quantitative matrix."""

from __future__ import annotations

from fractions import Fraction

import pytest

from schemas.triangulation import QUAL_SUPPORTS, QUANT_RESULTS
from tasks.triangulation.convergence import (
    MATRIX,
    Judgement,
    Setting,
    combine_waves,
    convergence_code,
    fraction,
    judge_change,
    judge_difference,
    judge_share,
    qualitative_support,
    variations,
)


@pytest.mark.parametrize(
    ("expect", "lower", "upper", "result"),
    [
        ("majority", 0.52, 0.61, "convergent"),
        ("majority", 0.31, 0.45, "divergent"),
        ("majority", 0.46, 0.55, "inconclusive"),
        ("majority", 0.50, 0.58, "inconclusive"),  # lower bound must exceed one half
        ("minority", 0.31, 0.45, "convergent"),
        ("minority", 0.52, 0.61, "divergent"),
        ("minority", 0.44, 0.53, "inconclusive"),
        ("majority", None, 0.6, "not assessed"),
    ],
)
def test_share_rules(expect: str, lower: float | None, upper: float | None, result: str) -> None:
    assert judge_share(expect, lower, upper).result == result


def test_share_rule_text_carries_the_interval() -> None:
    j = judge_share("majority", 0.523, 0.614, label="w1")
    assert "w1 95% CI 52.3%–61.4%" in j.rule


@pytest.mark.parametrize(
    ("expect", "lower", "upper", "result"),
    [
        ("increase", 0.01, 0.09, "convergent"),
        ("increase", -0.09, -0.01, "divergent"),
        ("increase", -0.02, 0.07, "inconclusive"),
        ("decrease", -0.09, -0.01, "convergent"),
        ("decrease", 0.01, 0.09, "divergent"),
        ("decrease", -0.05, 0.01, "inconclusive"),
        ("increase", None, None, "not assessed"),
    ],
)
def test_change_rules(expect: str, lower: float | None, upper: float | None, result: str) -> None:
    assert judge_change(expect, lower, upper).result == result


@pytest.mark.parametrize(("p", "result"), [(0.003, "convergent"), (0.0499, "convergent"), (0.05, "inconclusive"),
                                           (0.4, "inconclusive"), (None, "not assessed")])
def test_difference_rule(p: float | None, result: str) -> None:
    assert judge_difference(p).result == result


def test_waves_combine_only_when_unanimous() -> None:
    c, d, i = Judgement("convergent", "a"), Judgement("divergent", "b"), Judgement("inconclusive", "c")
    assert combine_waves([c, c]).result == "convergent"
    assert combine_waves([d, d]).result == "divergent"
    assert combine_waves([c, d]).result == "inconclusive"
    assert combine_waves([c, i]).result == "inconclusive"
    assert combine_waves([c, Judgement("not assessed", "x")]).result == "inconclusive"
    assert combine_waves([]).result == "not assessed"
    assert combine_waves([c, d]).rule == "a; b; waves disagree → inconclusive"


# (supporting only, contradicting only, contested, total, threshold) → support
@pytest.mark.parametrize(
    ("sup", "con", "both", "total", "threshold", "support"),
    [
        (3, 0, 0, 6, Fraction(1, 2), "supported"),
        (6, 0, 0, 6, Fraction(1, 2), "supported"),
        (2, 0, 0, 6, Fraction(1, 2), "absent"),  # too few cases either way
        (2, 0, 0, 6, Fraction(1, 3), "supported"),  # 2 of 6 reaches one third exactly
        (4, 0, 0, 6, Fraction(2, 3), "supported"),
        (3, 0, 0, 6, Fraction(2, 3), "absent"),
        (1, 4, 0, 6, Fraction(1, 2), "contradicted"),
        (0, 3, 0, 6, Fraction(1, 2), "contradicted"),
        (0, 0, 6, 6, Fraction(1, 2), "contested"),
        (2, 2, 1, 6, Fraction(1, 2), "contested"),  # 3 for, 3 against
        (2, 2, 1, 6, Fraction(2, 3), "absent"),
        (3, 2, 0, 6, Fraction(1, 3), "contested"),
        (3, 1, 0, 6, Fraction(1, 3), "supported"),  # 1 of 6 against is below one third
        (0, 0, 0, 6, Fraction(1, 2), "absent"),
        (0, 0, 0, 0, Fraction(1, 2), "absent"),
    ],
)
def test_qualitative_support(sup: int, con: int, both: int, total: int, threshold: Fraction, support: str) -> None:
    assert qualitative_support(sup, con, both, total, threshold).support == support


def test_qualitative_rule_text_carries_the_counts() -> None:
    j = qualitative_support(1, 4, 0, 6, Fraction(1, 2))
    assert j.rule == ("cases for 1 of 6 (supporting only 1, contested 0), against 4 of 6 (contradicting only 4); "
                      "threshold 1/2 of the cases → contradicted")
    with pytest.raises(ValueError, match="do not fit 6 cases"):
        qualitative_support(4, 4, 0, 6)


@pytest.mark.parametrize(
    ("qual", "quant", "code"),
    [
        ("supported", "convergent", "agreement"),
        ("supported", "inconclusive", "partial agreement"),
        ("supported", "divergent", "dissonance"),
        ("supported", "not assessed", "silence"),
        ("contested", "convergent", "partial agreement"),
        ("contested", "inconclusive", "partial agreement"),
        ("contested", "divergent", "partial agreement"),
        ("contested", "not assessed", "silence"),
        ("contradicted", "convergent", "dissonance"),
        ("contradicted", "inconclusive", "partial agreement"),
        ("contradicted", "divergent", "agreement"),
        ("contradicted", "not assessed", "silence"),
        ("absent", "convergent", "silence"),
        ("absent", "inconclusive", "silence"),
        ("absent", "divergent", "silence"),
        ("absent", "not assessed", "silence"),
    ],
)
def test_convergence_matrix(qual: str, quant: str, code: str) -> None:
    assert convergence_code(qual, quant) == code


def test_every_cell_of_the_matrix_is_covered() -> None:
    # The parametrised cases above name all 16 cells once each.
    cells = {(q, r) for q in QUAL_SUPPORTS for r in QUANT_RESULTS}
    assert len(cells) == 16 and set(MATRIX) <= cells


def test_unknown_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown qualitative support"):
        convergence_code("strong", "convergent")
    with pytest.raises(ValueError, match="unknown quantitative result"):
        convergence_code("supported", "yes")


def test_variations_vary_one_setting_at_a_time() -> None:
    base = Setting()
    names = [v.name for v in variations(base)]
    assert names == ["case prevalence 1/3", "case prevalence 2/3", "90% intervals", "99% intervals", "unweighted"]
    by_name = {v.name: v.setting for v in variations(base)}
    assert by_name["case prevalence 1/3"] == Setting(Fraction(1, 3), 0.95, True)
    assert by_name["99% intervals"] == Setting(Fraction(1, 2), 0.99, True)
    assert by_name["unweighted"] == Setting(Fraction(1, 2), 0.95, False)
    other = Setting(Fraction(2, 3), 0.90, False)
    assert [v.name for v in variations(other)] == [
        "case prevalence 1/3", "case prevalence 1/2", "95% intervals", "99% intervals", "weighted"]


def test_fraction_keeps_thirds_exact() -> None:
    assert fraction(1 / 3) == Fraction(1, 3) and fraction(0.5) == Fraction(1, 2) and fraction(2 / 3) == Fraction(2, 3)
    assert Setting(confidence=0.99).alpha == pytest.approx(0.01) and Setting(confidence=0.9).level == "90%"


def test_difference_rule_uses_alpha() -> None:
    assert judge_difference(0.03, alpha=0.01).result == "inconclusive"
    assert judge_difference(0.03, alpha=0.10).result == "convergent"
    assert judge_difference(0.03, alpha=0.10).rule == "p = 0.03 vs alpha 0.1 → convergent"
