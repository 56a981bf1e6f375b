"""Plan and write the free-text answers of one wave: who answers and which categories they hit.

Shares that calibrate the published figures are exact counts (lack of time among those who
answer the obstacles question, the order of the most-mentioned impacts); the remaining
categories follow the respondent's role group as STUDY.md describes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tasks.demo.instrument import ROLE_GROUPS
from tasks.demo.respondents import round_half_up
from tasks.demo.sites import exact_counts
from tasks.demo.text import (
    GP_CONTRIBUTION,
    IMPACTS,
    OBSTACLES,
    OBSTACLES_BY_GROUP,
    localise,
    render,
    uncodable,
)

ANSWER_RATE: dict[str, float] = {"obstacles": 0.75, "gp_contribution": 0.60, "impacts": 0.55}
UNCODABLE_SHARE = 0.05
LACK_OF_TIME_SHARE = 0.94
GP_CONTRIBUTION_WEIGHTS: dict[str, float] = {
    "knowledge": 0.40, "analytical": 0.14, "common_sense": 0.13,
    "independent_perspective": 0.13, "credibility": 0.12, "sceptical": 0.08,
}
# Exact shares of the main impact named (the published frequency order: MSK, talking
# therapies, frail elderly), then phrases of strategic intent added to some answers.
IMPACT_SHARES: dict[str, float] = {
    "msk_to_community": 0.33, "talking_therapies": 0.26, "frail_elderly": 0.20,
    "urgent_care": 0.08, "primary_care": 0.08, "": 0.05,
}
IMPACT_PHRASES: tuple[str, ...] = ("shift_to_primary", "closer_to_home", "reducing_admissions")
IMPACT_PHRASE_SHARE = 0.10
SECOND_IMPACT_SHARE = 0.12


@dataclass(frozen=True)
class FreeTextAnswer:
    """A written answer, the categories a careful human would code, and those worded 'hard'."""

    text: str
    categories: frozenset[str]
    hard: frozenset[str]


def _answering(n: int, kind: str, rnd: random.Random) -> list[int]:
    return sorted(rnd.sample(range(n), round_half_up(ANSWER_RATE[kind] * n)))


def _compose(
    categories: list[str], table: dict, rnd: random.Random, wave: int, *, allow_hard: bool = True
) -> FreeTextAnswer:
    parts: list[str] = []
    hard: set[str] = set()
    for key in categories:
        sentence, is_hard = render(table[key], rnd, allow_hard=allow_hard and key != "lack_of_time")
        parts.append(sentence)
        if is_hard:
            hard.add(key)
    return FreeTextAnswer(localise(" ".join(parts), wave), frozenset(categories), frozenset(hard))


def _none(kind: str, rnd: random.Random, wave: int) -> FreeTextAnswer:
    return FreeTextAnswer(localise(uncodable(kind, rnd), wave), frozenset(), frozenset())


def obstacle_answers(roles: list[str], wave: int, rnd: random.Random) -> list[FreeTextAnswer | None]:
    """Obstacles to clinical leadership: lack of time for exactly 94% of those who answer."""
    out: list[FreeTextAnswer | None] = [None] * len(roles)
    answering = _answering(len(roles), "obstacles", rnd)
    rnd.shuffle(answering)
    n = len(answering)
    n_none = round_half_up(UNCODABLE_SHARE * n)
    n_time = round_half_up(LACK_OF_TIME_SHARE * n)
    for position, i in enumerate(answering):
        if position < n_none:
            out[i] = _none("obstacles", rnd, wave)
            continue
        pool = OBSTACLES_BY_GROUP[ROLE_GROUPS[roles[i]]]
        if position < n_none + n_time:
            extra = rnd.choices((0, 1, 2), weights=(0.35, 0.45, 0.20))[0]
            cats = ["lack_of_time", *rnd.sample(pool, extra)]
        else:
            cats = rnd.sample(pool, rnd.choice((1, 1, 2)))
        out[i] = _compose(cats, OBSTACLES, rnd, wave)
    return out


def gp_contribution_answers(
    roles: list[str], wave: int, rnd: random.Random
) -> list[FreeTextAnswer | None]:
    """Distinctive contribution of GPs: knowledge first, then evidence, pragmatism, ..., scepticism."""
    out: list[FreeTextAnswer | None] = [None] * len(roles)
    answering = _answering(len(roles), "gp_contribution", rnd)
    n_none = round_half_up(UNCODABLE_SHARE * len(answering))
    none = set(rnd.sample(answering, n_none))
    keys = list(GP_CONTRIBUTION_WEIGHTS)
    weights = list(GP_CONTRIBUTION_WEIGHTS.values())
    for i in answering:
        if i in none:
            out[i] = _none("gp_contribution", rnd, wave)
            continue
        first = rnd.choices(keys, weights=weights)[0]
        cats = [first]
        if first != "sceptical":
            others = [k for k in keys if k not in (first, "sceptical")]
            cats += rnd.sample(others, rnd.choices((0, 1, 2), weights=(0.6, 0.3, 0.1))[0])
        out[i] = _compose(cats, GP_CONTRIBUTION, rnd, wave, allow_hard=False)
    return out


def impact_answers(roles: list[str], wave: int, rnd: random.Random) -> list[FreeTextAnswer | None]:
    """Most significant impacts, with the published order MSK > talking therapies > frail elderly."""
    out: list[FreeTextAnswer | None] = [None] * len(roles)
    answering = _answering(len(roles), "impacts", rnd)
    n = len(answering)
    main = [k for k, c in zip(IMPACT_SHARES, exact_counts(n, list(IMPACT_SHARES.values())), strict=True) for _ in range(c)]
    rnd.shuffle(main)
    coded = [i for i, k in zip(answering, main, strict=True) if k]
    phrases = {
        p: set(rnd.sample(coded, round_half_up(IMPACT_PHRASE_SHARE * len(coded))))
        for p in IMPACT_PHRASES
    }
    second = set(rnd.sample(coded, round_half_up(SECOND_IMPACT_SHARE * len(coded))))
    impacts = [k for k in IMPACT_SHARES if k]
    for i, key in zip(answering, main, strict=True):
        if not key:
            out[i] = _none("impacts", rnd, wave)
            continue
        cats = [key]
        if i in second:
            cats.append(rnd.choices([k for k in impacts if k != key])[0])
        cats += [p for p in IMPACT_PHRASES if i in phrases[p]]
        out[i] = _compose(cats, IMPACTS, rnd, wave, allow_hard=False)
    return out
