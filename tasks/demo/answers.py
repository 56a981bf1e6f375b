"""Closed answers of planned respondents, with the role, rating and wave effects the papers report.

Headline shares are exact: the respondents with the highest latent score (role + NHSE rating +
noise) get the "my CCG" answer until the planned count is reached, so the marginal is fixed
while chairs, outstanding CCGs and so on still lean the published way.
"""

from __future__ import annotations

import numpy as np

from tasks.demo.instrument import BOARD_YEARS_MISSING, GRID_ITEMS
from tasks.demo.respondents import round_half_up
from tasks.demo.sites import exact_counts

MY_CCG_SHARE: tuple[float, ...] = (0.51, 0.49)
# Chairs most likely to say "my CCG"; finance directors less; under half of accountable officers.
MY_CCG_ROLE: dict[str, float] = {
    "chair": 1.3, "gp_member": -0.1, "accountable_officer": -1.1, "finance_director": -1.2,
    "other_manager": -0.2, "lay_member": 0.1, "nurse": 0.1, "secondary_care_doctor": 0.0,
}
MY_CCG_RATING: dict[str, float] = {
    "outstanding": 1.6, "good": 0.3, "requires_improvement": -0.5, "inadequate": -2.0,
}
# Other answers to influence_body ("2".."6"), by wave: NHS England next, collaborations growing.
OTHER_BODIES: tuple[dict[str, float], ...] = (
    {"2": 0.46, "3": 0.16, "4": 0.10, "5": 0.20, "6": 0.08},
    {"2": 0.40, "3": 0.30, "4": 0.08, "5": 0.16, "6": 0.06},
)
# Major player in redesign (wave 2): own CCG 38%, collaboration 18%, NHSE 14%, the rest others.
REDESIGN_SHARES: dict[str, float] = {
    "1": 0.38, "2": 0.18, "3": 0.14, "4": 0.12, "5": 0.06, "6": 0.06, "7": 0.06,
}
NHSE_ROLE: dict[str, float] = {"gp_member": 1.4, "chair": 0.3}
COLLAB_RATING: dict[str, float] = {
    "outstanding": -0.1, "good": 0.5, "requires_improvement": 0.0, "inadequate": -0.8,
}
COLLAB_SITE: dict[str, float] = {"low": -0.5, "medium": 0.0, "high": 0.5}
COLLAB_WAVE: tuple[float, ...] = (0.0, 0.4)
# Within-CCG influence: (wave-1 mean, wave-2 mean) per item, then role shifts.
GRID_MEANS: dict[str, tuple[float, float]] = {
    "influence_gps": (3.95, 3.75),
    "influence_managers": (3.85, 4.10),
    "influence_lay": (2.30, 2.30),
    "influence_secondary_care": (2.20, 2.20),
    "influence_nurses": (2.00, 2.05),
}
GRID_ROLE: dict[tuple[str, str], float] = {
    ("influence_gps", "gp_member"): -0.6,
    ("influence_gps", "finance_director"): -0.7,
    ("influence_gps", "chair"): 0.2,
    ("influence_managers", "finance_director"): 0.6,
    ("influence_managers", "gp_member"): 0.2,
}
# vision / communication: managers and GP members equally; coalitions: managers more.
LEAD_SHARES: dict[str, tuple[float, ...]] = {
    "vision_lead": (0.28, 0.28, 0.34, 0.04, 0.06),
    "communication_lead": (0.26, 0.26, 0.35, 0.08, 0.05),
    "coalition_lead": (0.18, 0.42, 0.30, 0.03, 0.07),
}
YEARS_MEAN: dict[str, float] = {
    "chair": 6.5, "gp_member": 4.5, "accountable_officer": 3.5, "finance_director": 3.0,
    "other_manager": 3.0, "lay_member": 3.5, "nurse": 3.0, "secondary_care_doctor": 2.5,
}
YEARS_MISSING_SHARE = 0.03


def _top(score: np.ndarray, count: int) -> np.ndarray:
    mask = np.zeros(len(score), dtype=bool)
    mask[np.argsort(-score, kind="stable")[:count]] = True
    return mask


def _exact_labels(n: int, codes: list[str], shares: list[float], rng: np.random.Generator) -> list[str]:
    labels = [c for c, k in zip(codes, exact_counts(n, shares), strict=True) for _ in range(k)]
    return [labels[int(i)] for i in rng.permutation(n)]


