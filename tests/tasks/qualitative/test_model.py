"""The coded-segment model: tables from REFI-QDA projects and coded-segment CSVs, and its rules."""

from __future__ import annotations

import re

import polars as pl
import pytest
import qual_mini_study as mini

from schemas.qualitative import Codebook, Segments, Sources
from schemas.study_config import SourceVariables
from tasks.ingest.coded_segments_csv import read_coded_segments_csv
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import QdaProject, read_qdpx, stable_guid, write_qdpx
from tasks.privacy import pseudonym
from tasks.qualitative.model import (
    build_model,
    codebook_table,
    combine,
    primary_segments,
    project_from_segments,
)

KEY = b"model-test-key"
VARS = SourceVariables()


def codebook() -> pl.DataFrame:
    """The mini codebook as the codebook table."""
    return codebook_table(mini.project("cb", []).codes)


def case_project() -> QdaProject:
    """The mini case-study project, read back from its .qdpx bytes."""
    return read_qdpx(write_qdpx(mini.project("cases", mini.case_sources())), "cases.qdpx")


def test_codebook_hierarchy_keeps_guids() -> None:
    cb = Codebook.validate(codebook())
    row = cb.filter(pl.col("name") == "Strategic").row(0, named=True)
    assert row["code_id"] == mini.code_guid("Leadership/Arenas/Strategic")
    assert (row["theme"], row["category"], row["depth"]) == ("Leadership", "Arenas", 3)
    top = cb.filter(pl.col("path") == "Topic areas").row(0, named=True)
    assert top["category"] is None and top["depth"] == 1


def test_case_project_tables() -> None:
    model = build_model(case_project(), codebook(), "cases.qdpx", VARS, key=KEY,
                        role_map={r: r for r in mini.ROLES})
    sources = Sources.validate(model.published_sources())
    segments = Segments.validate(model.segments)
    planted = mini.case_sources()
    assert sources.height == len(planted)
    assert segments.height == sum(len(s.codings) for s in planted)
    by_name = {s.name: s for s in planted}
    for row in sources.iter_rows(named=True):
        src = by_name[row["name"]]
        assert row["case"] == src.case and row["site_id"] == src.site and row["source_type"] == src.source_type
        expected = None if src.participant is None else pseudonym(src.participant, KEY, "P")
        assert row["participant_pseudonym"] == expected
        assert row["length"] == len(src.text)
    texts = dict(model.sources.select("source_id", "text").iter_rows())
    assert all(texts[s][a:b] == t for s, a, b, t in segments.select("source_id", "start", "end", "text").iter_rows())
    assert model.cases.sort("case").get_column("site_ids").to_list() == ["S01", "S03;S04", "S06"]


def test_unknown_code_is_an_error_naming_file_place_rule() -> None:
    project = case_project()
    stray = stable_guid("stray")
    codes = pl.concat([project.codes, project.codes.head(1).with_columns(
        pl.lit(stray).alias("guid"), pl.lit("Stray").alias("name"), pl.lit("Stray").alias("path"),
        pl.lit(None, pl.String).alias("parent_guid"))])
    selections = project.selections.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(stray)).otherwise(pl.col("code_guid")).alias("code_guid")
    )
    bad = QdaProject(name="x", codes=codes, sources=project.sources, source_variables=project.source_variables,
                     users=project.users, selections=selections, cases=project.cases,
                     case_variables=project.case_variables, case_sources=project.case_sources)
    with pytest.raises(InputError) as info:
        build_model(bad, codebook(), "cases.qdpx", VARS)
    assert info.value.file == "cases.qdpx"
    assert info.value.rule == "every code must exist in the codebook"
    assert info.value.place.startswith("selection ") and "Stray" in info.value.detail


def test_codes_match_the_codebook_by_path_when_guids_differ() -> None:
    project = case_project()
    remap = {g: stable_guid("other", g) for g in project.codes.get_column("guid").to_list()}
    moved = QdaProject(
        name="x",
        codes=project.codes.with_columns(pl.col("guid").replace(remap), pl.col("parent_guid").replace(remap)),
        sources=project.sources, source_variables=project.source_variables, users=project.users,
        selections=project.selections.with_columns(pl.col("code_guid").replace(remap)),
        cases=project.cases, case_variables=project.case_variables, case_sources=project.case_sources,
    )
    a = build_model(project, codebook(), "a", VARS).segments
    b = build_model(moved, codebook(), "b", VARS).segments
    assert a.sort("segment_id", "code_id").equals(b.sort("segment_id", "code_id"))


