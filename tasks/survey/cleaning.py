"""Cleaning a survey export: each step removes rows with a reason, or flags them, and is counted."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from schemas.study_config import RespondentConfig, RoleConfig, Variable
from tasks.ingest.errors import InputError
from tasks.ingest.qualtrics import qualtrics_status_label
from tasks.ingest.redcap import redcap_complete_label
from tasks.survey.instrument import (
    OUT_OF_SCALE,
    ROW,
    Recoded,
    answered_expr,
    missing_columns,
    recode,
    straightlining_exprs,
)
from tasks.survey.population import map_roles, role_groups, role_lookup

RESPONSE = "_response"
MEMBER = "_member"
_TRUE = ["1", "true", "t", "yes", "y"]
_FALSE = ["0", "false", "f", "no", "n"]

REMOVED_SCHEMA: dict[str, Any] = {
    ROW: pl.Int64(),
    RESPONSE: pl.String(),
    "step": pl.String(),
    "reason": pl.String(),
    "detail": pl.String(),
}


@dataclass(frozen=True, eq=False)
class Cleaned:
    """Kept rows (raw ids still in place), removed rows with reasons, and the step report."""

    kept: pl.DataFrame
    removed: pl.DataFrame
    steps: pl.DataFrame
    rows_in: int
    invalid_codes: dict[str, int]
    notes: tuple[str, ...]


def normalise_status(
    values: pl.Series, export_format: str, column: str, labels: Mapping[str, str] | None = None
) -> pl.Series:
    """Status labels as the export tool names them (numeric Qualtrics or REDCap codes resolved;
    an SPSS export's codes by its own value labels)."""
    label: Callable[[str], str]
    if export_format == "qualtrics":
        label = qualtrics_status_label
    elif export_format == "redcap" and column.endswith("_complete"):
        label = redcap_complete_label
    elif export_format == "spss" and labels:
        own = dict(labels)
        label = lambda code: own.get(code.strip(), code.strip())  # noqa: E731
    else:
        return values.str.strip_chars()
    # Few distinct values: label each once, then map the column in one vectorised step.
    distinct = values.drop_nulls().unique().to_list()
    return values.replace_strict(
        {v: label(v) for v in distinct}, default=None, return_dtype=pl.String
    )


def _flag(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.is_in(_TRUE)).then(True).when(text.is_in(_FALSE)).then(False).otherwise(None)
    )


class _Ledger:
    """Runs the removal steps, collecting removed rows and the per-step counts."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self.removed: list[pl.DataFrame] = []
        self.steps: list[dict[str, object]] = []

    def remove(
        self, step: str, description: str, drop: pl.Expr, reason: str | pl.Expr, detail: pl.Expr
    ) -> None:
        """Remove the rows where `drop` holds, recording reason and detail."""
        marked = self.frame.with_columns(drop.fill_null(False).alias("_drop"))
        gone = marked.filter(pl.col("_drop"))
        self.removed.append(
            gone.select(
                pl.col(ROW),
                pl.col(RESPONSE),
                pl.lit(step).alias("step"),
                (pl.lit(reason) if isinstance(reason, str) else reason).cast(pl.String).alias("reason"),
                detail.cast(pl.String).alias("detail"),
            )
        )
        self.frame = marked.filter(~pl.col("_drop")).drop("_drop")
        self.record(step, description, gone.height, 0)

    def record(self, step: str, description: str, removed: int, flagged: int) -> None:
        """Count a step already applied: rows in, removed, out, and rows flagged but kept."""
        rows_out = self.frame.height
        rows_in = rows_out + removed
        self.steps.append(
            {
                "order": len(self.steps),
                "step": step,
                "description": description,
                "rows_in": rows_in,
                "removed": removed,
                "rows_out": rows_out,
                "flagged": flagged,
            }
        )

    def removed_frame(self) -> pl.DataFrame:
        """All removed rows, in export order."""
        if not self.removed:
            return pl.DataFrame(schema=REMOVED_SCHEMA)
        return pl.concat([r.cast(pl.Schema(REMOVED_SCHEMA)) for r in self.removed]).sort(ROW)


@dataclass(frozen=True, eq=False)
class ExportRules:
    """What study.yaml says about one wave's export: the columns, codes and thresholds cleaning uses."""

    respondent: RespondentConfig
    roles: Mapping[str, RoleConfig]
    variables: Mapping[str, Variable]
    wave: str
    export_format: str
    site_ids: pl.Series
    straightlining_min_items: int
    name: str = "export"
    # link -> site_id, when a submission finds its site through the roster or a lookup table.
    site_links: pl.DataFrame | None = None
    # The export's own labels of the status codes (an SPSS export's value labels).
    status_labels: Mapping[str, str] | None = None


