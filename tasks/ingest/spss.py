"""Read an SPSS `.sav` survey export (Qualtrics, SurveyMonkey, LimeSurvey, REDCap all write one).

Every value becomes text as the CSV readers give it (whole numbers without ".0", blanks as
null), so cleaning and recoding treat a `.sav` like any other export. Variable labels become
the columns' question text and value labels the export's answer labels (`SurveyExport.choices`,
one row per column, code and label), as a REDCap data dictionary does.
"""

from __future__ import annotations

import math
import os
import tempfile
from datetime import date, datetime, time
from typing import Any

import polars as pl

from tasks.ingest.errors import InputError
from tasks.ingest.survey_export import (
    CHOICES_SCHEMA,
    ColumnInfo,
    SurveyExport,
    columns_frame,
    is_identifying_tag,
    unique_column_names,
)

# Every .sav file starts with one of these (uncompressed/bytecode, or zlib-compressed).
SAV_MAGIC = (b"$FL2", b"$FL3")


def is_sav(data: bytes) -> bool:
    """Whether bytes look like an SPSS system file."""
    return data[:4] in SAV_MAGIC


def sav_text(value: Any) -> str | None:
    """One SPSS value as export text: whole numbers without a decimal point; blank or NaN is None."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _read(data: bytes, name: str) -> tuple[Any, Any]:
    import pyreadstat  # imported here: only studies with .sav exports pay for it

    # pyreadstat reads from a path; the bytes (already read from raw/) go to a private temp file.
    fd, path = tempfile.mkstemp(suffix=".sav")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return pyreadstat.read_sav(path, output_format="dict", apply_value_formats=False, user_missing=False)
    except pyreadstat.ReadstatError as exc:
        raise InputError(name, "file", "a .sav export must be a readable SPSS system file", str(exc)) from exc
    finally:
        os.unlink(path)


def read_sav(data: bytes, name: str) -> SurveyExport:
    """Read a .sav export: values as text, variable labels as question text, value labels as choices."""
    if not is_sav(data):
        raise InputError(name, "byte 0", "an SPSS export must be a .sav system file (it starts with $FL2)",
                         f"found {data[:4]!r}")
    columns, meta = _read(data, name)
    tags = list(meta.column_names)
    names, notes = unique_column_names(tags)
    labels = dict(zip(meta.column_names, meta.column_labels or [None] * len(tags), strict=True))
    frame = pl.DataFrame(
        {n: [sav_text(v) for v in columns[t]] for n, t in zip(names, tags, strict=True)},
        schema={n: pl.String for n in names},
    )
    infos = [
        ColumnInfo(column=n, export_tag=t, position=k, question_text=labels.get(t),
                   identifying=is_identifying_tag(t))
        for k, (n, t) in enumerate(zip(names, tags, strict=True), start=1)
    ]
    choices = [
        (n, sav_text(code), str(label))
        for n, t in zip(names, tags, strict=True)
        for code, label in (meta.variable_value_labels.get(t) or {}).items()
    ]
    return SurveyExport(
        format="spss",
        data=frame,
        columns=columns_frame(infos),
        notes=tuple(notes),
        choices=pl.DataFrame(choices, schema=CHOICES_SCHEMA, orient="row"),
    )


def value_labels(export: SurveyExport, column: str) -> dict[str, str]:
    """The answer labels the export declares for one column (code -> label)."""
    rows = export.choices.filter(pl.col("field") == column)
    return dict(zip(rows["code"].to_list(), rows["label"].to_list(), strict=True))
