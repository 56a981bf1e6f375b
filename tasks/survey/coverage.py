"""Coverage: sites with respondents and members responding, and the respondents' role profile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from schemas.study_config import RoleConfig
from tasks.survey.estimates import ALL
from tasks.survey.population import MISSING_GROUP

COVERAGE_COLUMNS = [
    "wave",
    "breakdown",
    "group",
    "sites",
    "sites_covered",
    "sites_share",
    "roster",
    "respondents",
    "response_rate",
]


def coverage_table(
    sites: pl.DataFrame,
    roster: pl.DataFrame,
    respondents: pl.DataFrame,
    breakdowns: Sequence[str],
    wave: str,
) -> pl.DataFrame:
    """Overall and per breakdown group: sites, sites covered, roster, respondents and shares.

    For a site attribute a group's sites are the sites with that value; for a person attribute
    (role, role group) they are the sites with roster members of that kind, and a site counts as
    covered when one of its respondents is of that kind.
    """
    site_ids = sites.select("site_id")
    parts = [
        pl.DataFrame(
            {
                "breakdown": [ALL],
                "group": [ALL],
                "sites": [site_ids.height],
                "sites_covered": [respondents["site_id"].n_unique() if respondents.height else 0],
                "roster": [roster.height],
                "respondents": [respondents.height],
            },
            schema={
                "breakdown": pl.String,
                "group": pl.String,
                "sites": pl.Int64,
                "sites_covered": pl.Int64,
                "roster": pl.Int64,
                "respondents": pl.Int64,
            },
        )
    ]
    for b in breakdowns:
        if b in sites.columns and b != "site_id":
            attr = sites.select(
                "site_id", pl.col(b).cast(pl.String).fill_null(MISSING_GROUP).alias("group")
            )
            site_n = attr.group_by("group").agg(pl.len().alias("sites"))
            covered = (
                respondents.select("site_id")
                .unique()
                .join(attr, on="site_id")
                .group_by("group")
                .agg(pl.len().alias("sites_covered"))
            )
            ros = roster.join(attr, on="site_id").group_by("group").agg(pl.len().alias("roster"))
            resp = (
                respondents.join(attr, on="site_id")
                .group_by("group")
                .agg(pl.len().alias("respondents"))
            )
        elif b in roster.columns and b in respondents.columns:
            site_n = roster.group_by(pl.col(b).alias("group")).agg(
                pl.col("site_id").n_unique().alias("sites")
            )
            covered = respondents.group_by(pl.col(b).alias("group")).agg(
                pl.col("site_id").n_unique().alias("sites_covered")
            )
            ros = roster.group_by(pl.col(b).alias("group")).agg(pl.len().alias("roster"))
            resp = respondents.group_by(pl.col(b).alias("group")).agg(pl.len().alias("respondents"))
        else:
            raise ValueError(
                f"breakdown {b!r} is neither a site attribute nor a respondent attribute"
            )
        part = site_n
        for other in (covered, ros, resp):
            part = part.join(other, on="group", how="full", coalesce=True)
        parts.append(
            part.with_columns(pl.lit(b).alias("breakdown"))
            .select("breakdown", "group", "sites", "sites_covered", "roster", "respondents")
            .with_columns(
                pl.col("sites", "sites_covered", "roster", "respondents")
                .fill_null(0)
                .cast(pl.Int64)
            )
            .sort("group")
        )
    table = pl.concat(parts)
    return table.with_columns(
        pl.lit(wave).alias("wave"),
        pl.when(pl.col("sites") > 0)
        .then(pl.col("sites_covered") / pl.col("sites"))
        .alias("sites_share"),
        pl.when(pl.col("roster") > 0)
        .then(pl.col("respondents") / pl.col("roster"))
        .alias("response_rate"),
    ).select(COVERAGE_COLUMNS)


def profile_table(
    roster: pl.DataFrame, respondents: pl.DataFrame, roles: Mapping[str, RoleConfig], wave: str
) -> pl.DataFrame:
    """Share of respondents and of roster members in each role and role group."""
    parts = []
    groups = {role.group: role.group for role in roles.values()}
    for breakdown, labels in (
        ("role", {k: r.label for k, r in roles.items()}),
        ("role_group", groups),
    ):
        frame = pl.DataFrame(
            {"group": list(labels), "label": list(labels.values())},
            schema={"group": pl.String, "label": pl.String},
        )
        resp = respondents.group_by(pl.col(breakdown).alias("group")).agg(
            pl.len().alias("respondents")
        )
        ros = roster.group_by(pl.col(breakdown).alias("group")).agg(pl.len().alias("roster"))
        parts.append(
            frame.join(resp, on="group", how="left")
            .join(ros, on="group", how="left")
            .with_columns(
                pl.lit(breakdown).alias("breakdown"), pl.col("respondents", "roster").fill_null(0)
            )
        )
    table = pl.concat(parts).with_columns(
        (pl.col("respondents") / pl.col("respondents").sum().over("breakdown"))
        .fill_nan(None)
        .alias("respondent_share"),
        (pl.col("roster") / pl.col("roster").sum().over("breakdown"))
        .fill_nan(None)
        .alias("roster_share"),
    )
    return table.with_columns(
        pl.lit(wave).alias("wave"),
        (pl.col("respondent_share") - pl.col("roster_share")).alias("difference"),
    ).select(
        "wave",
        "breakdown",
        "group",
        "label",
        pl.col("respondents").cast(pl.Int64),
        "respondent_share",
        pl.col("roster").cast(pl.Int64),
        "roster_share",
        "difference",
    )