def check_columns(data: pl.DataFrame, rules: ExportRules) -> None:
    """Every column study.yaml names must be in the export; all absent ones are named at once."""
    r = rules.respondent
    needed = [r.id_column, r.role_column, site_key_column(r)]
    optional = [r.member_column, r.status_column, r.finished_column, r.progress_column, r.submitted_column]
    absent = [c for c in needed + [c for c in optional if c] if c not in data.columns]
    absent_items = missing_columns(rules.variables, rules.wave, data.columns)
    if absent or absent_items:
        raise ValueError(
            f"{rules.name}: columns named in study.yaml are not in the export: "
            + ", ".join([*(repr(c) for c in absent), *absent_items])
        )


def site_key_column(respondent: RespondentConfig) -> str:
    """The export column a submission's site is read from, or looked up by."""
    r = respondent
    if r.site_from == "roster":
        return str(r.member_column)
    if r.site_from == "lookup":
        assert r.site_lookup is not None  # the config's validator guarantees it
        return r.site_lookup.export_column
    return str(r.site_column)


def site_rule(respondent: RespondentConfig) -> str:
    """The study.yaml rule a submission's site follows, in the words of the cleaning report."""
    r = respondent
    if r.site_from == "roster":
        return f"site through the roster ({r.member_column!r} -> roster member id -> roster site)"
    if r.site_from == "lookup":
        assert r.site_lookup is not None
        return f"site from the lookup table ({r.site_lookup.export_column!r} -> {r.site_lookup.key_column!r} -> " \
               f"{r.site_lookup.site_column!r})"
    return f"{r.site_column!r} is a known site id"


def site_key(respondent: RespondentConfig) -> str:
    """The study.yaml key that says where a submission's site comes from."""
    r = respondent
    return {"roster": "survey.respondent.member_column (site_from: roster)",
            "lookup": "survey.respondent.site_lookup (site_from: lookup)"}.get(
        r.site_from, "survey.respondent.site_column")


def _site_id(frame: pl.DataFrame, rules: ExportRules) -> pl.DataFrame:
    """Each row's site_id (and `_site_link`, the value it was found by), by the study's rule."""
    r = rules.respondent
    column = pl.col(site_key_column(r)).str.strip_chars()
    if r.site_from == "column":
        return frame.with_columns(column.alias("site_id"), pl.lit(None, dtype=pl.String).alias("_site_link"))
    links = rules.site_links
    if links is None:
        raise ValueError(f"site_from: {r.site_from} needs the links of the roster or lookup table")
    link = pl.when(column == "").then(None).otherwise(column)
    return frame.with_columns(link.alias("_site_link")).join(
        links.select(pl.col("link").alias("_site_link"), "site_id").unique("_site_link", keep="first"),
        on="_site_link", how="left", maintain_order="left",
    )


