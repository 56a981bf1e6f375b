"""Tests for the study codebook read from a .qdc or from the CodeBook of a .qdpx project."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import (
    read_codebook_file,
    read_qdc,
    read_qdpx_codebook,
    write_qdc,
    write_qdpx,
)
from tasks.qualitative.inputs import CODEBOOK_INPUT, read_codebook
from tasks.step import RawFile
from tests.tasks.ingest.qdpx.samples import make_zip, sample_project
from tests.tasks.ingest.qdpx.test_schema import CODE_A, CODE_B, SRC_1, maxqda_like


def test_a_qdpx_codebook_equals_the_same_codes_as_a_qdc() -> None:
    project = sample_project()
    from_qdpx, notes = read_codebook_file(write_qdpx(project), "study.qdpx", strict=True)
    from_qdc, _ = read_codebook_file(write_qdc(project.codes, "study"), "study.qdc", strict=True)
    assert notes == ()
    assert from_qdpx.sort("guid").equals(from_qdc.sort("guid"))
    assert from_qdpx.sort("path")["path"].to_list() == [
        "Support", "Wellbeing", "Wellbeing/Stress", "Wellbeing/Stress/Workload",
    ]


def test_only_the_codebook_of_a_qdpx_is_read() -> None:
    # The sources/ folder is missing: reading the project fails, reading its codebook does not.
    data = make_zip({"project.qde": maxqda_like()})
    codes, notes = read_qdpx_codebook(data, "trusts.qdpx", strict=True)
    assert notes == ()
    assert codes.select("guid", "path", "color").rows() == [
        (CODE_A.lower(), "Governance", "#FF8000"),
        (CODE_B.lower(), "Governance/Lack of time", "#0080ff"),
    ]
    with pytest.raises(InputErrors, match=f"no zip member 'sources/{SRC_1}.txt'"):
        from tasks.ingest.qdpx import read_qdpx

        read_qdpx(data, "trusts.qdpx")


def test_a_qdpx_codebook_is_judged_like_a_project() -> None:
    data = make_zip({"project.qde": maxqda_like().replace(b'color="#0080ff"', b'color="0080ff"')})
    codes, notes = read_codebook_file(data, "trusts.qdpx")
    assert codes["color"].to_list() == ["#FF8000", "#0080ff"]
    assert notes == (
        "tolerated: color must be #RRGGBB or #RGB - at project.qde: /Project/CodeBook/Codes/Code[1]/Code[1] "
        f"(guid={CODE_B}) (read '0080ff' as '#0080ff')",
    )
    with pytest.raises(InputErrors) as caught:
        read_codebook_file(data, "trusts.qdpx", strict=True)
    assert [e.place for e in caught.value.errors] == ["project.qde: /Project/CodeBook/Codes/Code/Code/@color"]


def test_a_qdpx_without_a_codebook_cannot_be_the_codebook() -> None:
    qde = b'<Project xmlns="urn:QDA-XML:project:1.0" name="p"/>'
    with pytest.raises(InputError, match="a project used as the codebook must contain CodeBook/Codes"):
        read_codebook_file(make_zip({"project.qde": qde}), "empty.qdpx")


def test_the_pipeline_reads_a_qdpx_as_the_study_codebook() -> None:
    project = sample_project()
    table = read_codebook(RawFile(name=CODEBOOK_INPUT, original_name="codebook.qdpx", data=write_qdpx(project)))
    same = read_codebook(RawFile(name=CODEBOOK_INPUT, original_name="codebook.qdc", data=write_qdc(project.codes, "study")))
    assert table.sort("code_id").equals(same.sort("code_id"))
    assert table.filter(pl.col("path") == "Wellbeing/Stress/Workload")["theme"].to_list() == ["Wellbeing"]
    assert read_qdc(write_qdc(project.codes, "study"), "x.qdc").height == 4
