"""Joint displays, meta-matrix and convergence on tiny frames with hand-checked values."""

from __future__ import annotations

from types import ModuleType

import polars as pl
import pytest

from schemas.datasets import model_for
from tasks.triangulation.displays import Triangulation, join_review, meta_matrix, triangulate
from tasks.triangulation.qualitative import PropositionError, resolve_theme


def _run(tf: ModuleType, props: list, **tables: list) -> Triangulation:
    survey = tf.survey_tables(
        tables.get("estimates", [tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69),
                                 tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)]),
        tables.get("changes", []), tables.get("associations", []), tables.get("freetext", []),
    )
    result = triangulate(props, tf.variables(), tf.qual_tables(), survey)
    for name, frame in (("joint_displays", result.joint_displays), ("meta_matrix", result.meta_matrix),
                        ("convergence", result.convergence)):
        model_for(f"triangulation.{name}").validate(frame, lazy=True)
    return result


def _conv(result: Triangulation, pid: str) -> dict:
    return result.convergence.filter(pl.col("proposition_id") == pid).row(0, named=True)


def test_agreement_with_hand_checked_joint_display(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context"], compare_waves=True)],
                  changes=[tf.change("influence", -0.04, -0.10, 0.02)])
    conv = _conv(result, "p1")
    assert (conv["cases_present"], conv["cases_total"]) == (3, 4)
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == ("supported", "convergent", "agreement")
    assert conv["reviewer_status"] == "unreviewed" and conv["reviewer_note"] is None
    assert conv["quant_headline"] == "influence = My CCG: w1 62.0% (55.0%–69.0%); w2 58.0% (52.0%–64.0%)"
    jd = result.joint_displays
    assert jd["order"].to_list() == [1, 2, 3, 4, 5, 6]
    assert jd["strand"].to_list() == ["qual", "qual", "qual", "quant", "quant", "quant"]
    qual = jd.row(0, named=True)
    # A: 3 + 2, B: 4, C: 1 codings under the theme; D has none.
    assert (qual["item"], qual["value"], qual["cases"], qual["n"]) == ("theme: Political context", 10.0, 3, 4)
    assert qual["detail"] == "10 codings in 3 of 4 cases (A, B, C); 3 code(s)"
    w1 = jd.row(3, named=True)
    assert (w1["wave"], w1["value"], w1["lower"], w1["upper"], w1["n"]) == ("w1", 0.62, 0.55, 0.69, 200)
    change = jd.row(5, named=True)
    assert change["measure"] == "difference"
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
    assert (conv["cases_present"], conv["qual_support"], conv["quant_result"], conv["convergence"]) == (
        0, "absent", "convergent", "silence")


def test_differs_by_group_uses_the_test_and_partial_support(tf: ModuleType) -> None:
    est = [tf.estimate("w1", "influence", "key", "1", 0.5, 0.43, 0.57),
           tf.estimate("w1", "influence", "key", "1", 0.7, 0.6, 0.8, breakdown="role", group="chair", n=40),
           tf.estimate("w1", "influence", "key", "1", 0.4, 0.3, 0.5, breakdown="role", group="gp", n=160)]
    result = _run(tf, [tf.proposition("p5", ["Time pressure"], expect="differs_by_group", breakdown="role")],
                  estimates=est, associations=[tf.association("w1", "influence", 0.012, 0.24)])
    conv = _conv(result, "p5")
    # "Time pressure" is a category: only case A codes it.
    assert (conv["cases_present"], conv["qual_support"]) == (1, "partial")
    assert (conv["quant_result"], conv["convergence"]) == ("convergent", "partial agreement")
    jd = result.joint_displays.filter(pl.col("strand") == "quant")
    assert jd.filter(pl.col("group") == "chair")["value"].to_list() == [0.7]
    test = jd.filter(pl.col("measure") == "p_value").row(0, named=True)
    assert test["value"] == 0.012
    assert test["item"] == "influence (all answers) by role (w1)"
    assert "Cramér's V 0.24" in test["detail"] and "statistic 11.50, df 4" in test["detail"]


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
    result = _run(tf, [tf.proposition("p8", ["side-lined"], variable="obstacles", codes=["time"])],
                  freetext=[ft("w1", 92, 100, 0.92, 0.85, 0.96), ft("w2", 80, 100, 0.80, 0.71, 0.87)])
    conv = _conv(result, "p8")
    # "side-lined" matches the code "Side-lined" ignoring case: cases A and B, 2 of 4 → supported.
    assert (conv["qual_support"], conv["quant_result"], conv["convergence"]) == ("supported", "convergent", "agreement")
    change = result.joint_displays.filter(pl.col("measure") == "difference").row(0, named=True)
    assert change["value"] == pytest.approx(-0.12)
    # Wald interval of p2 - p1: -0.12 ± 1.96·sqrt(.92·.08/100 + .8·.2/100)
    half = 1.959963984540054 * ((0.92 * 0.08 + 0.8 * 0.2) / 100) ** 0.5
    assert (change["lower"], change["upper"]) == (pytest.approx(-0.12 - half), pytest.approx(-0.12 + half))


