"""The directly serialised <Sources> block gives the bytes the element-by-element writer gave."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.demo.qda_project import project_from_rows
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import QdaProject, stable_guid, write_qdpx
from tasks.ingest.qdpx.writing import _sources_xml, _write_qdpx
from tests.tasks.ingest.qdpx.samples import ANA, BEN, LEAF, OTHER, S1, S2, S3, g, sample_project


def _both(project: QdaProject) -> tuple[bytes, bytes]:
    return _write_qdpx(project, fast_sources=True), _write_qdpx(project, fast_sources=False)


def _tricky() -> QdaProject:
    """Names and values that need escaping, empty and null values, a source with nothing coded,
    a selection coded by two users, one by nobody, codes listed out of GUID order."""
    project = project_from_rows(
        "Tricky & <study>",
        codes=[{"guid": OTHER, "name": "other"}, {"guid": LEAF, "name": "leaf"}],
        users=[{"guid": ANA, "name": "Ana"}, {"guid": BEN, "name": "Ben \"B\""}],
        sources=[
            {"guid": S1, "name": 'A & B <"x">\r\n\tz', "text": "Zoë said: café & more\nlines"},
            {"guid": S2, "name": "", "text": ""},
            {"guid": S3, "name": "Ünïcode 日本", "text": "0123456789"},
        ],
        selections=[
            {"guid": g(42), "source_guid": S1, "start": 3, "end": 9, "code_guid": OTHER, "user_guid": ANA},
            {"guid": g(42), "source_guid": S1, "start": 3, "end": 9, "code_guid": LEAF, "user_guid": BEN},
            {"guid": g(41), "source_guid": S1, "start": 3, "end": 9, "code_guid": LEAF, "user_guid": ANA},
            {"guid": g(43), "source_guid": S1, "start": 0, "end": 21, "code_guid": LEAF, "user_guid": None},
            {"guid": g(44), "source_guid": S3, "start": 10, "end": 10, "code_guid": OTHER, "user_guid": BEN},
            {"guid": g(45), "source_guid": S3, "start": 2, "end": 4, "code_guid": LEAF, "user_guid": None},
            {"guid": g(45), "source_guid": S3, "start": 2, "end": 4, "code_guid": OTHER, "user_guid": ANA},
        ],
        source_variables=[
            {"source_guid": S3, "name": "mode", "value": "a < b & c > d \"q\"\n"},
            {"source_guid": S1, "name": "mode", "value": ""},
            {"source_guid": S1, "name": "site", "value": "null below"},
            {"source_guid": S3, "name": "ünï", "value": "  "},
        ],
    )
    values = project.source_variables.with_columns(
        pl.when(pl.col("value") == "null below").then(None).otherwise(pl.col("value")).alias("value"))
    return dataclasses.replace(project, source_variables=values)


@pytest.mark.parametrize("make", [sample_project, _tricky])
def test_fast_sources_block_gives_the_same_bytes(make: object) -> None:
    project = make()  # type: ignore[operator]
    assert _sources_xml(project, project.sources.get_column("guid").to_list(), {LEAF, OTHER, g(1), g(2), g(3)},
                        {ANA, BEN}) is not None
    fast, slow = _both(project)
    assert fast == slow
    assert write_qdpx(project) == fast


def test_a_project_with_no_sources_gives_the_same_bytes() -> None:
    project = project_from_rows("empty", codes=[{"guid": LEAF, "name": "leaf"}])
    fast, slow = _both(project)
    assert fast == slow


@pytest.mark.parametrize(
    "change",
    [
        # GUIDs in braces are canonicalised on the checked path.
        lambda p: p.selections.with_columns(pl.format("{{{}}}", "guid").alias("guid")),
        lambda p: p.selections.with_columns(pl.format("{{{}}}", "user_guid").alias("user_guid")),
    ],
)
def test_projects_the_fast_path_declines_are_written_as_before(change: object) -> None:
    project = _tricky()
    changed = dataclasses.replace(project, selections=change(project))  # type: ignore[operator]
    assert _sources_xml(changed, changed.sources.get_column("guid").to_list(), {LEAF, OTHER}, {ANA, BEN}) is None
    fast, slow = _both(changed)
    assert fast == slow == write_qdpx(project)


def _errors(project: QdaProject, fast: bool) -> str:
    with pytest.raises((InputError, InputErrors)) as raised:
        _write_qdpx(project, fast_sources=fast)
    return str(raised.value)


@pytest.mark.parametrize(
    "broken",
    [
        lambda p: dataclasses.replace(p, selections=p.selections.with_columns(end=pl.lit(99, pl.Int64))),
        lambda p: dataclasses.replace(p, selections=p.selections.with_columns(code_guid=pl.lit(g(99)))),
        lambda p: dataclasses.replace(p, selections=p.selections.with_columns(user_guid=pl.lit(g(98)))),
        lambda p: dataclasses.replace(p, selections=pl.concat([p.selections, p.selections.head(1)])),
        lambda p: dataclasses.replace(p, sources=p.sources.with_columns(text=pl.lit(None, pl.String))),
        lambda p: dataclasses.replace(p, sources=p.sources.with_columns(name=pl.lit("bell \x07"))),
        lambda p: dataclasses.replace(p, source_variables=p.source_variables.with_columns(source_guid=pl.lit(g(97)))),
        lambda p: dataclasses.replace(p, selections=p.selections.with_columns(source_guid=pl.lit(g(96)))),
        lambda p: dataclasses.replace(p, selections=p.selections.with_columns(
            start=pl.when(pl.col("code_guid") == LEAF).then(0).otherwise(pl.col("start")))),
    ],
)
def test_a_broken_project_gets_the_same_errors(broken: object) -> None:
    project = broken(_tricky())  # type: ignore[operator]
    assert _errors(project, True) == _errors(project, False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_selections_give_the_same_bytes(data: st.DataObject) -> None:
    text = data.draw(st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=30), label="text")
    name = data.draw(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00\x0b\x0c\ufffe\uffff"
                                           + "".join(map(chr, range(1, 9))) + "".join(map(chr, range(14, 32)))),
                             max_size=10), label="name")
    selections = []
    for i in range(data.draw(st.integers(0, 6), label="count")):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, len(text)))
        users = [data.draw(st.sampled_from([ANA, BEN, None])) for _ in range(2)]
        for code, user in zip(sorted(data.draw(st.sets(st.sampled_from([LEAF, OTHER]), min_size=1))), users, strict=False):
            selections.append({"guid": stable_guid("selection", str(i)), "source_guid": S1, "start": start,
                               "end": end, "code_guid": code, "user_guid": user})
    project = project_from_rows(
        "random",
        codes=[{"guid": LEAF, "name": "leaf"}, {"guid": OTHER, "name": "other"}],
        users=[{"guid": ANA, "name": "Ana"}, {"guid": BEN, "name": "Ben"}],
        sources=[{"guid": S1, "name": name, "text": text}, {"guid": S2, "name": "second", "text": text}],
        selections=selections,
        source_variables=[{"source_guid": S2, "name": "v", "value": name}],
    )
    fast, slow = _both(project)
    assert fast == slow
