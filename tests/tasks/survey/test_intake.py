"""The wave's intake: which export columns may be used, and every input row accounted for."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study_config import RespondentConfig, Variable
from tasks.ingest.survey_export import SurveyExport
from tasks.survey.intake import intake_table, mapping_columns, usable_export

RESPONDENT = RespondentConfig(
    id_column="ResponseId", site_column="site", role_column="role", role_codes={},
    member_column="ExternalReference",
)
VARIABLES = {"q1": Variable(type="free_text", question="Why?", column="Q1", waves=["w1"])}


def _export(identifying: set[str]) -> SurveyExport:
    data = pl.DataFrame(
        {c: ["x"] for c in ("ResponseId", "ExternalReference", "site", "role", "Email", "Q1")}
    )
    columns = pl.DataFrame({"column": data.columns, "identifying": [c in identifying for c in data.columns]})
    return SurveyExport("csv", data, columns, (), pl.DataFrame())


def test_identifying_columns_are_dropped_unless_they_map_respondents() -> None:
    export = _export({"ResponseId", "ExternalReference", "Email"})
    kept = usable_export(export, VARIABLES, "w1", RESPONDENT)
    assert kept.columns == ["ResponseId", "ExternalReference", "site", "role", "Q1"]
    assert mapping_columns(RESPONDENT) == {"ResponseId", "ExternalReference", "site", "role"}


def test_an_item_in_an_identifying_column_is_refused() -> None:
    with pytest.raises(ValueError, match="identifying: Q1"):
        usable_export(_export({"Q1"}), VARIABLES, "w1", RESPONDENT)


def test_intake_refuses_rows_that_went_missing() -> None:
    table = intake_table("w1", [("roster", "r.csv", 10, 7, 3)])
    assert table.row(0) == ("w1", "roster", "r.csv", 10, 7, 3)
    with pytest.raises(AssertionError, match="r.csv: 10 rows in but 7 kept \\+ 2 quarantined"):
        intake_table("w1", [("roster", "r.csv", 10, 7, 2)])
