"""Generality: a different study (schools, REDCap export with a data dictionary) through the same step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from schemas.datasets.survey import CHANGE, COVERAGE, ESTIMATES, REMOVED
from tasks.demo.exports import RedcapField, write_redcap_csv, write_redcap_dictionary
from tasks.storage.tables import parquet_to_table
from tests.tasks.survey.wave_run import run_wave, wave_context

LIKERT = [
    (str(i), label)
    for i, label in enumerate(["never", "rarely", "sometimes", "often", "always"], 1)
]
FIELDS = [
    RedcapField("record_id", "survey", "text", "Record"),
    RedcapField("email", "survey", "text", "Your e-mail", identifier=True, text_validation="email"),
    RedcapField("urn", "survey", "text", "School URN"),
    RedcapField(
        "position",
        "survey",
        "radio",
        "Your position",
        (("1", "Head"), ("2", "Teacher"), ("3", "Governor")),
    ),
    RedcapField(
        "support",
        "survey",
        "radio",
        "Support from the trust",
        (("1", "Good"), ("2", "Poor"), ("9", "Don't know")),
    ),
    RedcapField(
        "barriers",
        "survey",
        "checkbox",
        "Barriers",
        (("1", "Time"), ("2", "Money"), ("3", "Staff")),
    ),
    RedcapField("workload", "survey", "radio", "Workload is manageable", tuple(LIKERT)),
    RedcapField("comments", "survey", "notes", "Anything else?"),
]


def _study(root: Path) -> Path:
    rng = np.random.default_rng(3)
    urns = [f"1{i:05d}" for i in range(40)]
    pl.DataFrame(
        {"URN": urns, "Phase": ["primary" if i % 3 else "secondary" for i in range(40)]}
    ).write_csv(root / "schools.csv")
    for wave in ("y1", "y2"):
        staff = pl.DataFrame(
            {
                "staff_no": [f"{wave}-{u}-{k}" for u in urns for k in range(8)],
                "urn": [u for u in urns for _ in range(8)],
                "post": [
                    (
                        "Head",
                        "Teacher",
                        "Teacher",
                        "Teacher",
                        "Teacher",
                        "Governor",
                        "Governor",
                        "Teacher",
                    )[k]
                    for _ in urns
                    for k in range(8)
                ],
            }
        )
        staff.write_csv(root / f"staff_{wave}.csv")
        picked = staff.filter(pl.Series(rng.random(staff.height) < 0.4))
        n = picked.height
        data = pl.DataFrame(
            {
                "record_id": [str(i + 1) for i in range(n)],
                "email": [f"s{i}@school.example" for i in range(n)],
                "urn": picked["urn"],
                "position": picked["post"].replace({"Head": "1", "Teacher": "2", "Governor": "3"}),
                "support": rng.choice(["1", "2", "9"], n).tolist(),
                **{f"barriers___{c}": rng.choice(["0", "1"], n).tolist() for c in "123"},
                "workload": rng.choice(["1", "2", "3", "4", "5", ""], n).tolist(),
                "comments": rng.choice(
                    ["no time to plan", "money is short", "", "fine"], n
                ).tolist(),
                "survey_complete": rng.choice(["2", "2", "2", "0"], n).tolist(),
            }
        ).with_columns(pl.all().replace("", None))
        (root / f"{wave}.csv").write_bytes(write_redcap_csv(data))
    (root / "dictionary.csv").write_bytes(write_redcap_dictionary(FIELDS))
    for dummy in ("codebook.qdc", "p.qdpx"):
        (root / dummy).write_bytes(b"x")
    wave = {"format": "redcap", "dictionary": "dictionary.csv"}
    config = {
        "study": {"id": "schools", "title": "Leadership in schools"},
        "roles": {
            "head": {"label": "Headteacher", "group": "leader"},
            "teacher": {"label": "Teacher", "group": "staff"},
            "governor": {"label": "Governor", "group": "leader"},
        },
        "sites": {"path": "schools.csv", "id_column": "URN", "attributes": {"phase": "Phase"}},
        "survey": {
            "waves": {
                w: {
                    **wave,
                    "label": f"Year {i}",
                    "year": 2020 + i,
                    "phase": f"survey_w{i}",
                    "export": f"{w}.csv",
                    "roster": {
                        "path": f"staff_{w}.csv",
                        "id_column": "staff_no",
                        "site_column": "urn",
                        "role_column": "post",
                    },
                }
                for i, w in ((1, "y1"), (2, "y2"))
            },
            "respondent": {
                "id_column": "record_id",
                "site_column": "urn",
                "role_column": "position",
                "role_codes": {"1": "head", "2": "teacher", "3": "governor"},
                "status_column": "survey_complete",
                "exclude_status": ["Incomplete"],
            },
            "variables": {
                "support": {
                    "type": "single_choice",
                    "question": "Support from the trust",
                    "column": "support",
                    "labels": {"1": "Good", "2": "Poor"},
                    "missing_codes": ["9"],
                    "waves": ["y1", "y2"],
                    "key_codes": ["1"],
                },
                "barriers": {
                    "type": "multiple_choice",
                    "question": "Barriers",
                    "column": "barriers___{code}",
                    "labels": {"1": "Time", "2": "Money", "3": "Staff"},
                    "waves": ["y1", "y2"],
                },
                "workload": {
                    "type": "likert",
                    "question": "Workload is manageable",
                    "column": "workload",
                    "labels": dict(LIKERT),
                    "waves": ["y1", "y2"],
                },
                "comments": {
                    "type": "free_text",
                    "question": "Anything else?",
                    "column": "comments",
                    "waves": ["y1", "y2"],
                },
            },
            "breakdowns": ["phase"],
            "weighting": {"margins": ["role", "phase"]},
            "freetext": {
                "comments": {
                    "variable": "comments",
                    "categories": {
                        "time": {"label": "Time", "patterns": ["time"]},
                        "money": {"label": "Money", "patterns": ["money", "fund"]},
                    },
                }
            },
        },
        "qualitative": {
            "codebook": "codebook.qdc",
            "scoping": {"projects": ["p.qdpx"]},
            "case_studies": {"projects": ["p.qdpx"]},
            "area_theme": "Areas",
            "case_selection": {"n": 1, "attributes": ["phase"]},
        },
    }
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def schools(tmp_path_factory: pytest.TempPathFactory):
    """Both waves of the schools study on a file store."""
    root = tmp_path_factory.mktemp("schools")
    config = _study(root)
    ctx = wave_context(config, root / "store", run_id="schools")
    first = run_wave(ctx, "y1")
    return ctx, first, run_wave(ctx, "y2", first.records)


def test_redcap_study_runs_through_the_same_step(schools) -> None:
    _, first, second = schools
    removed = first.table(REMOVED)
    assert set(removed["reason"]) == {"excluded status"} and removed[
        "detail"
    ].unique().to_list() == ["Incomplete"]
    est = first.table(ESTIMATES)
    assert set(est["variable"]) == {"support", "barriers", "workload"}
    assert set(est["breakdown"]) == {"all", "role", "phase"}
    barriers = est.filter((pl.col("variable") == "barriers") & (pl.col("breakdown") == "all"))
    # Checkbox zeros are "not chosen": each code's share is among those who ticked anything.
    assert barriers["n"].n_unique() == 1 and barriers["proportion"].sum() > 1.0
    support = est.filter(
        (pl.col("variable") == "support")
        & (pl.col("breakdown") == "all")
        & (pl.col("kind") == "code")
    )
    assert support["code"].to_list() == ["1", "2"]  # "9" is a missing code, not an answer
    coverage = first.table(COVERAGE)
    assert coverage.filter(pl.col("breakdown") == "all")["sites"].item() == 40
    assert CHANGE.resolve(wave="y2") in second.records
    assert {o.dataset for o in first.outputs if o.media_type == "image/png"} == {
        "survey.y1.fig_support",
        "survey.y1.fig_freetext_comments",
        "survey.y1.fig_coverage",
    }


def test_redcap_identifiers_never_published(schools) -> None:
    ctx, first, second = schools
    store = ctx.store()
    for record in first.outputs + second.outputs:
        data = store.get(record.key)
        text = (
            parquet_to_table(data).write_csv()
            if record.key.endswith(".parquet")
            else data.decode("latin-1")
        )
        assert "school.example" not in text and "email" not in text.split("\n", 1)[0]
