"""The instrument as study.yaml declares it: which export columns hold which item, and recoding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from schemas.study_config import SurveyConfig, Variable

CATEGORICAL = ("single_choice", "multiple_choice", "likert")
# Internal column names cannot clash with export columns: export tags never contain "\x1f".
_SEP = "\x1f"
ROW = "_row"
# Per recoded row: why its Likert answers fall outside the declared scale (null: none do).
OUT_OF_SCALE = f"{_SEP}out_of_scale"
# Longest answer text quoted in a reason (an answer outside the scale is a code, not prose).
_QUOTED = 40


def value_column(variable: str) -> str:
    """Internal column holding a recoded single-column item."""
    return f"v{_SEP}{variable}"


def choice_column(variable: str, code: str) -> str:
    """Internal column holding whether a multiple-choice code was chosen."""
    return f"m{_SEP}{variable}{_SEP}{code}"


def wave_variables(survey: SurveyConfig, wave: str) -> dict[str, Variable]:
    """The variables asked in a wave, in study.yaml order."""
    return {key: var for key, var in survey.variables.items() if wave in var.waves}


def export_columns(variable: Variable, wave: str) -> dict[str | None, str]:
    """Export column per code (multiple choice) or the single column (key None)."""
    column = variable.column_for(wave)
    if variable.type == "multiple_choice":
        return {code: column.replace("{code}", code) for code in variable.labels}
    return {None: column}


def missing_columns(
    variables: Mapping[str, Variable], wave: str, present: Iterable[str]
) -> list[str]:
    """Descriptions of variables whose export columns are absent."""
    have = set(present)
    return [
        f"{key} (column {column!r})"
        for key, var in variables.items()
        for column in export_columns(var, wave).values()
        if column not in have
    ]


def scores(variable: Variable) -> dict[str, float]:
    """Likert score per code: the code itself when every code is a number, else its rank (1-based)."""
    codes = list(variable.labels)
    try:
        return {code: float(code) for code in codes}
    except ValueError:
        return {code: float(i) for i, code in enumerate(codes, start=1)}


def code_table(variables: Mapping[str, Variable]) -> pl.DataFrame:
    """Every (variable, code) of the categorical variables with its label, score and order."""
    rows = [
        (key, var.type, code, label, scores(var).get(code) if var.type == "likert" else None, i, j)
        for i, (key, var) in enumerate(variables.items())
        if var.type in CATEGORICAL
        for j, (code, label) in enumerate(var.labels.items())
    ]
    return pl.DataFrame(
        rows,
        schema={
            "variable": pl.String,
            "type": pl.String,
            "code": pl.String,
            "label": pl.String,
            "value": pl.Float64,
            "variable_order": pl.Int64,
            "code_order": pl.Int64,
        },
        orient="row",
    )


def _blank(expr: pl.Expr, missing_codes: Sequence[str]) -> pl.Expr:
    """Strip, and turn empty cells and declared missing codes into null."""
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when((text == "") | text.is_in(list(missing_codes))).then(None).otherwise(text)


def _clean_text(value: str, missing_codes: Sequence[str]) -> str | None:
    """One cell as recoding sees it: stripped, None when blank or a declared missing code."""
    text = value.strip()
    return None if text == "" or text in missing_codes else text


def code_lookup(
    variable: Variable, values: Sequence[str]
) -> tuple[dict[str, str | None], list[str]]:
    """Export text -> code for the distinct values of a column, and the values that fit no code.

    A value is its code, or its label ignoring case and spaces (exports in "choice text" form).
    """
    by_label = {label.strip().lower(): code for code, label in variable.labels.items()}
    lookup: dict[str, str | None] = {}
    invalid: list[str] = []
    for value in values:
        text = _clean_text(value, variable.missing_codes)
        code = (
            None
            if text is None
            else text
            if text in variable.labels
            else by_label.get(text.lower())
        )
        lookup[value] = code
        if text is not None and code is None:
            invalid.append(value)
    return lookup, invalid


def chosen_lookup(variable: Variable, values: Sequence[str]) -> dict[str, bool]:
    """Whether each distinct multiple-choice cell marks the option chosen (not blank, 0, missing)."""
    out = {}
    for value in values:
        text = _clean_text(value, variable.missing_codes)
        out[value] = text is not None and text.lower() not in ("0", "false", "no")
    return out


def scale_text(variable: Variable) -> str:
    """A Likert scale in the study's words: first code to last (e.g. "1–5")."""
    codes = list(variable.labels)
    return f"{codes[0]}–{codes[-1]}" if len(codes) > 1 else codes[0]


