"""Tests for tasks.ingest.redcap: the real REDCap samples, dictionaries and bad input."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.demo.exports import RedcapField, write_redcap_csv, write_redcap_dictionary
from tasks.ingest.errors import InputError
from tasks.ingest.redcap import read_redcap_csv, read_redcap_dictionary, redcap_complete_label
from tasks.ingest.survey_export import read_survey_export
from tests.tasks.ingest.survey_samples import column_row

# --- REDCap: the real samples ---------------------------------------------------------------


def test_redcap_sample(redcap_sample: bytes) -> None:
    export = read_survey_export(redcap_sample, "REDCapR-survey-data.csv", "redcap")
    assert export.format == "redcap"
    assert export.data.shape == (2, 33)
    assert export.data["participant_id"].to_list() == ["1", "2"]
    assert export.data["email"].to_list() == ["aaa@bbb.com", "ccc@ddd.com"]
    assert export.data["prescreening_survey_complete"].to_list() == ["2", "2"]
    assert [redcap_complete_label(v) for v in export.data["participant_info_survey_complete"]] == [
        "Incomplete",
        "Incomplete",
    ]
    consent = column_row(export.columns, "consent___1")
    assert (consent["field"], consent["choice"], consent["export_tag"]) == (
        "consent",
        "1",
        "consent___1",
    )
    assert export.data["consent___1"].to_list() == ["1", "0"]
    assert column_row(export.columns, "has_diabetes")["field"] == "has_diabetes"
    assert export.columns["question_text"].null_count() == 33
    assert export.choices.is_empty()


def test_redcap_not_completed_becomes_null(redcap_sample: bytes) -> None:
    assert b"[not completed]" in redcap_sample
    export = read_redcap_csv(redcap_sample, "REDCapR-survey-data.csv")
    assert export.data["participant_morale_questionnaire_timestamp"].to_list() == [None, None]
    assert export.notes == (
        "replaced 1 '[not completed]' value(s) with null (a survey not finished): "
        "participant_morale_questionnaire_timestamp (1)",
    )


def test_redcap_sample_identifying_columns(redcap_sample: bytes) -> None:
    export = read_redcap_csv(redcap_sample, "REDCapR-survey-data.csv")
    assert set(export.identifying_columns) == {
        "redcap_survey_identifier",
        "dob",
        "email",
        "first_name",
        "last_name",
        "address",
        "telephone_1",
    }
    assert column_row(export.columns, "participant_id")["identifying"] is False


def test_redcap_sample_dictionary(redcap_dictionary: bytes) -> None:
    dictionary = read_redcap_dictionary(redcap_dictionary, "REDCapR-checkboxes-dictionary.csv")
    assert dictionary.fields["field"].to_list() == [
        "record_id",
        "check_one",
        "check_two",
        "desired_result",
    ]
    assert dictionary.fields["field_type"].to_list() == ["text", "checkbox", "checkbox", "notes"]
    assert dictionary.choices.rows() == [
        ("check_one", "1", "one"),
        ("check_one", "2", "two"),
        ("check_one", "3", "three"),
        ("check_one", "4", "four"),
        ("check_two", "a", "A"),
        ("check_two", "b", "B"),
        ("check_two", "c", "C"),
        ("check_two", "d", "D"),
        ("check_two", "e", "E"),
    ]


def _checkbox_data(extra: dict[str, list[str | None]] | None = None) -> bytes:
    columns: dict[str, list[str | None]] = {
        "record_id": ["1", "2"],
        **{f"check_one___{c}": ["1", "0"] for c in "1234"},
        **{f"check_two___{c}": ["0", "1"] for c in "abcde"},
        "desired_result": ["all of one", None],
        "form_2_complete": ["2", "0"],
        **(extra or {}),
    }
    return write_redcap_csv(pl.DataFrame(columns, schema={k: pl.String for k in columns}))


def test_redcap_with_dictionary(redcap_dictionary: bytes) -> None:
    export = read_survey_export(
        _checkbox_data(), "checkboxes.csv", "redcap", redcap_dictionary, "dictionary.csv"
    )
    assert export.data.shape == (2, 12)
    check_two_c = column_row(export.columns, "check_two___c")
    assert (check_two_c["field"], check_two_c["choice"], check_two_c["question_text"]) == (
        "check_two",
        "c",
        "check two",
    )
    assert column_row(export.columns, "desired_result")["question_text"] == (
        "What should happen for this participant"
    )
    assert column_row(export.columns, "form_2_complete")["question_text"] is None
    labels = export.columns.join(
        export.choices, left_on=["field", "choice"], right_on=["field", "code"]
    ).select("column", "label")
    assert labels.filter(pl.col("column") == "check_one___3")["label"].to_list() == ["three"]
    assert export.notes == (
        "1 column(s) not in dictionary.csv (REDCap system or form-status columns, or a "
        "dictionary from another project): form_2_complete",
    )


def test_undeclared_checkbox_choice_is_refused(redcap_dictionary: bytes) -> None:
    data = _checkbox_data({"check_one___5": ["0", "1"]})
    with pytest.raises(InputError) as caught:
        read_redcap_csv(data, "checkboxes.csv", redcap_dictionary, "dictionary.csv")
    assert str(caught.value) == (
        'checkboxes.csv: line 1, column 13 "check_one___5": checkbox columns (field___code) must '
        "match a checkbox field and one of its choice codes in the data dictionary "
        '(checkbox field "check_one" has codes 1, 2, 3, 4)'
    )


def test_checkbox_of_undeclared_field_is_refused(
    redcap_sample: bytes, redcap_dictionary: bytes
) -> None:
    with pytest.raises(InputError) as caught:
        read_redcap_csv(redcap_sample, "data.csv", redcap_dictionary, "dictionary.csv")
    assert caught.value.place == 'line 1, column 7 "consent___1"'
    assert caught.value.detail == 'dictionary.csv has no checkbox field "consent"'


def test_bad_form_status_is_refused() -> None:
    data = b"record_id,intake_complete\n1,2\n2,done\n"
    with pytest.raises(InputError) as caught:
        read_redcap_csv(data, "intake.csv")
    assert str(caught.value) == (
        'intake.csv: line 3, column 2 "intake_complete": form status columns (*_complete) must '
        "hold 0, 1 or 2 (found 'done'; 1 such value(s) on lines 3)"
    )


def test_bad_dictionary_choices_are_refused() -> None:
    dictionary = write_redcap_dictionary([RedcapField("q", "f", "radio", "Q", (("1", "one"),))])
    broken = dictionary.replace(b"1, one", b"1, one | two")
    with pytest.raises(InputError) as caught:
        read_redcap_dictionary(broken, "dict.csv")
    assert str(caught.value) == (
        'dict.csv: line 2, field "q": choices must read "code, label | code, label" (found \'two\')'
    )


def test_dictionary_without_standard_header_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        read_redcap_dictionary(b"name,type\nq,text\n", "dict.csv")
    assert caught.value.rule == "a REDCap data dictionary needs the standard column headers"
    assert caught.value.detail.endswith("found: name, type")
