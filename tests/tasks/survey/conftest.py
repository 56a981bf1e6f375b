"""A small synthetic two-wave study (Qualtrics exports) for the survey phase's tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from tasks.demo.exports import QualtricsColumn, write_qualtrics_csv

ROLE_CODES = {"1": "chair", "2": "gp", "3": "manager", "4": "lay"}
REGIONS = ("North", "Midlands", "South")
RATINGS = ("outstanding", "good", "requires improvement", "inadequate")
TEXTS = (
    "No time at all, too busy",
    "Lack of commitment from colleagues",
    "Time and will are both short",
    "Politics and reorganisation",
    "",
)


def study_yaml(human: bool = True) -> dict[str, object]:
    """The synthetic study's configuration."""
    freetext: dict[str, object] = {
        "variable": "obstacles",
        "categories": {
            "time": {"label": "Lack of time", "patterns": [r"\btime\b", "busy"]},
            "will": {"label": "Lack of will", "patterns": [r"\bwill\b", "commit"]},
        },
    }
    if human:
        freetext["human_coded"] = "human_obstacles.csv"
    wave = {
        "format": "qualtrics",
        "roster": {
            "path": None,
            "id_column": "member",
            "site_column": "site",
            "role_column": "role",
        },
    }
    return {
        "study": {"id": "toy", "title": "Toy study"},
        "roles": {
            "chair": {"label": "Chair", "group": "gp"},
            "gp": {"label": "GP member", "group": "gp"},
            "manager": {"label": "Manager", "group": "manager"},
            "lay": {"label": "Lay member", "group": "other"},
        },
        "sites": {
            "path": "sites.csv",
            "id_column": "code",
            "name_column": "name",
            "attributes": {"region": "Region"},
        },
        "survey": {
            "waves": {
                w: {
                    **wave,
                    "label": f"Wave {i}",
                    "year": 2013 + 2 * i,
                    "phase": f"survey_w{i}",
                    "export": f"{w}.csv",
                    "roster": {**wave["roster"], "path": f"roster_{w}.csv"},
                    "site_attributes": {"rating": f"rating_{w}"},
                }
                for i, w in ((1, "w1"), (2, "w2"))
            },
            "respondent": {
                "id_column": "ResponseId",
                "site_column": "site",
                "role_column": "role",
                "role_codes": ROLE_CODES,
                "member_column": "ExternalReference",
                "status_column": "Status",
                "finished_column": "Finished",
                "progress_column": "Progress",
                "submitted_column": "RecordedDate",
            },
            "variables": {
                "influence": {
                    "type": "single_choice",
                    "question": "Which body has most influence?",
                    "column": "Q1",
                    "labels": {
                        "1": "My CCG",
                        "2": "NHS England",
                        "3": "Collaboration",
                        "4": "Other",
                    },
                    "missing_codes": ["99"],
                    "waves": ["w1", "w2"],
                    "key_codes": ["1"],
                },
                "partners": {
                    "type": "multiple_choice",
                    "question": "Who do you work with?",
                    "column": "Q2_{code}",
                    "labels": {"1": "Hospitals", "2": "Councils", "3": "Charities"},
                    "waves": ["w1", "w2"],
                    "key_codes": ["1", "2"],
                },
                **{
                    f"infl_{k}": {
                        "type": "likert",
                        "question": f"Influence of {k}",
                        "column": f"Q3_{i}",
                        "labels": {str(s): f"level {s}" for s in range(1, 6)},
                        "waves": ["w1", "w2"],
                        "grid": "influence",
                    }
                    for i, k in enumerate(("gps", "managers", "lay", "nurses"), start=1)
                },
                "years": {
                    "type": "numeric",
                    "question": "Years on the board",
                    "column": "Q4",
                    "missing_codes": ["-1"],
                    "waves": ["w1", "w2"],
                },
                "obstacles": {
                    "type": "free_text",
                    "question": "Obstacles to clinical leadership",
                    "column": "Q5",
                    "waves": ["w1", "w2"],
                },
            },
            "breakdowns": ["role", "region", "rating"],
            "weighting": {"margins": ["role", "region"]},
            "freetext": {"obstacles": freetext},
        },
        "qualitative": {
            "codebook": "codebook.qdc",
            "scoping": {"projects": ["scoping.qdpx"]},
            "case_studies": {"projects": ["cases.qdpx"]},
            "area_theme": "Areas",
            "case_selection": {"n": 2, "attributes": ["region"]},
        },
    }


COLUMNS = [
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientEmail",
    "ExternalReference",
    "site",
    "role",
    "Q1",
    "Q2_1",
    "Q2_2",
    "Q2_3",
    "Q3_1",
    "Q3_2",
    "Q3_3",
    "Q3_4",
    "Q4",
    "Q5",
]


@dataclass
class ToyStudy:
    """Where the synthetic study lives and the frames it was written from."""

    root: Path
    config: Path
    sites: pl.DataFrame
    rosters: dict[str, pl.DataFrame]
    exports: dict[str, pl.DataFrame]


def _roster(rng: np.random.Generator, sites: list[str], per_site: int, wave: str) -> pl.DataFrame:
    roles = rng.choice(["1", "2", "3", "4"], size=len(sites) * per_site, p=[0.1, 0.4, 0.3, 0.2])
    return pl.DataFrame(
        {
            "member": [
                f"{wave}-{s}-{k}" if wave == "w2" else f"{s}-{k}"
                for s in sites
                for k in range(per_site)
            ],
            "site": [s for s in sites for _ in range(per_site)],
            "role": roles.tolist(),
        }
    )


