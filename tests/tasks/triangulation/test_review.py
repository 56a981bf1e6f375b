"""The researcher's review: recorded categories, re-review flags, removed propositions, notes kept verbatim."""

from __future__ import annotations

import io
from types import ModuleType

import polars as pl
import pytest

from schemas.datasets import model_for
from tasks.triangulation.displays import convergence_table
from tasks.triangulation.review import ReviewError, join_review, review_table, review_template

# A note with what careless handling would change: surrounding spaces, quotes, a comma, a line
# break, non-ASCII and a trailing tab.
NOTE = '  Checked with the team: "partial" at most, see memo 3,\nrevisit in spring – JL\t'


def _convergence(tf: ModuleType, ids: tuple[str, ...] = ("p1", "p2", "p3")) -> pl.DataFrame:
    survey = tf.survey_tables([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69)])
    return convergence_table([tf.proposition(p, ["Political context"]) for p in ids], tf.variables(),
                             tf.codebook(), tf.matrix(), survey)


def _csv(text: str) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)


def _review_csv(rows: list[tuple[str, str, str, str]]) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\t ') else value
    return "proposition_id,status,category,note\n" + "".join(
        ",".join(cell(v) for v in row) + "\n" for row in rows)


def test_a_confirmed_category_that_still_holds_is_not_flagged(tf: ModuleType) -> None:
    conv = _convergence(tf)
    review = _csv(_review_csv([("p1", "confirmed", "agreement", NOTE)]))
    joined, notes = join_review(conv, review)
    row = joined.row(0, named=True)
    assert (row["reviewer_status"], row["reviewer_category"], row["review_flag"]) == ("confirmed", "agreement", None)
    assert notes == []


def test_a_changed_verdict_needs_re_review_and_the_note_is_kept_byte_for_byte(tf: ModuleType) -> None:
    conv = _convergence(tf)
    assert conv["convergence"].to_list() == ["agreement"] * 3
    text = _review_csv([("p1", "confirmed", "partial agreement", NOTE), ("p2", "Disputed", "agreement", "")])
    raw = text.encode("utf-8")
    joined, notes = join_review(conv, _csv(text))
    p1 = joined.row(0, named=True)
    assert p1["review_flag"] == "needs re-review: confirmed as partial agreement, now proposed agreement"
    assert p1["reviewer_note"] == NOTE
    assert p1["reviewer_note"].encode("utf-8") == NOTE.encode("utf-8")
    assert notes == ["p1: needs re-review: confirmed as partial agreement, now proposed agreement"]
    # The computed columns are untouched by the review.
    review_cols = ["reviewer_status", "reviewer_category", "reviewer_note", "review_flag"]
    assert joined.drop(review_cols).equals(conv.drop(review_cols))
    # Reading the review never changes the file's bytes (the pipeline holds no handle to write it).
    assert text.encode("utf-8") == raw


def test_data_changing_under_a_confirmed_proposition_flags_it(tf: ModuleType) -> None:
    # Confirmed while the survey said 62% (agreement); new data put the share at 52% (inconclusive).
    review = _csv(_review_csv([("p1", "confirmed", "agreement", NOTE)]))
    before = _convergence(tf)
    assert join_review(before, review)[0].item(0, "review_flag") is None
    survey = tf.survey_tables([tf.estimate("w1", "influence", "key", "1", 0.52, 0.46, 0.58)])
    after = convergence_table([tf.proposition("p1", ["Political context"])], tf.variables(), tf.codebook(),
                              tf.matrix(), survey)
    joined, _ = join_review(after, review)
    assert joined.item(0, "convergence") == "partial agreement"
    assert joined.item(0, "review_flag") == "needs re-review: confirmed as agreement, now proposed partial agreement"
    assert joined.item(0, "reviewer_note") == NOTE


def test_a_removed_proposition_keeps_its_review_row_with_a_note(tf: ModuleType) -> None:
    conv = _convergence(tf, ("p1",))
    review = _csv(_review_csv([("gone", "confirmed", "dissonance", NOTE), ("p1", "confirmed", "agreement", "ok")]))
    table = review_table(conv, review)
    model_for("triangulation.review").validate(table, lazy=True)
    assert table["proposition_id"].to_list() == ["p1", "gone"]
    gone = table.row(1, named=True)
    assert (gone["in_study"], gone["line"], gone["status"], gone["recorded_category"], gone["proposed_category"]) == (
        False, 2, "confirmed", "dissonance", None)
    assert gone["flag"] == "proposition removed from study.yaml" and gone["note"] == NOTE
    joined, notes = join_review(conv, review)
    assert joined["proposition_id"].to_list() == ["p1"]
    assert notes == ["review/triangulation.csv: line 2 names proposition 'gone', which is no longer in study.yaml; "
                     "its review row is kept (see the review table)"]


def test_a_review_without_category_asks_for_it(tf: ModuleType) -> None:
    conv = _convergence(tf, ("p1",))
    joined, _ = join_review(conv, pl.DataFrame({"proposition_id": ["p1"], "status": ["confirmed"], "note": ["x"]}))
    assert joined.item(0, "review_flag") == ("category not recorded: add the category you confirmed "
                                             "(agreement is proposed now)")


def test_unreviewed_propositions_are_listed_without_a_file(tf: ModuleType) -> None:
    table = review_table(_convergence(tf, ("p1", "p2")), None)
    assert table["status"].to_list() == ["unreviewed", "unreviewed"]
    assert table["proposed_category"].to_list() == ["agreement", "agreement"]
    model_for("triangulation.review").validate(table, lazy=True)


def test_malformed_reviews_are_refused_naming_line_and_rule(tf: ModuleType) -> None:
    conv = _convergence(tf, ("p1",))
    with pytest.raises(ReviewError, match=r"line 2 \(p1\): status 'maybe' must be one of confirmed, disputed"):
        join_review(conv, pl.DataFrame({"proposition_id": ["p1"], "status": ["maybe"]}))
    with pytest.raises(ReviewError, match=r"line 2 \(p1\): category 'yes' must be one of agreement"):
        join_review(conv, pl.DataFrame({"proposition_id": ["p1"], "status": ["confirmed"], "category": ["yes"]}))
    with pytest.raises(ReviewError, match="missing column"):
        join_review(conv, pl.DataFrame({"proposition_id": ["p1"]}))
    with pytest.raises(ReviewError, match="'p1' is reviewed more than once"):
        join_review(conv, pl.DataFrame({"proposition_id": ["p1", "p1"], "status": ["confirmed", "disputed"]}))


def test_the_template_fills_in_the_proposed_categories(tf: ModuleType) -> None:
    assert review_template(_convergence(tf, ("p1", "p2"))).splitlines() == [
        "proposition_id,status,category,note", "p1,confirmed,agreement,", "p2,confirmed,agreement,"]
