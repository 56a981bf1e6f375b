"""The survey population: the site frame of a wave and its roster of possible respondents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from schemas.study_config import RoleConfig, RosterConfig, SitesConfig, WaveConfig
from tasks.ingest.errors import InputError
from tasks.ingest.tables import require_columns
from tasks.privacy import pseudonymise

# Group name for a respondent or site whose attribute is blank, so it still counts somewhere.
MISSING_GROUP = "(missing)"
MEMBER_PREFIX = "P"


@dataclass(frozen=True, eq=False)
class RosterFrame:
    """A wave's roster with pseudonymised members, and what was left out of it."""

    frame: pl.DataFrame
    # Roster rows left out, as read, with the reason (quarantined, never silently dropped).
    rejected: pl.DataFrame
    unknown_site: int
    unknown_role: int
    duplicates: int
    notes: tuple[str, ...]
    # Kept members' roster ids as listed (not pseudonymised) -> site_id: the link a study uses
    # when a submission finds its site through the roster. Used inside intake only.
    sites_by_member: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"link": pl.String, "site_id": pl.String})
    )


def site_frame(
    table: pl.DataFrame, sites: SitesConfig, wave: WaveConfig | None, name: str
) -> pl.DataFrame:
    """site_id plus the declared (and this wave's) attributes, as stripped strings."""
    attributes = dict(sites.attributes)
    if wave is not None:
        attributes.update(wave.site_attributes)
    require_columns(table, [sites.id_column, *attributes.values()], name)
    frame = table.select(
        pl.col(sites.id_column).cast(pl.String).str.strip_chars().alias("site_id"),
        *[
            pl.col(column).cast(pl.String).str.strip_chars().alias(key)
            for key, column in attributes.items()
        ],
    ).filter(pl.col("site_id").is_not_null() & (pl.col("site_id") != ""))
    duplicated = frame.filter(pl.col("site_id").is_duplicated())["site_id"].unique().sort()
    if duplicated.len():
        raise InputError(
            name,
            f"column {sites.id_column!r}",
            "site ids must be unique",
            f"repeated: {', '.join(duplicated.head(10).to_list())}",
        )
    # Empty attribute cells are missing values, not a category called "".
    return frame.with_columns(
        [pl.when(pl.col(k) == "").then(None).otherwise(pl.col(k)).alias(k) for k in attributes]
    )


REASON = "quarantine_reason"


def rejected_site_rows(table: pl.DataFrame, sites: SitesConfig) -> pl.DataFrame:
    """Site-list rows without a site id, as read, with the reason they are left out."""
    blank = pl.col(sites.id_column).cast(pl.String).str.strip_chars().fill_null("") == ""
    return table.filter(blank).with_columns(pl.lit("blank site id").alias(REASON))


def role_lookup(roles: Mapping[str, RoleConfig], role_codes: Mapping[str, str]) -> dict[str, str]:
    """Text that names a role (export code, role key, or label in lower case) -> role key."""
    lookup: dict[str, str] = {}
    for key, role in roles.items():
        lookup.setdefault(role.label.strip().lower(), key)
        lookup.setdefault(key, key)
    # Export codes win over keys and labels: they are what the instrument declares.
    lookup.update({str(code).strip(): key for code, key in role_codes.items()})
    return lookup


def map_roles(values: pl.Series, lookup: Mapping[str, str]) -> pl.Series:
    """Role keys for role text (exact code first, then key or label ignoring case); else null."""
    folded = {k.lower(): v for k, v in lookup.items()}
    # Resolve each distinct text once, then map the column in one vectorised replace.
    distinct = values.drop_nulls().unique().to_list()
    resolved = {v: lookup.get(v.strip(), folded.get(v.strip().lower())) for v in distinct}
    return values.replace_strict(resolved, default=None, return_dtype=pl.String)


def role_groups(roles: Mapping[str, RoleConfig]) -> dict[str, str]:
    """Role key -> role group."""
    return {key: role.group for key, role in roles.items()}


