"""Read Qualtrics CSV exports: three header rows (tags, question text, ImportId JSON), then responses."""

from __future__ import annotations

import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.native_csv import empty_to_null, read_records
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
from tasks.ingest.tables import (
    CsvRecord,
    Rows,
    check_not_truncated,
    parse_csv_records,
    records_to_rows,
    row_notes,
    string_frame,
)
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


def qualtrics_status_label(value: str) -> str:
    """Normalise a Status value, numeric ("8") or text ("spam"), to its Qualtrics label ("Spam")."""
    text = value.strip()
    if text in QUALTRICS_STATUS_LABELS:
        return QUALTRICS_STATUS_LABELS[text]
    return _LABELS_BY_LOWER.get(text.lower(), text)


def read_qualtrics_csv(data: bytes, name: str) -> SurveyExport:
    """Read a Qualtrics CSV (or TSV) export with its three header rows."""
    decoded = decode_text(data, name)
    delimiter = delimiter_for(name)
    # Polars reads the responses natively; the header rows and anything the native scan cannot
    # vouch for go through the record-by-record reader, which names the line of a problem.
    native = read_records(decoded.text, 3, delimiter, name)
    if native is not None:
        head, body = native
        records = [CsvRecord(k + 1, tuple(fields)) for k, fields in enumerate(head)]
        # Header fields may hold line breaks: number the rows as the Python reader would.
        line = 1
        for k, fields in enumerate(head):
            records[k] = CsvRecord(line, tuple(fields))
            line += sum(f.count("\n") for f in fields) + 1
        return _export(records, name, list(decoded.notes), body.frame, Rows([], body.blank, body.padded))
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name, delimiter=delimiter)
    # A download cut off mid-row would otherwise read as a complete, shorter export.
    check_not_truncated(decoded.text, records, name)
    return _export(records, name, notes, None, None)


def _export(
    records: list[CsvRecord],
    name: str,
    notes: list[str],
    body: pl.DataFrame | None,
    layout: Rows | None,
) -> SurveyExport:
    """Check the three header rows and build the export from them and the response rows."""
    if not records or not any(f.strip() for f in records[0].fields):
        raise InputError(name, "line 1", "row 1 must hold the export tags")
    if len(records) < 3:
        raise InputError(
            name, f"line {records[-1].line + 1}", "a Qualtrics export starts with three header rows",
            f"found {len(records)}: the file is truncated, or not a Qualtrics export",
        )
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
    if body is not None and layout is not None:
        data = empty_to_null(body, strip=False).rename(dict(zip(body.columns, names, strict=True)))
        notes.extend(row_notes(layout))
    else:
        rows = records_to_rows(records[3:], width, name, strip=False)
        notes.extend(row_notes(rows))
        data = string_frame(names, rows.values)
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
        data=data,
        columns=columns_frame(infos),
        notes=tuple(notes),
        choices=empty_choices(),
    )