def _export(
    rng: np.random.Generator, roster: pl.DataFrame, rate: float, wave: str, shift: float
) -> pl.DataFrame:
    picked = roster.filter(pl.Series(rng.random(roster.height) < rate))
    n = picked.height
    p_influence = np.array([0.5 + shift, 0.25, 0.15 - shift, 0.1])
    q1 = rng.choice(["1", "2", "3", "4", "99", ""], size=n, p=[*(p_influence * 0.94), 0.03, 0.03])
    grid = rng.integers(1, 6, size=(n, 4)).astype(str)
    rows = {
        "StartDate": ["2014-05-01 10:00:00"] * n,
        "EndDate": ["2014-05-01 10:20:00"] * n,
        "Status": ["0"] * n,
        "IPAddress": [f"10.0.0.{i % 250}" for i in range(n)],
        "Progress": ["100"] * n,
        "Finished": ["1"] * n,
        "RecordedDate": [f"2014-05-{1 + i % 28:02d} 10:20:00" for i in range(n)],
        "ResponseId": [f"R_{wave}_{i:05d}" for i in range(n)],
        "RecipientEmail": [f"person{i}@example.org" for i in range(n)],
        "ExternalReference": picked["member"].to_list(),
        "site": picked["site"].to_list(),
        "role": picked["role"].to_list(),
        "Q1": q1.tolist(),
        **{
            f"Q2_{c}": np.where(rng.random(n) < p, "1", "").tolist()
            for c, p in (("1", 0.6), ("2", 0.4), ("3", 0.2))
        },
        **{f"Q3_{j + 1}": grid[:, j].tolist() for j in range(4)},
        "Q4": rng.choice(["1", "2", "5", "10", "-1"], size=n).tolist(),
        "Q5": rng.choice(list(TEXTS), size=n).tolist(),
    }
    frame = pl.DataFrame(rows).with_columns(pl.all().replace("", None))
    # Row 0 straight-lines the grid; row 1 is a partial response.
    frame = frame.with_columns(
        [
            pl.when(pl.int_range(pl.len()) == 0)
            .then(pl.lit("3"))
            .otherwise(pl.col(f"Q3_{j}"))
            .alias(f"Q3_{j}")
            for j in range(1, 5)
        ]
    ).with_columns(
        *[
            pl.when(pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("Q1", "Q2_1", "Q2_2", "Q2_3", "Q3_3", "Q3_4", "Q4", "Q5")
        ],
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("40"))
        .otherwise(pl.col("Progress"))
        .alias("Progress"),
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit("0"))
        .otherwise(pl.col("Finished"))
        .alias("Finished"),
    )
    base = frame.row(2, named=True)
    bad = [
        {**base, "ResponseId": f"R_{wave}_prev", "Status": "1"},  # preview
        {**base, "ResponseId": f"R_{wave}_spam", "Status": "8"},  # spam
        {
            **base,
            "ResponseId": f"R_{wave}_site",
            "site": "ZZZ",
            "ExternalReference": None,
        },  # unknown site
        {
            **base,
            "ResponseId": f"R_{wave}_role",
            "role": "9",
            "ExternalReference": None,
        },  # unknown role
        # Repeat submission by the member of row 2, earlier and less complete: removed.
        {
            **base,
            "ResponseId": f"R_{wave}_dup",
            "Q1": None,
            "Q4": None,
            "RecordedDate": "2014-04-01 09:00:00",
        },
    ]
    return pl.concat([frame, pl.DataFrame(bad, schema=frame.schema)])


def build_study(
    root: Path, *, seed: int = 7, n_sites: int = 24, per_site: int = 12, human: bool = True
) -> ToyStudy:
    """Write the synthetic study (sites, rosters, exports, dummy qualitative inputs) under root."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    site_ids = [f"S{i:03d}" for i in range(n_sites)]
    sites = pl.DataFrame(
        {
            "code": site_ids,
            "name": [f"Site {i}" for i in range(n_sites)],
            "Region": [REGIONS[i % 3] for i in range(n_sites)],
            "rating_w1": [RATINGS[i % 4] for i in range(n_sites)],
            "rating_w2": [RATINGS[(i + 1) % 4] for i in range(n_sites)],
        }
    )
    sites.write_csv(root / "sites.csv")
    rosters, exports = {}, {}
    specs = [QualtricsColumn(export_tag=c, question_text=c, import_id=f"QID_{c}") for c in COLUMNS]
    for wave, shift in (("w1", 0.0), ("w2", 0.1)):
        roster = _roster(rng, site_ids, per_site, wave)
        roster.write_csv(root / f"roster_{wave}.csv")
        export = _export(rng, roster, 0.35, wave, shift)
        (root / f"{wave}.csv").write_bytes(write_qualtrics_csv(specs, export))
        rosters[wave], exports[wave] = roster, export
    human_rows = (
        exports["w1"]
        .head(30)
        .select(
            pl.col("ResponseId").alias("response_id"),
            pl.when(pl.col("Q5").str.contains("(?i)time|busy"))
            .then(pl.lit("time"))
            .otherwise(pl.lit(""))
            .alias("category"),
        )
    )
    # One disagreement, so kappa is not trivially 1.
    human_rows = human_rows.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("will"))
        .otherwise(pl.col("category"))
        .alias("category")
    )
    human_rows.write_csv(root / "human_obstacles.csv")
    for dummy in ("codebook.qdc", "scoping.qdpx", "cases.qdpx"):
        (root / dummy).write_bytes(b"placeholder")
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump(study_yaml(human)), encoding="utf-8")
    return ToyStudy(root, config, sites, rosters, exports)


@pytest.fixture(scope="module")
def toy_study(tmp_path_factory: pytest.TempPathFactory) -> ToyStudy:
    """The synthetic study, written once per module."""
    return build_study(tmp_path_factory.mktemp("toy"))
