"""A wave's analysis-ready file: respondents × variables with weights and pseudonymous ids.

Written as SPSS `.sav` and Stata `.dta` (pyreadstat), each with variable labels (the question)
and value labels (the answer labels), so a team can go on in SPSS, Stata or R; and as a
published table (parquet) with its labels in a companion table (and, in `AnalysisFile.parquet`,
in the parquet fields' metadata).
Categorical answers are stored as numbers: the code itself when every code of the variable is
an integer, else its 1-based position in study.yaml's labels. A multiple-choice variable
becomes one 0/1 column per option. Free-text answers are left out: they are not redacted.
The bytes are returned; the step runner publishes them through the store.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat

from schemas.study_config import Variable
from schemas.survey import ITEM_PREFIX

# Stata's limits (SPSS allows more): names of at most 32 characters, labels of at most 80.
_NAME_MAX, _LABEL_MAX = 32, 80
_ID_LABELS = {
    "wave": "Survey wave",
    "respondent_id": "Respondent (keyed pseudonym)",
    "member_id": "Roster member (keyed pseudonym)",
    "site_id": "Site",
    "role": "Role",
    "role_group": "Role group",
    "weight": "Raking weight",
}
_CHOSEN = {0: "not chosen", 1: "chosen"}


@dataclass(frozen=True)
class AnalysisFile:
    """The frame as published, with its labels, and its bytes in each format."""

    frame: pl.DataFrame
    variable_labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]
    sav: bytes
    dta: bytes
    parquet: bytes

    def labels_table(self) -> pl.DataFrame:
        """One row per column (value null) and per value label of a column."""
        wave = str(self.frame["wave"][0]) if self.frame.height else ""
        rows: list[tuple[str, str, str, int | None, str | None]] = []
        for column in self.frame.columns:
            label = self.variable_labels[column]
            rows.append((wave, column, label, None, None))
            rows.extend((wave, column, label, v, t) for v, t in self.value_labels.get(column, {}).items())
        return pl.DataFrame(
            rows,
            schema={"wave": pl.String, "column": pl.String, "variable_label": pl.String,
                    "value": pl.Int64, "value_label": pl.String},
            orient="row",
        )


def _numeric_codes(var: Variable) -> dict[str, int]:
    """Export code → stored number: the code when all codes are integers, else its position."""
    codes = list(var.labels)
    if all(re.fullmatch(r"-?\d+", c) for c in codes):
        return {c: int(c) for c in codes}
    return {c: i for i, c in enumerate(codes, start=1)}


def _name(raw: str, taken: set[str]) -> str:
    """A name valid in SPSS and Stata, unique in the file."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    if not re.match(r"[A-Za-z]", name):
        name = f"v_{name}"
    name = name[:_NAME_MAX]
    stem, i = name, 2
    while name.lower() in taken:
        suffix = f"_{i}"
        name, i = stem[: _NAME_MAX - len(suffix)] + suffix, i + 1
    taken.add(name.lower())
    return name


def analysis_frame(
    responses: pl.DataFrame,
    respondents: pl.DataFrame,
    variables: Mapping[str, Variable],
    wave: str,
) -> tuple[pl.DataFrame, dict[str, str], dict[str, dict[int, str]]]:
    """Respondents × variables, with the variable and value labels of every column."""
    base = responses.join(
        respondents.select("respondent_id", "weight"), on="respondent_id", maintain_order="left"
    )
    taken = set(_ID_LABELS)
    columns: list[pl.Expr] = [pl.lit(wave).alias("wave")] + [
        pl.col(c) for c in _ID_LABELS if c != "wave"
    ]
    labels = dict(_ID_LABELS)
    values: dict[str, dict[int, str]] = {}
    for key, var in variables.items():
        question = var.question
        if var.type == "multiple_choice":
            for code, label in var.labels.items():
                name = _name(f"{key}_{code}", taken)
                columns.append(pl.col(f"{ITEM_PREFIX}{key}:{code}").cast(pl.Int64).alias(name))
                labels[name] = f"{question} [{label}]"[:_LABEL_MAX]
                values[name] = dict(_CHOSEN)
        elif var.type in ("single_choice", "likert"):
            name = _name(key, taken)
            numbers = _numeric_codes(var)
            columns.append(
                pl.col(f"{ITEM_PREFIX}{key}")
                .replace_strict(numbers, default=None, return_dtype=pl.Int64)
                .alias(name)
            )
            labels[name] = question[:_LABEL_MAX]
            values[name] = {numbers[c]: label for c, label in var.labels.items()}
        elif var.type == "numeric":
            name = _name(key, taken)
            columns.append(pl.col(f"{ITEM_PREFIX}{key}").cast(pl.Float64).alias(name))
            labels[name] = question[:_LABEL_MAX]
    return base.select(columns), labels, values


def _written(write: object, frame: pl.DataFrame, suffix: str, **kwargs: object) -> bytes:
    # pyreadstat writes to a path only: a private temporary file, read back and removed.
    # It takes the polars frame as it is (through narwhals): converted to pandas first, its
    # string columns became Arrow-backed arrays that pyreadstat read cell by cell, 4x slower.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"analysis{suffix}"
        write(frame, str(path), **kwargs)  # type: ignore[operator]
        return _fixed_stamp(path.read_bytes(), suffix)


# The writers stamp the time of writing into the header; a fixed stamp keeps reruns of the same
# inputs byte-identical (the step cache and the published hashes depend on it).
_SAV_STAMP = (92, b"01 Jan 00" + b"00:00:00")  # creation date (9 bytes) and time (8 bytes)
_DTA_STAMP = re.compile(rb"<timestamp>\x11[^<]{17}</timestamp>")


def _fixed_stamp(data: bytes, suffix: str) -> bytes:
    if suffix == ".sav":
        offset, stamp = _SAV_STAMP
        if data[:4] not in (b"$FL2", b"$FL3"):
            raise ValueError("pyreadstat wrote no SPSS header")
        return data[:offset] + stamp + data[offset + len(stamp) :]
    fixed, count = _DTA_STAMP.subn(b"<timestamp>\x1101 Jan 2000 00:00</timestamp>", data, count=1)
    if count != 1:
        raise ValueError("pyreadstat wrote no Stata timestamp")
    return fixed


def _parquet(frame: pl.DataFrame, labels: dict[str, str], values: dict[str, dict[int, str]]) -> bytes:
    table = frame.to_arrow()
    fields = [
        field.with_metadata(
            {
                "label": labels[field.name],
                **({"value_labels": json.dumps(values[field.name])} if field.name in values else {}),
            }
        )
        for field in table.schema
    ]
    buffer = io.BytesIO()
    pq.write_table(table.cast(pa.schema(fields)), buffer)
    return buffer.getvalue()


def analysis_file(
    responses: pl.DataFrame,
    respondents: pl.DataFrame,
    variables: Mapping[str, Variable],
    wave: str,
) -> AnalysisFile:
    """The wave's analysis file as .sav, .dta and parquet bytes."""
    frame, labels, values = analysis_frame(responses, respondents, variables, wave)
    column_labels = [labels[c] for c in frame.columns]
    value_labels = {c: {float(k): v for k, v in m.items()} for c, m in values.items()}
    sav = _written(
        pyreadstat.write_sav, frame, ".sav",
        column_labels=column_labels, variable_value_labels=value_labels,
    )
    dta = _written(
        pyreadstat.write_dta, frame, ".dta",
        column_labels=column_labels, variable_value_labels=value_labels,
    )
    return AnalysisFile(frame, labels, values, sav, dta, _parquet(frame, labels, values))
