"""Case-level convergence: each case's sites' survey indicator, checked against scipy and statsmodels."""

from __future__ import annotations

from fractions import Fraction
from types import ModuleType

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from tasks.triangulation.cases import CaseSurvey, case_sites, site_indicators
from tasks.triangulation.convergence import Setting
from tasks.triangulation.quantitative import QuantEvidence, quantitative_evidence


def _evidence(tf: ModuleType, **quant: object) -> QuantEvidence:
    survey = tf.survey_tables([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69),
                               tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)])
    return quantitative_evidence(tf.proposition("p1", ["Political context"], **quant), tf.variables(), survey)


def _sites(tf: ModuleType, setting: Setting = Setting(), small_n: int = 10) -> pl.DataFrame:
    prop = tf.proposition("p1", ["Political context"])
    return site_indicators(prop, tf.variables()["influence"], _evidence(tf), tf.case_survey(), setting, small_n)


def _people(tf: ModuleType, wave: str, sites: list[str]) -> list[tuple[str, str, float, bool]]:
    return [(site, role, w, chose) for site in sites for role, w, chose in tf.RESPONSES[wave].get(site, [])]


def test_case_sites_split_the_cases_table(tf: ModuleType) -> None:
    pairs = case_sites(tf.cases_table())
    assert pairs.rows() == [("A", "s1"), ("B", "s2"), ("C", "s3"), ("C", "s4"), ("D", "s5")]


@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_unweighted_case_estimate_is_the_wilson_interval(tf: ModuleType, confidence: float) -> None:
    sites = _sites(tf, Setting(Fraction(1, 2), confidence, False))
    c = sites.filter(pl.col("case") == "C").row(0, named=True)
    # C = sites s3 and s4 in w2 (the latest wave): 2 of 4 chose code 1.
    assert (c["site_wave"], c["site_n"], c["site_count"], c["case_sites"]) == ("w2", 4, 2, "s3; s4")
    lo, hi = proportion_confint(2, 4, alpha=1 - confidence, method="wilson")
    assert c["site_estimate"] == pytest.approx(0.5, abs=1e-12)
    assert (c["site_lower"], c["site_upper"]) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))


def test_weighted_case_estimate_is_the_domain_estimate(tf: ModuleType) -> None:
    sites = _sites(tf, Setting(Fraction(1, 2), 0.95, True))
    people = _people(tf, "w2", ["s1", "s2", "s3", "s4", "s6"])
    site = np.array([p[0] for p in people])
    w = np.array([p[2] for p in people])
    y = np.array([1.0 if p[3] else 0.0 for p in people])
    for case, members in (("A", ["s1"]), ("C", ["s3", "s4"])):
        d = np.isin(site, members)
        row = sites.filter(pl.col("case") == case).row(0, named=True)
        assert row["site_weighted_estimate"] == pytest.approx(float((w * y)[d].sum() / w[d].sum()), abs=1e-9)
        # The case's interval is the unweighted Wilson one whatever the weighting setting.
        lo, hi = proportion_confint(int(y[d].sum()), int(d.sum()), alpha=0.05, method="wilson")
        assert (row["site_lower"], row["site_upper"]) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
    assert sites.item(0, "national_estimate") == pytest.approx(y.mean(), abs=1e-9)


def test_case_against_other_sites_uses_chi_square_or_fisher_like_scipy(tf: ModuleType) -> None:
    sites = _sites(tf)
    a = sites.filter(pl.col("case") == "A").row(0, named=True)
    # A: 11 of 12; every other site in w2: 11 of 37.
    table = np.array([[11, 1], [11, 26]])
    chi2, p, _, expected = stats.chi2_contingency(table, correction=False)
    assert expected.min() >= 5 and a["site_test"] == "chi_square"
    assert a["site_p_value"] == pytest.approx(p, abs=1e-9)
    assert a["site_direction"] == "higher"
    assert a["site_vs_national"] == f"11 of 12 (91.7%) vs other sites 29.7%: higher (chi_square, p = {p:.3g})"
    b = sites.filter(pl.col("case") == "B").row(0, named=True)
    # B: 0 of 3 against 22 of 46: small expected counts → Fisher's exact test.
    fisher = stats.fisher_exact(np.array([[0, 3], [22, 24]]), alternative="two-sided").pvalue
    assert (b["site_test"], b["site_direction"]) == ("fisher", "no clear difference")
    assert b["site_p_value"] == pytest.approx(fisher, abs=1e-9)
    assert b["small_n"] and b["site_vs_national"].endswith("; small n (3 < 10)")


