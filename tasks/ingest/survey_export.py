"""One result type for survey exports (Qualtrics, REDCap, plain CSV, SPSS) and the reader that picks the format."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.tables import (
    CsvRecord,
    parse_csv_records,
    records_to_rows,
    row_notes,
    string_frame,
)
from tasks.ingest.text import decode_text

SURVEY_FORMATS = ("csv", "qualtrics", "redcap", "spss")

COLUMNS_SCHEMA: dict[str, pl.DataType] = {
    "column": pl.String(),
    "export_tag": pl.String(),
    "question_text": pl.String(),
    "import_id": pl.String(),
    "field": pl.String(),
    "choice": pl.String(),
    "identifying": pl.Boolean(),
    "position": pl.Int64(),
    "import_extra": pl.String(),
}

CHOICES_SCHEMA: dict[str, pl.DataType] = {
    "field": pl.String(),
    "code": pl.String(),
    "label": pl.String(),
}

# Metadata columns Qualtrics adds that point at a person (names, e-mail, network address, place).
# ExternalReference / ExternalDataReference is deliberately absent: it is the pseudonymous link id
# a study sets in its panel, needed to join waves, and holds no personal data by itself.
IDENTIFYING_TAGS = frozenset(
    {
        "IPAddress",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "LocationLatitude",
        "LocationLongitude",
        "redcap_survey_identifier",
    }
)

# Word tokens of a column name that mark it as identifying. Over-flagging only keeps a column out of
# published outputs, while under-flagging leaks a person, so the list errs on the broad side.
IDENTIFYING_TOKENS = frozenset(
    {
        "email",
        "mail",
        "phone",
        "telephone",
        "tel",
        "mobile",
        "cellphone",
        "fax",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "forename",
        "givenname",
        "recipient",
        "address",
        "street",
        "postcode",
        "zip",
        "zipcode",
        "ip",
        "ipaddress",
        "latitude",
        "longitude",
        "dob",
        "birthdate",
        "birthday",
        "ssn",
    }
)

_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


@dataclass(frozen=True, eq=False)
class SurveyExport:
    """A survey export read into strings, with one row of metadata per data column."""

    format: str
    data: pl.DataFrame
    columns: pl.DataFrame
    notes: tuple[str, ...]
    choices: pl.DataFrame

    @property
    def identifying_columns(self) -> list[str]:
        """Names of data columns that point at a person and must never be published."""
        return self.columns.filter(pl.col("identifying"))["column"].to_list()

    def deidentified(self) -> pl.DataFrame:
        """The data without its identifying columns."""
        return self.data.drop(self.identifying_columns)


@dataclass(frozen=True)
class ColumnInfo:
    """Metadata of one data column, before it becomes a row of SurveyExport.columns."""

    column: str
    export_tag: str
    position: int
    question_text: str | None = None
    import_id: str | None = None
    field: str | None = None
    choice: str | None = None
    identifying: bool = False
    import_extra: str | None = None


def is_identifying_tag(tag: str) -> bool:
    """True when a column name looks like a person's name, contact, address or location."""
    if tag in IDENTIFYING_TAGS:
        return True
    tokens = [t.lower() for t in _TOKEN.findall(tag)]
    joined = "".join(tokens)
    return bool(IDENTIFYING_TOKENS.intersection(tokens)) or "email" in joined


def header_names(
    header_record: CsvRecord, name: str, notes: list[str], rule: str
) -> tuple[list[str], list[str]]:
    """Stripped header tags and unique column names; a blank tag is an error naming `rule`."""
    header = [f.strip() for f in header_record.fields]
    if header != list(header_record.fields):
        notes.append("removed spaces around column names")
    for k, tag in enumerate(header, start=1):
        if not tag:
            raise InputError(name, f"line {header_record.line}, column {k}", rule)
    names, renames = unique_column_names(header)
    notes.extend(renames)
    return header, names