def identify(data: pl.DataFrame, rules: ExportRules) -> pl.DataFrame:
    """Number the rows and read each one's response id, member, status, site and role."""
    r = rules.respondent
    frame = data.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    status = (
        normalise_status(data[r.status_column], rules.export_format, r.status_column, rules.status_labels)
        if r.status_column
        else pl.Series([None] * data.height, dtype=pl.String)
    )
    lookup = role_lookup(rules.roles, r.role_codes)
    frame = frame.with_columns(
        pl.col(r.id_column).str.strip_chars().alias(RESPONSE),
        (
            pl.col(r.member_column).str.strip_chars()
            if r.member_column
            else pl.lit(None, dtype=pl.String)
        ).alias(MEMBER),
        status.alias("status"),
        pl.col(r.role_column).str.strip_chars().alias("_role_code"),
        map_roles(data.get_column(r.role_column), lookup).alias("role"),
    )
    return _site_id(frame, rules).with_columns(
        pl.when(pl.col(RESPONSE) == "").then(None).otherwise(pl.col(RESPONSE)).alias(RESPONSE),
        pl.when(pl.col(MEMBER) == "").then(None).otherwise(pl.col(MEMBER)).alias(MEMBER),
    )


def remove_excluded_status(ledger: _Ledger, rules: ExportRules) -> None:
    """Previews, tests and spam, by the export's status label."""
    listed = rules.respondent.exclude_status
    excluded = [s.strip().lower() for s in listed]
    ledger.remove(
        "exclude_status",
        f"previews, tests and spam by status ({', '.join(listed) or 'none'})",
        pl.col("status").str.strip_chars().str.to_lowercase().is_in(excluded),
        "excluded status",
        pl.col("status"),
    )


def remove_missing_ids(ledger: _Ledger, rules: ExportRules) -> None:
    """Rows without a response id cannot be told apart or pseudonymised."""
    ledger.remove(
        "missing_id",
        f"no response id in {rules.respondent.id_column!r}",
        pl.col(RESPONSE).is_null(),
        "missing response id",
        pl.lit(None, dtype=pl.String),
    )


def remove_unknown_sites(ledger: _Ledger, rules: ExportRules) -> None:
    """Rows whose site is not in the site list (or blank), or that the study's link finds no site for."""
    r = rules.respondent
    unknown = ~pl.col("site_id").is_in(rules.site_ids.implode()) | pl.col("site_id").is_null()
    if r.site_from == "column":
        ledger.remove("unknown_site", f"{r.site_column!r} is not a known site id", unknown, "unknown site",
                      pl.col("site_id"))
        return
    column = site_key_column(r)
    where = "the wave's roster" if r.site_from == "roster" else "the site lookup table"
    # The rule that failed, per row; the link value itself (a member id) is never published.
    reason = (
        pl.when(pl.col("_site_link").is_null())
        .then(pl.lit(f"no site: {column!r} is blank"))
        .when(pl.col("site_id").is_null())
        .then(pl.lit(f"no site: {column!r} is not in {where}"))
        .otherwise(pl.lit(f"unknown site: {where} gives a site not in the site list"))
    )
    ledger.remove("unknown_site", site_rule(r), unknown, reason,
                  pl.when(pl.col("site_id").is_not_null()).then(pl.col("site_id")))


def remove_unknown_roles(ledger: _Ledger, rules: ExportRules) -> None:
    """Rows whose role code names no role of the study."""
    ledger.remove(
        "unknown_role",
        f"{rules.respondent.role_column!r} is not one of role_codes",
        pl.col("role").is_null(),
        "unknown role code",
        pl.col("_role_code"),
    )


def recode_items(ledger: _Ledger, rules: ExportRules) -> Recoded:
    """Recode the remaining rows' items, read the completion columns and count answered items."""
    r = rules.respondent
    recoded = recode(ledger.frame, rules.variables, rules.wave)
    frame = ledger.frame.select(
        ROW,
        RESPONSE,
        MEMBER,
        "status",
        "site_id",
        "role",
        (
            _flag(pl.col(r.finished_column))
            if r.finished_column
            else pl.lit(None, dtype=pl.Boolean)
        ).alias("finished"),
        (
            pl.col(r.progress_column).str.strip_chars().cast(pl.Float64, strict=False)
            if r.progress_column
            else pl.lit(None, dtype=pl.Float64)
        ).alias("progress"),
        (
            pl.col(r.submitted_column).str.strip_chars().str.to_datetime(strict=False)
            if r.submitted_column
            else pl.lit(None, dtype=pl.Datetime("us"))
        ).alias("_submitted"),
    ).join(recoded.frame, on=ROW, how="left", maintain_order="left")
    frame = frame.with_columns(answered_expr(rules.variables).alias("answered"))
    # Most complete first, then latest (by timestamp, else by export order): the first row of
    # each id or member is the one de-duplication keeps.
    ledger.frame = frame.sort(["answered", "_submitted", ROW], descending=True, nulls_last=True)
    return recoded


