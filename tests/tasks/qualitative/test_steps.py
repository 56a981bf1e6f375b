"""The qualitative step functions on tiny frames, each given a StepInput directly."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import tiny_qual as tq

from schemas.datasets import Dataset
from schemas.datasets.qualitative import (
    ACTUAL_CASES,
    AREA_RANKING,
    CASE_SELECTION,
    CASES,
    CASES_CODEBOOK,
    CASES_NOTES,
    CASES_SEGMENTS,
    CASES_SOURCES,
    CODE_FREQUENCIES,
    COOCCURRENCE,
    PROJECT,
    QUOTES,
    RELIABILITY,
    SCOPING_CODEBOOK,
    SCOPING_NOTES,
    SCOPING_SEGMENTS,
    SCOPING_SOURCES,
    SEGMENT_OFFSETS,
    SELECTION_NOTES,
    SELECTION_SETS,
    SITE_PROFILES,
    SOURCE_LENGTHS,
    SOURCE_TEXTS,
    THEME_PRESENCE,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.study_config import StudyConfig
from tasks.ingest.qdpx import read_qdpx
from tasks.qualitative import steps
from tasks.qualitative.inputs import SITES_INPUT, notes_table
from tasks.qualitative.scoping import CodebookNodeError
from tasks.step import RawFile, StepInput, StepOutput

SITES = {SITES_INPUT: RawFile(SITES_INPUT, tq.SITES_CSV, "sites.csv")}


def _input(config: StudyConfig, tables: dict[Dataset, pl.DataFrame], files: dict[str, RawFile] | None = None,
           key: bytes | None = None) -> StepInput:
    """A step input holding tables by their concrete names (survey ones for wave w1)."""
    names = {d.resolve(**({"wave": "w1"} if d.placeholders else {})): f for d, f in tables.items()}
    return StepInput(config=config, tables=names, files=files or {}, key=key, waves=("w1", "w2"))


def _valid(out: StepOutput, dataset: Dataset) -> pl.DataFrame:
    """An output table checked against its contract."""
    assert dataset.model is not None
    return dataset.model.validate(out.tables[dataset], lazy=True)


def _scoping_tables() -> dict[Dataset, pl.DataFrame]:
    return {SCOPING_CODEBOOK: tq.codebook(), SCOPING_SOURCES: tq.sources(), SCOPING_SEGMENTS: tq.segments()}


def _case_tables() -> dict[Dataset, pl.DataFrame]:
    return {CASES: tq.cases(), CASES_CODEBOOK: tq.codebook(), CASES_SOURCES: tq.sources(),
            CASES_SEGMENTS: tq.segments()}


def test_frequencies_count_the_primary_coder(tmp_path: Path) -> None:
    out = steps.scoping_frequencies(_input(tq.study_config(tmp_path), _scoping_tables()))
    assert set(out.tables) == {CODE_FREQUENCIES}
    freq = _valid(out, CODE_FREQUENCIES)
    got = {r["path"]: (r["n_sites"], r["n_sources"], r["n_segments"]) for r in freq.iter_rows(named=True)}
    # coder_b's double coding of s1 (g7) does not count: s1's primary coder is coder_a.
    assert got["Topic areas/Urgent care"] == (1, 2, 2)
    assert got["Topic areas/Mental health"] == (2, 2, 2)
    assert got["Maturity"] == (0, 0, 0)


def test_ranking_then_profiles_with_site_names(tmp_path: Path) -> None:
    config = tq.study_config(tmp_path, target_areas_top=1)
    ranked = steps.area_ranking(_input(config, _scoping_tables()))
    ranking = _valid(ranked, AREA_RANKING)
    assert ranking.select("rank", "area", "n_sites", "is_target").rows() == [
        (1, "Mental health", 2, True), (2, "Urgent care", 1, False)]
    out = steps.site_profiles(_input(config, {**_scoping_tables(), AREA_RANKING: ranking}, files=SITES))
    profiles = _valid(out, SITE_PROFILES)
    assert profiles.select("site_id", "site_name", "maturity", "target_areas").rows() == [
        ("S1", "Ashford", "Established", "Mental health"), ("S2", "Bramley", "Emerging", "Mental health")]


def test_an_unknown_area_theme_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(CodebookNodeError, match="qualitative.area_theme"):
        steps.area_ranking(_input(tq.study_config(tmp_path, area_theme="Nope"), _scoping_tables()))


def test_scoping_summary_reads_the_published_tables_and_notes(tmp_path: Path) -> None:
    config = tq.study_config(tmp_path, target_areas_top=1)
    ranking = steps.area_ranking(_input(config, _scoping_tables())).tables[AREA_RANKING]
    profiles = steps.site_profiles(
        _input(config, {**_scoping_tables(), AREA_RANKING: ranking}, files=SITES)).tables[SITE_PROFILES]
    tables = {**_scoping_tables(), AREA_RANKING: ranking, SITE_PROFILES: profiles,
              SCOPING_NOTES: notes_table(["part1.qdpx: 1 coding(s) name no coder"])}
    out = steps.scoping_summary(_input(config, tables))
    assert out.tables == {}
    assert out.summary == {"sites": 2, "sources": 3, "segments": 7, "lead_coder": "coder_a",
                           "target_areas": "Mental health"}
    assert out.markdown.startswith("## Scoping\n2 sites, 3 sources, 7 coded segments")
    assert "Target areas (top 1): Mental health." in out.markdown
    assert out.markdown.endswith("- note: part1.qdpx: 1 coding(s) name no coder")
    assert [r["area"] for r in out.table] == ["Mental health", "Urgent care"]


def test_steps_reading_projects_refuse_to_run_without_the_key(tmp_path: Path) -> None:
    # Without the key, participant ids would be taken as pseudonyms and written as they are.
    for fn in (steps.scoping_segments, steps.case_segments):
        with pytest.raises(RuntimeError, match="pseudonymisation key"):
            fn(_input(tq.study_config(tmp_path), {}))


def _selection_input(config: StudyConfig, wave_one: dict[Dataset, pl.DataFrame] | None = None) -> StepInput:
    """Three scoping sites (S3 without a target area), two actual cases and optionally wave 1."""
    profiles = pl.DataFrame({
        "site_id": ["S1", "S2", "S3"], "site_name": ["Ashford", "Bramley", "Calder"], "n_sources": [2, 1, 1],
        "n_segments": [4, 2, 1], "maturity": [None, None, None], "maturity_segments": [0, 0, 0],
        "focus_areas": ["", "", ""], "target_areas": ["Urgent care", "Mental health", ""], "n_target_areas": [1, 1, 0],
    }, schema_overrides={"maturity": pl.String})
    # Case B lists S3 before S2: the selection keeps the projects' order.
    actual = pl.DataFrame({"case": ["B", "A"], "site_ids": ["S3;S2", "S1"]})
    return _input(config, {SITE_PROFILES: profiles, ACTUAL_CASES: actual, **(wave_one or {})}, files=SITES)


def _selection_config(tmp_path: Path) -> StudyConfig:
    selection = {"n": 2, "attributes": ["setting", "region"], "survey_indicators": ["influence", "nope"], "seed": 1}
    return tq.study_config(tmp_path, variables={"influence": tq.INFLUENCE}, case_selection=selection)


def test_selection_without_wave_one_notes_the_left_out_indicators(tmp_path: Path) -> None:
    out = steps.case_selection(_selection_input(_selection_config(tmp_path)))
    assert set(out.tables) == {CASE_SELECTION, SELECTION_SETS, SELECTION_NOTES}
    selection = _valid(out, CASE_SELECTION)
    assert selection.filter(pl.col("selected")).get_column("site_id").to_list() == ["S1", "S2"]
    assert dict(selection.select("site_id", "actual_case").iter_rows()) == {"S1": "A", "S2": "B", "S3": "B"}
    notes = _valid(out, SELECTION_NOTES).get_column("note").to_list()
    assert notes == list(out.notes)
    assert notes[0] == ("wave-1 outputs (survey.w1.respondents / answers) missing: survey indicators "
                        "influence, nope left out of the selection")
    assert all("influence=" not in p for p in selection.get_column("profile"))


def test_selection_uses_the_first_waves_indicators(tmp_path: Path) -> None:
    respondents = pl.DataFrame({"respondent_id": ["r1", "r2", "r3"], "site_id": ["S1", "S2", "S3"]})
    answers = pl.DataFrame({"respondent_id": ["r1", "r2", "r3"], "variable": "influence", "code": ["1", "2", "1"],
                            "missing": False})
    out = steps.case_selection(_selection_input(_selection_config(tmp_path),
                                                {RESPONDENTS: respondents, ANSWERS: answers}))
    profiles = dict(out.tables[CASE_SELECTION].select("site_id", "profile").iter_rows())
    assert profiles["S1"].endswith("influence=1") and profiles["S2"].endswith("influence=0")
    assert out.notes == ("survey indicator 'nope' is not a survey variable; left out",)


def test_matrices_and_cooccurrence_count_cases(tmp_path: Path) -> None:
    config = tq.study_config(tmp_path)
    out = steps.case_matrices(_input(config, _case_tables()))
    presence = _valid(out, THEME_PRESENCE)
    assert presence.select("theme", "n_cases", "n_segments").rows() == [("Topic areas", 2, 4), ("Maturity", 2, 2)]
    co = steps.case_cooccurrence(_input(config, _case_tables()))
    source_pairs = _valid(co, COOCCURRENCE).filter(pl.col("scope") == "source")
    # s1 carries urgent care, mental health and established; s3 mental health and emerging.
    assert source_pairs.height == 4


def test_quotes_take_their_provenance_from_the_offsets(tmp_path: Path) -> None:
    offsets = tq.segments().select("segment_id", "code_id", "coder", (pl.col("start") + 5).alias("raw_start"),
                                   (pl.col("end") + 5).alias("raw_end"))
    out = steps.case_quotes(_input(tq.study_config(tmp_path), {**_case_tables(), SEGMENT_OFFSETS: offsets}))
    quotes = _valid(out, QUOTES)
    # A × topic areas: g1, g2 (g3 quotes g1's words and is dropped); A × maturity g6; B: g4, g5.
    assert sorted(quotes.get_column("segment_id")) == sorted(tq.gid(g) for g in ("g1", "g2", "g4", "g5", "g6"))
    assert (quotes.get_column("raw_start") == quotes.get_column("start") + 5).all()
    # In the study's words: role label, case, source type; "not recorded" where the project is silent.
    who = dict(quotes.select("segment_id", "attribution").iter_rows())
    assert who[tq.gid("g1")] == "Gp Chair, case A, interview"
    assert who[tq.gid("g4")] == "Nurse, case B, interview"


def _coded_text(shift: int = 0) -> dict[Dataset, pl.DataFrame]:
    """The codings' offsets and the sources' lengths in the unredacted text (`shift` characters later)."""
    offsets = tq.segments().select("segment_id", "code_id", "coder", (pl.col("start") + shift).alias("raw_start"),
                                   (pl.col("end") + shift).alias("raw_end"))
    lengths = tq.sources().select("source_id", pl.col("length") + shift)
    return {SEGMENT_OFFSETS: offsets, SOURCE_LENGTHS: lengths}


def test_reliability_notes_too_little_double_coding(tmp_path: Path) -> None:
    out = steps.case_reliability(_input(tq.study_config(tmp_path, double_coded_share_min=0.5),
                                        {**_case_tables(), **_coded_text()}))
    pooled = _valid(out, RELIABILITY).filter(pl.col("code_id") == "__pooled__")
    assert set(pooled.get_column("coders")) == {"coder_a vs coder_b"} and set(pooled.get_column("n_sources")) == {1}
    assert out.notes == ("only 33.3% of sources are double-coded (minimum 50%)",
                         "reliability of coder_a vs coder_b rests on 1 shared source(s): no bootstrap interval")


def test_reliability_counts_characters_of_the_coded_text(tmp_path: Path) -> None:
    # The coded text is 7 characters longer than the published one (a name was redacted before
    # the codings): character counts follow the coded text, not the published offsets.
    config = tq.study_config(tmp_path)
    published = _valid(steps.case_reliability(_input(config, {**_case_tables(), **_coded_text()})), RELIABILITY)
    coded = _valid(steps.case_reliability(_input(config, {**_case_tables(), **_coded_text(7)})), RELIABILITY)
    chars = {frame: f.filter((pl.col("unit") == "character") & (pl.col("code_id") == "__pooled__")).row(0, named=True)
             for frame, f in (("published", published), ("coded", coded))}
    # s1 codes: 3 codes over the whole source; both coders coded g1 = 18 characters of urgent care.
    assert chars["published"]["n_units"] == 3 * len(tq.TEXT)
    assert chars["coded"]["n_units"] == 3 * (len(tq.TEXT) + 7)
    assert chars["coded"]["both"] == 18 and chars["coded"]["neither"] == chars["published"]["neither"] + 3 * 7


def test_project_carries_the_redacted_texts(tmp_path: Path) -> None:
    texts = pl.DataFrame({"source_id": [tq.gid(s) for s in ("s1", "s2", "s3")], "text": [f"{tq.TEXT} ({i})" for i in range(3)]})
    out = steps.case_project(_input(tq.study_config(tmp_path), {**_case_tables(), SOURCE_TEXTS: texts}))
    assert out.tables == {} and set(out.files) == {PROJECT}
    project = read_qdpx(out.files[PROJECT], "cases.qdpx", strict=True)
    assert project.sources.select("guid", "text").sort("guid").rows() == texts.sort("source_id").rows()
    assert project.selections.height == tq.segments().height
    assert sorted(project.cases.get_column("name")) == ["A", "B"]


def test_case_summary_keeps_the_phase_summary_and_note_order(tmp_path: Path) -> None:
    config = tq.study_config(tmp_path, double_coded_share_min=0.5)
    base = _input(config, _case_tables())
    chosen = steps.case_selection(_selection_input(_selection_config(tmp_path)))
    tables: dict[Dataset, pl.DataFrame] = {
        **_case_tables(),
        **chosen.tables,
        **steps.case_matrices(base).tables,
        **steps.case_reliability(_input(config, {**_case_tables(), **_coded_text()})).tables,
        QUOTES: steps.case_quotes(_input(config, {**_case_tables(), SEGMENT_OFFSETS: tq.segments().select(
            "segment_id", "code_id", "coder", pl.col("start").alias("raw_start"), pl.col("end").alias("raw_end"))}
        )).tables[QUOTES],
        CASES_NOTES: notes_table(["cases.qdpx: case(s) with no coded source left out: C"]),
    }
    out = steps.case_summary(_input(config, tables))
    assert list(out.summary)[:9] == ["cases", "sources", "segments", "lead_coder", "double_coded_sources", "quotes",
                                     "n_selected", "selected_sites", "selection_search"]
    assert out.summary["selected_sites"] == "S1; S2" and out.summary["double_coded_sources"] == 1
    assert "presence_kappa_coder_a_coder_b" in out.summary
    assert "- coder_a vs coder_b, character (1 sources, " in out.markdown
    notes = [line for line in out.markdown.splitlines() if line.startswith("- note: ")]
    assert [n.split(":")[1].strip() for n in notes] == ["wave-1 outputs (survey.w1.respondents / answers) missing",
                                                        "only 33.3% of sources are double-coded (minimum 50%)",
                                                        "cases.qdpx"]
    assert [r["site_id"] for r in out.table] == ["S1", "S2"]


def test_reliability_with_a_third_coder_compares_every_pair_and_all_three(tmp_path: Path) -> None:
    # coder_c double-codes s1 (as coder_b did) and s3, which coder_b never coded: the pair
    # coder_b / coder_c shares s1 only; Fleiss' kappa runs on s1, the one source all three coded.
    third = pl.DataFrame([
        {"segment_id": tq.gid("g8"), "source_id": tq.gid("s1"), "start": 0, "end": 18, "text": tq.TEXT[0:18],
         "code_id": tq.segments().item(0, "code_id"), "coder": "coder_c"},
        {"segment_id": tq.gid("g9"), "source_id": tq.gid("s3"), "start": 19, "end": 36, "text": tq.TEXT[19:36],
         "code_id": tq.segments().item(3, "code_id"), "coder": "coder_c"},
    ])
    segments = pl.concat([tq.segments(), third])
    offsets = segments.select("segment_id", "code_id", "coder", pl.col("start").alias("raw_start"),
                              pl.col("end").alias("raw_end"))
    tables = {**_case_tables(), CASES_SEGMENTS: segments, SEGMENT_OFFSETS: offsets,
              SOURCE_LENGTHS: tq.sources().select("source_id", "length")}
    out = steps.case_reliability(_input(tq.study_config(tmp_path), tables))
    rel = _valid(out, RELIABILITY).filter(pl.col("code_id") == "__pooled__")
    sources = dict(rel.filter(pl.col("unit") == "presence").select("coders", "n_sources").iter_rows())
    assert sources == {"coder_a vs coder_b": 1, "coder_a vs coder_c": 2, "coder_b vs coder_c": 1,
                       "coder_a, coder_b, coder_c": 2}
    group = rel.filter(pl.col("comparison") == "all coders")
    assert set(group.get_column("kappa_type")) == {"Fleiss"} and set(group.get_column("kappa_sources")) == {1}
    assert group.height == 3
