"""Polars' native CSV reader for large exports and tables, with the Python readers' exact results.

The Python readers (`tasks.ingest.tables`, `tasks.ingest.qualtrics`) parse record by record: exact,
but about a million records a minute. Here polars parses the body with an all-string schema, and a
vectorised scan of the bytes (quote parity) finds each record's first line and field count, so
the same rows, blank-row and short-row notes come out. Anything the scan cannot vouch for (a
record longer than the header, a quote in the middle of a field, a different record count) returns
None, and the caller falls back to the Python reader, which says exactly what is wrong.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import polars as pl

from tasks.ingest.tables import Rows, TableRead, refuse_cut_off_row, row_notes
from tasks.ingest.text import decode_text

_QUOTE, _NEWLINE = 34, 10
_CHUNK = 32 * 1024 * 1024


@dataclass(frozen=True)
class Layout:
    """Per record of a CSV body: the physical line it starts on (1-based) and its field count."""

    lines: np.ndarray
    fields: np.ndarray


def header_records(text: str, count: int, delimiter: str) -> tuple[list[list[str]], int] | None:
    """The first `count` CSV records of `text` and the character offset where the body starts."""
    # Parse a prefix (the header rows are small), growing it until the records are complete.
    size = 1 << 16
    while True:
        prefix = text[:size]
        reader = csv.reader(io.StringIO(prefix, newline=""), delimiter=delimiter, strict=True)
        records: list[list[str]] = []
        try:
            for fields in reader:
                records.append(fields)
                if len(records) == count:
                    break
        except csv.Error:
            if size >= len(text):
                return None
            size *= 4
            continue
        # Complete only if the last record ended before the prefix did.
        if len(records) == count and prefix.count("\n") >= reader.line_num:
            break
        if size >= len(text):
            return None
        size *= 4
    # The body starts after the line the last header record ended on.
    offset = 0
    for _ in range(reader.line_num):
        found = text.find("\n", offset)
        if found < 0:
            return records, len(text)
        offset = found + 1
    return records, offset


def scan_layout(body: bytes, delimiter: str, first_line: int) -> Layout | None:
    """Record start lines and field counts of a CSV body; None when a quote is misplaced."""
    sep = ord(delimiter)
    ends: list[np.ndarray] = []
    commas: list[np.ndarray] = []
    newlines: list[np.ndarray] = []
    carry = 0
    size = len(body)
    view = np.frombuffer(body, dtype=np.uint8)
    for start in range(0, size, _CHUNK):
        arr = view[start : start + _CHUNK]
        quotes = arr == _QUOTE
        inside = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ carry
        outside = inside == 0
        # Before this byte: inside quotes (for the quote checks below).
        before = np.empty_like(inside)
        before[0] = carry
        before[1:] = inside[:-1]
        carry = int(inside[-1])
        positions = np.flatnonzero(quotes)
        if positions.size:
            opening = positions[before[positions] == 0]
            closing = positions[before[positions] == 1]
            if not _quotes_well_placed(view, start + opening, start + closing, sep, size):
                return None
        is_newline = arr == _NEWLINE
        ends.append(np.flatnonzero(is_newline & outside) + start)
        newlines.append(np.flatnonzero(is_newline) + start)
        commas.append(np.flatnonzero((arr == sep) & outside) + start)
    if carry:
        return None  # an unclosed quote: let the Python reader name the line
    end = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    if size and (not end.size or end[-1] != size - 1):
        end = np.append(end, size)  # the last record has no final newline
    begin = np.concatenate([[0], end[:-1] + 1]) if end.size else end
    sep_at = np.concatenate(commas) if commas else np.zeros(0, dtype=np.int64)
    per_record = np.bincount(np.searchsorted(end, sep_at), minlength=end.size)[: end.size]
    fields = np.where(begin == end, 0, per_record + 1)
    all_newlines = np.concatenate(newlines) if newlines else np.zeros(0, dtype=np.int64)
    lines = first_line + np.searchsorted(all_newlines, begin)
    return Layout(lines=lines.astype(np.int64), fields=fields.astype(np.int64))


def _quotes_well_placed(
    view: np.ndarray, opening: np.ndarray, closing: np.ndarray, sep: int, size: int
) -> bool:
    """An opening quote starts a field; a closing one ends it or escapes the next quote."""
    if opening.size:
        prev = np.where(opening > 0, view[np.maximum(opening - 1, 0)], _NEWLINE)
        # After an escaped-quote pair the next quote re-opens: it follows a quote.
        if not np.all((prev == sep) | (prev == _NEWLINE) | (prev == _QUOTE)):
            return False
    if closing.size:
        nxt = np.where(closing + 1 < size, view[np.minimum(closing + 1, size - 1)], _NEWLINE)
        if not np.all((nxt == sep) | (nxt == _NEWLINE) | (nxt == _QUOTE)):
            return False
    return True


def read_body(body: bytes, names: list[str], delimiter: str) -> pl.DataFrame | None:
    """The body's records as an all-string frame (short rows padded with nulls); None if ragged."""
    try:
        frame = pl.read_csv(
            body,
            has_header=False,
            new_columns=names,
            schema={n: pl.String for n in names},
            separator=delimiter,
            quote_char='"',
            truncate_ragged_lines=False,
            raise_if_empty=False,
            low_memory=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError):
        return None
    return frame


