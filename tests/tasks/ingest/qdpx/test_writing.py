"""Tests for tasks.ingest.qdpx.writing: round trips through the reader, determinism, refusals."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from xml.etree import ElementTree as ET

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.demo.qda_project import project_from_rows
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import read_qdc, read_qdpx, stable_guid, write_qdc, write_qdpx
from tests.tasks.ingest.qdpx.samples import (
    ANA,
    BEN,
    LEAF,
    NS,
    OTHER,
    S1,
    S1_TEXT,
    S2,
    S3,
    as_read_back,
    g,
    sample_project,
)


def test_round_trip_gives_the_same_project() -> None:
    project = sample_project()
    back = read_qdpx(write_qdpx(project), "study.qdpx", strict=True)
    assert back == as_read_back(project)
    assert back.notes == ()
    assert back.name == "Wellbeing study"
    two_codes = back.selections.filter(pl.col("guid") == g(42)).sort("code_guid")
    assert two_codes["code_guid"].to_list() == [LEAF, OTHER]
    assert two_codes["user_guid"].to_list() == [ANA, BEN]
    assert two_codes["text"].to_list() == ["the café was naïve"] * 2


def test_writer_is_deterministic() -> None:
    first = write_qdpx(sample_project())
    second = write_qdpx(sample_project())
    assert first == second
    # Reading and writing again changes nothing either.
    assert write_qdpx(read_qdpx(first, "a.qdpx")) == first


def test_written_zip_layout_and_schema_order() -> None:
    data = write_qdpx(sample_project())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == [
            "project.qde",
            f"sources/{S1}.txt",
            f"sources/{S2}.txt",
            f"sources/{S3}.txt",
        ]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read(f"sources/{S1}.txt") == S1_TEXT.encode("utf-8")
        assert archive.read(f"sources/{S3}.txt").endswith(b"\r\nwith CRLF kept.")
        root = ET.fromstring(archive.read("project.qde"))
    assert root.tag == f"{NS}Project"
    assert [child.tag for child in root] == [
        f"{NS}{t}" for t in ("Users", "CodeBook", "Variables", "Cases", "Sources")
    ]
    variables = root.find(f"{NS}Variables")
    assert variables is not None
    assert [(v.get("name"), v.get("typeOfVariable"), v.get("guid")) for v in variables] == [
        ("age", "Text", stable_guid("variable", "age")),
        ("mode", "Text", stable_guid("variable", "mode")),
        ("role", "Text", stable_guid("variable", "role")),
    ]
    source = root.find(f"{NS}Sources/{NS}TextSource")
    assert source is not None
    assert source.get("plainTextPath") == f"internal://{S1}.txt"
    assert [child.tag.removeprefix(NS) for child in source] == [
        "PlainTextSelection",
        "PlainTextSelection",
        "VariableValue",
    ]
    # Overlapping selections are written in text order; no timestamps are invented.
    assert [s.get("startPosition") for s in source.findall(f"{NS}PlainTextSelection")] == [
        "10",
        "14",
    ]
    assert "creationDateTime" not in ET.tostring(root, encoding="unicode")
    leaf = root.find(f"{NS}CodeBook/{NS}Codes/{NS}Code/{NS}Code/{NS}Code")
    assert leaf is not None and leaf.get("name") == "Workload"


def test_writer_rejects_a_selection_with_an_unknown_code() -> None:
    project = sample_project()
    broken = dataclasses.replace(
        project, selections=project.selections.with_columns(code_guid=pl.lit(g(99)))
    )
    with pytest.raises(
        InputErrors,
        match=rf"code_guid must name a code in the codes table \(unknown code guid {g(99)}\)",
    ):
        write_qdpx(broken)


def test_writer_rejects_guids_that_are_not_uuids() -> None:
    project = project_from_rows("p", users=[{"guid": "user-7", "name": "x"}])
    with pytest.raises(InputError, match=r"users row 0: GUIDs must be UUIDs .*'user-7'"):
        write_qdpx(project)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_round_trip_property_random_selections(data: st.DataObject) -> None:
    text = data.draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=30), label="text")
    count = data.draw(st.integers(0, 6), label="count")
    selections = []
    for i in range(count):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        codes = data.draw(st.sets(st.sampled_from([LEAF, OTHER]), min_size=1))
        user = data.draw(st.sampled_from([ANA, BEN, None]))
        for code in sorted(codes):
            selections.append(
                {
                    "guid": stable_guid("selection", str(i)),
                    "source_guid": S1,
                    "start": start,
                    "end": end,
                    "code_guid": code,
                    "user_guid": user,
                }
            )
    project = project_from_rows(
        "random",
        codes=[{"guid": LEAF, "name": "leaf"}, {"guid": OTHER, "name": "other"}],
        users=[{"guid": ANA, "name": "Ana"}, {"guid": BEN, "name": "Ben"}],
        sources=[{"guid": S1, "name": "only", "text": text}],
        selections=selections,
    )
    assert read_qdpx(write_qdpx(project), "r.qdpx", strict=True) == as_read_back(project)


def test_qdc_round_trip() -> None:
    codes = sample_project().codes
    written = write_qdc(codes, "book.qdc")
    assert ET.fromstring(written).tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    back = read_qdc(written, "book.qdc", strict=True)
    assert back.sort("guid").equals(codes.sort("guid"))
    assert write_qdc(codes, "book.qdc") == written
