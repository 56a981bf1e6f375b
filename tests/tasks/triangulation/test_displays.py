"""Joint displays, meta-matrix, convergence and sensitivity on tiny frames with hand-checked values."""

from __future__ import annotations

from fractions import Fraction
from types import ModuleType
from typing import Any

import polars as pl
import pytest

from schemas.datasets import model_for
from schemas.study_config import Proposition
from tasks.triangulation.convergence import Setting
from tasks.triangulation.displays import QualTables, Triangulation, meta_matrix, triangulate
from tasks.triangulation.qualitative import PropositionError, proposition_evidence, resolve_theme

ROLES = {"chair": "CCG chair (GP)", "gp": "GP member"}


def _survey(tf: ModuleType, **tables: list) -> Any:
    return tf.survey_tables(
        tables.get("estimates", [tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69),
                                 tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)]),
        tables.get("changes", []), tables.get("associations", []), tables.get("freetext", []),
    )


def _run(tf: ModuleType, props: list, qual: QualTables | None = None, setting: Setting | None = None,
         **tables: list) -> Triangulation:
    result = triangulate(props, tf.variables(), qual or tf.qual_tables(), _survey(tf, **tables), tf.case_survey(),
                         setting, roles=ROLES)
    for name, frame in (("joint_displays", result.joint_displays), ("meta_matrix", result.meta_matrix),
                        ("convergence", result.convergence), ("sensitivity", result.sensitivity)):
        model_for(f"triangulation.{name}").validate(frame, lazy=True)
    return result


def _conv(result: Triangulation, pid: str) -> dict:
    return result.convergence.filter(pl.col("proposition_id") == pid).row(0, named=True)


def _directed(pid: str, supporting: list[str], contradicting: list[str], expect: str | None = "majority",
              **quant: Any) -> Proposition:
    return Proposition.model_validate({"id": pid, "statement": f"Statement {pid}", "supporting": supporting,
                                       "contradicting": contradicting,
                                       "quantitative": {"variable": "influence", **quant}, "expect": expect})


def test_agreement_with_hand_checked_joint_display(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context"], compare_waves=True)],
                  changes=[tf.change("influence", -0.04, -0.10, 0.02)])
    conv = _conv(result, "p1")
    assert (conv["cases_supporting"], conv["cases_contradicting"], conv["cases_contested"], conv["cases_none"],
            conv["cases_total"]) == (3, 0, 0, 1, 4)
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == ("supported", "convergent", "agreement")
    assert (conv["supporting"], conv["contradicting"]) == ("Political context", None)
    assert conv["reviewer_status"] == "unreviewed" and conv["reviewer_note"] is None and conv["review_flag"] is None
    assert conv["quant_headline"] == "influence = My CCG: w1 62.0% (95% CI 55.0%–69.0%); w2 58.0% (95% CI 52.0%–64.0%)"
    assert conv["rule"] == (
        "qualitative: cases for 3 of 4 (supporting only 3, contested 0), against 0 of 4 (contradicting only 0); "
        "threshold 1/2 of the cases → supported. quantitative: majority (lower bound > 50% → convergent, upper "
        "bound < 50% → divergent, else inconclusive; weighted): w1 95% CI 55.0%–69.0% → convergent; w2 95% CI "
        "52.0%–64.0% → convergent. supported × convergent → agreement")
    jd = result.joint_displays
    assert jd["measure"].to_list() == ["codings", "prevalence", "prevalence", "prevalence", "prevalence", "quote",
                                       "quote", "proportion", "proportion", "difference"]
    qual = jd.row(0, named=True)
    # A: 3 + 2, B: 4, C: 1 codings under the theme; D has none.
    assert (qual["item"], qual["value"], qual["cases"], qual["n"]) == ("supporting: theme Political context", 10.0, 3, 4)
    assert qual["detail"] == "10 codings in 3 of 4 cases (A, B, C); 3 code(s)"
    prevalence = jd.filter(pl.col("measure") == "prevalence")
    assert prevalence["item"].to_list() == ["cases supporting only", "cases contested (both)",
                                            "cases contradicting only", "cases no evidence"]
    assert prevalence["cases"].to_list() == [3, 0, 0, 1]
    assert prevalence.row(0, named=True)["detail"] == "3 of 4 cases (A, B, C); threshold 1/2 of the cases"
    w1 = jd.filter(pl.col("measure") == "proportion").row(0, named=True)
    assert (w1["wave"], w1["value"], w1["lower"], w1["upper"], w1["n"]) == ("w1", 0.62, 0.55, 0.69, 200)
    change = jd.filter(pl.col("measure") == "difference").row(0, named=True)
    assert (change["value"], change["lower"], change["upper"]) == (-0.04, -0.10, 0.02)
    assert "40.0% → 36.0%: -4.0 points (95% CI -10.0 to +2.0)" in change["detail"]


