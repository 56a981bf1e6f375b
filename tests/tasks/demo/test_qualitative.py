"""The demo's planted directional evidence: reserved codes appear only where planted, lead coder."""

from __future__ import annotations

import polars as pl

from tasks.demo.codebook import guid
from tasks.demo.qualitative import PLANTED, CasePlan, _planted, case_project

PLAN = CasePlan("t", ("Urgent care",), chairs=2, gp_members=6, accountable_officers=2, senior_managers=2, others=6,
                documents=2, observations=2, double_coded=0,
                themes={"Vicious circle of disengagement": 3, "Clinician-manager alliance": 3},
                emphasis=("Managers step in", "Standing together"))
LEAF = {"Managers step in": "Vicious circle of disengagement/Others step in/Managers step in",
        "Standing together": "Clinician-manager alliance/Shared messaging/Standing together"}


def _codings(letter: str) -> dict[str, int]:
    names = [f"Dr Ann Example{k}" for k in range(8)]
    project = case_project(letter, PLAN, ("S1",), names, label=letter, seed=7, block=0)
    sel = project.selections
    return {code: sel.filter(pl.col("code_guid") == guid(LEAF[code])).select("source_guid").n_unique()
            for code in PLANTED}


def test_planted_interviews_are_every_fourth_offset_per_code() -> None:
    assert [i for i in range(20) if _planted("E", i)] == [1, 5, 9]
    assert _planted("E", 1) == ["Standing together"] and _planted("F", 0) == ["Managers step in"]
    assert [i for i in range(20) if _planted("F", i)] == [0, 4, 8]
    assert not any(_planted("D", i) for i in range(40))


def test_reserved_codes_appear_only_where_planted_even_when_emphasised() -> None:
    # Both codes are emphasised and their themes weighted, yet only the planted interviews carry them.
    assert _codings("F") == {"Managers step in": 3, "Standing together": 0}
    assert _codings("E") == {"Managers step in": 0, "Standing together": 3}
    assert _codings("D") == {"Managers step in": 0, "Standing together": 0}
