"""Read small researcher tables (sites, rosters) from CSV, TSV or XLSX bytes as all-string polars frames."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import openpyxl
import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.text import decode_text

TABLE_SUFFIXES = (".csv", ".tsv", ".xlsx")


@dataclass(frozen=True)
class CsvRecord:
    """One CSV record: the physical line it starts on and its raw fields."""

    line: int
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Rows:
    """Data rows cut to the header's width, with what was tolerated on the way."""

    values: list[tuple[str | None, ...]]
    blank: tuple[int, ...]
    padded: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class TableRead:
    """A table read as strings, with notes on what was converted and which empty rows were dropped."""

    frame: pl.DataFrame
    notes: tuple[str, ...]
    dropped_rows: tuple[int, ...]


def parse_csv_records(text: str, name: str, *, delimiter: str = ",") -> list[CsvRecord]:
    """Split decoded text into CSV records, keeping the line each record starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[CsvRecord] = []
    start = 1
    try:
        for fields in reader:
            records.append(CsvRecord(start, tuple(fields)))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            # A quote opened on the last record and never closed: the file was cut off.
            raise InputError(
                name, f"line {start}", "fields must follow CSV quoting rules",
                "the file is truncated: a quoted field opened here is never closed; export or copy "
                "the file again",
            ) from exc
        if "field larger than field limit" in str(exc):
            raise InputError(
                name, f"line {start}", f"a field must not be longer than {csv.field_size_limit()} characters",
                "a field this long is a broken export or not a table",
            ) from exc
        raise InputError(
            name, f"line {start}", "fields must follow CSV quoting rules", str(exc)
        ) from exc
    return records


def check_not_truncated(text: str, records: Sequence[CsvRecord], name: str) -> None:
    """Refuse a file whose last row is cut off: no line end after it and fewer fields than the header.

    Exports end every row with a line break, so a short last row without one is a cut-off file,
    not a row someone left short on purpose.
    """
    if len(records) < 2 or text.endswith(("\n", "\r")):
        return
    last, width = records[-1], len(records[0].fields)
    refuse_cut_off_row(name, last.line, len(last.fields), width)


def refuse_cut_off_row(name: str, line: int, fields: int, width: int) -> None:
    """Raise for a last row without a line end that has fewer fields than the header."""
    if 0 < fields < width:
        raise InputError(
            name, f"line {line}", "the file is truncated: its last row is cut off",
            f"{fields} of {width} fields and no line end; export or copy the file again",
        )


def number_ranges(numbers: Iterable[int]) -> str:
    """Describe line or row numbers compactly, e.g. "4-6, 9"."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def records_to_rows(records: Sequence[CsvRecord], width: int, name: str, *, strip: bool) -> Rows:
    """Fit records to the header width: drop empty rows, pad short ones, refuse long ones."""
    values: list[tuple[str | None, ...]] = []
    blank: list[int] = []
    padded: list[int] = []
    for record in records:
        fields = [f.strip() for f in record.fields] if strip else list(record.fields)
        if all(not f.strip() for f in fields):
            blank.append(record.line)
            continue
        if len(fields) > width:
            raise InputError(
                name,
                f"line {record.line}",
                "a row must not have more fields than the header",
                f"found {len(fields)} fields, the header has {width}",
            )
        if len(fields) < width:
            # Some tools trim trailing empty fields; the missing cells can only be empty.
            padded.append(record.line)
            fields.extend([""] * (width - len(fields)))
        values.append(tuple(f if f != "" else None for f in fields))
    return Rows(values, tuple(blank), tuple(padded))


def row_notes(rows: Rows, *, unit: str = "line") -> list[str]:
    """Notes for the empty rows dropped and the short rows padded."""
    notes: list[str] = []
    if rows.blank:
        notes.append(
            f"dropped {len(rows.blank)} entirely empty row(s) "
            f"({unit}s {number_ranges(rows.blank)}); they hold no data"
        )
    if rows.padded:
        notes.append(
            f"padded {len(rows.padded)} short row(s) with empty cells "
            f"({unit}s {number_ranges(rows.padded)})"
        )
    return notes


def string_frame(names: Sequence[str], values: Sequence[Sequence[str | None]]) -> pl.DataFrame:
    """Build a frame whose columns are all strings, whatever the values look like."""
    return pl.DataFrame(
        {n: [row[i] for row in values] for i, n in enumerate(names)},
        schema={n: pl.String for n in names},
    )