def test_inconclusive_interval_gives_partial_agreement(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p2", ["Political context"])],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.52, 0.46, 0.58)])
    conv = _conv(result, "p2")
    assert (conv["quant_result"], conv["convergence"]) == ("inconclusive", "partial agreement")
    assert "w1 95% CI 46.0%–58.0%" in conv["rule"]


def test_change_against_expectation_is_dissonance(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p3", ["Political context"], expect="increase")],
                  changes=[tf.change("influence", -0.06, -0.10, -0.02)])
    conv = _conv(result, "p3")
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == ("supported", "divergent", "dissonance")
    assert "change 95% CI -10.0 to -2.0 points" in conv["rule"]


def test_minority_convergent_but_theme_absent_is_silence(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p4", ["Heroic leadership"], expect="minority")],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.38, 0.31, 0.45)])
    conv = _conv(result, "p4")
    assert (conv["cases_none"], conv["qual_support"], conv["quant_result"], conv["convergence"]) == (
        4, "absent", "convergent", "silence")


def test_contradicting_evidence_against_a_clear_survey_result_is_dissonance(tf: ModuleType) -> None:
    # Nothing supports; STPs (c2, c3) is coded in A, B and C: 3 of 4 cases against.
    result = _run(tf, [_directed("p5", ["Heroic leadership"], ["STPs"])])
    conv = _conv(result, "p5")
    assert (conv["cases_supporting"], conv["cases_contradicting"], conv["cases_contested"]) == (0, 3, 0)
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == ("contradicted", "convergent", "dissonance")
    assert conv["contradicting"] == "Political context/STPs"


def test_contradicted_and_divergent_is_agreement_against(tf: ModuleType) -> None:
    result = _run(tf, [_directed("p5", ["Heroic leadership"], ["STPs"])],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.30, 0.24, 0.36)])
    assert _conv(result, "p5")["convergence"] == "agreement"


def test_a_code_on_both_sides_is_refused(tf: ModuleType) -> None:
    with pytest.raises(PropositionError, match=r"'p7': code\(s\) Political context/STPs/Side-lined both support"):
        proposition_evidence(_directed("p7", ["Side-lined"], ["STPs"]), tf.codebook())


def test_contested_cases_give_partial_agreement(tf: ModuleType) -> None:
    # Supporting: Side-lined (c3) in A and B; contradicting: Time pressure (c5) in A, Heroic (none).
    book = tf.codebook()
    qual = tf.qual_tables()
    matrix = qual.matrix.with_columns(
        pl.when((pl.col("case") == "C") & (pl.col("code_id") == "c5")).then(2).otherwise(pl.col("n_segments"))
        .alias("n_segments"))
    qual = QualTables(codebook=book, matrix=matrix, quotes=qual.quotes)
    result = _run(tf, [_directed("p8", ["Side-lined"], ["Time pressure"])], qual=qual)
    conv = _conv(result, "p8")
    # A both (contested), B for, C against: for 2 of 4, against 2 of 4 → contested.
    assert (conv["cases_supporting"], conv["cases_contradicting"], conv["cases_contested"], conv["cases_none"]) == (
        1, 1, 1, 1)
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == (
        "contested", "convergent", "partial agreement")
    meta = result.meta_matrix.filter(pl.col("proposition_id") == "p8")
    assert meta["evidence"].to_list() == ["contested", "supporting", "contradicting", "none"]
    assert meta["supporting_codings"].to_list() == [2, 4, 0, 0]
    assert meta["contradicting_codings"].to_list() == [1, 0, 2, 0]


