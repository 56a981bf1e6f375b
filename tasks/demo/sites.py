"""Demo sites (CCGs) and their governing-body rosters, one block of 210 sites at a time.

Shares that the published figures fix (ratings, deprivation quintiles, collaboration levels)
are assigned by rank of a latent score, so every block has exactly the planned counts while
the attributes stay correlated the way the papers describe.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import polars as pl

from tasks.demo.names import place_names

SITES_PER_BLOCK = 210
REGIONS: tuple[tuple[str, int], ...] = (
    ("North", 66),
    ("Midlands and East", 61),
    ("London", 32),
    ("South", 51),
)
SETTINGS: tuple[str, ...] = ("inner_city", "conurbation", "urban", "rural", "mixed_urban_rural")
SETTING_WEIGHTS: dict[str, tuple[float, ...]] = {
    "North": (0.05, 0.30, 0.25, 0.10, 0.30),
    "Midlands and East": (0.03, 0.12, 0.30, 0.17, 0.38),
    "London": (0.55, 0.10, 0.35, 0.0, 0.0),
    "South": (0.0, 0.03, 0.30, 0.22, 0.45),
}
# Lower = more deprived; quintile 1 is the most deprived fifth of the block.
SETTING_DEPRIVATION: dict[str, float] = {
    "inner_city": -1.6, "conurbation": -0.8, "urban": 0.0, "mixed_urban_rural": 0.6, "rural": 0.9,
}
RATINGS: tuple[str, ...] = ("outstanding", "good", "requires_improvement", "inadequate")
RATING_SHARES: tuple[float, ...] = (0.10, 0.60, 0.22, 0.08)
COLLABORATION: tuple[str, ...] = ("low", "medium", "high")
COLLABORATION_SHARES: tuple[float, ...] = (0.30, 0.40, 0.30)
# "Good" CCGs collaborate most, "inadequate" act alone, "outstanding" are self-reliant.
RATING_COLLABORATION: dict[str, float] = {
    "outstanding": -0.2, "good": 0.5, "requires_improvement": 0.0, "inadequate": -0.9,
}
LARGE_POPULATIONS: tuple[int, ...] = (1_050_000, 1_180_000, 1_340_000)

ROLES: tuple[str, ...] = (
    "chair", "accountable_officer", "gp_member", "nurse", "secondary_care_doctor",
    "finance_director", "lay_member", "other_manager",
)
ROLE_SEATS: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "chair": ((1,), (1.0,)),
    "accountable_officer": ((1,), (1.0,)),
    "gp_member": ((6, 7, 8, 9), (0.2, 0.3, 0.3, 0.2)),
    "nurse": ((1,), (1.0,)),
    "secondary_care_doctor": ((1,), (1.0,)),
    "finance_director": ((1,), (1.0,)),
    "lay_member": ((2, 3), (0.5, 0.5)),
    "other_manager": ((2, 3, 4), (0.3, 0.4, 0.3)),
}
# 2014 -> 2016: chance a seat's holder left, and that the seat was filled again (GP seats are
# hard to fill: "difficulty recruiting GPs to boards").
LEAVE_PROBABILITY: dict[str, float] = {
    "chair": 0.10, "accountable_officer": 0.22, "gp_member": 0.18, "nurse": 0.15,
    "secondary_care_doctor": 0.15, "finance_director": 0.18, "lay_member": 0.12,
    "other_manager": 0.20,
}
REFILL_PROBABILITY: dict[str, float] = {
    "chair": 1.0, "accountable_officer": 1.0, "gp_member": 0.70, "nurse": 0.95,
    "secondary_care_doctor": 0.90, "finance_director": 1.0, "lay_member": 0.90,
    "other_manager": 0.90,
}
SCOPING_QUOTAS: tuple[tuple[str, int], ...] = (
    ("inner_city", 3), ("conurbation", 2), ("mixed_urban_rural", 2), ("urban", 2), ("rural", 1),
)
CASE_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")


@dataclass(frozen=True)
class SiteBlock:
    """One block of sites: the site table, its 15 scoping sites and the sites of cases A-F."""

    frame: pl.DataFrame
    scoping: tuple[str, ...]
    case_sites: dict[str, tuple[str, ...]]


def code_width(n_sites: int) -> int:
    """Digits in a site code: three at scale 1 (CCG001), more when scaled, never reaching 9...9."""
    return 3 if n_sites < 999 else len(str(n_sites)) + 1


def unknown_site_code(n_sites: int) -> str:
    """A site code that is not a site (used for mis-keyed survey submissions)."""
    return "CCG" + "9" * code_width(n_sites)


def exact_counts(total: int, shares: tuple[float, ...] | list[float]) -> list[int]:
    """Split `total` by `shares` with the largest-remainder method (counts sum to `total`)."""
    raw = [total * s / sum(shares) for s in shares]
    counts = [int(np.floor(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _by_rank(score: np.ndarray, labels: tuple[str, ...], shares: tuple[float, ...]) -> list[str]:
    counts = exact_counts(len(score), shares)
    order = np.argsort(score, kind="stable")
    out = [""] * len(score)
    position = 0
    for label, count in zip(labels, counts, strict=True):
        for i in order[position : position + count]:
            out[int(i)] = label
        position += count
    return out


def make_site_block(block: int, n_sites_total: int, seed: int) -> SiteBlock:
    """Generate block `block` (0-based) of 210 sites with attributes and its scoping/case sites."""
    rng = np.random.default_rng([seed, block, 1])
    rnd = random.Random(f"{seed}:{block}:sites")
    width = code_width(n_sites_total)
    first = block * SITES_PER_BLOCK
    codes = [f"CCG{first + i + 1:0{width}d}" for i in range(SITES_PER_BLOCK)]
    regions = [name for name, count in REGIONS for _ in range(count)]
    settings = [
        SETTINGS[int(rng.choice(len(SETTINGS), p=np.array(SETTING_WEIGHTS[r])))] for r in regions
    ]
    groups = _neighbour_groups(regions, rng)
    for members in groups.values():
        for i in members:
            settings[i] = "mixed_urban_rural"
    deprivation_score = np.array([SETTING_DEPRIVATION[s] for s in settings]) + rng.normal(
        0, 0.6, SITES_PER_BLOCK
    )
    quintile = np.empty(SITES_PER_BLOCK, dtype=int)
    quintile[np.argsort(deprivation_score, kind="stable")] = (
        np.arange(SITES_PER_BLOCK) * 5 // SITES_PER_BLOCK + 1
    )
    population = np.minimum(250_000 + rng.gamma(2.0, 80_000, SITES_PER_BLOCK), 900_000)
    population = np.round(population, -2).astype(int)
    largest = np.argsort(-population, kind="stable")[: len(LARGE_POPULATIONS)]
    for i, value in zip(largest[::-1], LARGE_POPULATIONS, strict=True):
        population[i] = value
    practices = np.clip(np.round(population / 5_600 + rng.normal(0, 8, SITES_PER_BLOCK)), 25, 177)
    practices = practices.astype(int)
    practices[int(np.argmax(population))] = 177
    practices[int(np.argmin(population))] = 25
    performance = rng.normal(0, 1, SITES_PER_BLOCK) + np.where(quintile == 1, -0.3, 0.0)
    rating_2014 = _by_rank(-performance, RATINGS, RATING_SHARES)
    performance_2016 = 0.75 * performance + 0.66 * rng.normal(0, 1, SITES_PER_BLOCK)
    rating_2016 = _by_rank(-performance_2016, RATINGS, RATING_SHARES)
    collaboration_score = np.array(
        [RATING_COLLABORATION[r] for r in rating_2014]
    ) + rng.normal(0, 0.8, SITES_PER_BLOCK)
    collaboration = _by_rank(collaboration_score, COLLABORATION, COLLABORATION_SHARES)
    names = [f"NHS {place} CCG" for place in place_names(SITES_PER_BLOCK, rnd)]
    frame = pl.DataFrame(
        {
            "ccg_code": codes,
            "name": names,
            "region": regions,
            "setting": settings,
            "deprivation_quintile": quintile.tolist(),
            "population": population.tolist(),
            "member_practices": practices.tolist(),
            "rating_2014": rating_2014,
            "rating_2016": rating_2016,
            "collaboration": collaboration,
        }
    )
    scoping, case_sites = _scoping_sites(frame, groups, rnd)
    return SiteBlock(frame=frame, scoping=scoping, case_sites=case_sites)


def _neighbour_groups(regions: list[str], rng: np.random.Generator) -> dict[str, list[int]]:
    """Consecutive (neighbouring) site indices for the two grouped cases: E (3 sites), F (2)."""
    groups: dict[str, list[int]] = {}
    for letter, region, size in (("E", "Midlands and East", 3), ("F", "South", 2)):
        span = [i for i, r in enumerate(regions) if r == region]
        start = span[0] + int(rng.integers(0, len(span) - size))
        groups[letter] = list(range(start, start + size))
    return groups


def _scoping_sites(
    frame: pl.DataFrame, groups: dict[str, list[int]], rnd: random.Random
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    codes = frame["ccg_code"].to_list()
    settings = frame["setting"].to_list()
    quintiles = frame["deprivation_quintile"].to_list()
    grouped = {i for members in groups.values() for i in members}
    picked: dict[str, list[int]] = {}
    for setting, count in SCOPING_QUOTAS:
        pool = [i for i, s in enumerate(settings) if s == setting and i not in grouped]
        if setting == "inner_city":
            # The two inner-city cases must be deprived: prefer quintile 1.
            pool.sort(key=lambda i: (quintiles[i] != 1, rnd.random()))
            chosen = pool[:count]
        else:
            chosen = rnd.sample(pool, count)
        if len(chosen) < count:
            raise RuntimeError(f"too few {setting} sites in the block to choose scoping sites")
        picked[setting] = chosen
    case_index = {
        "A": [picked["inner_city"][0]],
        "B": [picked["conurbation"][0]],
        "C": [picked["inner_city"][1]],
        "D": [picked["mixed_urban_rural"][0]],
        "E": groups["E"],
        "F": groups["F"],
    }
    scoping = sorted(
        {codes[i] for chosen in picked.values() for i in chosen} | {codes[i] for i in grouped}
    )
    return tuple(scoping), {k: tuple(codes[i] for i in v) for k, v in case_index.items()}


@dataclass(frozen=True)
class RosterBlock:
    """The 2014 and 2016 rosters of one block of sites, and the next free member number."""

    board_2014: pl.DataFrame
    board_2016: pl.DataFrame
    next_member: int


def member_width(n_sites_total: int) -> int:
    """Digits in a member id: five at scale 1 (M00001), more when scaled."""
    return max(5, len(str(30 * n_sites_total)))


def make_rosters(
    sites: pl.DataFrame, seed: int, block: int, first_member: int, width: int
) -> RosterBlock:
    """Governing-body rosters for 2014 and 2016 (with turnover) of one block of sites."""
    rng = np.random.default_rng([seed, block, 2])
    number = first_member
    rows_2014: list[tuple[str, str, str]] = []
    seats: list[tuple[str, str, str]] = []
    for code in sites["ccg_code"].to_list():
        for role in ROLES:
            options, weights = ROLE_SEATS[role]
            count = options[int(rng.choice(len(options), p=np.array(weights)))]
            for _ in range(count):
                member = f"M{number:0{width}d}"
                number += 1
                rows_2014.append((member, code, role))
                seats.append((member, code, role))
    rows_2016: list[tuple[str, str, str]] = []
    for member, code, role in seats:
        if rng.random() >= LEAVE_PROBABILITY[role]:
            rows_2016.append((member, code, role))
        elif rng.random() < REFILL_PROBABILITY[role]:
            rows_2016.append((f"M{number:0{width}d}", code, role))
            number += 1
    schema = {"member_id": pl.String, "ccg_code": pl.String, "role": pl.String}
    return RosterBlock(
        board_2014=pl.DataFrame(rows_2014, schema=schema, orient="row"),
        board_2016=pl.DataFrame(rows_2016, schema=schema, orient="row"),
        next_member=number,
    )
