"""Recoding per instrument and the counted cleaning steps."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study_config import RespondentConfig, RoleConfig, Variable
from schemas.survey import Answers, Cleaning
from tasks.survey.cleaning import RESPONSE, clean_export, normalise_status
from tasks.survey.instrument import (
    ROW,
    answers_long,
    choice_column,
    recode,
    scores,
    value_column,
)

ROLES = {
    "gp": RoleConfig(label="GP member", group="gp"),
    "mgr": RoleConfig(label="Manager", group="manager"),
}
LIKERT = {str(s): f"level {s}" for s in range(1, 6)}
VARIABLES = {
    "body": Variable(
        type="single_choice",
        question="Body?",
        column="Q1",
        labels={"1": "My CCG", "2": "NHS England"},
        missing_codes=["99"],
        waves=["w1"],
    ),
    "with": Variable(
        type="multiple_choice",
        question="With?",
        column="Q2_{code}",
        labels={"1": "A", "2": "B"},
        waves=["w1"],
    ),
    **{
        f"g{i}": Variable(
            type="likert",
            question=f"g{i}",
            column=f"G{i}",
            labels=LIKERT,
            waves=["w1"],
            grid="grid",
        )
        for i in range(1, 5)
    },
    "years": Variable(
        type="numeric", question="Years", column="Q4", missing_codes=["-1"], waves=["w1"]
    ),
    "why": Variable(type="free_text", question="Why?", column="Q5", waves=["w1"]),
}
RESPONDENT = RespondentConfig(
    id_column="ResponseId",
    site_column="site",
    role_column="role",
    role_codes={"1": "gp", "2": "mgr"},
    member_column="ExternalReference",
    status_column="Status",
    submitted_column="RecordedDate",
    finished_column="Finished",
    progress_column="Progress",
)


def _row(rid: str, **kw: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "ResponseId": rid,
        "ExternalReference": None,
        "Status": "IP Address",
        "site": "A",
        "role": "1",
        "RecordedDate": "2014-05-01 10:00:00",
        "Finished": "True",
        "Progress": "100",
        "Q1": "1",
        "Q2_1": "1",
        "Q2_2": None,
        "G1": "2",
        "G2": "3",
        "G3": "4",
        "G4": "5",
        "Q4": "3",
        "Q5": "busy",
        "RecipientEmail": "x@example.org",
    }
    return base | kw


ROWS = [
    _row("r1"),
    _row("r2", Status="1"),  # numeric preview code
    _row("r3", Status="spam"),  # lower-case label
    _row("r4", site="Z"),  # unknown site
    _row("r5", role="7"),  # unknown role code
    _row(
        "r6", ExternalReference="m1", Q1=None, RecordedDate="2014-05-09 10:00:00"
    ),  # later, less complete
    _row("r7", ExternalReference="m1", RecordedDate="2014-05-02 10:00:00"),  # kept: more complete
    _row("r8", ExternalReference="m2", RecordedDate="2014-05-01 10:00:00"),
    _row(
        "r9", ExternalReference="m2", RecordedDate="2014-05-03 10:00:00"
    ),  # kept: equally complete, later
    _row("r10", G1="3", G2="3", G3="3", G4="3"),  # straight-liner
    _row(
        "r11",
        Q1="99",
        Q2_1=None,
        G3=None,
        G4=None,
        Q4="-1",
        Q5=None,
        Finished="False",
        Progress="40",
    ),
    _row("r12", Q1="nhs england", Q4="abc", role="Manager"),  # a label for a code; a non-number
    _row(None),  # no response id
    _row("r1"),  # the same response exported twice
]


def _frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={k: pl.String for k in rows[0]})


@pytest.fixture(scope="module")
def cleaned():
    """The cleaning of the hand-made export."""
    return clean_export(
        _frame(ROWS),
        respondent=RESPONDENT,
        roles=ROLES,
        variables=VARIABLES,
        wave="w1",
        export_format="qualtrics",
        site_ids=pl.Series(["A", "B"]),
        straightlining_min_items=4,
    )


def test_rows_in_equal_kept_plus_removed(cleaned) -> None:
    assert cleaned.rows_in == len(ROWS)
    assert cleaned.kept.height + cleaned.removed.height == len(ROWS)
    steps = cleaned.steps
    Cleaning.validate(steps.with_columns(pl.lit("w1").alias("wave")), lazy=True)
    assert steps["rows_out"][-1] == cleaned.kept.height
    assert steps.filter(pl.col("removed") > 0)["removed"].sum() == cleaned.removed.height
    # Each step starts from where the previous one ended.
    assert steps["rows_in"][1:].to_list() == steps["rows_out"][:-1].to_list()


def test_each_row_removed_for_its_reason(cleaned) -> None:
    reasons = dict(
        zip(cleaned.removed[RESPONSE].to_list(), cleaned.removed["reason"].to_list(), strict=False)
    )
    assert reasons == {
        "r2": "excluded status",
        "r3": "excluded status",
        "r4": "unknown site",
        "r5": "unknown role code",
        "r6": "duplicate submission",
        "r8": "duplicate submission",
        "r1": "duplicate response id",
        None: "missing response id",
    }
    assert cleaned.removed.filter(pl.col(RESPONSE) == "r4")["detail"].to_list() == ["Z"]
    assert cleaned.removed.filter(pl.col(RESPONSE) == "r5")["detail"].to_list() == ["7"]
    # The two r1 rows are equally complete and timed: the later in the export is kept.
    assert cleaned.removed.filter(pl.col(RESPONSE) == "r1")[ROW].to_list() == [1]


def test_kept_rows_recoded(cleaned) -> None:
    kept = cleaned.kept.sort(RESPONSE)
    by_id = {r[RESPONSE]: r for r in kept.iter_rows(named=True)}
    assert sorted(by_id) == sorted(["r1", "r7", "r9", "r10", "r11", "r12"])
    assert by_id["r11"][value_column("body")] is None  # missing code -> null
    assert by_id["r11"][value_column("years")] is None
    assert by_id["r11"]["finished"] is False and by_id["r11"]["progress"] == 40.0
    assert by_id["r11"]["answered"] == 2 and by_id["r11"]["items"] == 8
    assert by_id["r12"][value_column("body")] == "2"  # label matched case-insensitively
    assert by_id["r12"]["role"] == "mgr" and by_id["r12"]["role_group"] == "manager"
    assert by_id["r12"][value_column("years")] is None
    assert cleaned.invalid_codes == {"years": 1}
    assert by_id["r10"]["straightlined"] and by_id["r10"]["straightlined_grids"] == "grid"
    assert not by_id["r1"]["straightlined"] and by_id["r1"]["straightlined_grids"] is None
    assert by_id["r1"][choice_column("with", "1")] and not by_id["r1"][choice_column("with", "2")]
    partial = cleaned.steps.filter(pl.col("step") == "partial")["flagged"].item()
    # Partial by the export's Finished flag: r11 only, although r12 skipped an item too.
    assert partial == 1 and kept.filter(pl.col("partial"))[RESPONSE].to_list() == ["r11"]
    assert kept.filter(pl.col("answered") < pl.col("items")).height == 2


def test_missing_export_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"'site'.*body \(column 'Q1'\)"):
        clean_export(
            _frame(ROWS).drop("site", "Q1"),
            respondent=RESPONDENT,
            roles=ROLES,
            variables=VARIABLES,
            wave="w1",
            export_format="qualtrics",
            site_ids=pl.Series(["A"]),
            straightlining_min_items=4,
        )


def test_status_labels_per_format() -> None:
    values = pl.Series(["0", "1", "Spam", None, "8"])
    assert normalise_status(values, "qualtrics", "Status").to_list() == [
        "IP Address",
        "Survey Preview",
        "Spam",
        None,
        "Spam",
    ]
    assert normalise_status(pl.Series(["0", "2"]), "redcap", "survey_complete").to_list() == [
        "Incomplete",
        "Complete",
    ]
    assert normalise_status(pl.Series([" x "]), "csv", "status").to_list() == ["x"]


def test_partial_without_finished_flag_uses_progress_then_items() -> None:
    respondent = RESPONDENT.model_copy(update={"finished_column": None})
    result = clean_export(
        _frame(ROWS),
        respondent=respondent,
        roles=ROLES,
        variables=VARIABLES,
        wave="w1",
        export_format="qualtrics",
        site_ids=pl.Series(["A"]),
        straightlining_min_items=4,
    )
    assert result.kept.filter(pl.col("partial"))[RESPONSE].to_list() == ["r11"]
    respondent = respondent.model_copy(update={"progress_column": None})
    result = clean_export(
        _frame(ROWS),
        respondent=respondent,
        roles=ROLES,
        variables=VARIABLES,
        wave="w1",
        export_format="qualtrics",
        site_ids=pl.Series(["A"]),
        straightlining_min_items=4,
    )
    assert sorted(result.kept.filter(pl.col("partial"))[RESPONSE].to_list()) == ["r11", "r12"]


def test_straightlining_needs_enough_items() -> None:
    result = clean_export(
        _frame(ROWS),
        respondent=RESPONDENT,
        roles=ROLES,
        variables=VARIABLES,
        wave="w1",
        export_format="qualtrics",
        site_ids=pl.Series(["A"]),
        straightlining_min_items=5,
    )
    assert not result.kept["straightlined"].any()


def test_answers_long_one_row_per_item(cleaned) -> None:
    kept = cleaned.kept.with_columns(pl.col(RESPONSE).alias("rid"))
    answers = answers_long(kept, VARIABLES, "w1", "rid")
    per = answers.group_by("respondent_id", "variable").len()
    # Single-column items once; multiple choice once per chosen code, or once as missing.
    assert per.filter(pl.col("variable") != "with")["len"].max() == 1
    assert "why" not in answers["variable"].to_list()
    r11 = answers.filter(pl.col("respondent_id") == "r11")
    assert r11.filter(pl.col("variable") == "with")["missing"].to_list() == [True]
    assert r11.filter(pl.col("variable") == "g3")["missing"].to_list() == [True]
    g1 = answers.filter((pl.col("respondent_id") == "r1") & (pl.col("variable") == "g1")).row(
        0, named=True
    )
    assert g1["code"] == "2" and g1["label"] == "level 2" and g1["value"] == 2.0
    Answers.validate(
        answers.with_columns(
            pl.format("R{}", pl.col("respondent_id").str.slice(1).str.zfill(12)).alias(
                "respondent_id"
            )
        ),
        lazy=True,
    )


def test_recode_counts_undeclared_codes() -> None:
    frame = pl.DataFrame({ROW: [1, 2, 3], "Q1": ["1", "7", "99"]}).with_columns(
        pl.col(ROW).cast(pl.Int64)
    )
    out = recode(frame, {"body": VARIABLES["body"]}, "w1")
    assert out.frame[value_column("body")].to_list() == ["1", None, None]
    assert out.invalid == {"body": 1}


def test_likert_scores_numeric_or_rank() -> None:
    assert scores(VARIABLES["g1"]) == {str(s): float(s) for s in range(1, 6)}
    words = Variable(
        type="likert", question="q", column="c", labels={"lo": "Low", "hi": "High"}, waves=["w1"]
    )
    assert scores(words) == {"lo": 1.0, "hi": 2.0}