def closed_answers(
    roles: list[str],
    ratings: list[str],
    collaboration: list[str],
    wave: int,
    rng: np.random.Generator,
) -> dict[str, list[str]]:
    """Every closed answer of each respondent (codes as text), before partial truncation."""
    n = len(roles)
    out: dict[str, list[str]] = {}
    score = (
        np.array([MY_CCG_ROLE[r] for r in roles])
        + np.array([MY_CCG_RATING[r] for r in ratings])
        + rng.logistic(0, 1, n)
    )
    mine = _top(score, round_half_up(MY_CCG_SHARE[wave] * n))
    bodies = OTHER_BODIES[wave]
    influence = []
    for i in range(n):
        if mine[i]:
            influence.append("1")
            continue
        weights = dict(bodies)
        if ratings[i] == "inadequate":
            weights["5"] *= 2.5  # inadequate CCGs see the hospitals as holding influence
        codes = list(weights)
        p = np.array([weights[c] for c in codes])
        influence.append(codes[int(rng.choice(len(codes), p=p / p.sum()))])
    out["influence_body"] = influence
    if wave == 1:
        out["redesign_player"] = _redesign(roles, ratings, rng)
    collab = (
        3.2
        + np.array([COLLAB_RATING[r] for r in ratings])
        + np.array([COLLAB_SITE[c] for c in collaboration])
        + COLLAB_WAVE[wave]
        + rng.normal(0, 0.9, n)
    )
    out["collaboration_neighbours"] = [str(int(v)) for v in np.clip(np.round(collab), 1, 5)]
    grid = {}
    for key, _ in GRID_ITEMS:
        mean = np.array([GRID_MEANS[key][wave] + GRID_ROLE.get((key, r), 0.0) for r in roles])
        grid[key] = np.clip(np.round(mean + rng.normal(0, 0.8, n)), 1, 5).astype(int)
    stacked = np.vstack([grid[k] for k, _ in GRID_ITEMS])
    flat = (stacked == stacked[0]).all(axis=0)
    grid["influence_nurses"] = np.where(
        flat, np.where(stacked[0] > 1, stacked[0] - 1, 2), grid["influence_nurses"]
    )
    for key, _ in GRID_ITEMS:
        out[key] = [str(int(v)) for v in grid[key]]
    for key, shares in LEAD_SHARES.items():
        out[key] = _exact_labels(n, ["1", "2", "3", "4", "5"], list(shares), rng)
    years = rng.gamma(2.0, np.array([YEARS_MEAN[r] for r in roles]) / 2.0) + 1.5 * wave
    years_text = [str(int(v)) for v in np.clip(np.round(years), 0, 15)]
    missing = rng.random(n) < YEARS_MISSING_SHARE
    out["board_years"] = [BOARD_YEARS_MISSING if m else y for m, y in zip(missing, years_text, strict=True)]
    return out


def _redesign(roles: list[str], ratings: list[str], rng: np.random.Generator) -> list[str]:
    n = len(roles)
    counts = dict(zip(REDESIGN_SHARES, exact_counts(n, list(REDESIGN_SHARES.values())), strict=True))
    answer = np.array([""] * n, dtype=object)
    own = (
        np.array([MY_CCG_ROLE[r] for r in roles])
        + np.array([MY_CCG_RATING[r] for r in ratings])
        + rng.logistic(0, 1, n)
    )
    answer[_top(own, counts["1"])] = "1"
    free = np.flatnonzero(answer == "")
    # GP members are the most likely to name NHS England or NHS Improvement.
    central = np.array([NHSE_ROLE.get(roles[i], 0.0) for i in free]) + rng.logistic(0, 1, len(free))
    picked = free[np.argsort(-central, kind="stable")[: counts["3"] + counts["6"]]]
    picked = rng.permutation(picked)
    answer[picked[: counts["3"]]] = "3"
    answer[picked[counts["3"] :]] = "6"
    rest = rng.permutation(np.flatnonzero(answer == ""))
    position = 0
    for code in ("2", "4", "5", "7"):
        answer[rest[position : position + counts[code]]] = code
        position += counts[code]
    return [str(a) for a in answer]
