"""Read REDCap CSV data exports and data dictionaries."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.survey_export import (
    CHOICES_SCHEMA,
    ColumnInfo,
    SurveyExport,
    columns_frame,
    delimiter_for,
    empty_choices,
    header_names,
    is_identifying_tag,
)
from tasks.ingest.tables import (
    check_not_truncated,
    number_ranges,
    parse_csv_records,
    records_to_rows,
    row_notes,
    string_frame,
)
from tasks.ingest.text import decode_text

NOT_COMPLETED = "[not completed]"

COMPLETE_LABELS: dict[str, str] = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}

CHECKBOX_RULE = (
    "checkbox columns (field___code) must match a checkbox field and one of its choice codes "
    "in the data dictionary"
)

# The dictionary header as the REDCap web interface downloads it, and the same 18 columns as the
# API's metadata export names them; both are read, the first is what tasks.demo.exports writes.
DICTIONARY_HEADER = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
API_DICTIONARY_HEADER = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
_NEEDED = {
    0: "field",
    1: "form",
    3: "field_type",
    4: "label",
    5: "choices",
    7: "validation",
    10: "identifier",
}

CHOICE_TYPES = frozenset({"radio", "dropdown", "checkbox"})
# REDCap codes these two types itself; their choices never appear in the dictionary.
IMPLICIT_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "yesno": (("1", "Yes"), ("0", "No")),
    "truefalse": (("1", "True"), ("0", "False")),
}

FIELDS_SCHEMA: dict[str, pl.DataType] = {
    "field": pl.String(),
    "form": pl.String(),
    "field_type": pl.String(),
    "label": pl.String(),
    "validation": pl.String(),
    "identifier": pl.Boolean(),
    "position": pl.Int64(),
}

_CHECKBOX = re.compile(r"^(?P<field>.+?)___(?P<code>.+)$")


@dataclass(frozen=True, eq=False)
class RedcapDictionary:
    """A REDCap data dictionary: one row per field, and the coded choices of choice fields."""

    fields: pl.DataFrame
    choices: pl.DataFrame
    notes: tuple[str, ...]


def redcap_complete_label(value: str) -> str:
    """Label of a form status (*_complete) code: 0 Incomplete, 1 Unverified, 2 Complete."""
    return COMPLETE_LABELS.get(value.strip(), value)


def checkbox_column_code(code: str) -> str:
    """How REDCap spells a checkbox choice code inside its column name (field___code)."""
    # REDCap lower-cases letter codes and turns characters not allowed in names into "_".
    return re.sub(r"[^a-z0-9_]", "_", code.lower())


def read_redcap_dictionary(data: bytes, name: str) -> RedcapDictionary:
    """Read a REDCap data dictionary CSV (web or API header) into fields and choices."""
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name)
    check_not_truncated(decoded.text, records, name)
    if not records:
        raise InputError(name, "line 1", "a data dictionary must start with its header row")
    header = [h.strip() for h in records[0].fields]
    layouts = [
        layout
        for layout in (DICTIONARY_HEADER, API_DICTIONARY_HEADER)
        if all(layout[i] in header for i in _NEEDED)
    ]
    layout = layouts[0] if layouts else None
    if layout is None:
        missing = [DICTIONARY_HEADER[i] for i in _NEEDED if DICTIONARY_HEADER[i] not in header]
        raise InputError(
            name,
            "line 1",
            "a REDCap data dictionary needs the standard column headers",
            f"missing: {', '.join(missing)}; found: {', '.join(header)}",
        )
    index = {role: header.index(layout[i]) for i, role in _NEEDED.items()}
    rows = records_to_rows(records[1:], len(header), name, strip=True)
    notes.extend(row_notes(rows))
    blank = set(rows.blank)
    lines = [r.line for r in records[1:] if r.line not in blank]
    fields: dict[str, list[object]] = {key: [] for key in FIELDS_SCHEMA}
    choices: dict[str, list[str]] = {key: [] for key in CHOICES_SCHEMA}
    seen: dict[str, int] = {}
    for position, (line, row) in enumerate(zip(lines, rows.values, strict=True), start=1):
        field_name = row[index["field"]]
        if not field_name:
            raise InputError(
                name, f"line {line}", "every dictionary row needs a variable / field name"
            )
        if field_name in seen:
            raise InputError(
                name,
                f"line {line}",
                "field names must be unique in a data dictionary",
                f"{field_name!r} is also on line {seen[field_name]}",
            )
        seen[field_name] = line
        field_type = (row[index["field_type"]] or "").lower()
        fields["field"].append(field_name)
        fields["form"].append(row[index["form"]])
        fields["field_type"].append(field_type)
        fields["label"].append(row[index["label"]])
        fields["validation"].append(row[index["validation"]])
        fields["identifier"].append((row[index["identifier"]] or "").lower() == "y")
        fields["position"].append(position)
        if field_type in CHOICE_TYPES:
            pairs = _parse_choices(row[index["choices"]] or "", name, line, field_name)
        else:
            pairs = list(IMPLICIT_CHOICES.get(field_type, ()))
        for code, label in pairs:
            choices["field"].append(field_name)
            choices["code"].append(code)
            choices["label"].append(label)
    return RedcapDictionary(
        fields=pl.DataFrame(fields, schema=FIELDS_SCHEMA),
        choices=pl.DataFrame(choices, schema=CHOICES_SCHEMA),
        notes=tuple(notes),
    )


def read_redcap_csv(
    data: bytes,
    name: str,
    dictionary: bytes | None = None,
    dictionary_name: str | None = None,
) -> SurveyExport:
    """Read a REDCap CSV data export (raw codes), described by its data dictionary when given."""
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name, delimiter=delimiter_for(name))
    check_not_truncated(decoded.text, records, name)
    if not records or not any(f.strip() for f in records[0].fields):
        raise InputError(name, "line 1", "the first row must hold the REDCap field names")
    header, names = header_names(records[0], name, notes, "every column needs a field name")

    described: RedcapDictionary | None = None
    if dictionary is not None:
        dictionary_label = dictionary_name or "data dictionary"
        described = read_redcap_dictionary(dictionary, dictionary_label)
        notes.extend(f"{dictionary_label}: {note}" for note in described.notes)
        infos, undeclared = _described_columns(names, header, described, name, dictionary_label)
        if undeclared:
            notes.append(
                f"{len(undeclared)} column(s) not in {dictionary_label} (REDCap system or "
                f"form-status columns, or a dictionary from another project): {', '.join(undeclared)}"
            )
        status_columns = {
            f"{form}_complete" for form in described.fields["form"].drop_nulls().to_list()
        } - set(described.fields["field"].to_list())
    else:
        infos = _bare_columns(names, header)
        status_columns = {t for t in header if t.endswith("_complete")}

    rows = records_to_rows(records[1:], len(names), name, strip=False)
    notes.extend(row_notes(rows))
    blank = set(rows.blank)
    lines = [r.line for r in records[1:] if r.line not in blank]
    values, sentinel_columns = _clear_not_completed(rows.values, names)
    if sentinel_columns:
        count = sum(sentinel_columns.values())
        notes.append(
            f"replaced {count} {NOT_COMPLETED!r} value(s) with null (a survey not finished): "
            + ", ".join(f"{c} ({n})" for c, n in sentinel_columns.items())
        )
    _check_status_columns(values, lines, header, status_columns, name)
    return SurveyExport(
        format="redcap",
        data=string_frame(names, values),
        columns=columns_frame(infos),
        notes=tuple(notes),
        choices=described.choices if described is not None else empty_choices(),
    )


def _parse_choices(text: str, name: str, line: int, field_name: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for piece in text.split("|"):
        if not piece.strip():
            continue
        code, comma, label = piece.partition(",")
        if not comma or not code.strip():
            raise InputError(
                name,
                f'line {line}, field "{field_name}"',
                'choices must read "code, label | code, label"',
                f"found {piece.strip()!r}",
            )
        if code.strip() in (c for c, _ in pairs):
            raise InputError(
                name,
                f'line {line}, field "{field_name}"',
                "choice codes must be unique within a field",
                f"{code.strip()!r} appears more than once",
            )
        pairs.append((code.strip(), label.strip()))
    if not pairs:
        raise InputError(
            name, f'line {line}, field "{field_name}"', "a choice field must list its choices"
        )
    return pairs


def _bare_columns(names: list[str], header: list[str]) -> list[ColumnInfo]:
    infos: list[ColumnInfo] = []
    for k, (column, tag) in enumerate(zip(names, header, strict=True), start=1):
        match = _CHECKBOX.match(tag)
        base, choice = (match["field"], match["code"]) if match else (tag, None)
        infos.append(
            ColumnInfo(
                column=column,
                export_tag=tag,
                position=k,
                field=base,
                choice=choice,
                identifying=is_identifying_tag(base),
            )
        )
    return infos


def _described_columns(
    names: list[str],
    header: list[str],
    described: RedcapDictionary,
    name: str,
    dictionary_name: str,
) -> tuple[list[ColumnInfo], list[str]]:
    by_field = {row["field"]: row for row in described.fields.iter_rows(named=True)}
    codes: dict[str, dict[str, str]] = {}
    for row in described.choices.iter_rows(named=True):
        codes.setdefault(row["field"], {})[checkbox_column_code(row["code"])] = row["code"]
    infos: list[ColumnInfo] = []
    undeclared: list[str] = []
    for k, (column, tag) in enumerate(zip(names, header, strict=True), start=1):
        match = _CHECKBOX.match(tag)
        choice: str | None = None
        if tag in by_field or match is None:
            base = tag
        else:
            base = match["field"]
            spec = by_field.get(base)
            if spec is None or spec["field_type"] != "checkbox":
                raise InputError(
                    name,
                    f'line 1, column {k} "{tag}"',
                    CHECKBOX_RULE,
                    f'{dictionary_name} has no checkbox field "{base}"',
                )
            choice = codes.get(base, {}).get(checkbox_column_code(match["code"]))
            if choice is None:
                raise InputError(
                    name,
                    f'line 1, column {k} "{tag}"',
                    CHECKBOX_RULE,
                    f'checkbox field "{base}" has codes {", ".join(codes.get(base, {}).values())}',
                )
        spec = by_field.get(base)
        if spec is None:
            undeclared.append(tag)
        validation = (spec["validation"] or "").lower() if spec else ""
        identifying = (
            is_identifying_tag(base)
            or bool(spec and spec["identifier"])
            # Values validated as e-mail, phone or postal code point at a person whatever the name.
            or validation == "email"
            or validation.startswith(("phone", "postalcode", "zipcode"))
        )
        infos.append(
            ColumnInfo(
                column=column,
                export_tag=tag,
                position=k,
                question_text=spec["label"] if spec else None,
                field=base,
                choice=choice,
                identifying=identifying,
            )
        )
    return infos, undeclared


def _clear_not_completed(
    values: list[tuple[str | None, ...]], names: list[str]
) -> tuple[list[tuple[str | None, ...]], dict[str, int]]:
    counts: dict[str, int] = {}
    cleared: list[tuple[str | None, ...]] = []
    for row in values:
        if NOT_COMPLETED in row:
            for column, value in zip(names, row, strict=True):
                if value == NOT_COMPLETED:
                    counts[column] = counts.get(column, 0) + 1
            row = tuple(None if v == NOT_COMPLETED else v for v in row)
        cleared.append(row)
    return cleared, counts


def _check_status_columns(
    values: list[tuple[str | None, ...]],
    lines: list[int],
    header: list[str],
    status_columns: set[str],
    name: str,
) -> None:
    positions = [k for k, tag in enumerate(header) if tag in status_columns]
    bad = [
        (line, k, row[k])
        for line, row in zip(lines, values, strict=True)
        for k in positions
        if row[k] is not None and row[k] not in COMPLETE_LABELS
    ]
    if bad:
        line, k, value = bad[0]
        raise InputError(
            name,
            f'line {line}, column {k + 1} "{header[k]}"',
            "form status columns (*_complete) must hold 0, 1 or 2",
            f"found {value!r}; {len(bad)} such value(s) on lines {number_ranges(b[0] for b in bad)}",
        )