def out_of_scale_reason(key: str, variable: Variable, column: str, bad: Sequence[str]) -> pl.Expr:
    """The reason a row's answer to a Likert item is refused, or null when it is on the scale."""
    text = pl.col(column).str.strip_chars().str.slice(0, _QUOTED)
    return pl.when(pl.col(column).is_in(list(bad))).then(
        pl.format(f"answer {{}} to {key!r} is outside the scale {scale_text(variable)}", text)
    )


@dataclass(frozen=True, eq=False)
class Recoded:
    """Recoded items per export row, with counts of cells that held an undeclared value.

    Likert answers outside the scale are not counted here: `frame` carries the reason in
    OUT_OF_SCALE and cleaning quarantines those rows.
    """

    frame: pl.DataFrame
    invalid: dict[str, int]


def recode(data: pl.DataFrame, variables: Mapping[str, Variable], wave: str) -> Recoded:
    """Recode the wave's items of an all-string export (which must carry the ROW column)."""
    exprs: list[pl.Expr] = [pl.col(ROW)]
    invalid: dict[str, int] = {}
    refused: list[pl.Expr] = []

    def distinct(column: str) -> list[str]:
        # Lookups are built once per distinct value (few per column), then applied in one
        # vectorised replace: no per-row Python and no per-row string work.
        return data.get_column(column).drop_nulls().unique().sort().to_list()

    for key, var in variables.items():
        columns = export_columns(var, wave)
        if var.type == "multiple_choice":
            for code, column in columns.items():
                chosen = chosen_lookup(var, distinct(column))
                exprs.append(
                    pl.col(column)
                    .replace_strict(chosen, default=False, return_dtype=pl.Boolean)
                    .fill_null(False)
                    .alias(choice_column(key, str(code)))
                )
            continue
        column = columns[None]
        if var.type in CATEGORICAL:
            lookup, bad = code_lookup(var, distinct(column))
            exprs.append(
                pl.col(column)
                .replace_strict(lookup, default=None, return_dtype=pl.String)
                .alias(value_column(key))
            )
            if bad and var.type == "likert":
                refused.append(out_of_scale_reason(key, var, column, bad))
            elif bad:
                invalid[key] = int(data.get_column(column).is_in(bad).sum())
        elif var.type == "numeric":
            text = _blank(pl.col(column), var.missing_codes)
            number = text.cast(pl.Float64, strict=False)
            # Infinite or NaN entries are not answers a respondent can give.
            number = pl.when(number.is_finite()).then(number).otherwise(None)
            exprs.append(number.alias(value_column(key)))
            count = data.select((text.is_not_null() & number.is_null()).sum()).item()
            if count:
                invalid[key] = int(count)
        else:
            exprs.append(_blank(pl.col(column), var.missing_codes).alias(value_column(key)))
    reason = (
        pl.concat_str(refused, separator="; ", ignore_nulls=True) if refused else pl.lit(None, dtype=pl.String)
    )
    exprs.append(pl.when(reason != "").then(reason).otherwise(None).alias(OUT_OF_SCALE))
    return Recoded(data.select(exprs), invalid)


def answered_expr(variables: Mapping[str, Variable]) -> pl.Expr:
    """Number of the wave's items a row answered (multiple choice: at least one option chosen)."""
    parts = []
    for key, var in variables.items():
        if var.type == "multiple_choice" and var.blank_means == "none_chosen":
            parts.append(pl.lit(True))  # choosing none is an answer
        elif var.type == "multiple_choice":
            parts.append(pl.any_horizontal([pl.col(choice_column(key, c)) for c in var.labels]))
        else:
            parts.append(pl.col(value_column(key)).is_not_null())
    if not parts:
        return pl.lit(0, dtype=pl.Int64)
    return pl.sum_horizontal([p.cast(pl.Int64) for p in parts])