def test_a_case_without_respondents_is_not_tested(tf: ModuleType) -> None:
    d = _sites(tf).filter(pl.col("case") == "D").row(0, named=True)
    assert (d["site_n"], d["site_estimate"], d["site_p_value"], d["site_direction"], d["small_n"]) == (
        0, None, None, "not tested", True)
    assert d["site_vs_national"] == "no respondents at the case's sites: not tested"


def test_small_n_limit_is_configurable(tf: ModuleType) -> None:
    assert _sites(tf, small_n=3)["small_n"].to_list() == [False, False, False, True]
    assert _sites(tf, small_n=20)["small_n"].to_list() == [True, True, True, True]


def test_stricter_alpha_turns_a_difference_into_no_clear_difference(tf: ModuleType) -> None:
    # A's p (about 1.8e-4) is below 0.01 too; B's Fisher p 0.24 is above 0.10.
    strict = _sites(tf, Setting(Fraction(1, 2), 0.99, True))
    loose = _sites(tf, Setting(Fraction(1, 2), 0.90, True))
    assert strict["site_direction"].to_list()[:2] == ["higher", "no clear difference"]
    assert loose["site_direction"].to_list()[:2] == ["higher", "no clear difference"]


def test_free_text_indicator_counts_coded_and_uncoded_answers(tf: ModuleType) -> None:
    base = tf.case_survey()
    resp = base.respondents.filter(pl.col("wave") == "w2")
    ids = resp.get_column("respondent_id").to_list()
    # Every w2 respondent answered; those at s1 mention "time", the rest are uncoded.
    at_s1 = resp.filter(pl.col("site_id") == "s1").get_column("respondent_id").to_list()
    coded = pl.DataFrame({"wave": "w2", "dictionary": "obstacles", "respondent_id": at_s1, "category": "time"})
    uncoded = pl.DataFrame({"wave": "w2", "dictionary": "obstacles", "variable": "obstacles",
                            "respondent_id": [i for i in ids if i not in at_s1]})
    survey = CaseSurvey(base.respondents, base.answers, coded, uncoded, base.case_sites)
    ft = [{"wave": "w2", "dictionary": "obstacles", "variable": "obstacles", "category": "time",
           "label": "Lack of time", "breakdown": "all", "group": "all", "answers": len(ids), "count": len(at_s1),
           "share": len(at_s1) / len(ids), "lower": 0.1, "upper": 0.4}]
    prop = tf.proposition("p1", ["Political context"], variable="obstacles", codes=["time"])
    ev = quantitative_evidence(prop, tf.variables(), tf.survey_tables([], freetext=ft))
    sites = site_indicators(prop, tf.variables()["obstacles"], ev, survey, Setting(), 10, "obstacles")
    a = sites.filter(pl.col("case") == "A").row(0, named=True)
    assert (a["site_n"], a["site_count"], a["site_estimate"]) == (12, 12, 1.0)
    c = sites.filter(pl.col("case") == "C").row(0, named=True)
    assert (c["site_n"], c["site_count"], c["site_estimate"]) == (4, 0, 0.0)
    with pytest.raises(ValueError, match="free-text variable 'obstacles' has no coding dictionary"):
        site_indicators(prop, tf.variables()["obstacles"], ev, survey, Setting(), 10, None)