def test_stance_attribute_sorts_the_codes_under_the_themes(tf: ModuleType) -> None:
    book = tf.codebook().with_columns(
        pl.when(pl.col("code_id") == "c2").then(pl.lit(" For ")).when(pl.col("code_id") == "c3")
        .then(pl.lit("against")).otherwise(None).alias("description"))
    qual = QualTables(codebook=book, matrix=tf.matrix(), quotes=tf.quotes())
    prop = Proposition.model_validate({
        "id": "p9", "statement": "s", "themes": ["Political context"],
        "stance": {"attribute": "description", "supporting": ["for"], "contradicting": ["against"]},
        "quantitative": {"variable": "influence"}, "expect": "majority"})
    ev = proposition_evidence(prop, book)
    assert (ev.supporting_ids, ev.contradicting_ids) == (("c2",), ("c3",))
    result = _run(tf, [prop], qual=qual)
    meta = result.meta_matrix.filter(pl.col("proposition_id") == "p9")
    # c2: A (3), C (1); c3: A (2), B (4).
    assert meta["evidence"].to_list() == ["contested", "contradicting", "supporting", "none"]
    assert _conv(result, "p9")["qual_support"] == "contested"
    assert _conv(result, "p9")["supporting"] == "description = for"
    bad = prop.model_copy(update={"stance": prop.stance.model_copy(update={"supporting": ["neutral"]})})  # type: ignore[union-attr]
    with pytest.raises(PropositionError, match="no code under Political context has description 'neutral'"):
        proposition_evidence(bad, book)


def test_differs_by_group_uses_the_test(tf: ModuleType) -> None:
    est = [tf.estimate("w1", "influence", "key", "1", 0.5, 0.43, 0.57),
           tf.estimate("w1", "influence", "key", "1", 0.7, 0.6, 0.8, breakdown="role", group="chair", n=40),
           tf.estimate("w1", "influence", "key", "1", 0.4, 0.3, 0.5, breakdown="role", group="gp", n=160)]
    result = _run(tf, [tf.proposition("p5", ["Time pressure"], expect="differs_by_group", breakdown="role")],
                  estimates=est, associations=[tf.association("w1", "influence", 0.012, 0.24)])
    conv = _conv(result, "p5")
    # "Time pressure" is a category: only case A codes it, 1 of 4 is below one half.
    assert (conv["cases_supporting"], conv["qual_support"]) == (1, "absent")
    assert (conv["quant_result"], conv["convergence"]) == ("convergent", "silence")
    assert "p = 0.012 vs alpha 0.05 → convergent" in conv["rule"]
    jd = result.joint_displays.filter(pl.col("strand") == "quant")
    assert jd.filter(pl.col("group") == "chair")["value"].to_list() == [0.7]
    test = jd.filter(pl.col("measure") == "p_value").row(0, named=True)
    assert test["value"] == 0.012
    assert test["item"] == "influence (all answers) by role (w1)"
    assert "Cramér's V 0.24" in test["detail"] and "statistic 11.50, df 4" in test["detail"]
    # At the 99% level (alpha 0.01) the same test is inconclusive.
    sens = result.sensitivity.filter(pl.col("setting") == "99% intervals").row(0, named=True)
    assert sens["quant_result"] == "inconclusive"