def test_strongest_quotes_are_the_redacted_ones_from_two_cases(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context"])])
    quotes = result.joint_displays.filter(pl.col("measure") == "quote")
    assert quotes["item"].to_list() == ["quote A|Political context|1", "quote B|Political context|1"]
    assert quotes["detail"].to_list() == [
        "“The STP meets without [REDACTED] and decides.” (A, chair, interview)",
        "“[REDACTED] said the CCG no longer leads.” (B, chair, interview)",
    ]


def test_meta_matrix_has_every_case(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context", "Time pressure"])])
    meta = result.meta_matrix
    assert meta["case"].to_list() == ["A", "B", "C", "D"]
    assert meta["codings"].to_list() == [6, 4, 1, 0]
    assert meta["present"].to_list() == [True, True, True, False]
    assert set(meta["themes"]) == {"Political context; Alliance leadership/Time pressure"}
    assert set(meta["convergence"]) == {"agreement"}
    items = result.joint_displays.filter(pl.col("measure") == "codings")["item"].to_list()
    assert items == ["theme: Political context", "category: Alliance leadership/Time pressure", "all themes together"]


def test_meta_matrix_takes_the_coding_from_the_convergence_table(tf: ModuleType) -> None:
    props = [tf.proposition("p1", ["Political context"]), tf.proposition("p2", ["Heroic leadership"])]
    result = _run(tf, props)
    # The meta-matrix repeats what the convergence table says: a changed row shows up there.
    conv = result.convergence.with_columns(pl.lit("inconclusive").alias("quant_result"))
    meta = meta_matrix(props, tf.codebook(), tf.matrix(), conv)
    assert set(meta["quant_result"]) == {"inconclusive"}
    assert meta.drop("quant_result").equals(result.meta_matrix.drop("quant_result"))
    with pytest.raises(PropositionError, match="'p2' is missing from the convergence table"):
        meta_matrix(props, tf.codebook(), tf.matrix(), result.convergence.head(1))


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


def test_review_join_confirmed_disputed_and_unreviewed(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition(p, ["Political context"]) for p in ("p1", "p2", "p3")])
    review = pl.DataFrame({"proposition_id": ["p2", "p1", "gone"], "status": ["Disputed", "confirmed", "confirmed"],
                           "note": ["CI too wide", None, "old"]})
    joined, notes = join_review(result.convergence, review)
    assert joined["proposition_id"].to_list() == ["p1", "p2", "p3"]
    assert joined["reviewer_status"].to_list() == ["confirmed", "disputed", "unreviewed"]
    assert joined["reviewer_note"].to_list() == [None, "CI too wide", None]
    assert joined.drop("reviewer_status", "reviewer_note").equals(result.convergence.drop("reviewer_status", "reviewer_note"))
    assert notes == ["review/triangulation.csv: line 4 names no current proposition ('gone'); ignored"]


def test_review_with_a_bad_status_is_refused(tf: ModuleType) -> None:
    result = _run(tf, [tf.proposition("p1", ["Political context"])])
    with pytest.raises(ValueError, match=r"line 2 \(p1\): status 'maybe' must be one of confirmed, disputed"):
        join_review(result.convergence, pl.DataFrame({"proposition_id": ["p1"], "status": ["maybe"]}))
    with pytest.raises(ValueError, match="missing column"):
        join_review(result.convergence, pl.DataFrame({"proposition_id": ["p1"]}))


def test_identical_quote_texts_are_not_repeated(tf: ModuleType) -> None:
    quotes = pl.concat([tf.quotes(), pl.DataFrame([tf.quote("C", "Political context", 1, "Political context/STPs",
                                                           "The STP meets without [REDACTED] and decides.", 80)])])
    qual = tf.qual_tables()
    qual = type(qual)(codebook=qual.codebook, matrix=qual.matrix, quotes=quotes)
    survey = tf.survey_tables([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69)])
    result = triangulate([tf.proposition("p1", ["Political context"])], tf.variables(), qual, survey)
    shown = result.joint_displays.filter(pl.col("measure") == "quote")["item"].to_list()
    assert shown == ["quote A|Political context|1", "quote B|Political context|1"]


def test_free_text_by_group_is_tested_here(tf: ModuleType) -> None:
    def ft(group: str, count: int, answers: int) -> dict:
        share = count / answers
        return {"wave": "w1", "dictionary": "obstacles", "variable": "obstacles", "category": "time",
                "label": "Lack of time", "breakdown": "all" if group == "all" else "role", "group": group,
                "answers": answers, "count": count, "share": share, "lower": share / 2, "upper": min(1.0, share * 1.2)}
    result = _run(tf, [tf.proposition("p8", ["Political context"], variable="obstacles", codes=["time"],
                                      breakdown="role", expect="differs_by_group")],
                  freetext=[ft("all", 90, 150), ft("chair", 45, 50), ft("gp", 45, 100)])
    test = result.joint_displays.filter(pl.col("measure") == "p_value").row(0, named=True)
    # 2 x 2 table [[45, 5], [45, 55]]: Pearson chi-square 28.125 (df 1), p = 1.1e-07.
    assert test["item"] == "obstacles = Lack of time by role (w1)"
    assert "chi_square: statistic 28.12, df 1" in test["detail"] and "p = 1.14e-07" in test["detail"]
    assert test["value"] < 0.001
    assert _conv(result, "p8")["quant_result"] == "convergent"