def unique_column_names(
    tags: Sequence[str], import_ids: Sequence[str | None] | None = None
) -> tuple[list[str], list[str]]:
    """Keep each tag's first use; rename repeats to tag_<ImportId> if free, else tag_2, tag_3, ..."""
    ids = list(import_ids) if import_ids is not None else [None] * len(tags)
    # Renames never take a name some other column already carries, wherever it stands.
    taken = set(tags)
    used: set[str] = set()
    names: list[str] = []
    notes: list[str] = []
    for position, (tag, import_id) in enumerate(zip(tags, ids, strict=True), start=1):
        if tag not in used:
            used.add(tag)
            names.append(tag)
            continue
        candidate = f"{tag}_{import_id}" if import_id else None
        if candidate is None or candidate in taken or candidate in used:
            n = 2
            while f"{tag}_{n}" in taken or f"{tag}_{n}" in used:
                n += 1
            candidate = f"{tag}_{n}"
        used.add(candidate)
        names.append(candidate)
        notes.append(f"renamed repeated column name {tag!r} in column {position} to {candidate!r}")
    return names, notes


def columns_frame(infos: Sequence[ColumnInfo]) -> pl.DataFrame:
    """Turn column metadata into the SurveyExport.columns table."""
    return pl.DataFrame(
        {key: [getattr(info, key) for info in infos] for key in COLUMNS_SCHEMA},
        schema=COLUMNS_SCHEMA,
    )


def empty_choices() -> pl.DataFrame:
    """An empty SurveyExport.choices table."""
    return pl.DataFrame(schema=CHOICES_SCHEMA)


def parse_import_json(cell: str) -> tuple[str, str | None] | None:
    """Read a Qualtrics row-3 cell: (ImportId, other keys as JSON or None), or None if it is not one."""
    try:
        value = json.loads(cell)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    import_id = value.pop("ImportId", None)
    if not isinstance(import_id, str) or not import_id:
        return None
    extra = json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None
    return import_id, extra


def looks_like_qualtrics(records: Sequence[CsvRecord]) -> bool:
    """True when row 3 holds Qualtrics ImportId JSON in every column."""
    return (
        len(records) >= 3
        and len(records[2].fields) > 0
        and all(parse_import_json(cell) is not None for cell in records[2].fields)
    )


def delimiter_for(name: str) -> str:
    """Tab for a .tsv name, else comma."""
    return "\t" if name.lower().endswith(".tsv") else ","


def read_plain_csv(data: bytes, name: str) -> SurveyExport:
    """Read a CSV whose first row holds the column names and every other row is a submission."""
    decoded = decode_text(data, name)
    notes = list(decoded.notes)
    records = parse_csv_records(decoded.text, name, delimiter=delimiter_for(name))
    if not records or not any(f.strip() for f in records[0].fields):
        raise InputError(name, "line 1", "the first row must hold the column names")
    if looks_like_qualtrics(records):
        raise InputError(
            name,
            "line 3",
            'a Qualtrics export (row 3 holds {"ImportId": ...} JSON) must be read as format "qualtrics"',
        )
    header, names = header_names(records[0], name, notes, "every column needs a name")
    rows = records_to_rows(records[1:], len(names), name, strip=False)
    notes.extend(row_notes(rows))
    infos = [
        ColumnInfo(column=c, export_tag=t, position=k, identifying=is_identifying_tag(t))
        for k, (c, t) in enumerate(zip(names, header, strict=True), start=1)
    ]
    return SurveyExport(
        format="csv",
        data=string_frame(names, rows.values),
        columns=columns_frame(infos),
        notes=tuple(notes),
        choices=empty_choices(),
    )


def read_survey_export(
    data: bytes,
    name: str,
    format: str,
    dictionary: bytes | None = None,
    dictionary_name: str | None = None,
) -> SurveyExport:
    """Read a survey export of the given format ("qualtrics", "redcap", "csv" or "spss")."""
    # Imported here because these modules import SurveyExport from this one.
    from tasks.ingest.qualtrics import read_qualtrics_csv
    from tasks.ingest.redcap import read_redcap_csv
    from tasks.ingest.spss import is_sav, read_sav

    if format not in SURVEY_FORMATS:
        raise InputError(
            name,
            "format",
            f"the format must be one of {', '.join(SURVEY_FORMATS)}",
            f"got {format!r}",
        )
    if dictionary is not None and format != "redcap":
        raise InputError(
            dictionary_name or "data dictionary",
            "format",
            "a data dictionary can only accompany a REDCap export",
            f"format is {format!r}",
        )
    if format == "spss":
        return read_sav(data, name)
    if is_sav(data):
        raise InputError(name, "format", 'an SPSS .sav export must be read as format "spss"',
                         f"format is {format!r}")
    if format == "qualtrics":
        return read_qualtrics_csv(data, name)
    if format == "redcap":
        return read_redcap_csv(data, name, dictionary, dictionary_name)
    return read_plain_csv(data, name)
