"""Read a researcher-made CSV of coded segments (one row per coded stretch of a source).

Required columns (header names are case-insensitive, surrounding whitespace ignored): source, case,
speaker_role, start, end, code, coder, text. Other columns are ignored (and noted). Rows are
numbered as a spreadsheet shows them: the header is row 1. Every problem found is reported: one
problem raises ``InputError``, several raise ``InputErrors``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

from tasks.ingest.errors import InputError, InputErrors
from tasks.ingest.text import decode_text

REQUIRED_COLUMNS = ("source", "case", "speaker_role", "start", "end", "code", "coder", "text")
CODED_SEGMENTS_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "case": pl.String(),
    "speaker_role": pl.String(),
    "start": pl.Int64(),
    "end": pl.Int64(),
    "code": pl.String(),
    "coder": pl.String(),
    "text": pl.String(),
}
# Identifiers must be present; speaker_role may be blank (null) and text may be empty.
_NON_EMPTY = ("source", "case", "code", "coder")
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class CodedSegments:
    """The coded-segments table and human-readable notes on what was tolerated."""

    table: pl.DataFrame
    notes: tuple[str, ...]


def read_coded_segments(data: bytes, name: str) -> CodedSegments:
    """Read a coded-segments CSV into a typed table plus notes (encoding, blank rows, extra columns)."""
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    text = decoded.text
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise InputError(
            name, "row 1", "the file must start with a header row", "the first line is empty"
        )
    # Spreadsheets in many locales save "CSV" with ';' (or tabs); pick what the header uses.
    delimiter = max(_DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
    if delimiter != ",":
        notes.append(f"columns are separated by {delimiter!r}, not ','")

    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputError(
                name, "last row", "the file is truncated: a quoted field is never closed",
                "the file ends inside it; export or copy the file again",
            ) from exc
        raise InputError(name, "whole file", "the file must be valid CSV", str(exc)) from exc
    if len(records) > 1 and not text.endswith(("\n", "\r")) and 0 < len(records[-1]) < len(records[0]):
        raise InputError(
            name, f"row {len(records)}", "the file is truncated: its last row is cut off",
            f"{len(records[-1])} of {len(records[0])} fields and no line end; export or copy the file again",
        )

    header = [cell.strip().lower() for cell in records[0]]
    found = ", ".join(repr(cell) for cell in records[0])
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise InputError(
            name,
            "header (row 1)",
            f"required column(s) missing: {', '.join(missing)}",
            f"found columns: {found}",
        )
    duplicated = sorted({c for c in header if c in REQUIRED_COLUMNS and header.count(c) > 1})
    if duplicated:
        raise InputError(
            name,
            "header (row 1)",
            f"column(s) appear more than once: {', '.join(duplicated)}",
            f"found columns: {found}",
        )
    # Extra columns (site, participant, source type, memos) are kept as text: a study's
    # study.yaml names the ones it reads as source metadata.
    extra = {records[0][i].strip(): i for i, c in enumerate(header) if c not in REQUIRED_COLUMNS}
    repeated = sorted({n for n in extra if [h.strip() for h in records[0]].count(n) > 1})
    if repeated:
        raise InputError(
            name, "header (row 1)", f"column(s) appear more than once: {', '.join(repeated)}",
            f"found columns: {found}",
        )
    if extra:
        notes.append(f"kept extra column(s) as text: {', '.join(extra)}")
    index = {column: header.index(column) for column in REQUIRED_COLUMNS}

    errors: list[InputError] = []
    rows: list[dict[str, object]] = []
    blank_rows: list[int] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            blank_rows.append(number)
            continue
        if len(record) != len(header):
            errors.append(
                InputError(
                    name,
                    f"row {number}",
                    "every row must have as many fields as the header",
                    f"found {len(record)} field(s), the header has {len(header)}",
                )
            )
            continue
        row = _parse_row(record, index, number, name, errors)
        if row is not None:
            row.update({column: record[i].strip() or None for column, i in extra.items()})
            rows.append(row)
    if blank_rows:
        listed = ", ".join(str(n) for n in blank_rows)
        notes.append(f"ignored {len(blank_rows)} blank row(s): {listed}")
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    schema: dict[str, pl.DataType] = {
        **CODED_SEGMENTS_SCHEMA, **{column: pl.String() for column in extra}
    }
    table = pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
    return CodedSegments(table, tuple(notes))


def read_coded_segments_csv(data: bytes, name: str) -> pl.DataFrame:
    """Read a coded-segments CSV into a typed table (see read_coded_segments for the notes)."""
    return read_coded_segments(data, name).table


def _parse_row(
    record: list[str], index: dict[str, int], number: int, name: str, errors: list[InputError]
) -> dict[str, object] | None:
    before = len(errors)
    values = {column: record[i] for column, i in index.items()}
    for column in _NON_EMPTY:
        values[column] = values[column].strip()
        if not values[column]:
            errors.append(
                InputError(name, f"row {number}, column {column!r}", f"{column} must not be empty")
            )
    bounds: dict[str, int] = {}
    for column in ("start", "end"):
        raw = values[column].strip()
        try:
            bounds[column] = int(raw)
        except ValueError:
            errors.append(
                InputError(
                    name,
                    f"row {number}, column {column!r}",
                    f"{column} must be a whole number",
                    f"got {raw!r}",
                )
            )
    if "start" in bounds and bounds["start"] < 0:
        errors.append(
            InputError(
                name,
                f"row {number}, column 'start'",
                "start must not be negative",
                f"got {bounds['start']}",
            )
        )
    elif len(bounds) == 2 and bounds["start"] > bounds["end"]:
        errors.append(
            InputError(
                name,
                f"row {number}",
                "start must not be greater than end",
                f"start={bounds['start']}, end={bounds['end']}",
            )
        )
    if len(errors) > before:
        return None
    speaker_role = values["speaker_role"].strip()
    return {
        "source": values["source"],
        "case": values["case"],
        "speaker_role": speaker_role or None,
        "start": bounds["start"],
        "end": bounds["end"],
        "code": values["code"],
        "coder": values["coder"],
        "text": values["text"],
    }