def _with(project: QdaProject, **frames: pl.DataFrame) -> QdaProject:
    parts = {**project.frames(), **frames}
    return QdaProject(name=project.name, **parts)


def test_offsets_outside_text_and_wrong_quotes_are_errors() -> None:
    project = case_project()
    sel = project.selections
    broken = sel.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(10**6)).otherwise(pl.col("end")).alias("end"),
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("not the text")).otherwise(pl.col("text")).alias("text"),
    )
    with pytest.raises(InputErrors) as info:
        build_model(_with(project, selections=broken), codebook(), "cases.qdpx", VARS)
    rules = {e.rule for e in info.value.errors}
    assert "a segment's offsets must lie inside its source text" in rules
    assert "a segment's quoted text must equal the source text at its offsets" in rules
    assert all(e.file == "cases.qdpx" for e in info.value.errors)


def test_every_case_study_source_needs_a_case() -> None:
    project = case_project()
    orphan = project.case_sources.filter(pl.int_range(pl.len()) > 0)
    with pytest.raises(InputError, match="every source must belong to a case"):
        build_model(_with(project, case_sources=orphan), codebook(), "cases.qdpx", VARS)
    model = build_model(_with(project, case_sources=orphan), codebook(), "s", VARS, require_case=False)
    assert model.sources.get_column("case").null_count() == 1


def test_scoping_sources_need_a_site() -> None:
    project = case_project()
    no_site = project.source_variables.filter(pl.col("name") != "site_id")
    cases = project.cases.head(0)
    model = build_model(_with(project, source_variables=no_site, cases=cases, case_sources=project.case_sources.head(0),
                              case_variables=project.case_variables.head(0)),
                        codebook(), "scoping.qdpx", VARS, require_case=False, require_site=True)
    # Quarantined with the rule that failed, their codings with them (see test_site_rules.py).
    assert model.sources.is_empty() and model.segments.is_empty()
    assert model.quarantined.height == project.sources.height
    assert model.quarantined["quarantine_reason"].unique().to_list() == [
        "no site: set the source variable 'site_id' or the case variable 'site_ids' of a single-site case "
        "(qualitative.source_variables.site or a single-site case)"
    ]


def test_segments_csv_matches_the_qdpx_model() -> None:
    planted = mini.case_sources()
    frame = read_coded_segments_csv(mini.segments_csv(planted), "cases.csv")
    project = project_from_segments(frame, codebook(), "cases.csv", VARS, "site_ids")
    model = build_model(project, codebook(), "cases.csv", VARS, key=KEY)
    from_qdpx = build_model(case_project(), codebook(), "cases.qdpx", VARS, key=KEY)
    counts = lambda m: m.segments.join(m.sources.select("source_id", "name"), on="source_id").group_by(  # noqa: E731
        "name", "code_id", "coder").len().sort("name", "code_id", "coder")
    assert counts(model).equals(counts(from_qdpx))
    quoted = model.segments.join(
        from_qdpx.segments.join(from_qdpx.sources.select("source_id", "name"), on="source_id")
        .select("name", "start", "end", "code_id", "coder", pl.col("text").alias("expected")),
        on=["start", "end", "code_id", "coder"],
    )
    assert quoted.filter(pl.col("text") != pl.col("expected")).height == 0
    # A source with a speaker role is an interview; roles and participants carried over.
    assert set(model.sources.get_column("source_type").unique().to_list()) <= {"interview", "unknown"}