def roster_frame(
    table: pl.DataFrame,
    roster: RosterConfig,
    roles: Mapping[str, RoleConfig],
    role_codes: Mapping[str, str],
    site_ids: pl.Series,
    wave: str,
    key: bytes,
    name: str,
) -> RosterFrame:
    """The roster with known site and role, members pseudonymised; the rest counted, not kept."""
    require_columns(table, [roster.id_column, roster.site_column, roster.role_column], name)
    lookup = role_lookup(roles, role_codes)
    frame = table.select(
        pl.col(roster.id_column).cast(pl.String).str.strip_chars().alias("member"),
        pl.col(roster.site_column).cast(pl.String).str.strip_chars().alias("site_id"),
        map_roles(table.get_column(roster.role_column).cast(pl.String), lookup).alias("role"),
    ).with_row_index("_row")
    # A blank site id is not a known site (is_in gives null for null, which is not False).
    known_site = pl.col("site_id").is_in(site_ids.implode()).fill_null(False)
    # Why each row is left out (null: kept); a member listed twice is one person. A blank id can
    # be linked to no response: the row is quarantined, not counted as a member.
    blank_id = pl.col("member").is_null() | (pl.col("member") == "")
    valid = known_site & pl.col("role").is_not_null() & ~blank_id
    frame = frame.with_columns(
        pl.when(blank_id)
        .then(pl.lit("blank member id"))
        .when(~known_site)
        .then(pl.lit("site not in the site list"))
        .when(pl.col("role").is_null())
        .then(pl.lit("unknown role"))
        # Only the first valid row of a member is kept. Rows reaching this test are valid, so
        # their member is never null: hiding the others' members leaves the valid rows' repeats.
        .when(~pl.when(valid).then(pl.col("member")).is_first_distinct())
        .then(pl.lit("repeated member id"))
        .alias(REASON)
    )
    unknown_site = frame.filter(pl.col(REASON) == "site not in the site list").height
    unknown_role = frame.filter(pl.col(REASON) == "unknown role").height
    rejected = (
        table.with_row_index("_row")
        .join(frame.select("_row", REASON), on="_row")
        .filter(pl.col(REASON).is_not_null())
        .drop("_row")
    )
    kept = frame.filter(pl.col(REASON).is_null()).drop("_row", REASON)
    duplicates = frame.filter(pl.col(REASON) == "repeated member id").height
    blank_ids = frame.filter(pl.col(REASON) == "blank member id").height
    frame = kept
    groups = role_groups(roles)
    out = frame.select(
        pl.lit(wave).alias("wave"),
        pseudonymise(frame["member"], key, MEMBER_PREFIX).alias("member_id"),
        "site_id",
        "role",
        pl.col("role").replace_strict(groups, return_dtype=pl.String).alias("role_group"),
    )
    notes = []
    if blank_ids:
        notes.append(f"roster: {blank_ids} row(s) with a blank member id quarantined")
    if unknown_site:
        notes.append(f"roster: {unknown_site} member(s) at a site not in the site list left out")
    if unknown_role:
        notes.append(f"roster: {unknown_role} member(s) with an unknown role left out")
    if duplicates:
        notes.append(f"roster: {duplicates} repeated member id(s) counted once")
    links = frame.select(pl.col("member").alias("link"), "site_id")
    return RosterFrame(out, rejected, unknown_site, unknown_role, duplicates, tuple(notes), links)


def lookup_links(table: pl.DataFrame, key_column: str, site_column: str, name: str) -> pl.DataFrame:
    """A site lookup table as link -> site_id (stripped); a key listed with two sites is an error."""
    require_columns(table, [key_column, site_column], name)
    links = table.select(
        pl.col(key_column).cast(pl.String).str.strip_chars().alias("link"),
        pl.col(site_column).cast(pl.String).str.strip_chars().alias("site_id"),
    ).filter(_filled("link") & _filled("site_id")).unique()
    clash = links.filter(pl.col("link").is_duplicated())
    if clash.height:
        raise InputError(
            name, f"column {key_column!r}", "each key must link to one site",
            f"{clash['link'].n_unique()} key(s) listed with different sites",
        )
    return links


def _filled(column: str) -> pl.Expr:
    return pl.col(column).is_not_null() & (pl.col(column) != "")


def rejected_lookup_rows(table: pl.DataFrame, key_column: str, site_column: str) -> pl.DataFrame:
    """Lookup-table rows that link nothing (blank key or blank site), as read, with the reason."""
    key = pl.col(key_column).cast(pl.String).str.strip_chars().fill_null("")
    site = pl.col(site_column).cast(pl.String).str.strip_chars().fill_null("")
    return table.filter((key == "") | (site == "")).with_columns(
        pl.when(key == "").then(pl.lit("blank key")).otherwise(pl.lit("blank site id")).alias(REASON)
    )
