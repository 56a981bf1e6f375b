"""Tests for REFI sets: read, written back, and used to define cases (QdaInputs.case_sets)."""

from __future__ import annotations

import dataclasses

import polars as pl
import pydantic
import pytest

from schemas.study_config import QdaInputs, SourceVariables
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import QdaProject, cases_from_sets, read_qdpx, write_qdpx
from tasks.ingest.qdpx.model import SET_MEMBERS_SCHEMA, SETS_SCHEMA
from tasks.qualitative.model import build_model, codebook_table
from tests.tasks.ingest.qdpx.samples import (
    C1,
    LEAF,
    OTHER,
    S1,
    S2,
    S3,
    as_read_back,
    g,
    sample_project,
)
from tests.tasks.ingest.qdpx.test_schema import SET_1, SRC_2, maxqda_like, maxqda_zip

NORTH, SOUTH, TOPICS = g(61), g(62), g(63)


def with_sets(*, cases: bool = False) -> QdaProject:
    """The sample project with two document sets, a code set, and (optionally) no REFI cases."""
    project = sample_project()
    sets = pl.DataFrame(
        [{"guid": NORTH, "name": "Trust North", "description": "North"},
         {"guid": SOUTH, "name": "Trust South", "description": None},
         {"guid": TOPICS, "name": "Key codes", "description": None}],
        schema=SETS_SCHEMA,
    )
    members = pl.DataFrame(
        [{"set_guid": NORTH, "member_guid": S1, "kind": "source"},
         {"set_guid": SOUTH, "member_guid": S2, "kind": "source"},
         {"set_guid": SOUTH, "member_guid": S3, "kind": "source"},
         {"set_guid": TOPICS, "member_guid": LEAF, "kind": "code"},
         {"set_guid": TOPICS, "member_guid": OTHER, "kind": "code"}],
        schema=SET_MEMBERS_SCHEMA,
    )
    project = dataclasses.replace(project, sets=sets, set_members=members)
    if not cases:
        project = dataclasses.replace(
            project, cases=project.cases.clear(), case_variables=project.case_variables.clear(),
            case_sources=project.case_sources.clear(),
        )
    return project


def test_sets_are_written_and_read_back_schema_valid() -> None:
    project = with_sets(cases=True)
    data = write_qdpx(project)
    back = read_qdpx(data, "sets.qdpx", strict=True)
    assert back.notes == ()
    assert back == as_read_back(project)
    assert back.sets.sort("name").rows() == [
        (TOPICS, "Key codes", None), (NORTH, "Trust North", "North"), (SOUTH, "Trust South", None),
    ]


def test_sets_matching_the_pattern_become_cases_named_after_them() -> None:
    project = cases_from_sets(with_sets(), "Trust .*")
    assert project.cases.rows() == [(NORTH, "Trust North"), (SOUTH, "Trust South")]
    assert project.case_sources.sort("source_guid").rows() == [(NORTH, S1), (SOUTH, S2), (SOUTH, S3)]
    assert project.notes == ()
    # The code set matches no case pattern and is left alone; no pattern leaves the project as it was.
    assert cases_from_sets(with_sets(), None) == with_sets()


def test_a_set_named_like_a_case_adds_its_sources_to_that_case() -> None:
    project = with_sets(cases=True)
    renamed = dataclasses.replace(
        project, sets=project.sets.with_columns(pl.col("name").replace({"Trust North": "Participant A"})),
    )
    out = cases_from_sets(renamed, "Participant A|Trust South")
    assert out.cases.sort("name").rows() == [(C1, "Participant A"), (g(32), "Participant B"), (SOUTH, "Trust South")]
    assert out.case_sources.filter(pl.col("case_guid") == C1).rows() == [(C1, S1)]


def test_a_pattern_matching_no_set_is_noted() -> None:
    out = cases_from_sets(with_sets(), "Site .*")
    assert out.cases.height == 0
    assert out.notes[-1] == "no set name matches case_sets 'Site .*' (sets: Key codes, Trust North, Trust South)"


def test_set_defined_cases_feed_the_qualitative_model() -> None:
    data = maxqda_zip(maxqda_like())
    project = cases_from_sets(read_qdpx(data, "trusts.qdpx", strict=True), "Trust .*")
    model = build_model(project, codebook_table(project.codes), "trusts.qdpx", SourceVariables(), require_case=True)
    assert model.cases.select("case", "case_guid").rows() == [("Trust North", SET_1.lower())]
    assert model.sources.sort("name").select("name", "case").rows() == [
        ("Interview 1", "Trust North"), ("Interview 2", "Trust North"),
    ]
    # Without the sets the same project has sources in no case: refused, as before.
    with pytest.raises(InputErrors, match="every source must belong to a case"):
        build_model(read_qdpx(data, "trusts.qdpx"), codebook_table(project.codes), "trusts.qdpx",
                    SourceVariables(), require_case=True)


def test_a_source_in_two_case_sets_is_refused() -> None:
    qde = maxqda_like().replace(
        b"</Sets>",
        f'<Set guid="FEDCBA98-7654-4321-8FED-CBA987654322" name="Trust South">'
        f'<MemberSource targetGUID="{SRC_2}"/></Set></Sets>'.encode(),
    )
    project = cases_from_sets(read_qdpx(maxqda_zip(qde), "trusts.qdpx", strict=True), "Trust .*")
    with pytest.raises(InputError) as caught:
        build_model(project, codebook_table(project.codes), "trusts.qdpx", SourceVariables(), require_case=False)
    assert (caught.value.place, caught.value.rule, caught.value.detail) == (
        f"source Interview 2 ({SRC_2.lower()})", "a source must belong to exactly one case", "cases Trust North, Trust South",
    )


def test_case_sets_must_be_a_regular_expression() -> None:
    assert QdaInputs(projects=["a.qdpx"], case_sets="Trust .*").case_sets == "Trust .*"
    assert QdaInputs(projects=["a.qdpx"]).case_sets is None
    with pytest.raises(pydantic.ValidationError, match="case_sets must be a regular expression"):
        QdaInputs(projects=["a.qdpx"], case_sets="Trust (")


def test_a_study_reads_set_defined_cases_and_a_qdpx_codebook() -> None:
    from tasks.qualitative.inputs import read_codebook, read_project
    from tasks.step import RawFile

    data = write_qdpx(with_sets())
    inputs = QdaInputs(projects=["p.qdpx"], case_sets="Trust .*")
    project = read_project(RawFile("cases.projects", data, "p.qdpx"), inputs, codebook_table(sample_project().codes))
    cases = project.cases.join(project.case_sources, left_on="guid", right_on="case_guid")
    members = {(r["name"], r["source_guid"]) for r in cases.iter_rows(named=True)}
    assert members == {("Trust North", S1), ("Trust South", S2), ("Trust South", S3)}
    # Without case_sets the sets are read but define no case.
    plain = read_project(RawFile("cases.projects", data, "p.qdpx"), QdaInputs(projects=["p.qdpx"]), codebook_table(sample_project().codes))
    assert plain.cases.height == 0 and plain.sets.height == 3
    # The same project serves as the study's codebook.
    codebook = read_codebook(RawFile("codebook", data, "p.qdpx"))
    assert codebook.height == codebook_table(sample_project().codes).height
