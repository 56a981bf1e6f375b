"""REFI sets as cases: MAXQDA and ATLAS.ti users group documents into sets (document sets, groups).

A study names the sets that define cases with a regular expression (``QdaInputs.case_sets``); each
set whose whole name matches becomes a case named after the set, holding the set's member
sources. Once cases, they are read like REFI cases: their sites follow from the case name or
its variables as configured for cases.
"""

from __future__ import annotations

import re
from dataclasses import replace

import polars as pl

from tasks.ingest.qdpx.model import CASES_SCHEMA, QdaProject


def cases_from_sets(project: QdaProject, pattern: str | None) -> QdaProject:
    """The project with each set whose whole name matches `pattern` added as a case of its sources.

    A set named like an existing case adds its sources to that case; a source in two
    case-defining sets ends up in two cases (which the qualitative model refuses, naming both).
    """
    if not pattern:
        return project
    regex = re.compile(pattern)
    chosen = [row for row in project.sets.iter_rows(named=True) if regex.fullmatch(row["name"] or "")]
    if not chosen:
        names = ", ".join(sorted(project.sets.get_column("name").to_list())) or "none"
        return replace(project, notes=(*project.notes,
                                       f"no set name matches case_sets {pattern!r} (sets: {names})"))
    existing = dict(zip(project.cases.get_column("name").to_list(), project.cases.get_column("guid").to_list(),
                        strict=True))
    new_cases: list[dict[str, str]] = []
    case_of_set: dict[str, str] = {}
    for row in chosen:
        guid = existing.get(row["name"])
        if guid is None:
            guid = row["guid"]
            existing[row["name"]] = guid
            new_cases.append({"guid": guid, "name": row["name"]})
        case_of_set[row["guid"]] = guid
    links = (
        project.set_members.filter((pl.col("kind") == "source") & pl.col("set_guid").is_in(list(case_of_set)))
        .select(
            pl.col("set_guid").replace_strict(case_of_set, return_dtype=pl.String).alias("case_guid"),
            pl.col("member_guid").alias("source_guid"),
        )
    )
    case_sources = pl.concat([project.case_sources, links]).unique(maintain_order=True)
    cases = pl.concat([project.cases, pl.DataFrame(new_cases, schema=CASES_SCHEMA)])
    return replace(project, cases=cases, case_sources=case_sources)
