"""The pipeline's (redacted, pseudonymised) coded view written back as a REFI-QDA project.

Re-reading the written .qdpx with model.build_model (key=None: ids are already pseudonyms)
gives the same codebook, sources and segments tables.
"""

from __future__ import annotations

import polars as pl

from schemas.study_config import SourceVariables
from tasks.ingest.qdpx import (
    CASE_SOURCES_SCHEMA,
    CASE_VARIABLES_SCHEMA,
    CASES_SCHEMA,
    SELECTIONS_SCHEMA,
    SOURCE_VARIABLES_SCHEMA,
    SOURCES_SCHEMA,
    USERS_SCHEMA,
    QdaProject,
    stable_guid,
)
from tasks.qualitative.model import CodedModel, codebook_codes


def to_project(model: CodedModel, name: str, variables: SourceVariables, site_variable: str) -> QdaProject:
    """A QdaProject holding the model's codebook, sources (with text), codings, users and cases."""
    sources = model.sources
    meta = {
        variables.site: "site_id",
        variables.source_type: "source_type",
        variables.role: "role",
        variables.participant: "participant_pseudonym",
    }
    source_variables = pl.concat(
        [
            sources.select(pl.col("source_id").alias("source_guid"), pl.lit(var).alias("name"),
                           pl.col(column).alias("value"))
            for var, column in meta.items()
        ]
    ).drop_nulls("value")
    names = model.segments.get_column("coder").unique().sort()
    # Computed outside polars' thread pool (see tasks.qualitative.model._guids).
    coders = pl.DataFrame(
        {"coder": names, "user_guid": pl.Series([stable_guid("user", c) for c in names.to_list()], dtype=pl.String)}
    )
    selections = model.segments.join(coders, on="coder", how="left").select(
        pl.col("segment_id").alias("guid"),
        pl.col("source_id").alias("source_guid"),
        "start",
        "end",
        pl.col("code_id").alias("code_guid"),
        "user_guid",
        "text",
    )
    cases = model.cases.join(sources.select("case").unique(), on="case", how="semi").sort("case")
    return QdaProject(
        name=name,
        codes=codebook_codes(model.codebook),
        sources=sources.select(pl.col("source_id").alias("guid"), "name", "text",
                               pl.lit(None, pl.String).alias("plain_text_path")).cast(pl.Schema(SOURCES_SCHEMA)),
        source_variables=source_variables.cast(pl.Schema(SOURCE_VARIABLES_SCHEMA)),
        users=coders.select(pl.col("user_guid").alias("guid"), pl.col("coder").alias("name")).cast(pl.Schema(USERS_SCHEMA)),
        selections=selections.cast(pl.Schema(SELECTIONS_SCHEMA)),
        cases=cases.select(pl.col("case_guid").alias("guid"), pl.col("case").alias("name")).cast(pl.Schema(CASES_SCHEMA)),
        case_variables=cases.filter(pl.col("site_ids") != "").select(
            "case_guid", pl.lit(site_variable).alias("name"), pl.col("site_ids").alias("value")
        ).cast(pl.Schema(CASE_VARIABLES_SCHEMA)),
        case_sources=sources.drop_nulls("case").join(cases.select("case", "case_guid"), on="case", how="inner")
        .select("case_guid", pl.col("source_id").alias("source_guid")).cast(pl.Schema(CASE_SOURCES_SCHEMA)),
    )
