"""SPSS .sav survey exports: values as export text, variable labels as questions, value labels as choices."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat
import pytest

from tasks.ingest.errors import InputError
from tasks.ingest.spss import read_sav, sav_text, value_labels
from tasks.ingest.survey_export import read_survey_export


def _sav(tmp_path: Path) -> bytes:
    frame = pd.DataFrame({
        "ResponseId": ["R_1", "R_2", "R_3"],
        "Status": [0.0, 1.0, 0.0],
        "ExternalReference": ["M1", "", "M3"],
        "Q1": [4.0, float("nan"), 2.5],
        "RecipientEmail": ["a@example.org", "b@example.org", ""],
    })
    path = tmp_path / "w1.sav"
    pyreadstat.write_sav(
        frame, str(path),
        column_labels=["Response ID", "Response type", "External reference", "How much do you trust the board?",
                       "Email"],
        variable_value_labels={"Status": {0: "IP Address", 1: "Survey Preview"},
                               "Q1": {1: "Not at all", 2: "A little", 4: "A lot"}},
    )
    return path.read_bytes()


def test_sav_values_read_as_export_text(tmp_path: Path) -> None:
    export = read_sav(_sav(tmp_path), "w1.sav")
    assert export.format == "spss"
    assert export.data.rows() == [
        ("R_1", "0", "M1", "4", "a@example.org"),
        ("R_2", "1", None, None, "b@example.org"),
        ("R_3", "0", "M3", "2.5", None),
    ]
    assert export.columns.select("column", "question_text").rows()[3] == ("Q1", "How much do you trust the board?")
    assert export.identifying_columns == ["RecipientEmail"]


def test_value_labels_become_answer_labels(tmp_path: Path) -> None:
    export = read_survey_export(_sav(tmp_path), "w1.sav", "spss")
    assert value_labels(export, "Q1") == {"1": "Not at all", "2": "A little", "4": "A lot"}
    assert value_labels(export, "Status") == {"0": "IP Address", "1": "Survey Preview"}
    assert value_labels(export, "ResponseId") == {}


def test_a_sav_read_as_another_format_or_a_csv_read_as_spss_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r'w1.sav: format: an SPSS .sav export must be read as format "spss"'):
        read_survey_export(_sav(tmp_path), "w1.sav", "qualtrics")
    with pytest.raises(InputError, match=r"w1.csv: byte 0: an SPSS export must be a .sav system file"):
        read_survey_export(b"a,b\n1,2\n", "w1.csv", "spss")
    with pytest.raises(InputError, match="must be a readable SPSS system file"):
        read_sav(b"$FL2" + b"\0" * 40, "cut.sav")


def test_sav_text_keeps_whole_numbers_whole() -> None:
    assert [sav_text(v) for v in (3.0, 2.5, float("nan"), None, "  ", "x")] == ["3", "2.5", None, None, None, "x"]


def test_spss_status_codes_are_read_by_their_value_labels(tmp_path: Path) -> None:
    from tasks.survey.cleaning import normalise_status

    export = read_sav(_sav(tmp_path), "w1.sav")
    labels = value_labels(export, "Status")
    status = normalise_status(export.data["Status"], "spss", "Status", labels)
    assert status.to_list() == ["IP Address", "Survey Preview", "IP Address"]
    assert isinstance(status, pl.Series)


def test_sav_answer_labels_that_study_yaml_does_not_share_are_noted(tmp_path: Path) -> None:
    from schemas.study_config import Variable
    from tasks.survey.intake import value_label_notes

    export = read_sav(_sav(tmp_path), "w1.sav")
    variables = {"trust": Variable(type="likert", question="Trust?", column="Q1", waves=["w1"],
                                   labels={"1": "Not at all", "2": "A LITTLE ", "3": "Some", "4": "A great deal"})}
    assert value_label_notes(export, variables, "w1", "w1.sav") == [
        "w1.sav: 'Q1' labels code 4 'A lot', but survey.variables.trust.labels says 'A great deal'",
    ]
    variables["trust"] = variables["trust"].model_copy(update={"labels": {"1": "Not at all", "2": "A little"}})
    assert value_label_notes(export, variables, "w1", "w1.sav") == [
        "w1.sav: 'Q1' labels code 4 'A lot', which survey.variables.trust.labels does not declare "
        "(declare it, or list it in missing_codes)",
    ]
