"""The wave's analysis file, read back with pyreadstat (.sav, .dta) and pyarrow (parquet)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pyreadstat
import pytest

from schemas.study_config import Variable
from tasks.survey.analysis_file import analysis_file

VARIABLES = {
    "influence_body": Variable(type="single_choice", question="Which body has most influence?",
                               column="Q5", waves=["w1"],
                               labels={"1": "My CCG", "2": "NHS England", "3": "Collaboration"}),
    "agree": Variable(type="likert", question="GPs lead", column="Q6", waves=["w1"],
                      labels={"sd": "Strongly disagree", "n": "Neutral", "sa": "Strongly agree"}),
    "areas": Variable(type="multiple_choice", question="Areas worked on", column="Q7_{code}",
                      waves=["w1"], labels={"1": "Urgent care", "2": "Mental health"}),
    "hours": Variable(type="numeric", question="Hours a week", column="Q8", waves=["w1"]),
    "why": Variable(type="free_text", question="Why?", column="Q9", waves=["w1"]),
}
RESPONSES = pl.DataFrame({
    "respondent_id": ["R000000000001", "R000000000002", "R000000000003"],
    "member_id": ["P000000000001", None, "P000000000003"],
    "site_id": ["S1", "S1", "S2"],
    "role": ["chair", "gp_member", "lay_member"],
    "role_group": ["gp", "gp", "other"],
    "item:influence_body": ["2", None, "3"],
    "item:agree": ["sa", "sd", None],
    "item:areas:1": [True, False, True],
    "item:areas:2": [False, False, True],
    "item:hours": [4.5, None, 10.0],
    "item:why": ["Because Dr Example said so", None, "time"],
})
RESPONDENTS = pl.DataFrame({
    "respondent_id": ["R000000000003", "R000000000001", "R000000000002"],
    "weight": [0.5, 1.25, 2.0],
})
COLUMNS = ["wave", "respondent_id", "member_id", "site_id", "role", "role_group", "weight",
           "influence_body", "agree", "areas_1", "areas_2", "hours"]


def _read(data: bytes, suffix: str, reader):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"f{suffix}"
        path.write_bytes(data)
        return reader(str(path))


@pytest.mark.parametrize(("attr", "reader"), [("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)])
def test_spss_and_stata_files_read_back_with_labels(attr: str, reader) -> None:
    made = analysis_file(RESPONSES, RESPONDENTS, VARIABLES, "w1")
    frame, meta = _read(getattr(made, attr), f".{attr}", reader)
    assert list(frame.columns) == COLUMNS  # free text is left out
    assert frame["respondent_id"].tolist() == RESPONSES["respondent_id"].to_list()
    assert frame["weight"].tolist() == [1.25, 2.0, 0.5]  # joined by pseudonym, not by position
    assert frame["influence_body"].tolist()[0] == 2 and frame["influence_body"].isna().tolist()[1]
    # Likert codes that are not integers are stored as their position in the labels.
    assert frame["agree"].tolist()[:2] == [3, 1]
    assert frame["areas_1"].tolist() == [1, 0, 1] and frame["areas_2"].tolist() == [0, 0, 1]
    assert frame["hours"].tolist()[0] == 4.5
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["influence_body"] == "Which body has most influence?"
    assert labels["areas_2"] == "Areas worked on [Mental health]"
    assert labels["respondent_id"] == "Respondent (keyed pseudonym)"
    values = meta.variable_value_labels
    assert values["influence_body"] == {1: "My CCG", 2: "NHS England", 3: "Collaboration"}
    assert values["agree"] == {1: "Strongly disagree", 2: "Neutral", 3: "Strongly agree"}
    assert values["areas_1"] == {0: "not chosen", 1: "chosen"}


def test_parquet_carries_the_same_values_and_labels() -> None:
    made = analysis_file(RESPONSES, RESPONDENTS, VARIABLES, "w1")
    table = pq.read_table(io.BytesIO(made.parquet))
    assert table.column_names == COLUMNS
    assert pl.from_arrow(table).equals(made.frame)
    field = table.schema.field("agree")
    assert field.metadata[b"label"] == b"GPs lead"
    assert json.loads(field.metadata[b"value_labels"]) == {
        "1": "Strongly disagree", "2": "Neutral", "3": "Strongly agree"
    }


def test_long_and_clashing_names_are_made_valid_for_stata() -> None:
    long = "a_very_long_variable_name_that_stata_cannot_hold"
    variables = {long: Variable(type="numeric", question="x", column="Q1", waves=["w1"]),
                 long + "_2": Variable(type="numeric", question="y", column="Q2", waves=["w1"])}
    responses = RESPONSES.select("respondent_id", "member_id", "site_id", "role", "role_group").with_columns(
        pl.lit(1.0).alias(f"item:{long}"), pl.lit(2.0).alias(f"item:{long}_2")
    )
    made = analysis_file(responses, RESPONDENTS, variables, "w1")
    names = made.frame.columns[-2:]
    assert all(len(n) <= 32 for n in names) and len(set(names)) == 2
    frame, _ = _read(made.dta, ".dta", pyreadstat.read_dta)
    assert frame[names[1]].tolist() == [2.0, 2.0, 2.0]


def test_labels_table_lists_every_column_and_value_label() -> None:
    from schemas.survey import AnalysisLabels, AnalysisTable

    made = analysis_file(RESPONSES, RESPONDENTS, VARIABLES, "w1")
    AnalysisTable.validate(made.frame, lazy=True)
    labels = made.labels_table()
    AnalysisLabels.validate(labels, lazy=True)
    per_column = labels.filter(pl.col("value").is_null())
    assert per_column["column"].to_list() == COLUMNS
    agree = labels.filter((pl.col("column") == "agree") & pl.col("value").is_not_null())
    assert agree.select("value", "value_label").rows() == [
        (1, "Strongly disagree"), (2, "Neutral"), (3, "Strongly agree")
    ]