def remove_out_of_scale(ledger: _Ledger, rules: ExportRules) -> None:
    """Submissions with a Likert answer outside its declared scale: kept out with the answer and item."""
    ledger.remove(
        "out_of_scale",
        "a Likert answer outside the item's declared scale",
        pl.col(OUT_OF_SCALE).is_not_null(),
        pl.col(OUT_OF_SCALE),
        pl.lit(None, dtype=pl.String),
    )


def remove_duplicate_ids(ledger: _Ledger, rules: ExportRules) -> None:
    """The same response id more than once: the first in completeness order is kept."""
    ledger.remove(
        "duplicate_id",
        f"the same response id in {rules.respondent.id_column!r} more than once",
        ~pl.col(RESPONSE).is_first_distinct(),
        "duplicate response id",
        pl.lit(None, dtype=pl.String),
    )


def remove_duplicate_members(ledger: _Ledger, rules: ExportRules) -> None:
    """Repeat submissions by one member (when the export links them): most complete, then latest."""
    column = rules.respondent.member_column
    if not column:
        return
    ledger.remove(
        "duplicate_member",
        f"repeat submissions by one member ({column!r}): most complete, then latest kept",
        pl.col(MEMBER).is_not_null() & ~pl.col(MEMBER).is_first_distinct(),
        "duplicate submission",
        pl.lit(None, dtype=pl.String),
    )


def describe_respondents(ledger: _Ledger, rules: ExportRules) -> None:
    """Add items asked, role group, straight-lining, item missingness and partial; export order."""
    flag, grids = straightlining_exprs(rules.variables, rules.straightlining_min_items)
    groups = role_groups(rules.roles)
    frame = (
        ledger.frame.with_columns(
            pl.lit(len(rules.variables), dtype=pl.Int64).alias("items"),
            pl.col("role").replace_strict(groups, return_dtype=pl.String).alias("role_group"),
            flag.alias("straightlined"),
            grids.alias("straightlined_grids"),
        )
        .with_columns(
            (1.0 - pl.col("answered") / pl.col("items")).fill_nan(0.0).alias("item_missing_share")
        )
        .drop("_submitted", OUT_OF_SCALE)
        .sort(ROW)
    )
    # Partial: not finished by the export's own flag, else progress below 100%, else items left
    # unanswered (skipping one free-text box does not make a completed survey partial).
    ledger.frame = frame.with_columns(
        pl.coalesce(
            ~pl.col("finished"), pl.col("progress") < 100, pl.col("answered") < pl.col("items")
        ).alias("partial")
    )


def flag_partial(ledger: _Ledger, rules: ExportRules) -> None:
    """Count the partial responses kept."""
    partial = ledger.frame.filter(pl.col("partial")).height
    ledger.record("partial", "partial responses kept with their item missingness", 0, partial)


def flag_straightlining(ledger: _Ledger, rules: ExportRules) -> None:
    """Count the respondents who straight-lined a Likert grid (kept)."""
    ledger.record(
        "straightlining",
        f"same answer on every item of a Likert grid of at least {rules.straightlining_min_items} "
        "items (flagged, kept)",
        0,
        ledger.frame.filter(pl.col("straightlined")).height,
    )


