"""Reading the qualitative raw inputs: sites table, site checks, project files, kept notes."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import qual_mini_study as mini
import tiny_qual as tq

from tasks.ingest.errors import InputError
from tasks.ingest.qdpx import write_qdc, write_qdpx
from tasks.qualitative.inputs import (
    SITES_INPUT,
    check_sites,
    check_sites_of,
    load_projects,
    notes_table,
    read_codebook,
    read_sites,
    redacted_notes,
    role_map,
    site_ids,
    site_names,
)
from tasks.qualitative.model import CodedModel
from tasks.step import RawFile

SITES = RawFile(SITES_INPUT, b"code,name\n S1 ,Ashford\nS2,Bramley\nS2,Again\n", "sites.csv")


def test_sites_ids_and_names(tmp_path: Path) -> None:
    cfg = tq.study_config(tmp_path)
    sites = read_sites(SITES, cfg)
    assert site_ids(sites, cfg) == {"S1", "S2"}
    names = site_names(sites, cfg)
    assert names is not None and names.rows() == [("S1", "Ashford"), ("S2", "Bramley")]
    no_names = cfg.model_copy(update={"sites": cfg.sites.model_copy(update={"name_column": None})})
    assert site_names(sites, no_names) is None
    with pytest.raises(InputError):
        read_sites(RawFile(SITES_INPUT, b"id,name\nS1,A\n", "sites.csv"), cfg)


@pytest.mark.parametrize(
    "data",
    [
        b'code,name,region\n S1 ,"Ashford, Kent", South\n\nS2,,North\n"S3","Bram""ley",\n',  # polars parses it
        b"code;name\nS1;Ashford\nS2;Bramley\n",  # semicolons: the Python reader
        b'code,name\nS1,Ashford,extra\nS2,Bramley\n',  # a record longer than the header: the Python reader names it
    ],
)
def test_sites_read_as_the_python_table_reader_reads_them(tmp_path: Path, data: bytes) -> None:
    from tasks.ingest.tables import read_table

    cfg = tq.study_config(tmp_path)
    try:
        expected = read_table(data, "sites.csv").frame
    except InputError as error:
        with pytest.raises(InputError, match=re.escape(error.rule)):
            read_sites(RawFile(SITES_INPUT, data, "sites.csv"), cfg)
        return
    got = read_sites(RawFile(SITES_INPUT, data, "sites.csv"), cfg)
    assert got.schema == expected.schema and got.equals(expected)
    assert got.get_column("code").to_list()[:2] == ["S1", "S2"]


def test_an_unknown_site_is_an_error_in_scoping_and_a_note_otherwise() -> None:
    model = CodedModel(tq.codebook(), tq.sources(), tq.segments(), tq.cases())
    with pytest.raises(InputError, match="must be listed in the sites table"):
        check_sites(model, "p.qdpx", {"S1"}, require_site=True)
    noted = check_sites(model, "p.qdpx", {"S1"}, require_site=False)
    assert noted.notes == ("p.qdpx: sites not in the sites table: S2",)
    assert check_sites(model, "p.qdpx", {"S1", "S2"}, require_site=True) is model


def test_projects_are_read_pseudonymised_and_merged(tmp_path: Path) -> None:
    cfg = tq.study_config(tmp_path)
    codebook = read_codebook(RawFile("qual.codebook", write_qdc(mini.project("cb", []).codes, "cb.qdc"), "cb.qdc"))
    sources = mini.case_sources()
    files = [RawFile(f"qual.cases.{i:03d}", write_qdpx(mini.project(f"part {i}", part)), f"part{i}.qdpx")
             for i, part in enumerate((sources[:5], sources[5:]))]
    model = load_projects(files, cfg.qualitative.case_studies, codebook, cfg, b"k", require_case=True,
                          require_site=False, known_sites={"S01", "S03", "S04"})
    assert model.sources.height == len(sources) and model.cases.height == len(mini.CASES)
    pseudonyms = model.sources.get_column("participant_pseudonym").drop_nulls()
    assert pseudonyms.len() == sum(s.participant is not None for s in sources)
    assert pseudonyms.str.contains(r"^P[0-9a-f]{12}$").all()
    assert set(model.sources.get_column("role").drop_nulls()) <= set(role_map(cfg).values())
    assert model.notes[-1] == "part1.qdpx: sites not in the sites table: S06"


def test_notes_are_redacted_before_they_are_kept() -> None:
    notes = redacted_notes(["file of Dr Alice Pemberton: 2 codings", "case Hartwell Surgery left out"],
                           ["Hartwell Surgery"])
    assert notes == ["file of [name]: 2 codings", "case [redacted] left out"]
    assert notes_table(notes).schema == pl.Schema({"note": pl.String})
    assert notes_table([]).height == 0


def _at(model: CodedModel, sites: list[str | None], names: list[str] | None = None) -> CodedModel:
    sources = model.sources.with_columns(pl.Series("site_id", sites, dtype=pl.String))
    if names is not None:
        sources = sources.with_columns(pl.Series("name", names))
    return CodedModel(model.codebook, sources, model.segments, model.cases, notes=("read",))


def test_sites_of_all_projects_are_checked_at_once_with_each_file_named() -> None:
    base = CodedModel(tq.codebook(), tq.sources(), tq.segments(), tq.cases())
    models = [_at(base, ["S1", "S1", None]), _at(base, ["S9", "S1", "Sé"]), _at(base, ["S1", "S2", "S9"])]
    files = ["a.qdpx", "b.qdpx", "c.qdpx"]
    checked = check_sites_of(models, files, {"S1", "S2"}, require_site=False)
    assert checked[0] is models[0]
    assert checked[1].notes == ("read", "b.qdpx: sites not in the sites table: S9, Sé")
    assert checked[2].notes == ("read", "c.qdpx: sites not in the sites table: S9")
    # The same notes as checking each project on its own.
    assert [m.notes for m in checked] == [
        check_sites(m, f, {"S1", "S2"}, require_site=False).notes for m, f in zip(models, files, strict=True)
    ]
    assert check_sites_of([], [], {"S1"}, require_site=True) == []


def test_the_first_project_with_an_unknown_site_is_the_error_naming_its_first_source() -> None:
    base = CodedModel(tq.codebook(), tq.sources(), tq.segments(), tq.cases())
    models = [_at(base, ["S1", "S1", "S2"]), _at(base, ["S1", "S8", "S9"], ["one", "two", "three"]),
              _at(base, ["S7", "S1", "S1"])]
    with pytest.raises(InputError) as error:
        check_sites_of(models, ["a.qdpx", "b.qdpx", "c.qdpx"], pl.Series(["S1", "S2"]), require_site=True)
    assert error.value.file == "b.qdpx"
    assert error.value.place == f"source two ({tq.gid('s2')})"
    assert error.value.detail == "site 'S8'; 2 source(s) in all"


def test_an_unknown_site_is_reported_before_a_later_project_fails_to_read(tmp_path: Path) -> None:
    cfg = tq.study_config(tmp_path)
    codebook = read_codebook(RawFile("qual.codebook", write_qdc(mini.project("cb", []).codes, "cb.qdc"), "cb.qdc"))
    sources = mini.case_sources()
    files = [RawFile("qual.cases.000", write_qdpx(mini.project("part 0", sources[:5])), "part0.qdpx"),
             RawFile("qual.cases.001", b"not a zip", "broken.qdpx")]
    with pytest.raises(InputError) as error:
        load_projects(files, cfg.qualitative.case_studies, codebook, cfg, b"k", require_case=True,
                      require_site=True, known_sites={"S03"})
    assert error.value.file == "part0.qdpx" and error.value.rule == "a source's site must be listed in the sites table"
    with pytest.raises(InputError) as error:
        load_projects(files, cfg.qualitative.case_studies, codebook, cfg, b"k", require_case=True,
                      require_site=True, known_sites={"S01", "S03", "S04", "S06"})
    assert error.value.file == "broken.qdpx"