def read_table(data: bytes, name: str, *, sheet: str | None = None) -> TableRead:
    """Read a .csv, .tsv or .xlsx table (chosen by the name's suffix) as stripped strings."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            name, "file name", "a table must be a .csv, .tsv or .xlsx file", f"found {suffix!r}"
        )
    if suffix == ".xlsx":
        return _read_xlsx(data, name, sheet)
    if sheet is not None:
        raise InputError(name, "file name", "a sheet can only be chosen in an .xlsx file")
    return _read_delimited(data, name, "\t" if suffix == ".tsv" else ",")


def require_columns(frame: pl.DataFrame | TableRead, columns: Iterable[str], name: str) -> None:
    """Raise InputError naming the required columns missing and the columns found."""
    found = frame.frame.columns if isinstance(frame, TableRead) else frame.columns
    missing = [c for c in columns if c not in found]
    if missing:
        raise InputError(
            name,
            "header row",
            "required columns are missing",
            f"missing: {', '.join(missing)}; found: {', '.join(found) or '(none)'}",
        )


def _read_delimited(data: bytes, name: str, delimiter: str) -> TableRead:
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name, delimiter=delimiter)
    if delimiter == "," and records and len(records[0].fields) == 1 and ";" in records[0].fields[0]:
        # Excel in German and other comma-decimal locales saves "CSV" with semicolons.
        records = parse_csv_records(decoded.text, name, delimiter=";")
        notes.append("read as semicolon-separated (the header row has no commas)")
    check_not_truncated(decoded.text, records, name)
    grid = [(r.line, [f.strip() for f in r.fields]) for r in records]
    return _build_table(grid, name, notes, unit="line")


def _read_xlsx(data: bytes, name: str, sheet: str | None) -> TableRead:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputError(
            name, "file", "an .xlsx file must be a readable Excel workbook", str(exc)
        ) from exc
    try:
        if sheet is None:
            worksheet = book.worksheets[0]
        elif sheet in book.sheetnames:
            worksheet = book[sheet]
        else:
            raise InputError(
                name,
                f"sheet {sheet!r}",
                "the requested sheet must exist",
                f"sheets: {', '.join(book.sheetnames)}",
            )
        grid = [
            (number, [_cell_text(v).strip() for v in row])
            for number, row in enumerate(
                worksheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1
            )
        ]
        label = worksheet.title
    finally:
        book.close()
    notes = [f"read sheet {label!r}"]
    return _build_table(grid, name, notes, unit="row")


def _build_table(
    grid: list[tuple[int, list[str]]], name: str, notes: list[str], *, unit: str
) -> TableRead:
    if not grid or not any(grid[0][1]):
        raise InputError(name, f"{unit} 1", "the first row must hold the column headers")
    header_line, header = grid[0]
    body = grid[1:]
    width = max([len(header)] + [len(cells) for _, cells in body])
    header = header + [""] * (width - len(header))
    keep: list[int] = []
    unnamed_empty: list[int] = []
    for k, title in enumerate(header):
        if title:
            keep.append(k)
            continue
        with_data = next((line for line, cells in body if k < len(cells) and cells[k]), None)
        if with_data is not None:
            raise InputError(
                name,
                f"{unit} {header_line}, column {k + 1}",
                "every column holding data needs a header",
                f"first value in {unit} {with_data}",
            )
        unnamed_empty.append(k + 1)
    if unnamed_empty:
        notes.append(
            f"dropped {len(unnamed_empty)} empty column(s) without a header "
            f"(columns {number_ranges(unnamed_empty)})"
        )
    names = [header[k] for k in keep]
    seen: set[str] = set()
    for k in keep:
        if header[k] in seen:
            raise InputError(
                name,
                f"{unit} {header_line}, column {k + 1}",
                "column headers must be unique",
                f"{header[k]!r} appears more than once",
            )
        seen.add(header[k])
    # Columns without a header are empty by now, so dropping them loses nothing.
    records = [
        CsvRecord(line, tuple(cells[k] if k < len(cells) else "" for k in keep))
        for line, cells in body
    ]
    rows = records_to_rows(records, len(names), name, strip=True)
    blank = set(rows.blank)
    short = tuple(
        line
        for line, cells in body
        if unit == "line" and len(cells) < len(grid[0][1]) and line not in blank
    )
    notes.extend(row_notes(Rows(rows.values, rows.blank, short), unit=unit))
    return TableRead(string_frame(names, rows.values), tuple(notes), rows.blank)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float; ids and counts should not gain a ".0".
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