Rule = Callable[[_Ledger, ExportRules], None]
# Removals on the export as read, then (after recoding) de-duplication, then the flags; each rule
# is one counted row of the cleaning report, in this order.
SCREENING: tuple[Rule, ...] = (
    remove_excluded_status,
    remove_missing_ids,
    remove_unknown_sites,
    remove_unknown_roles,
)
# Answers that cannot be analysed keep their submission out before de-duplication, so a repeat
# submission with valid answers is the one kept.
VALIDATION: tuple[Rule, ...] = (remove_out_of_scale,)
DEDUPLICATION: tuple[Rule, ...] = (remove_duplicate_ids, remove_duplicate_members)
FLAGS: tuple[Rule, ...] = (describe_respondents, flag_partial, flag_straightlining)


def invalid_code_notes(invalid: Mapping[str, int]) -> tuple[str, ...]:
    """One note per variable whose answers held values outside its codes."""
    return tuple(
        f"{count} answer(s) to {var!r} held a value not among its codes or labels and were treated as missing"
        for var, count in invalid.items()
    )


def _step_key(step: str, respondent: RespondentConfig) -> str:
    """The study.yaml key behind a cleaning step's removals."""
    return {
        "exclude_status": "survey.respondent.exclude_status",
        "missing_id": "survey.respondent.id_column",
        "unknown_site": site_key(respondent),
        "unknown_role": "survey.respondent.role_column / role_codes",
        "duplicate_id": "survey.respondent.id_column",
        "duplicate_member": "survey.respondent.member_column",
        "out_of_scale": "survey.variables.<item>.labels",
    }.get(step, "survey.variables")


def no_rows_left(removed: pl.DataFrame, rules: ExportRules) -> InputError:
    """The error of a wave whose every submission was removed: the rules that removed them, most first."""
    counts = removed.group_by("step", "reason").len().sort(["len", "step", "reason"], descending=[True, False, False])
    step, reason, n = counts.row(0)
    others = "; ".join(f"{c} removed by {s}: {r}" for s, r, c in counts.slice(1).iter_rows())
    return InputError(
        rules.name, f"all {removed.height} submissions",
        "a survey wave needs at least one kept submission",
        f"{n} removed by {step}: {reason} (study.yaml {_step_key(step, rules.respondent)})"
        + (f"; {others}" if others else ""),
    )


def clean_export(
    data: pl.DataFrame,
    *,
    respondent: RespondentConfig,
    roles: Mapping[str, RoleConfig],
    variables: Mapping[str, Variable],
    wave: str,
    export_format: str,
    site_ids: pl.Series,
    straightlining_min_items: int,
    name: str = "export",
    site_links: pl.DataFrame | None = None,
    status_labels: Mapping[str, str] | None = None,
    allow_empty: bool = False,
) -> Cleaned:
    """Remove previews/tests/spam, unknown sites and roles, repeat submissions; recode; flag.

    `site_links` (link -> site_id) is the roster's or lookup table's link when the study finds
    a submission's site through one (survey.respondent.site_from). A wave whose every row is
    removed fails, naming the rules that removed them, unless `allow_empty`.
    """
    rules = ExportRules(
        respondent, roles, variables, wave, export_format, site_ids, straightlining_min_items, name,
        site_links, status_labels,
    )
    check_columns(data, rules)
    ledger = _Ledger(identify(data, rules))
    ledger.record("read", f"rows read from {name}", 0, 0)
    for rule in SCREENING:
        rule(ledger, rules)
    # Recode now: "most complete" in de-duplication needs the answered-item counts.
    recoded = recode_items(ledger, rules)
    for rule in (*VALIDATION, *DEDUPLICATION, *FLAGS):
        rule(ledger, rules)
    kept, removed = ledger.frame, ledger.removed_frame()
    # Every row read is accounted for: kept or removed with a reason (checked even under -O).
    if kept.height + removed.height != data.height:
        raise RuntimeError(
            f"{name}: cleaning lost rows: {data.height} read, {kept.height} kept + {removed.height} removed"
        )
    if kept.is_empty() and data.height and not allow_empty:
        raise no_rows_left(removed, rules)
    return Cleaned(
        kept=kept,
        removed=removed,
        steps=pl.DataFrame(ledger.steps),
        rows_in=data.height,
        invalid_codes=recoded.invalid,
        notes=invalid_code_notes(recoded.invalid),
    )