def blank_rows(frame: pl.DataFrame) -> pl.Series:
    """Whether each row holds nothing but whitespace."""
    if not frame.width:
        return pl.Series([True] * frame.height, dtype=pl.Boolean)
    return frame.select(
        pl.all_horizontal(pl.all().str.strip_chars().fill_null("") == "").alias("blank")
    ).to_series()


def empty_to_null(frame: pl.DataFrame, *, strip: bool) -> pl.DataFrame:
    """Strip fields if asked, then turn empty strings into nulls (as the Python readers do)."""
    cleaned = pl.all().str.strip_chars() if strip else pl.all()
    return frame.with_columns(pl.when(cleaned != "").then(cleaned).otherwise(None).name.keep())


@dataclass(frozen=True)
class NativeBody:
    """A CSV body read natively: the kept rows and the lines of blank and short records."""

    frame: pl.DataFrame
    blank: tuple[int, ...]
    padded: tuple[int, ...]


def read_records(
    text: str, header_count: int, delimiter: str, name: str
) -> tuple[list[list[str]], NativeBody] | None:
    """Header records (Python csv) and the body (polars), or None where only Python can tell.

    A last row cut off (no line end, fewer fields than the header) is refused as the Python
    readers refuse it: the file is truncated.
    """
    head = header_records(text, header_count, delimiter)
    if head is None:
        return None
    records, offset = head
    width = len(records[0])
    names = [f"c{k}" for k in range(width)]
    body = text[offset:].encode("utf-8")
    layout = scan_layout(body, delimiter, text.count("\n", 0, offset) + 1)
    if layout is None or (layout.fields > width).any():
        return None
    if layout.fields.size and not text.endswith(("\n", "\r")):
        refuse_cut_off_row(name, int(layout.lines[-1]), int(layout.fields[-1]), width)
    if not body.strip(b"\n"):
        frame: pl.DataFrame | None = pl.DataFrame(schema={n: pl.String for n in names})
    else:
        frame = read_body(body, names, delimiter)
    # Polars and csv must agree on the records, or only the Python reader can be trusted.
    if frame is None or frame.height != layout.fields.size:
        return None
    blank = blank_rows(frame).to_numpy() | (layout.fields == 0)
    padded = (layout.fields < width) & ~blank
    lines = layout.lines
    kept = frame.filter(pl.Series(~blank))
    return records, NativeBody(
        kept, tuple(int(x) for x in lines[blank]), tuple(int(x) for x in lines[padded])
    )


def read_csv_table(data: bytes, name: str) -> TableRead | None:
    """A .csv/.tsv table as `tasks.ingest.tables.read_table` reads it, parsed by polars.

    None when the table needs what only the Python reader does: semicolon sniffing, columns
    without a header, repeated headers, records longer than the header, misplaced quotes.
    """
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ("csv", "tsv"):
        return None
    delimiter = "\t" if suffix == "tsv" else ","
    decoded = decode_text(data, name)
    native = read_records(decoded.text, 1, delimiter, name)
    if native is None:
        return None
    head, body = native
    header = [h.strip() for h in head[0]]
    if not header or not all(header) or len(set(header)) != len(header):
        return None
    if delimiter == "," and len(header) == 1 and ";" in header[0]:
        return None
    frame = empty_to_null(body.frame, strip=True).rename(dict(zip(body.frame.columns, header, strict=True)))
    notes = [*decoded.notes, *row_notes(Rows([], body.blank, body.padded), unit="line")]
    return TableRead(frame, tuple(notes), body.blank)
