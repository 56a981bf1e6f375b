"""Read and write Qualtrics CSV exports: three header rows (tags, question text, ImportId JSON), then responses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.survey_export import (
    ColumnInfo,
    SurveyExport,
    columns_frame,
    delimiter_for,
    empty_choices,
    is_identifying_tag,
    parse_import_json,
    unique_column_names,
)
from tasks.ingest.tables import parse_csv_records, records_to_rows, row_notes, string_frame
from tasks.ingest.text import decode_text

IMPORT_ID_RULE = 'row 3 must hold {"ImportId": ...} JSON for every column'

# Response types as Qualtrics labels them in its SPSS exports (VALUE LABELS /Status). Numeric CSV
# exports carry the code, "choice text" exports the label; unknown codes are passed through as-is.
QUALTRICS_STATUS_LABELS: dict[str, str] = {
    "0": "IP Address",
    "1": "Survey Preview",
    "2": "Survey Test",
    "4": "Imported",
    "8": "Spam",
    "9": "Survey Preview Spam",
    "12": "Imported Spam",
    "16": "Offline",
    "17": "Offline Survey Preview",
    "32": "EX",
    "40": "EX Spam",
    "48": "EX Offline",
}

_LABELS_BY_LOWER = {label.lower(): label for label in QUALTRICS_STATUS_LABELS.values()}

WRITE_ENCODINGS = ("utf-8", "cp1252")


@dataclass(frozen=True)
class QualtricsColumn:
    """One column of a Qualtrics export as its three header rows describe it."""

    export_tag: str
    question_text: str | None = None
    import_id: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


def qualtrics_status_label(value: str) -> str:
    """Normalise a Status value, numeric ("8") or text ("spam"), to its Qualtrics label ("Spam")."""
    text = value.strip()
    if text in QUALTRICS_STATUS_LABELS:
        return QUALTRICS_STATUS_LABELS[text]
    return _LABELS_BY_LOWER.get(text.lower(), text)


def read_qualtrics_csv(data: bytes, name: str) -> SurveyExport:
    """Read a Qualtrics CSV (or TSV) export with its three header rows."""
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name, delimiter=delimiter_for(name))
    if not records or not any(f.strip() for f in records[0].fields):
        raise InputError(name, "line 1", "row 1 must hold the export tags")
    tags = list(records[0].fields)
    width = len(tags)
    line3 = records[2].line if len(records) >= 3 else records[-1].line + 1
    row3 = records[2].fields if len(records) >= 3 else ()
    parsed: list[tuple[str, str | None]] = []
    for k, tag in enumerate(tags):
        cell = row3[k] if k < len(row3) else None
        found = parse_import_json(cell) if cell is not None else None
        if found is None:
            raise InputError(
                name,
                f'line {line3}, column {k + 1} "{tag}"',
                IMPORT_ID_RULE,
                f"found {cell!r}" if cell is not None else "the cell is missing",
            )
        parsed.append(found)
    for record in records[1:3]:
        if len(record.fields) != width:
            raise InputError(
                name,
                f"line {record.line}",
                "header rows 2 and 3 must have one field per export tag",
                f"found {len(record.fields)} fields, row 1 has {width}",
            )
    for k, tag in enumerate(tags, start=1):
        if not tag.strip():
            raise InputError(
                name, f"line {records[0].line}, column {k}", "every column needs an export tag"
            )
    import_ids = [import_id for import_id, _ in parsed]
    names, renames = unique_column_names(tags, import_ids)
    notes.extend(renames)
    rows = records_to_rows(records[3:], width, name, strip=False)
    notes.extend(row_notes(rows))
    infos = [
        ColumnInfo(
            column=names[k],
            export_tag=tag,
            position=k + 1,
            question_text=records[1].fields[k] or None,
            import_id=parsed[k][0],
            identifying=is_identifying_tag(tag),
            import_extra=parsed[k][1],
        )
        for k, tag in enumerate(tags)
    ]
    return SurveyExport(
        format="qualtrics",
        data=string_frame(names, rows.values),
        columns=columns_frame(infos),
        notes=tuple(notes),
        choices=empty_choices(),
    )


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
