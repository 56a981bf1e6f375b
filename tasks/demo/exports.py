"""Survey export writers: Qualtrics and REDCap CSV files as the readers in tasks.ingest read them.

The pipeline only reads exports; writing them is for the demo generator and test fixtures. Each
writer refuses what its reader could not give back unchanged. The streaming writers append
tables block by block and Qualtrics exports in chunks, so memory stays bounded at any scale:
each block's rows are encoded and appended, then dropped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import polars as pl

from tasks.demo.instrument import METADATA, questions_in
from tasks.ingest.redcap import DICTIONARY_HEADER
from tasks.ingest.survey_export import unique_column_names

WRITE_ENCODINGS = ("utf-8", "cp1252")


@dataclass(frozen=True)
class QualtricsColumn:
    """One column of a Qualtrics export as its three header rows describe it."""

    export_tag: str
    question_text: str | None = None
    import_id: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RedcapField:
    """One data-dictionary row, for writing fixtures; choices are (code, label) pairs."""

    field_name: str
    form_name: str
    field_type: str
    field_label: str
    choices: tuple[tuple[str, str], ...] = ()
    text_validation: str | None = None
    identifier: bool = False
    field_note: str | None = None
    required: bool = False
    branching_logic: str | None = None


def write_qualtrics_csv(
    columns: Sequence[QualtricsColumn] | pl.DataFrame,
    rows: pl.DataFrame,
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    crlf: bool = True,
) -> bytes:
    """Write a Qualtrics-style CSV that read_qualtrics_csv reads back to the same data and columns."""
    specs = _column_specs(columns)
    if not specs:
        raise ValueError("a Qualtrics export needs at least one column")
    if encoding not in WRITE_ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(WRITE_ENCODINGS)}, got {encoding!r}")
    for spec in specs:
        if not spec.export_tag.strip():
            raise ValueError("every column needs a non-blank export tag")
        if not spec.import_id:
            raise ValueError(f"column {spec.export_tag!r} needs an ImportId")
        if "ImportId" in spec.extra:
            raise ValueError(
                f"column {spec.export_tag!r}: give the ImportId as import_id, not in extra"
            )
    names, _ = unique_column_names([s.export_tag for s in specs], [s.import_id for s in specs])
    if rows.columns != names:
        raise ValueError(
            f"rows must have the columns {names} in this order (repeated tags renamed as the "
            f"reader renames them), got {rows.columns}"
        )
    header_rows = [
        [s.export_tag for s in specs],
        [s.question_text or "" for s in specs],
        [
            json.dumps(
                {"ImportId": s.import_id, **s.extra}, ensure_ascii=False, separators=(",", ":")
            )
            for s in specs
        ],
    ]
    body = [
        ["" if v is None else v for v in row]
        for row in rows.select(pl.all().cast(pl.String)).iter_rows()
    ]
    for number, row in enumerate(body, start=1):
        if all(not v.strip() for v in row):
            raise ValueError(f"row {number} is entirely empty; the reader drops such rows")
    for row in header_rows + body:
        for value in row:
            if "\r" in value:
                # The reader turns CR and CRLF into LF, so a CR could never come back unchanged.
                raise ValueError(f"values must not contain a carriage return: {value!r}")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerows(header_rows + body)
    try:
        encoded = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{exc.object[exc.start : exc.end]!r} cannot be written as {encoding}"
        ) from exc
    return (b"\xef\xbb\xbf" if bom else b"") + encoded


def _column_specs(columns: Sequence[QualtricsColumn] | pl.DataFrame) -> list[QualtricsColumn]:
    """Column specs as given, or rebuilt from a reader's columns table in file order."""
    if not isinstance(columns, pl.DataFrame):
        return list(columns)
    if "position" in columns.columns:
        columns = columns.sort("position")
    specs: list[QualtricsColumn] = []
    for row in columns.iter_rows(named=True):
        extra = row.get("import_extra")
        specs.append(
            QualtricsColumn(
                export_tag=row["export_tag"],
                question_text=row.get("question_text"),
                import_id=row.get("import_id") or "",
                extra=json.loads(extra) if extra else {},
            )
        )
    return specs


def write_redcap_csv(
    data: pl.DataFrame, *, encoding: str = "utf-8", bom: bool = False, crlf: bool = False
) -> bytes:
    """Write a REDCap-style CSV data export: a row of field names, then one row per record."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(data.columns)
    for row in data.select(pl.all().cast(pl.String)).iter_rows():
        writer.writerow(["" if v is None else v for v in row])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode(encoding)


def write_redcap_dictionary(fields: Sequence[RedcapField]) -> bytes:
    """Write an 18-column REDCap data dictionary CSV as the web interface downloads it."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DICTIONARY_HEADER)
    for f in fields:
        row = [""] * len(DICTIONARY_HEADER)
        row[0], row[1], row[3], row[4] = f.field_name, f.form_name, f.field_type, f.field_label
        row[5] = " | ".join(f"{code}, {label}" for code, label in f.choices)
        row[6] = f.field_note or ""
        row[7] = f.text_validation or ""
        row[10] = "y" if f.identifier else ""
        row[11] = f.branching_logic or ""
        row[12] = "y" if f.required else ""
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def _csv_bytes(frame: pl.DataFrame, *, header: bool) -> bytes:
    """The rows of `frame` as UTF-8 CSV (nulls as empty cells), with its header if asked."""
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
