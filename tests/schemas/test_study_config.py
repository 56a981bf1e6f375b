"""study.yaml validation: errors name the key and what was expected."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.study_config import ConfigError, load_study_config, parse_study_config

MINIMAL: dict[str, Any] = {
    "study": {"id": "schools", "title": "Leadership in schools"},
    "roles": {"head": {"label": "Head teacher", "group": "leader"}},
    "sites": {"path": "sites.csv", "id_column": "urn", "attributes": {"phase": "phase"}},
    "survey": {
        "waves": {
            "w1": {"label": "Wave 1", "year": 2020, "phase": "survey_w1", "export": "w1.csv",
                   "format": "csv", "roster": {"path": "r.csv", "id_column": "id",
                                               "site_column": "urn", "role_column": "role"}},
            "w2": {"label": "Wave 2", "year": 2022, "phase": "survey_w2", "export": "w2.csv",
                   "format": "csv", "roster": {"path": "r.csv", "id_column": "id",
                                               "site_column": "urn", "role_column": "role"}},
        },
        "respondent": {"id_column": "rid", "site_column": "urn", "role_column": "q1",
                       "role_codes": {"1": "head"}},
        "variables": {
            "mood": {"type": "single_choice", "question": "Mood?", "column": "q2",
                     "labels": {"1": "good", "2": "bad"}, "waves": ["w1", "w2"], "key_codes": ["1"]},
        },
    },
    "qualitative": {
        "codebook": "codes.qdc",
        "scoping": {"projects": ["scoping/*.csv"], "format": "segments_csv"},
        "case_studies": {"projects": ["cases/*.csv"], "format": "segments_csv"},
        "area_theme": "Areas",
        "case_selection": {"n": 2, "attributes": ["phase"]},
    },
}


def _errors(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_study_config(data, Path("/studies/x/study.yaml"))
    return str(info.value)


def test_minimal_config_loads_and_resolves_paths(tmp_path: Path) -> None:
    (tmp_path / "scoping").mkdir()
    for name in ("b.csv", "a.csv"):
        (tmp_path / "scoping" / name).write_text("x")
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(MINIMAL))
    cfg = load_study_config(path)
    assert cfg.base_dir == tmp_path.resolve()
    assert [p.name for p in cfg.resolve("scoping/*.csv")] == ["a.csv", "b.csv"]
    assert cfg.survey.wave_for_phase("survey_w2") == "w2"
    assert cfg.survey.variables["mood"].column_for("w2") == "q2"


def test_typo_in_a_key_names_the_key() -> None:
    data = copy.deepcopy(MINIMAL)
    data["sites"]["id_colum"] = data["sites"].pop("id_column")
    msg = _errors(data)
    assert "/studies/x/study.yaml: invalid study configuration" in msg
    assert "sites.id_colum: unknown key" in msg
    assert "sites.id_column: required key is missing" in msg


def test_wrong_type_says_what_was_expected() -> None:
    data = copy.deepcopy(MINIMAL)
    data["survey"]["variables"]["mood"]["type"] = "choice"
    msg = _errors(data)
    assert "survey.variables.mood.type" in msg
    assert "'single_choice', 'multiple_choice', 'likert', 'numeric' or 'free_text'" in msg


def test_role_code_must_name_a_declared_role() -> None:
    data = copy.deepcopy(MINIMAL)
    data["survey"]["respondent"]["role_codes"] = {"1": "principal"}
    assert "role_codes['1'] = 'principal' is not a key of roles" in _errors(data)


def test_variable_wave_must_be_declared() -> None:
    data = copy.deepcopy(MINIMAL)
    data["survey"]["variables"]["mood"]["waves"] = ["w1", "w3"]
    assert "variables.mood: wave 'w3' is not declared in waves" in _errors(data)


def test_multiple_choice_needs_a_code_template() -> None:
    data = copy.deepcopy(MINIMAL)
    data["survey"]["variables"]["mood"]["type"] = "multiple_choice"
    assert "must be a template containing {code}" in _errors(data)


def test_bad_regex_in_freetext_dictionary() -> None:
    data = copy.deepcopy(MINIMAL)
    data["survey"]["variables"]["why"] = {"type": "free_text", "question": "Why?", "column": "q9",
                                          "waves": ["w1"]}
    data["survey"]["freetext"] = {"why": {"variable": "why", "categories": {
        "time": {"label": "Time", "patterns": ["(unclosed"]}}}}
    assert "pattern '(unclosed' is not a valid regular expression" in _errors(data)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("study:\n  id: x\n  title: [unclosed\n")
    with pytest.raises(ConfigError, match=r"study.yaml: line \d+, column \d+: not valid YAML"):
        load_study_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="nowhere.yaml: study configuration not found"):
        load_study_config("nowhere.yaml")
