"""Each convergence rule on explicit numbers, and the qualitative × quantitative matrix."""

from __future__ import annotations

import pytest

from tasks.triangulation.convergence import (
    Judgement,
    combine_waves,
    convergence_code,
    judge_change,
    judge_difference,
    judge_share,
    qualitative_support,
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


@pytest.mark.parametrize(("present", "total", "support"),
                         [(3, 6, "supported"), (6, 6, "supported"), (2, 6, "partial"), (1, 5, "partial"),
                          (3, 5, "supported"), (0, 6, "absent"), (0, 0, "absent")])
def test_qualitative_support(present: int, total: int, support: str) -> None:
    assert qualitative_support(present, total) == support


@pytest.mark.parametrize(
    ("qual", "quant", "code"),
    [
        ("supported", "convergent", "agreement"),
        ("partial", "convergent", "partial agreement"),
        ("supported", "inconclusive", "partial agreement"),
        ("partial", "inconclusive", "partial agreement"),
        ("supported", "divergent", "dissonance"),
        ("partial", "divergent", "dissonance"),
        ("absent", "convergent", "silence"),
        ("absent", "divergent", "silence"),
        ("supported", "not assessed", "silence"),
    ],
)
def test_convergence_matrix(qual: str, quant: str, code: str) -> None:
    assert convergence_code(qual, quant) == code


def test_unknown_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown qualitative support"):
        convergence_code("strong", "convergent")
    with pytest.raises(ValueError, match="unknown quantitative result"):
        convergence_code("supported", "yes")
