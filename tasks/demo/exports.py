"""Streaming file writers: tables appended block by block, Qualtrics exports in chunks.

Memory stays bounded at any scale: each block's rows are encoded and appended, then dropped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import IO

import polars as pl

from tasks.demo.instrument import METADATA, questions_in
from tasks.ingest.qualtrics import QualtricsColumn, write_qualtrics_csv


def _csv_bytes(frame: pl.DataFrame, *, header: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue().encode("utf-8")


class CsvStream:
    """A UTF-8 CSV table written block by block (header once)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: IO[bytes] = path.open("wb")
        self._header = True

    def write(self, frame: pl.DataFrame) -> None:
        """Append the rows of `frame` (its columns must not change between calls)."""
        self._file.write(_csv_bytes(frame, header=self._header))
        self._header = False

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def qualtrics_columns(wave: int) -> list[QualtricsColumn]:
    """The three header rows of a wave's export, column by column."""
    columns = [
        QualtricsColumn(tag, text, import_id, dict(extra)) for tag, text, import_id, extra in METADATA
    ]
    for q in questions_in(wave):
        text = q.text if wave == 0 else q.text.replace("'", "\u2019").replace(" - ", " \u2013 ")
        columns.append(QualtricsColumn(q.tag_for(wave), text, q.import_id_for(wave)))
    return columns


def _drop_header_rows(data: bytes, count: int = 3) -> bytes:
    """Bytes after the first `count` CRLF-terminated rows (header fields hold no line breaks)."""
    position = 0
    for _ in range(count):
        position = data.index(b"\r\n", position) + 2
    return data[position:]


class QualtricsStream:
    """A Qualtrics CSV export written in chunks through write_qualtrics_csv."""

    def __init__(self, path: Path, wave: int, *, encoding: str, bom: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.columns = qualtrics_columns(wave)
        self.encoding = encoding
        self.bom = bom
        self._file: IO[bytes] = path.open("wb")
        self._first = True

    def write(self, rows: pl.DataFrame) -> None:
        """Append a chunk of submissions (the header rows are written with the first chunk)."""
        data = write_qualtrics_csv(
            self.columns, rows, encoding=self.encoding, bom=self.bom and self._first, crlf=True
        )
        self._file.write(data if self._first else _drop_header_rows(data))
        self._first = False

    def close(self, blank_trailing_rows: int = 0) -> None:
        """Close the export, first adding empty rows as spreadsheet re-saves leave them."""
        self._file.write((b"," * (len(self.columns) - 1) + b"\r\n") * blank_trailing_rows)
        self._file.close()