def test_non_significant_test_is_inconclusive(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p6", ["Political context"], expect="differs_by_group", breakdown="role")],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.5, 0.43, 0.57),
                             tf.estimate("w1", "influence", "key", "1", 0.5, 0.4, 0.6, breakdown="role", group="gp")],
                  associations=[tf.association("w1", "influence", 0.31)])
    assert _conv(result, "p6")["quant_result"] == "inconclusive"


def test_no_expectation_is_not_assessed(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p7", ["Political context"], expect=None)])
    conv = _conv(result, "p7")
    assert (conv["quant_result"], conv["convergence"]) == ("not assessed", "silence")


def test_free_text_category_with_computed_change(tf: ModuleType) -> None:
    def ft(wave: str, count: int, answers: int, share: float, lo: float, hi: float) -> dict:
        return {"wave": wave, "dictionary": "obstacles", "variable": "obstacles", "category": "time",
                "label": "Lack of time", "breakdown": "all", "group": "all", "answers": answers, "count": count,
                "share": share, "lower": lo, "upper": hi}
    prop = tf.proposition("p8", ["side-lined"], variable="obstacles", codes=["time"])
    survey = _survey(tf, freetext=[ft("w1", 92, 100, 0.92, 0.85, 0.96), ft("w2", 80, 100, 0.80, 0.71, 0.87)])
    from tasks.triangulation.displays import convergence_tables, joint_displays

    conv, _ = convergence_tables([prop], tf.variables(), tf.codebook(), tf.matrix(), survey)
    row = conv.row(0, named=True)
    # "side-lined" matches the code "Side-lined" ignoring case: cases A and B, 2 of 4 → supported.
    assert (row["qual_support"], row["quant_result"], row["convergence"]) == ("supported", "convergent", "agreement")
    assert "unweighted (the survey publishes no weighted figures for free text)" in row["rule"]
    change = joint_displays([prop], tf.variables(), tf.qual_tables(), survey).filter(
        pl.col("measure") == "difference").row(0, named=True)
    assert change["value"] == pytest.approx(-0.12)
    # Wald interval of p2 - p1: -0.12 ± 1.96·sqrt(.92·.08/100 + .8·.2/100)
    half = 1.959963984540054 * ((0.92 * 0.08 + 0.8 * 0.2) / 100) ** 0.5
    assert (change["lower"], change["upper"]) == (pytest.approx(-0.12 - half), pytest.approx(-0.12 + half))


def test_quotes_for_and_against_with_readable_attribution(tf: ModuleType) -> None:
    result = _run(tf, [_directed("p1", ["Side-lined"], ["Time pressure"])])
    quotes = result.joint_displays.filter(pl.col("measure") == "quote")
    assert quotes["item"].to_list() == ["supporting quote 1", "supporting quote 2", "contradicting quote 1"]
    assert quotes["detail"].to_list() == [
        "“[REDACTED] said the CCG no longer leads.” (CCG chair (GP), case B, interview)",
        "“We feel side-lined.” (CCG chair (GP), case A, interview)",
        "“No time for the board.” (CCG chair (GP), case A, interview)",
    ]
    # No internal quote keys (A|Political context|1) reach the display.
    assert not result.joint_displays["detail"].str.contains("|", literal=True).any()


def test_meta_matrix_sets_each_case_beside_its_own_sites(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context", "Time pressure"])])
    meta = result.meta_matrix
    assert meta["case"].to_list() == ["A", "B", "C", "D"]
    assert meta["supporting_codings"].to_list() == [6, 4, 1, 0]
    assert meta["evidence"].to_list() == ["supporting", "supporting", "supporting", "none"]
    assert meta["case_sites"].to_list() == ["s1", "s2", "s3; s4", "s5"]
    assert meta["site_wave"].to_list() == ["w2"] * 4
    assert meta["site_n"].to_list() == [12, 3, 4, 0]
    assert meta["site_count"].to_list() == [11, 0, 2, 0]
    assert meta["small_n"].to_list() == [False, True, True, True]
    assert meta["site_direction"].to_list() == ["higher", "no clear difference", "no clear difference", "not tested"]
    assert set(meta["convergence"]) == {"agreement"}
    # The site estimates differ by case: not the national headline repeated.
    assert meta["site_estimate"].n_unique() == 4


def test_meta_matrix_takes_the_coding_from_the_convergence_table(tf: ModuleType) -> None:
    props = [tf.proposition("p1", ["Political context"]), tf.proposition("p2", ["Heroic leadership"])]
    result = _run(tf, props)
    survey = _survey(tf)
    conv = result.convergence.with_columns(pl.lit("inconclusive").alias("quant_result"))
    meta = meta_matrix(props, tf.variables(), tf.codebook(), tf.matrix(), conv, survey, tf.case_survey())
    assert set(meta["quant_result"]) == {"inconclusive"}
    assert meta.drop("quant_result").equals(result.meta_matrix.drop("quant_result"))
    with pytest.raises(PropositionError, match="'p2' is missing from the convergence table"):
        meta_matrix(props, tf.variables(), tf.codebook(), tf.matrix(), result.convergence.head(1), survey,
                    tf.case_survey())


def test_missing_theme_names_the_proposition_and_the_theme(tf: ModuleType) -> None:
    with pytest.raises(PropositionError, match=r"proposition 'p9': theme 'Vicious circle' is not a theme"):
        _run(tf, [tf.proposition("p9", ["Political context", "Vicious circle"])])


def test_missing_variable_and_code_are_named(tf: ModuleType) -> None:
    with pytest.raises(PropositionError, match=r"proposition 'p9': variable 'nope' is not a survey variable"):
        _run(tf, [tf.proposition("p9", ["Political context"], variable="nope")])
    with pytest.raises(PropositionError, match=r"proposition 'p9': codes \['7'\] are not codes of variable 'influence'"):
        _run(tf, [tf.proposition("p9", ["Political context"], codes=["7"])])
    with pytest.raises(PropositionError, match=r"breakdown 'region' is not among"):
        _run(tf, [tf.proposition("p9", ["Political context"], breakdown="region")])


def test_theme_resolution_levels(tf: ModuleType) -> None:
    book = tf.codebook()
    assert resolve_theme(book, "Political context/STPs", "p").code_ids == ("c2", "c3")
    assert resolve_theme(book, "STPs", "p").level == "category"
    assert resolve_theme(book, "SIDE-LINED", "p").path == "Political context/STPs/Side-lined"


def test_identical_quote_texts_are_not_repeated(tf: ModuleType) -> None:
    quotes = pl.concat([tf.quotes(), pl.DataFrame([tf.quote("C", "Political context", 1, "Political context/STPs",
                                                           "The STP meets without [REDACTED] and decides.", 80)])])
    qual = tf.qual_tables()
    qual = type(qual)(codebook=qual.codebook, matrix=qual.matrix, quotes=quotes)
    result = _run(tf, [tf.proposition("p1", ["Political context"])], qual=qual)
    shown = result.joint_displays.filter(pl.col("measure") == "quote")["detail"].to_list()
    assert shown == ["“The STP meets without [REDACTED] and decides.” (CCG chair (GP), case A, interview)",
                     "“[REDACTED] said the CCG no longer leads.” (CCG chair (GP), case B, interview)"]


def test_free_text_by_group_is_tested_here(tf: ModuleType) -> None:
    def ft(group: str, count: int, answers: int) -> dict:
        share = count / answers
        return {"wave": "w1", "dictionary": "obstacles", "variable": "obstacles", "category": "time",
                "label": "Lack of time", "breakdown": "all" if group == "all" else "role", "group": group,
                "answers": answers, "count": count, "share": share, "lower": share / 2, "upper": min(1.0, share * 1.2)}
    from tasks.triangulation.displays import convergence_tables, joint_displays

    prop = tf.proposition("p8", ["Political context"], variable="obstacles", codes=["time"], breakdown="role",
                          expect="differs_by_group")
    survey = _survey(tf, freetext=[ft("all", 90, 150), ft("chair", 45, 50), ft("gp", 45, 100)])
    test = joint_displays([prop], tf.variables(), tf.qual_tables(), survey).filter(
        pl.col("measure") == "p_value").row(0, named=True)
    # 2 x 2 table [[45, 5], [45, 55]]: Pearson chi-square 28.125 (df 1), p = 1.1e-07.
    assert test["item"] == "obstacles = Lack of time by role (w1)"
    assert "chi_square: statistic 28.12, df 1" in test["detail"] and "p = 1.14e-07" in test["detail"]
    assert test["value"] < 0.001
    conv, _ = convergence_tables([prop], tf.variables(), tf.codebook(), tf.matrix(), survey)
    assert conv.item(0, "quant_result") == "convergent"


# --- sensitivity ---------------------------------------------------------------------------------

def _sens(result: Triangulation, pid: str) -> dict[str, dict]:
    rows = result.sensitivity.filter(pl.col("proposition_id") == pid)
    return {r["setting"]: r for r in rows.iter_rows(named=True)}


def test_sensitivity_lists_every_setting_and_is_stable_when_nothing_moves(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context"])],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.80, 0.74, 0.86)])
    sens = _sens(result, "p1")
    assert list(sens) == ["study setting", "case prevalence 1/3", "case prevalence 2/3", "90% intervals",
                          "99% intervals", "unweighted"]
    assert {r["convergence"] for r in sens.values()} == {"agreement"} and not any(r["changed"] for r in sens.values())
    assert (sens["99% intervals"]["confidence"], sens["unweighted"]["weighted"]) == (0.99, False)
    assert sens["case prevalence 1/3"]["case_prevalence"] == "1/3"
    assert _conv(result, "p1")["sensitivity"] == (
        "stable under case prevalence 1/3, case prevalence 2/3, 90% intervals, 99% intervals, unweighted")


def test_case_prevalence_two_thirds_turns_two_of_four_cases_into_silence(tf: ModuleType) -> None:
    # Side-lined: A and B, 2 of 4 cases → supported at 1/3 and 1/2, absent at 2/3.
    result = _run(tf, [tf.proposition("p1", ["Side-lined"])],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.80, 0.74, 0.86)])
    sens = _sens(result, "p1")
    assert sens["case prevalence 1/3"]["qual_support"] == "supported"
    assert (sens["case prevalence 2/3"]["qual_support"], sens["case prevalence 2/3"]["convergence"]) == (
        "absent", "silence")
    assert sens["case prevalence 2/3"]["changed"] and not sens["case prevalence 1/3"]["changed"]
    assert "threshold 2/3 of the cases → absent" in sens["case prevalence 2/3"]["rule"]
    assert _conv(result, "p1")["sensitivity"] == "changes under: case prevalence 2/3 → silence"


def test_a_contested_case_counts_for_and_against(tf: ModuleType) -> None:
    result = _run(tf, [_directed("p1", ["Heroic leadership", "Side-lined"], ["Time pressure"])],
                  estimates=[tf.estimate("w1", "influence", "key", "1", 0.80, 0.74, 0.86)])
    # A contested (Side-lined + Time pressure), B supporting: for 2 of 4, against 1 of 4.
    sens = _sens(result, "p1")
    assert sens["study setting"]["qual_support"] == "supported"
    assert (sens["case prevalence 1/3"]["qual_support"], sens["case prevalence 1/3"]["convergence"]) == (
        "supported", "agreement")  # 1 of 4 against is below one third (4/3 cases)
    assert sens["case prevalence 2/3"]["qual_support"] == "absent"


@pytest.mark.parametrize(
    ("setting", "result"),
    [("study setting", "convergent"), ("90% intervals", "convergent"), ("99% intervals", "inconclusive"),
     ("unweighted", "inconclusive")],
)
def test_interval_level_and_weighting_settings(tf: ModuleType, setting: str, result: str) -> None:
    # Weighted 58% with SE 0.035: 95% lower 51.1% and 90% lower 52.2% clear one half, 99% lower 49.0% does
    # not. Unweighted: 105 of 200 (52.5%), Wilson 95% lower 45.6% → inconclusive.
    row = tf.estimate("w1", "influence", "key", "1", 0.58, 0.58 - 1.959963984540054 * 0.035,
                      0.58 + 1.959963984540054 * 0.035)
    row.update(count=105, proportion=0.525)
    res = _run(tf, [tf.proposition("p1", ["Political context"])], estimates=[row])
    sens = _sens(res, "p1")
    assert sens[setting]["quant_result"] == result
    assert sens[setting]["changed"] == (result != "convergent")
    assert _conv(res, "p1")["sensitivity"] == (
        "changes under: 99% intervals → partial agreement; unweighted → partial agreement")


def test_interval_bounds_at_each_level_match_statsmodels(tf: ModuleType) -> None:
    from statsmodels.stats.proportion import proportion_confint

    from tasks.triangulation.quantitative import quantitative_evidence, shares_at

    row = tf.estimate("w1", "influence", "key", "1", 0.58, 0.51, 0.65)
    row.update(count=105, proportion=0.525)
    ev = quantitative_evidence(tf.proposition("p1", ["Political context"]), tf.variables(), _survey(tf, estimates=[row]))
    for confidence in (0.90, 0.95, 0.99):
        unweighted = shares_at(ev, Setting(Fraction(1, 2), confidence, False)).row(0, named=True)
        lo, hi = proportion_confint(105, 200, alpha=1 - confidence, method="wilson")
        assert (unweighted["lower"], unweighted["upper"]) == (pytest.approx(lo, abs=1e-9), pytest.approx(hi, abs=1e-9))
        weighted = shares_at(ev, Setting(Fraction(1, 2), confidence, True)).row(0, named=True)
        from scipy.stats import norm
        z = norm.isf((1 - confidence) / 2)
        se = 0.07 / 1.959963984540054
        assert weighted["lower"] == pytest.approx(0.58 - z * se, abs=1e-9)
        assert weighted["upper"] == pytest.approx(0.58 + z * se, abs=1e-9)


def test_change_at_other_levels_uses_the_published_se(tf: ModuleType) -> None:
    from scipy.stats import norm

    from tasks.triangulation.quantitative import change_at, quantitative_evidence

    ev = quantitative_evidence(tf.proposition("p1", ["Political context"], compare_waves=True), tf.variables(),
                               _survey(tf, changes=[tf.change("influence", 0.05, 0.01, 0.09)]))
    wse = 0.08 / (2 * 1.959963984540054)
    for confidence in (0.90, 0.99):
        z = norm.isf((1 - confidence) / 2)
        w = change_at(ev, Setting(Fraction(1, 2), confidence, True)).row(0, named=True)
        assert (w["lower"], w["upper"]) == (pytest.approx(0.05 - z * wse, abs=1e-9), pytest.approx(0.05 + z * wse, abs=1e-9))
        u = change_at(ev, Setting(Fraction(1, 2), confidence, False)).row(0, named=True)
        # Unweighted: unpooled Wald SE of the unweighted shares 0.40 (n 200) and 0.45 (n 210).
        se = (0.40 * 0.60 / 200 + 0.45 * 0.55 / 210) ** 0.5
        assert u["value"] == pytest.approx(0.05)
        assert (u["lower"], u["upper"]) == (pytest.approx(0.05 - z * se, abs=1e-9), pytest.approx(0.05 + z * se, abs=1e-9))
