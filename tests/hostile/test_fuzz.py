"""Property-based fuzzing of the readers: whatever the bytes, a reader either reads them or raises
InputError / InputErrors (a message naming the file), never anything else; accepted tables keep
every row they were given."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.study_config import ConfigError, load_study_config
from tasks.ingest.coded_segments_csv import read_coded_segments
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import read_qdc, read_qdpx
from tasks.ingest.tables import read_table
from tasks.ingest.text import decode_text
from tests.hostile.generate import ROSTER, SEG_HEADER, SEG_ROW, qdc, qde, selection, source

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
READ_ERRORS = (InputError, InputErrors)

# Bytes near valid inputs find more than uniform noise: splice, cut and flip valid files.
csv_alphabet = st.sampled_from(list('abc,;\t"\n\r 0123456789é\x00\ufeff'))


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """Valid bytes cut short, with a slice replaced by random bytes, or random bytes outright."""
    return st.one_of(
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.tuples(st.integers(0, len(valid)), st.integers(0, len(valid)), st.binary(max_size=40)).map(
            lambda t: valid[: min(t[:2])] + t[2] + valid[max(t[:2]):]
        ),
        st.binary(max_size=300),
    )


def _check_message(exc: BaseException, name: str) -> None:
    assert str(exc).startswith(name) or isinstance(exc, InputErrors), str(exc)


@FUZZ
@given(st.one_of(mutations(ROSTER.encode()), st.text(csv_alphabet, max_size=200).map(str.encode)))
def test_table_reader(data: bytes) -> None:
    try:
        read = read_table(data, "r.csv")
    except READ_ERRORS as exc:
        _check_message(exc, "r.csv")
        return
    assert read.frame.width >= 1 and all(dtype == "String" for dtype in map(str, read.frame.dtypes))


@FUZZ
@given(st.binary(max_size=200))
def test_text_decoder(data: bytes) -> None:
    try:
        decoded = decode_text(data, "t.txt", allow_cp1252=False)
    except READ_ERRORS as exc:
        _check_message(exc, "t.txt")
        return
    assert "\r\n" not in decoded.text


@FUZZ
@given(mutations((SEG_HEADER + SEG_ROW + SEG_ROW.replace("0,5", "6,11")).encode()))
def test_coded_segments_reader(data: bytes) -> None:
    try:
        read = read_coded_segments(data, "s.csv")
    except READ_ERRORS as exc:
        _check_message(exc, "s.csv")
        return
    assert (read.table["start"] <= read.table["end"]).all()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


VALID_QDE = qde(source(selection(0, 5)))


@FUZZ
@given(st.one_of(
    mutations(_zip({"project.qde": VALID_QDE})),
    mutations(VALID_QDE).map(lambda xml: _zip({"project.qde": xml})),
    # Member names zipfile can write, '..' and absolute ones included.
    st.dictionaries(st.from_regex(r"/?[a-z0-9_.-]{1,8}(/[a-z0-9_.-]{1,8}){0,2}", fullmatch=True),
                    st.binary(max_size=50), max_size=4).map(_zip),
))
def test_qdpx_reader(data: bytes) -> None:
    try:
        project = read_qdpx(data, "p.qdpx")
    except READ_ERRORS as exc:
        _check_message(exc, "p.qdpx")
        return
    texts = dict(zip(project.sources["guid"], project.sources["text"], strict=True))
    for row in project.selections.iter_rows(named=True):
        assert 0 <= row["start"] <= row["end"] <= len(texts.get(row["source_guid"]) or "")


@FUZZ
@given(mutations(qdc('<Code guid="00000000-0000-4000-8000-000000000003" name="A" isCodable="true">'
                     '<Code guid="00000000-0000-4000-8000-000000000004" name="B" isCodable="true"/></Code>')))
def test_qdc_reader(data: bytes) -> None:
    try:
        codes = read_qdc(data, "c.qdc")
    except READ_ERRORS as exc:
        _check_message(exc, "c.qdc")
        return
    assert codes["depth"].max() is None or codes["depth"].max() <= 64


@FUZZ
@given(st.one_of(
    st.text(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
                 max_leaves=20).map(lambda v: yaml.safe_dump(v)),
))
def test_study_yaml_loader(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "study.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_study_config(path)
    assert str(info.value).startswith(str(path))
