"""Tiny hand-made qualitative tables for the step functions' unit tests (counts checkable by eye).

Scoping: sites S1 (sources s1, s2) and S2 (s3). Mental health is coded at both sites, urgent
care at S1 only (twice), so mental health ranks first. coder_b double-codes s1.
Case studies: case A (site S1) with s1 and s2, case B (site S2) with s3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from schemas.study_config import StudyConfig, parse_study_config
from tasks.ingest.qdpx import stable_guid

PATHS = ("Topic areas", "Topic areas/Urgent care", "Topic areas/Mental health", "Maturity", "Maturity/Emerging",
         "Maturity/Established")
SITES_CSV = b"code,name,region,setting\nS1,Ashford,North,inner_city\nS2,Bramley,South,mixed\nS3,Calder,East,mixed\n"
TEXT = "Urgent care first. Mental health too. We are established now."
# (segment, source, start, end, code name, coder)
CODINGS = [
    ("g1", "s1", 0, 18, "Urgent care", "coder_a"),
    ("g2", "s1", 19, 36, "Mental health", "coder_a"),
    ("g3", "s2", 0, 18, "Urgent care", "coder_a"),
    ("g4", "s3", 19, 36, "Mental health", "coder_a"),
    ("g5", "s3", 37, 61, "Emerging", "coder_a"),
    ("g6", "s1", 37, 61, "Established", "coder_a"),
    ("g7", "s1", 0, 18, "Urgent care", "coder_b"),
]


def gid(name: str) -> str:
    """The GUID standing for a short name ("s1", "g7", "A"): exported projects need real GUIDs."""
    return stable_guid("tiny", name)


def code_id(path: str) -> str:
    """The id of a code by path."""
    return stable_guid("tiny-code", path)


def codebook() -> pl.DataFrame:
    """Two themes with two codes each."""
    rows = []
    for path in PATHS:
        parts = path.split("/")
        rows.append({
            "code_id": code_id(path), "name": parts[-1], "path": path,
            "parent_id": code_id("/".join(parts[:-1])) if len(parts) > 1 else None, "theme": parts[0],
            "category": parts[1] if len(parts) > 1 else None, "depth": len(parts), "is_codable": len(parts) > 1,
            "color": None, "description": None,
        })
    return pl.DataFrame(rows, schema_overrides={"parent_id": pl.String, "category": pl.String, "color": pl.String,
                                                "description": pl.String})


def sources() -> pl.DataFrame:
    """Three sources: two at S1 (case A), one at S2 (case B)."""
    return pl.DataFrame({
        "source_id": [gid("s1"), gid("s2"), gid("s3")],
        "name": ["Interview 1", "Strategy paper", "Interview 2"],
        "case": ["A", "A", "B"],
        "site_id": ["S1", "S1", "S2"],
        "source_type": ["interview", "document", "interview"],
        "role": ["gp_chair", None, "nurse"],
        "participant_pseudonym": ["P0123456789ab", None, "Pba9876543210"],
        "length": [len(TEXT)] * 3,
    })


def segments() -> pl.DataFrame:
    """The codings of CODINGS with their text."""
    return pl.DataFrame(
        [{"segment_id": gid(seg), "source_id": gid(src), "start": start, "end": end, "text": TEXT[start:end],
          "code_id": code_id(next(p for p in PATHS if p.endswith("/" + code))), "coder": coder}
         for seg, src, start, end, code, coder in CODINGS]
    )


def cases() -> pl.DataFrame:
    """The two cases as cases.cases (counts of the primary coder's spans)."""
    return pl.DataFrame({"case": ["A", "B"], "case_guid": [gid("A"), gid("B")], "site_ids": ["S1", "S2"],
                         "n_sources": [2, 1], "n_segments": [4, 2]})


INFLUENCE = {"type": "single_choice", "question": "Most influence?", "column": "Q1", "waves": ["w1"],
             "labels": {"1": "my CCG", "2": "NHS England"}, "key_codes": ["1"]}


def study_config(tmp: Path, variables: dict[str, Any] | None = None, **qualitative: Any) -> StudyConfig:
    """The mini study's configuration with survey variables and some qualitative keys replaced."""
    import qual_mini_study

    data: dict[str, Any] = qual_mini_study.config()
    data["qualitative"].update(qualitative)
    data["survey"]["variables"] = variables or {}
    return parse_study_config(data, tmp / "study.yaml")
