"""The researcher's review of the convergence coding (review/triangulation.csv), joined and checked.

The review file is the researcher's: the pipeline reads it and never writes it. Columns:
proposition_id, status (confirmed / disputed), category (the convergence category proposed when
the row was reviewed, copied from the convergence table or the summary artifact) and note. The
note is carried exactly as written, byte for byte.

What the join adds: reviewer_status / reviewer_category / reviewer_note, and review_flag:
- "needs re-review: ..." when the recorded category differs from the one proposed now (the data
  or the rules changed the verdict after the researcher reviewed it);
- "category not recorded: ..." when a reviewed row has no category to compare with.
A review row naming a proposition no longer in study.yaml stays in the review table with the note
"proposition removed from study.yaml"; it is never dropped.
"""

from __future__ import annotations

import polars as pl

from schemas.triangulation import CONVERGENCE_CODES

REVIEW_STATUSES = ("confirmed", "disputed")
UNREVIEWED = "unreviewed"
NEEDS_REREVIEW = "needs re-review"
NOT_RECORDED = "category not recorded"
REMOVED = "proposition removed from study.yaml"
# Accepted spellings of the recorded-category column.
CATEGORY_COLUMNS = ("category", "confirmed_category", "proposed_category")

REVIEW_SCHEMA: dict[str, pl.DataType] = {
    "proposition_id": pl.String(), "line": pl.Int64(), "in_study": pl.Boolean(), "status": pl.String(),
    "recorded_category": pl.String(), "proposed_category": pl.String(), "flag": pl.String(),
    "note": pl.String(),
}


class ReviewError(ValueError):
    """review/triangulation.csv is malformed; the message names the row and the problem."""


def _normalised(review: pl.DataFrame, where: str) -> pl.DataFrame:
    cols = {c.strip().lower(): c for c in review.columns}
    missing = [c for c in ("proposition_id", "status") if c not in cols]
    if missing:
        raise ReviewError(f"{where}: missing column(s) {', '.join(missing)} "
                          "(expected proposition_id, status, category, note)")
    category = next((cols[c] for c in CATEGORY_COLUMNS if c in cols), None)
    rev = review.select(
        pl.col(cols["proposition_id"]).cast(pl.String).str.strip_chars().alias("proposition_id"),
        pl.col(cols["status"]).cast(pl.String).str.strip_chars().str.to_lowercase().alias("status"),
        (pl.col(category).cast(pl.String).str.strip_chars().str.to_lowercase() if category
         else pl.lit(None, pl.String)).alias("recorded_category"),
        # The researcher's words are kept exactly as written: no trimming, no re-encoding.
        (pl.col(cols["note"]).cast(pl.String) if "note" in cols else pl.lit(None, pl.String)).alias("note"),
    ).with_row_index("line", offset=2).with_columns(
        pl.col("line").cast(pl.Int64),
        pl.when(pl.col("recorded_category") == "").then(None).otherwise(pl.col("recorded_category"))
        .alias("recorded_category"),
    )
    bad = rev.filter(~pl.col("status").is_in(list(REVIEW_STATUSES)) | pl.col("status").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        raise ReviewError(f"{where}: line {r['line']} ({r['proposition_id']}): status {r['status']!r} "
                          f"must be one of {', '.join(REVIEW_STATUSES)}")
    odd = rev.filter(pl.col("recorded_category").is_not_null()
                     & ~pl.col("recorded_category").is_in(list(CONVERGENCE_CODES)))
    if odd.height:
        r = odd.row(0, named=True)
        raise ReviewError(f"{where}: line {r['line']} ({r['proposition_id']}): category {r['recorded_category']!r} "
                          f"must be one of {', '.join(CONVERGENCE_CODES)}")
    dup = rev.filter(pl.col("proposition_id").is_duplicated())
    if dup.height:
        raise ReviewError(f"{where}: proposition {dup.item(0, 'proposition_id')!r} is reviewed more than once")
    return rev


def _flag(status: str | None, recorded: str | None, proposed: str | None) -> str | None:
    if status is None:
        return None
    if proposed is None:
        return REMOVED
    if recorded is None:
        return f"{NOT_RECORDED}: add the category you {status} ({proposed} is proposed now)"
    if recorded != proposed:
        return f"{NEEDS_REREVIEW}: {status} as {recorded}, now proposed {proposed}"
    return None


def review_table(convergence: pl.DataFrame, review: pl.DataFrame | None,
                 where: str = "review/triangulation.csv") -> pl.DataFrame:
    """One row per proposition in study.yaml or in the review file, with its flag."""
    proposed = convergence.select("proposition_id", pl.col("convergence").alias("proposed_category"))
    if review is None:
        rows = [{"proposition_id": r["proposition_id"], "line": None, "in_study": True, "status": UNREVIEWED,
                 "recorded_category": None, "proposed_category": r["proposed_category"], "flag": None, "note": None}
                for r in proposed.iter_rows(named=True)]
        return pl.DataFrame(rows, schema=REVIEW_SCHEMA)
    rev = _normalised(review, where)
    joined = proposed.join(rev, on="proposition_id", how="full", coalesce=True, maintain_order="left")
    rows = []
    for r in joined.iter_rows(named=True):
        in_study = r["proposed_category"] is not None
        rows.append({"proposition_id": r["proposition_id"], "line": r["line"], "in_study": in_study,
                     "status": r["status"] or UNREVIEWED, "recorded_category": r["recorded_category"],
                     "proposed_category": r["proposed_category"],
                     "flag": _flag(r["status"], r["recorded_category"], r["proposed_category"]), "note": r["note"]})
    # Study order first, then removed propositions in file order.
    return pl.DataFrame(rows, schema=REVIEW_SCHEMA).sort(pl.col("in_study").not_(), "line", maintain_order=True)


def join_review(convergence: pl.DataFrame, review: pl.DataFrame | None,
                where: str = "review/triangulation.csv") -> tuple[pl.DataFrame, list[str]]:
    """Convergence with the review columns and flag joined (computed codes untouched), and notes."""
    table = review_table(convergence, review, where)
    notes = [f"{where}: line {r['line']} names proposition {r['proposition_id']!r}, which is no longer in "
             f"study.yaml; its review row is kept (see the review table)"
             for r in table.filter(~pl.col("in_study")).iter_rows(named=True)]
    notes += [f"{r['proposition_id']}: {r['flag']}" for r in
              table.filter(pl.col("in_study") & pl.col("flag").is_not_null()).iter_rows(named=True)]
    joined = convergence.drop("reviewer_status", "reviewer_category", "reviewer_note", "review_flag").join(
        table.filter(pl.col("in_study")).select(
            "proposition_id", pl.col("status").alias("reviewer_status"),
            pl.col("recorded_category").alias("reviewer_category"), pl.col("note").alias("reviewer_note"),
            pl.col("flag").alias("review_flag")),
        on="proposition_id", how="left", maintain_order="left",
    ).with_columns(pl.col("reviewer_status").fill_null(UNREVIEWED))
    return joined.select(convergence.columns), notes


def review_template(convergence: pl.DataFrame) -> str:
    """CSV rows a researcher can paste into review/triangulation.csv (current categories filled in)."""
    lines = ["proposition_id,status,category,note"]
    lines += [f"{r['proposition_id']},confirmed,{r['convergence']}," for r in convergence.iter_rows(named=True)]
    return "\n".join(lines)