def test_segments_csv_errors_name_rows() -> None:
    planted = mini.case_sources()[:1]
    frame = read_coded_segments_csv(mini.segments_csv(planted), "cases.csv")
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("No such code")).otherwise(pl.col("code")).alias("code")
    )
    with pytest.raises(InputError) as info:
        project_from_segments(bad, codebook(), "cases.csv", VARS, "site_ids")
    assert (info.value.place, info.value.rule) == ("row 2", "every code must exist in the codebook")
    # Two coders quoting different text for overlapping offsets contradict each other.
    rows = [
        ("Interview 1", "S01", "gp_chair", 0, 11, "Strategic", "coder_a", "Hello world"),
        ("Interview 1", "S01", "gp_chair", 6, 11, "Heroic", "coder_b", "WORLD"),
    ]
    clash = pl.DataFrame(rows, schema=list(frame.columns), orient="row")
    with pytest.raises(InputError) as info:
        build_model(project_from_segments(clash, codebook(), "c.csv", VARS, "site_ids"), codebook(), "c.csv", VARS)
    assert info.value.rule == "a segment's quoted text must equal the source text at its offsets"
    short = clash.with_columns(pl.lit("x").alias("text"))
    with pytest.raises(InputErrors, match=re.escape("end - start characters long")):
        project_from_segments(short, codebook(), "c.csv", VARS, "site_ids")


def test_combine_merges_a_source_coded_in_two_projects() -> None:
    planted = mini.case_sources()[:2]
    a_only = [mini.Source(**{**s.__dict__, "codings": [c for c in s.codings if c.coder == "coder_a"]}) for s in planted]
    b_only = [mini.Source(**{**s.__dict__, "codings": [c for c in s.codings if c.coder == "coder_b"]}) for s in planted]
    models = [build_model(mini.project(n, p), codebook(), n, VARS) for n, p in (("a", a_only), ("b", b_only))]
    merged = combine(models, codebook())
    whole = build_model(mini.project("all", planted), codebook(), "all", VARS)
    assert merged.sources.height == whole.sources.height
    assert merged.segments.sort("segment_id", "code_id").equals(whole.segments.sort("segment_id", "code_id"))


def test_primary_coder_per_source() -> None:
    seg = pl.DataFrame({
        "segment_id": ["1", "2", "3", "4", "5"], "source_id": ["s1", "s1", "s1", "s2", "s2"],
        "code_id": ["x"] * 5, "coder": ["a", "a", "b", "b", "c"],
        "start": [0] * 5, "end": [1] * 5, "text": ["t"] * 5,
    })
    kept, lead = primary_segments(seg)
    assert lead == "a"  # a and b tie on 2 segments: first by name
    assert kept.get_column("segment_id").to_list() == ["1", "2", "4"]  # s2: b (tie with c, first by name)
    kept, lead = primary_segments(seg, "c")
    assert lead == "c" and kept.get_column("segment_id").to_list() == ["1", "2", "5"]


def test_segments_csv_extra_columns_carry_site_and_participant() -> None:
    csv_bytes = (
        b"source,case,speaker_role,start,end,code,coder,text,site_id,participant_id\n"
        b"int-1,A,gp_member,0,5,Leadership/Style/Collaborative,ann,Hello,S07,M001\n"
    )
    codes = codebook()
    path = codes.filter(pl.col("depth") == codes["depth"].max())["path"][0]
    csv_bytes = csv_bytes.replace(b"Leadership/Style/Collaborative", path.encode())
    frame = read_coded_segments_csv(csv_bytes, "cases.csv")
    assert frame.select("site_id", "participant_id").row(0) == ("S07", "M001")
    project = project_from_segments(frame, codes, "cases.csv", VARS, "site_ids")
    model = build_model(project, codes, "cases.csv", VARS, key=KEY)
    source = model.sources.row(0, named=True)
    assert source["site_id"] == "S07"
    assert source["participant_pseudonym"] == pseudonym("M001", KEY, "P")


def test_a_case_without_sources_is_left_out_with_a_note() -> None:
    project = case_project()
    extra = pl.DataFrame({"guid": [stable_guid("case", "empty")], "name": ["Z-empty"]},
                         schema=project.cases.schema)
    project = _with(project, cases=pl.concat([project.cases, extra]))
    model = build_model(project, codebook(), "cases.qdpx", VARS, key=KEY)
    assert "Z-empty" not in model.cases.get_column("case").to_list()
    assert "cases.qdpx: case(s) with no coded source left out: Z-empty" in model.notes
