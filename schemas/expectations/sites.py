"""Checks of the site frame and of each wave's roster (the denominators of the survey)."""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.datasets.sites import ROSTER, SITES
from schemas.expectations import Check, SuiteBuilder, SuiteContext


def _attributes(ctx: SuiteContext) -> list[str]:
    if ctx.config is None:
        return []
    names = dict(ctx.config.sites.attributes)
    wave = ctx.config.survey.waves.get(ctx.wave or "")
    if wave is not None:
        names.update(wave.site_attributes)
    return sorted(names)


def sites_suite(ctx: SuiteContext) -> list[Check]:
    """The organisations studied: one row per site, every declared attribute present."""
    return [
        Check(
            "sites.row_count", "ExpectTableRowCountToBeBetween", {"min_value": 1, "max_value": None},
            "A study with no sites has no sampling frame: every later count would be zero.",
        ),
        Check(
            "sites.id_unique", "ExpectColumnValuesToBeUnique", {"column": "site_id"},
            "Rosters, respondents and sources join to sites by id; a repeated id double-counts a site.",
        ),
        Check(
            "sites.id_not_null", "ExpectColumnValuesToNotBeNull", {"column": "site_id"},
            "A site without an id cannot be linked to its roster, respondents or case.",
        ),
        Check(
            "sites.declared_attributes", "ExpectTableColumnsToMatchSet",
            {"column_set": ["site_id", *_attributes(ctx)], "exact_match": False},
            "Breakdowns, raking margins and case selection use the attributes study.yaml declares.",
        ),
    ]


def roster_suite(ctx: SuiteContext) -> list[Check]:
    """A wave's roster: the people who could respond, at known sites, with declared roles."""
    roles = sorted(ctx.config.roles) if ctx.config else []
    groups = sorted({r.group for r in ctx.config.roles.values()}) if ctx.config else []
    return [
        Check(
            "roster.row_count", "ExpectTableRowCountToBeBetween", {"min_value": 1, "max_value": None},
            "The roster is the denominator of response rates and weights; it cannot be empty.",
        ),
        Check(
            "roster.member_unique", "ExpectColumnValuesToBeUnique", {"column": "member_id"},
            "A person listed twice inflates the denominator and their site's roster count.",
        ),
        Check(
            "roster.site_known", "ExpectColumnValuesToBeInSet",
            {"column": "site_id", "value_set": ctx.values("sites", "site_id")},
            "Members at a site missing from the site frame have no attributes to weight or break down by.",
            requires=("sites",),
        ),
        Check(
            "roster.role_known", "ExpectColumnValuesToBeInSet", {"column": "role", "value_set": roles},
            "Roles are the raking margin and the main breakdown: only study.yaml `roles` are valid.",
        ),
        Check(
            "roster.role_group_known", "ExpectColumnValuesToBeInSet",
            {"column": "role_group", "value_set": groups},
            "Role groups come from study.yaml `roles.*.group`; any other group is a mapping error.",
        ),
    ]


# The study-wide "sites" frame is checked as SITES too (schemas.expectations.TOP_LEVEL).
SUITES: dict[Dataset, SuiteBuilder] = {
    SITES: sites_suite,
    ROSTER: roster_suite,
}
ROW_KEYS: dict[Dataset, tuple[str, ...]] = {
    SITES: ("site_id",),
    ROSTER: ("member_id", "site_id"),
}
