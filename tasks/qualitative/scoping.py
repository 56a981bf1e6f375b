"""Scoping analysis: code frequencies across sites, ranked areas, each site's maturity and focus.

An area is a child code of the configured area theme; a segment coded at the area or at any
code below it mentions the area. Areas rank by the number of sites mentioning them, then by
segments, then by name. A site's maturity is the child of the maturity theme (or a code below
it) with the most segments at the site (ties: the first by name); its focus areas are its areas
by segments (ties: the better-ranked area first).
"""

from __future__ import annotations

import polars as pl

LIST_SEPARATOR = "; "


class CodebookNodeError(ValueError):
    """A configured codebook node (e.g. qualitative.area_theme) is not in the codebook."""


def resolve_node(codebook: pl.DataFrame, ref: str, key: str) -> str:
    """The path of the codebook node named by `ref` (a path, else a unique code name)."""
    ref = ref.strip().strip("/")
    if codebook.filter(pl.col("path") == ref).height:
        return ref
    named = codebook.filter(pl.col("name") == ref)
    if named.height == 1:
        return str(named.item(0, "path"))
    found = "several codes have that name" if named.height else "no code has that path or name"
    raise CodebookNodeError(f"{key}: {ref!r} must name one codebook node ({found})")


def child_map(codebook: pl.DataFrame, node_path: str) -> pl.DataFrame:
    """Each code at or below a child of `node_path`: code_id → child (child_id, child, child_path)."""
    prefix = node_path + "/"
    under = codebook.filter(pl.col("path").str.starts_with(prefix)).with_columns(
        (pl.lit(prefix) + pl.col("path").str.strip_prefix(prefix).str.split("/").list.first()).alias("child_path")
    )
    children = codebook.select(
        pl.col("path").alias("child_path"), pl.col("code_id").alias("child_id"), pl.col("name").alias("child")
    )
    return under.select("code_id", "child_path").join(children, on="child_path", how="inner")


def with_site(segments: pl.DataFrame, sources: pl.DataFrame) -> pl.DataFrame:
    """Segments with the site of their source."""
    return segments.join(sources.select("source_id", "site_id"), on="source_id", how="inner")


def code_frequencies(segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame) -> pl.DataFrame:
    """Per code: sites, sources and segments where it was applied (codes never used count 0)."""
    counts = with_site(segments, sources).group_by("code_id").agg(
        pl.col("site_id").drop_nulls().n_unique().alias("n_sites"),
        pl.col("source_id").n_unique().alias("n_sources"),
        pl.col("segment_id").n_unique().alias("n_segments"),
    )
    return (
        codebook.select("code_id", "path", "theme")
        .join(counts, on="code_id", how="left")
        .with_columns(pl.col("n_sites", "n_sources", "n_segments").fill_null(0).cast(pl.Int64))
        .sort(["n_sites", "n_segments", "path"], descending=[True, True, False])
    )


def area_ranking(
    segments: pl.DataFrame, sources: pl.DataFrame, codebook: pl.DataFrame, area_path: str, top: int
) -> pl.DataFrame:
    """Areas ranked by sites, then segments mentioning them; the first `top` are targets."""
    areas = child_map(codebook, area_path)
    mentions = with_site(segments, sources).join(areas, on="code_id", how="inner")
    counts = mentions.group_by("child_id").agg(
        pl.col("site_id").drop_nulls().n_unique().alias("n_sites"),
        pl.col("source_id").n_unique().alias("n_sources"),
        pl.col("segment_id").n_unique().alias("n_segments"),
        pl.col("site_id").drop_nulls().unique().sort().str.join(LIST_SEPARATOR).alias("sites"),
    )
    return (
        areas.unique("child_id")
        .select(pl.col("child_id").alias("code_id"), pl.col("child").alias("area"), pl.col("child_path").alias("path"))
        .join(counts.rename({"child_id": "code_id"}), on="code_id", how="left")
        .with_columns(pl.col("n_sites", "n_sources", "n_segments").fill_null(0).cast(pl.Int64),
                      pl.col("sites").fill_null(""))
        .sort(["n_sites", "n_segments", "area", "code_id"], descending=[True, True, False, False])
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
        .with_columns(((pl.col("rank") <= top) & (pl.col("n_segments") > 0)).alias("is_target"))
        .select("rank", "area", "code_id", "path", "n_sites", "n_sources", "n_segments", "sites", "is_target")
    )


def site_profiles(
    segments: pl.DataFrame,
    sources: pl.DataFrame,
    codebook: pl.DataFrame,
    ranking: pl.DataFrame,
    area_path: str,
    maturity_path: str | None,
    site_names: pl.DataFrame | None = None,
    focus_top: int = 3,
) -> pl.DataFrame:
    """Per scoping site: sources, segments, maturity, focus areas and target areas coded there."""
    located = with_site(segments, sources).filter(pl.col("site_id").is_not_null())
    base = sources.filter(pl.col("site_id").is_not_null()).group_by("site_id").agg(
        pl.col("source_id").n_unique().alias("n_sources")
    ).join(
        located.group_by("site_id").agg(pl.col("segment_id").n_unique().alias("n_segments")), on="site_id", how="left"
    )
    ranks = ranking.select(pl.col("code_id").alias("child_id"), "rank", "is_target")
    per_area = (
        located.join(child_map(codebook, area_path), on="code_id", how="inner")
        .group_by("site_id", "child_id", "child")
        .agg(pl.col("segment_id").n_unique().alias("n"))
        .join(ranks, on="child_id", how="left")
        .sort(["site_id", "n", "rank"], descending=[False, True, False])
    )
    focus = per_area.group_by("site_id", maintain_order=True).agg(
        pl.col("child").head(focus_top).str.join(LIST_SEPARATOR).alias("focus_areas"),
        pl.col("child").filter(pl.col("is_target")).sort_by(pl.col("rank").filter(pl.col("is_target")))
        .str.join(LIST_SEPARATOR).alias("target_areas"),
        pl.col("is_target").sum().alias("n_target_areas"),
    )
    profiles = base.join(focus, on="site_id", how="left")
    if maturity_path is not None:
        maturity = (
            located.join(child_map(codebook, maturity_path), on="code_id", how="inner")
            .group_by("site_id", "child")
            .agg(pl.col("segment_id").n_unique().alias("maturity_segments"))
            .sort(["site_id", "maturity_segments", "child"], descending=[False, True, False])
            .unique("site_id", keep="first", maintain_order=True)
            .rename({"child": "maturity"})
        )
        profiles = profiles.join(maturity, on="site_id", how="left")
    else:
        profiles = profiles.with_columns(pl.lit(None, pl.String).alias("maturity"), pl.lit(0).alias("maturity_segments"))
    names = (
        site_names.select("site_id", "site_name")
        if site_names is not None
        else pl.DataFrame(schema={"site_id": pl.String, "site_name": pl.String})
    )
    return (
        profiles.join(names, on="site_id", how="left")
        .with_columns(
            pl.col("n_sources", "n_segments", "maturity_segments", "n_target_areas").fill_null(0).cast(pl.Int64),
            pl.col("focus_areas", "target_areas").fill_null(""),
        )
        .select("site_id", "site_name", "n_sources", "n_segments", "maturity", "maturity_segments",
                "focus_areas", "target_areas", "n_target_areas")
        .sort("site_id")
    )
