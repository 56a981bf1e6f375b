"""Who responds in a wave: exact site coverage, exact response rate and exact role profile.

Counts are planned, not hoped for: the responding sites are chosen first, each gets one
"anchor" respondent, and the remaining places are filled role by role from those sites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tasks.demo.sites import exact_counts

# Published respondent profile (STUDY.md); "nurses and others" 20% split between secondary
# care doctors and other managers.
ROLE_PROFILE: dict[str, float] = {
    "gp_member": 0.25,
    "chair": 0.15,
    "accountable_officer": 0.10,
    "lay_member": 0.18,
    "nurse": 0.06,
    "finance_director": 0.06,
    "secondary_care_doctor": 0.07,
    "other_manager": 0.13,
}


@dataclass(frozen=True)
class WaveTargets:
    """Published coverage of one wave: share of sites with a respondent, share of members."""

    site_share: float
    member_share: float


TARGETS: tuple[WaveTargets, ...] = (WaveTargets(0.79, 0.124), WaveTargets(0.775, 0.122))


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves upwards (not banker's rounding)."""
    return int(np.floor(value + 0.5))


def planned_counts(n_sites: int, n_members: int, targets: WaveTargets) -> tuple[int, int]:
    """(responding sites, respondents) for a block of sites and its roster size."""
    return round_half_up(targets.site_share * n_sites), round_half_up(targets.member_share * n_members)


def plan_respondents(
    roster: pl.DataFrame, site_codes: list[str], targets: WaveTargets, rng: np.random.Generator
) -> pl.DataFrame:
    """Choose the roster members who respond (member_id, ccg_code, role), sorted by member_id."""
    n_sites, n_resp = planned_counts(len(site_codes), roster.height, targets)
    roles = list(ROLE_PROFILE)
    remaining = dict(zip(roles, exact_counts(n_resp, list(ROLE_PROFILE.values())), strict=True))
    responding = sorted(str(s) for s in rng.choice(site_codes, n_sites, replace=False))
    members: dict[tuple[str, str], list[str]] = {}
    for member, site, role in roster.sort("member_id").iter_rows():
        members.setdefault((site, role), []).append(member)
    chosen: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    for site in rng.permutation(responding).tolist():
        options = [r for r in roles if remaining[r] > 0 and members.get((site, r))]
        weights = np.array([remaining[r] for r in options], dtype=float)
        role = options[int(rng.choice(len(options), p=weights / weights.sum()))]
        pool = members[(site, role)]
        member = pool[int(rng.integers(len(pool)))]
        chosen.append((member, site, role))
        taken.add(member)
        remaining[role] -= 1
    for role in roles:
        free = [
            (m, s) for s in responding for m in members.get((s, role), []) if m not in taken
        ]
        if remaining[role] > len(free):
            raise RuntimeError(f"not enough {role} members in responding sites to plan the wave")
        for k in rng.choice(len(free), remaining[role], replace=False).tolist():
            picked, at = free[int(k)]
            chosen.append((picked, at, role))
            taken.add(picked)
    schema = {"member_id": pl.String, "ccg_code": pl.String, "role": pl.String}
    return pl.DataFrame(chosen, schema=schema, orient="row").sort("member_id")
