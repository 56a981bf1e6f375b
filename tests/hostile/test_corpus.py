"""The hostile-input corpus (tests/hostile/generate.py): each case fails with its own clear error,
naming the file, the place and the rule, or is read with every row accounted for."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from schemas.study_config import ConfigError, load_study_config
from tasks.ingest.coded_segments_csv import read_coded_segments
from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.qdpx import read_qdc, read_qdpx
from tasks.ingest.qualtrics import read_qualtrics_csv
from tasks.ingest.redcap import read_redcap_csv
from tasks.ingest.tables import parse_csv_records, read_table
from tasks.ingest.text import decode_text
from tasks.storage.runs import config_inputs, ingest_inputs
from tasks.storage.store import open_store
from tests.hostile.generate import REDCAP_DICTIONARIES, STUDY_FILES, Case, all_cases, write_corpus

CASES = all_cases()


def test_the_corpus_is_large_and_covers_every_reader() -> None:
    readers = {c.reader for c in CASES}
    assert len(CASES) >= 120
    assert readers == {"table", "qualtrics", "redcap", "text", "segments", "qdpx", "qdc", "study"}
    assert len({c.id for c in CASES}) == len(CASES)


def test_the_generator_writes_the_corpus(tmp_path: Path) -> None:
    assert write_corpus(tmp_path) == len(CASES)
    assert (tmp_path / "table-truncated-row--r.csv").read_bytes().endswith(b"M004,CC")


def _study_folder(case: Case, root: Path) -> Path:
    folder = root / "study"
    for name, data in {**STUDY_FILES, **case.files}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    for name, target in case.links.items():
        (folder / name).symlink_to(target)
    for name in case.fifos:
        os.mkfifo(folder / name)
    (folder / case.name).write_bytes(case.data)
    return folder / case.name


def _read(case: Case, tmp_path: Path) -> int:
    """Run the case's reader; the number of rows (or inputs) it accepted."""
    if case.reader == "table":
        sheet = "x" if case.id == "csv-with-sheet" else None
        read = read_table(case.data, case.name, sheet=sheet)
        if not case.name.endswith(".xlsx"):
            records = parse_csv_records(decode_text(case.data, case.name).text, case.name,
                                        delimiter="\t" if case.name.endswith(".tsv") else
                                        (";" if case.id == "table-semicolons" else ","))
            # Rows in = rows kept + rows dropped (blank); nothing vanishes.
            assert len(records) - 1 == read.frame.height + len(read.dropped_rows)
        return read.frame.height
    if case.reader in ("qualtrics", "redcap"):
        if case.reader == "qualtrics":
            export = read_qualtrics_csv(case.data, case.name)
            header_rows = 3
        else:
            export = read_redcap_csv(case.data, case.name, REDCAP_DICTIONARIES.get(case.id),
                                     "dictionary.csv" if case.id in REDCAP_DICTIONARIES else None)
            header_rows = 1
        delimiter = "\t" if case.name.endswith(".tsv") else ","
        records = parse_csv_records(decode_text(case.data, case.name).text, case.name, delimiter=delimiter)
        blank = next((int(m.group(1)) for n in export.notes if (m := re.match(r"dropped (\d+) entirely empty", n))), 0)
        # Rows in = rows kept + blank rows dropped (and noted); nothing vanishes.
        assert len(records) - header_rows == export.data.height + blank
        return export.data.height
    if case.reader == "text":
        decode_text(case.data, case.name, allow_cp1252=False)
        return 1
    if case.reader == "segments":
        read = read_coded_segments(case.data, case.name)
        text = decode_text(case.data, case.name).text
        blank = next((int(m.group(1)) for n in read.notes if (m := re.match(r"ignored (\d+) blank row", n))), 0)
        data_lines = [line for line in text.splitlines()[1:]]
        assert len(data_lines) == read.table.height + blank
        return read.table.height
    if case.reader == "qdpx":
        return read_qdpx(case.data, case.name).selections.height
    if case.reader == "qdc":
        return read_qdc(case.data, case.name).height
    config = _study_folder(case, tmp_path)
    store = open_store(str(tmp_path / "store"))
    try:
        return len(ingest_inputs(store, load_study_config(config)))
    finally:
        if case.error:
            # A refused study copies nothing into the store, quarantine included.
            assert store.list() == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    if case.error is None:
        assert _read(case, tmp_path) == case.rows
        return
    with pytest.raises((InputError, InputErrors, ConfigError)) as info:
        _read(case, tmp_path)
    message = str(info.value)
    assert re.search(case.error, message, re.S), f"{case.id}: {message[:400]}"
    assert "Traceback" not in message and len(message) < 4000


def test_study_outputs_name_their_inputs(tmp_path: Path) -> None:
    ok = next(c for c in CASES if c.id == "study-ok")
    names = [n for n, _ in config_inputs(load_study_config(_study_folder(ok, tmp_path)))]
    assert names[:2] == ["sites", "survey.w1.export"]
