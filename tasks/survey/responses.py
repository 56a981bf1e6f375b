"""Kept submissions between steps: pseudonymised, one row per respondent, items side by side.

Cleaning works on the export's own ids; nothing leaves the intake step with them. The wide
`responses` table carries the pseudonyms, the respondent attributes cleaning derived and the
recoded items under stored names (`item:<variable>`, `item:<variable>:<code>` for a
multiple-choice option), so it never holds an export column as such.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from schemas.study_config import Variable
from schemas.survey import ITEM_PREFIX, RESPONSE_ATTRIBUTES
from tasks.privacy import pseudonymise
from tasks.survey.cleaning import MEMBER, RESPONSE
from tasks.survey.instrument import ROW, choice_column, value_column
from tasks.survey.population import MEMBER_PREFIX

RESPONDENT_PREFIX = "R"
# What cleaning found out about each kept submission (the published respondents table adds the
# wave and the weight).
ATTRIBUTES = list(RESPONSE_ATTRIBUTES)
RESPONDENT_COLUMNS = ["wave", *ATTRIBUTES, "weight"]


def item_columns(variables: Mapping[str, Variable]) -> dict[str, str]:
    """Internal recoded column -> stored column, for every item of the wave."""
    names: dict[str, str] = {}
    for key, var in variables.items():
        if var.type == "multiple_choice":
            names.update({choice_column(key, c): f"{ITEM_PREFIX}{key}:{c}" for c in var.labels})
        else:
            names[value_column(key)] = f"{ITEM_PREFIX}{key}"
    return names


def responses_table(
    kept: pl.DataFrame, variables: Mapping[str, Variable], key: bytes
) -> pl.DataFrame:
    """Kept rows with keyed pseudonyms instead of the export's ids, items under stored names."""
    items = item_columns(variables)
    return kept.with_columns(
        pseudonymise(kept[RESPONSE], key, RESPONDENT_PREFIX).alias("respondent_id"),
        pseudonymise(kept[MEMBER], key, MEMBER_PREFIX).alias("member_id"),
    ).select(*ATTRIBUTES, *[pl.col(c).alias(s) for c, s in items.items()])


def recoded_items(responses: pl.DataFrame, variables: Mapping[str, Variable]) -> pl.DataFrame:
    """The responses with items under the internal names the instrument functions read."""
    return responses.rename({s: c for c, s in item_columns(variables).items()})


def removed_table(removed: pl.DataFrame, wave: str, key: bytes) -> pl.DataFrame:
    """Rows cleaning removed, by export row, with the pseudonym of their response id."""
    return removed.select(
        pl.lit(wave).alias("wave"),
        pl.col(ROW).alias("row"),
        pseudonymise(removed[RESPONSE], key, RESPONDENT_PREFIX).alias("respondent_id"),
        "step",
        "reason",
        "detail",
    )


def respondents_table(responses: pl.DataFrame, weights: pl.Series, wave: str) -> pl.DataFrame:
    """The published respondents: attributes, the wave and each one's weight (aligned by row)."""
    return responses.with_columns(weights.alias("weight"), pl.lit(wave).alias("wave")).select(
        RESPONDENT_COLUMNS
    )