def straightlining_exprs(
    variables: Mapping[str, Variable], min_items: int
) -> tuple[pl.Expr, pl.Expr]:
    """(flag, grids) expressions: every item of a large-enough Likert grid given the same answer."""
    grids: dict[str, list[str]] = {}
    for key, var in variables.items():
        if var.type == "likert" and var.grid:
            grids.setdefault(var.grid, []).append(key)
    flags = []
    for grid, items in grids.items():
        if len(items) < max(min_items, 2):
            continue
        cols = [pl.col(value_column(k)) for k in items]
        same = pl.all_horizontal([c.is_not_null() for c in cols]) & pl.all_horizontal(
            [c == cols[0] for c in cols[1:]]
        )
        flags.append(pl.when(same).then(pl.lit(grid)).otherwise(None))
    if not flags:
        return pl.lit(False), pl.lit(None, dtype=pl.String)
    grids_expr = pl.concat_str(flags, separator=",", ignore_nulls=True)
    grids_expr = pl.when(grids_expr == "").then(None).otherwise(grids_expr)
    return grids_expr.is_not_null(), grids_expr


ANSWER_SCHEMA: dict[str, Any] = {
    "wave": pl.String(),
    "respondent_id": pl.String(),
    "variable": pl.String(),
    "type": pl.String(),
    "code": pl.String(),
    "label": pl.String(),
    "value": pl.Float64(),
    "missing": pl.Boolean(),
}


def answers_long(
    recoded: pl.DataFrame,
    variables: Mapping[str, Variable],
    wave: str,
    id_column: str,
    carry: Sequence[str] = (),
) -> pl.DataFrame:
    """The published long answers: one row per respondent and item (per chosen code for multiple
    choice, or one missing row when none was chosen), in instrument order, then respondent order.
    `carry` names columns of `recoded` repeated on every row (e.g. site, role, weight).
    """
    # One block per variable (a loop over the instrument, not over rows): no string parsing of
    # unpivoted column names, and a deterministic order without sorting millions of rows.
    rid = pl.col(id_column).alias("respondent_id")
    parts: list[pl.DataFrame] = []
    for key, var in variables.items():
        head = [
            pl.lit(wave).alias("wave"),
            rid,
            pl.lit(key).alias("variable"),
            pl.lit(var.type).alias("type"),
            *[pl.col(c) for c in carry],
        ]
        if var.type in ("single_choice", "likert"):
            code = pl.col(value_column(key))
            value = (
                code.replace_strict(scores(var), default=None, return_dtype=pl.Float64)
                if var.type == "likert"
                else pl.lit(None, dtype=pl.Float64)
            )
            parts.append(
                recoded.select(
                    *head,
                    code.alias("code"),
                    code.replace_strict(
                        dict(var.labels), default=None, return_dtype=pl.String
                    ).alias("label"),
                    value.alias("value"),
                    code.is_null().alias("missing"),
                )
            )
        elif var.type == "numeric":
            number = pl.col(value_column(key))
            parts.append(
                recoded.select(
                    *head,
                    pl.lit(None, dtype=pl.String).alias("code"),
                    pl.lit(None, dtype=pl.String).alias("label"),
                    number.cast(pl.Float64).alias("value"),
                    number.is_null().alias("missing"),
                )
            )
        elif var.type == "multiple_choice":
            chosen = [pl.col(choice_column(key, c)) for c in var.labels]
            block = recoded.select(
                *head,
                pl.concat_list(
                    [
                        pl.when(col).then(pl.lit(code))
                        for col, code in zip(chosen, var.labels, strict=True)
                    ]
                )
                .list.drop_nulls()
                .alias("code"),
            )
            # Nothing chosen at all: one row with no code records it, as an unanswered item
            # (missing) or, where the study says so (blank_means: none_chosen), as choosing none.
            block = block.with_columns(
                pl.when(pl.col("code").list.len() > 0)
                .then(pl.col("code"))
                .otherwise(pl.lit([None], dtype=pl.List(pl.String)))
            ).explode("code")
            none_is_answer = var.blank_means == "none_chosen"
            parts.append(
                block.with_columns(
                    pl.col("code")
                    .replace_strict(dict(var.labels), default=None, return_dtype=pl.String)
                    .alias("label"),
                    pl.lit(None, dtype=pl.Float64).alias("value"),
                    (pl.col("code").is_null() & pl.lit(not none_is_answer)).alias("missing"),
                )
            )
    if not parts:
        return pl.DataFrame(schema=ANSWER_SCHEMA | {c: recoded.schema[c] for c in carry})
    return pl.concat(
        [p.select(*ANSWER_SCHEMA, *carry).cast(pl.Schema(ANSWER_SCHEMA)) for p in parts]
    )
