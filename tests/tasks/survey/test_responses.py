"""The pseudonymised wide responses between steps: stored item names and the published tables."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study_config import Variable
from schemas.survey import Respondents, Responses
from tasks.privacy import pseudonym
from tasks.survey.cleaning import MEMBER, RESPONSE
from tasks.survey.instrument import ROW, choice_column, value_column
from tasks.survey.responses import (
    ATTRIBUTES,
    item_columns,
    recoded_items,
    removed_table,
    respondents_table,
    responses_table,
)

KEY = b"k"
VARIABLES = {
    "role": Variable(type="single_choice", question="q", column="Q1", labels={"1": "a"}, waves=["w1"]),
    "with": Variable(
        type="multiple_choice", question="q", column="Q2_{code}", labels={"1": "A", "2": "B"}, waves=["w1"]
    ),
}


def _kept() -> pl.DataFrame:
    return pl.DataFrame(
        {
            ROW: [1, 3],
            RESPONSE: ["r1", "r3"],
            MEMBER: ["m1", None],
            "status": ["IP Address", "IP Address"],
            "site_id": ["A", "B"],
            "role": ["gp", "gp"],
            "role_group": ["gp", "gp"],
            "finished": [True, None],
            "progress": [100.0, None],
            "partial": [False, True],
            "items": [2, 2],
            "answered": [2, 1],
            "item_missing_share": [0.0, 0.5],
            "straightlined": [False, False],
            "straightlined_grids": [None, None],
            value_column("role"): ["1", None],
            choice_column("with", "1"): [True, False],
            choice_column("with", "2"): [False, True],
        }
    )


def test_items_are_stored_under_names_no_attribute_can_take() -> None:
    # A variable may be called like an attribute ("role"): its stored name still differs.
    assert item_columns(VARIABLES) == {
        value_column("role"): "item:role",
        choice_column("with", "1"): "item:with:1",
        choice_column("with", "2"): "item:with:2",
    }


def test_responses_hold_pseudonyms_and_round_trip_to_the_recoded_items() -> None:
    kept = _kept()
    responses = responses_table(kept, VARIABLES, KEY)
    assert responses.columns == [*ATTRIBUTES, "item:role", "item:with:1", "item:with:2"]
    assert responses["respondent_id"].to_list() == [pseudonym("r1", KEY, "R"), pseudonym("r3", KEY, "R")]
    assert responses["member_id"].to_list() == [pseudonym("m1", KEY, "P"), None]
    Responses.validate(responses)
    back = recoded_items(responses, VARIABLES)
    items = list(item_columns(VARIABLES))
    assert back.select(items).equals(kept.select(items))


def test_an_export_column_cannot_ride_along_in_the_responses() -> None:
    responses = responses_table(_kept(), VARIABLES, KEY).with_columns(pl.lit("r1").alias(RESPONSE))
    with pytest.raises(Exception, match="only_items"):
        Responses.validate(responses)


def test_published_tables_from_the_responses() -> None:
    responses = responses_table(_kept(), VARIABLES, KEY)
    respondents = respondents_table(responses, pl.Series([1.5, 0.5]), "w1")
    Respondents.validate(respondents)
    assert respondents["weight"].to_list() == [1.5, 0.5] and set(respondents["wave"]) == {"w1"}
    removed = pl.DataFrame(
        {ROW: [2, 4], RESPONSE: ["r2", None], "step": ["s", "t"], "reason": ["a", "b"], "detail": [None, "x"]}
    )
    table = removed_table(removed, "w1", KEY)
    assert table.columns == ["wave", "row", "respondent_id", "step", "reason", "detail"]
    assert table["respondent_id"].to_list() == [pseudonym("r2", KEY, "R"), None]
