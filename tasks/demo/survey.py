"""Rows of one wave's Qualtrics export for one block of sites: planned respondents plus the mess.

The respondents are planned exactly (tasks.demo.respondents); on top of them come previews and
spam (Status 1 / 8), earlier or less complete duplicate submissions, two submissions with an
unknown SiteID; inside them, ~6% partial responses and ten grid straight-liners.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from tasks.demo.answers import closed_answers
from tasks.demo.freetext import (
    FreeTextAnswer,
    gp_contribution_answers,
    impact_answers,
    obstacle_answers,
)
from tasks.demo.instrument import (
    CODE_OF_ROLE,
    GRID_ITEMS,
    METADATA,
    QUESTIONS,
    STAGE_PROGRESS,
    STAGES,
    questions_in,
)
from tasks.demo.names import FIRST_NAMES, LAST_NAMES
from tasks.demo.respondents import TARGETS, plan_respondents, round_half_up
from tasks.demo.text import dictionary_codes

# Planted mess per block of 210 sites (scaled with the blocks).
PREVIEWS = 7
SPAM = 5
DUPLICATES_PARTIAL = 5
DUPLICATES_COMPLETE = 3
UNKNOWN_SITE = 2
STRAIGHTLINERS = 10
PARTIAL_SHARE = 0.06
HUMAN_SAMPLE = 60
HUMAN_DISAGREEMENTS = 5
PARTIAL_STOP_STAGES: tuple[int, ...] = (2, 3, 4)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
REGION_CENTRES: dict[str, tuple[float, float]] = {
    "North": (53.8, -1.9),
    "Midlands and East": (52.6, -0.9),
    "London": (51.51, -0.12),
    "South": (51.0, -1.9),
}
IP_PREFIXES: tuple[str, ...] = ("192.0.2", "198.51.100", "203.0.113")
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class WaveSpec:
    """One survey wave of the demo: timing, rating column, file and encoding."""

    index: int
    key: str
    year: int
    rating_column: str
    start: datetime
    days: int
    path: str
    encoding: str
    bom: bool
    blank_trailing_rows: int


WAVE_SPECS: tuple[WaveSpec, ...] = (
    WaveSpec(0, "w2014", 2014, "rating_2014", datetime(2014, 5, 12, 7), 63,
             "survey/wave1_2014.csv", "utf-8", True, 0),
    WaveSpec(1, "w2016", 2016, "rating_2016", datetime(2016, 6, 6, 7), 63,
             "survey/wave2_2016.csv", "cp1252", False, 3),
)


@dataclass
class WaveBlock:
    """A block's export rows and what was planted in them."""

    rows: pl.DataFrame
    counts: dict[str, int]
    human_coded: list[tuple[str, str]] = field(default_factory=list)


def _response_id(rnd: random.Random, used: set[str]) -> str:
    while True:
        candidate = "R_" + "".join(rnd.choice(_ID_ALPHABET) for _ in range(15))
        if candidate not in used:
            used.add(candidate)
            return candidate


def _stamp(moment: datetime) -> str:
    return moment.strftime(DATE_FORMAT)


def _recipient(seed: int, member: str) -> tuple[str, str, str]:
    rnd = random.Random(f"{seed}:recipient:{member}")
    first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
    email = f"{first}.{last}.{member[-3:]}@nhs.example".lower().replace("ë", "e")
    return last, first, email


def _empty_row(columns: list[str]) -> dict[str, str | None]:
    return {c: None for c in columns}


def wave_block(
    spec: WaveSpec,
    sites: pl.DataFrame,
    roster: pl.DataFrame,
    *,
    seed: int,
    block: int,
    unknown_site: str,
    unknown_members: tuple[str, str],
    used_ids: set[str],
) -> WaveBlock:
    """The export rows of one wave for one block of sites, sorted by RecordedDate."""
    rng = np.random.default_rng([seed, block, 10 + spec.index])
    rnd = random.Random(f"{seed}:{block}:survey:{spec.index}")
    wave = spec.index
    site_codes = sites["ccg_code"].to_list()
    planned = plan_respondents(roster, site_codes, TARGETS[wave], rng).join(
        sites.select("ccg_code", "region", pl.col(spec.rating_column).alias("rating"), "collaboration"),
        on="ccg_code",
        how="left",
    )
    n = planned.height
    roles = planned["role"].to_list()
    answers = closed_answers(
        roles, planned["rating"].to_list(), planned["collaboration"].to_list(), wave, rng
    )
    offsets = rng.uniform(0, spec.days, n)
    order = [int(i) for i in rng.permutation(n)]
    late = [i for i in order if offsets[i] >= 21]
    duplicated = late[: DUPLICATES_PARTIAL + DUPLICATES_COMPLETE]
    rest = [i for i in order if i not in set(duplicated)]
    straight = rest[:STRAIGHTLINERS]
    n_partial = round_half_up(PARTIAL_SHARE * n)
    partial = {i: PARTIAL_STOP_STAGES[k % 3] for k, i in enumerate(rest[STRAIGHTLINERS : STRAIGHTLINERS + n_partial])}
    for i in straight:
        value = str(int(rng.integers(3, 6)))
        for key, _ in GRID_ITEMS:
            answers[key][i] = value
    complete = [i for i in range(n) if i not in partial]
    texts = _free_texts([roles[i] for i in complete], wave, rnd)
    free: dict[int, dict[str, FreeTextAnswer | None]] = {
        i: {key: texts[key][k] for key in texts} for k, i in enumerate(complete)
    }
    columns = export_columns(wave)
    rows: list[dict[str, str | None]] = []
    members = planned["member_id"].to_list()
    regions = planned["region"].to_list()
    ccgs = planned["ccg_code"].to_list()
    response_ids: list[str] = []
    for i in range(n):
        start = spec.start + timedelta(days=float(offsets[i]), hours=float(rng.uniform(0, 15)))
        stop = partial.get(i, len(STAGES) - 1)
        row = _respondent_row(columns, spec, rng, rnd, used_ids, start, stop, seed)
        row.update(_identity(members[i], ccgs[i], regions[i], seed, rng))
        _fill_answers(row, wave, roles[i], answers, i, stop, free.get(i, {}))
        rows.append(row)
        response_ids.append(str(row["ResponseId"]))
    for k, i in enumerate(duplicated):
        rows.append(_duplicate(rows[i], columns, wave, k < DUPLICATES_PARTIAL, rng, rnd, used_ids))
    rows += _junk_rows(columns, spec, sites, rng, rnd, used_ids)
    for member in unknown_members:
        i = int(rng.integers(n))
        start = spec.start + timedelta(days=float(rng.uniform(0, spec.days)), hours=float(rng.uniform(0, 15)))
        row = _respondent_row(columns, spec, rng, rnd, used_ids, start, len(STAGES) - 1, seed)
        row.update(_identity(member, unknown_site, regions[i], seed, rng))
        _fill_answers(row, wave, roles[i], answers, i, len(STAGES) - 1, {})
        rows.append(row)
    frame = (
        pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")
        .sort("RecordedDate", "ResponseId")
    )
    counts = {
        "respondents": n,
        "sites": planned["ccg_code"].n_unique(),
        "partial": n_partial,
        "straightliners": STRAIGHTLINERS,
        "duplicates": len(duplicated),
        "excluded_status": PREVIEWS + SPAM,
        "unknown_site": len(unknown_members),
        "rows": frame.height,
    }
    counts.update({f"role_{r}": roles.count(r) for r in sorted(set(roles))})
    human: list[tuple[str, str]] = []
    if wave == 0:
        obstacles = {response_ids[i]: free[i].get("obstacles_text") for i in complete}
        human = _human_sample(obstacles, rnd)
    return WaveBlock(frame, counts, human)


def export_columns(wave: int) -> list[str]:
    """Export column names of a wave, in order (metadata, SiteID, questions)."""
    return [tag for tag, *_ in METADATA] + [q.tag_for(wave) for q in questions_in(wave)]


def _free_texts(roles: list[str], wave: int, rnd: random.Random) -> dict[str, list[FreeTextAnswer | None]]:
    return {
        "obstacles_text": obstacle_answers(roles, wave, rnd),
        "gp_contribution_text": gp_contribution_answers(roles, wave, rnd),
        "impacts_text": impact_answers(roles, wave, rnd),
    }


def _respondent_row(
    columns: list[str],
    spec: WaveSpec,
    rng: np.random.Generator,
    rnd: random.Random,
    used_ids: set[str],
    start: datetime,
    stop: int,
    seed: int,
) -> dict[str, str | None]:
    finished = stop == len(STAGES) - 1
    if finished:
        duration = int(np.clip(rng.lognormal(np.log(780), 0.45), 180, 5400))
    else:
        duration = int(rng.integers(60, 600))
    end = start + timedelta(seconds=duration)
    recorded = end if finished else end + timedelta(days=7)
    row = _empty_row(columns)
    row.update(
        {
            "StartDate": _stamp(start),
            "EndDate": _stamp(end),
            "Status": "0",
            "IPAddress": f"{rnd.choice(IP_PREFIXES)}.{rnd.randint(1, 254)}",
            "Progress": str(STAGE_PROGRESS[stop]),
            "Duration (in seconds)": str(duration),
            "Finished": "1" if finished else "0",
            "RecordedDate": _stamp(recorded),
            "ResponseId": _response_id(rnd, used_ids),
            "DistributionChannel": "email",
            "UserLanguage": "EN-GB",
        }
    )
    return row


def _identity(
    member: str, site: str, region: str, seed: int, rng: np.random.Generator
) -> dict[str, str | None]:
    last, first, email = _recipient(seed, member)
    lat, lon = REGION_CENTRES[region]
    return {
        "RecipientLastName": last,
        "RecipientFirstName": first,
        "RecipientEmail": email,
        "ExternalReference": member,
        "LocationLatitude": f"{lat + rng.normal(0, 0.3):.4f}",
        "LocationLongitude": f"{lon + rng.normal(0, 0.4):.4f}",
        "SiteID": site,
    }


def _fill_answers(
    row: dict[str, str | None],
    wave: int,
    role: str,
    answers: dict[str, list[str]],
    i: int,
    stop: int,
    free: dict[str, FreeTextAnswer | None],
) -> None:
    asked = {q.key: q for q in questions_in(wave)}
    for stage in STAGES[: stop + 1]:
        for key in stage:
            if key not in asked:
                continue
            tag = asked[key].tag_for(wave)
            if key == "role":
                row[tag] = CODE_OF_ROLE[role]
            elif key in answers:
                row[tag] = answers[key][i]
            else:
                answer = free.get(key)
                row[tag] = answer.text if answer is not None else None


def _duplicate(
    base: dict[str, str | None],
    columns: list[str],
    wave: int,
    partial: bool,
    rng: np.random.Generator,
    rnd: random.Random,
    used_ids: set[str],
) -> dict[str, str | None]:
    """An earlier submission by the same member: a partial first attempt, or a complete one."""
    row = dict(base)
    base_start = datetime.strptime(str(base["StartDate"]), DATE_FORMAT)
    start = base_start - timedelta(days=float(rng.uniform(9, 20)) if partial else float(rng.uniform(1, 8)))
    row["ResponseId"] = _response_id(rnd, used_ids)
    row["IPAddress"] = f"{rnd.choice(IP_PREFIXES)}.{rnd.randint(1, 254)}"
    if partial:
        stop = int(rng.integers(1, 3))
        kept = {q.tag_for(wave) for stage in STAGES[: stop + 1] for q in questions_in(wave) if q.key in stage}
        for q in questions_in(wave):
            if q.tag_for(wave) not in kept:
                row[q.tag_for(wave)] = None
        duration = int(rng.integers(40, 300))
        end = start + timedelta(seconds=duration)
        row.update(
            {"Progress": str(STAGE_PROGRESS[stop]), "Finished": "0", "RecordedDate": _stamp(end + timedelta(days=7))}
        )
    else:
        duration = int(np.clip(rng.lognormal(np.log(700), 0.4), 180, 5400))
        end = start + timedelta(seconds=duration)
        row["RecordedDate"] = _stamp(end)
        influence = next(q for q in QUESTIONS if q.key == "influence_body").tag_for(wave)
        row[influence] = str(int(rng.integers(1, 7)))
    row.update({"StartDate": _stamp(start), "EndDate": _stamp(end), "Duration (in seconds)": str(duration)})
    return row


def _junk_rows(
    columns: list[str],
    spec: WaveSpec,
    sites: pl.DataFrame,
    rng: np.random.Generator,
    rnd: random.Random,
    used_ids: set[str],
) -> list[dict[str, str | None]]:
    """Survey previews (Status 1) before fieldwork opened, and spam (Status 8) during it."""
    codes = sites["ccg_code"].to_list()
    rows = []
    for k in range(PREVIEWS + SPAM):
        preview = k < PREVIEWS
        day = float(rng.uniform(-6, -1)) if preview else float(rng.uniform(0, spec.days))
        start = spec.start + timedelta(days=day, hours=float(rng.uniform(0, 10)))
        duration = int(rng.integers(20, 400))
        row = _empty_row(columns)
        row.update(
            {
                "StartDate": _stamp(start),
                "EndDate": _stamp(start + timedelta(seconds=duration)),
                "Status": "1" if preview else "8",
                "IPAddress": f"{rnd.choice(IP_PREFIXES)}.{rnd.randint(1, 254)}",
                "Progress": "100",
                "Duration (in seconds)": str(duration),
                "Finished": "1",
                "RecordedDate": _stamp(start + timedelta(seconds=duration)),
                "ResponseId": _response_id(rnd, used_ids),
                "DistributionChannel": "preview" if preview else "anonymous",
                "UserLanguage": "EN-GB",
                "SiteID": rnd.choice(codes) if (not preview or k % 2 == 0) else None,
            }
        )
        for q in questions_in(spec.index):
            tag = q.tag_for(spec.index)
            if q.labels:
                row[tag] = rnd.choice(sorted(q.labels))
            elif q.type == "numeric":
                row[tag] = str(rnd.randint(0, 15))
            elif q.key == "obstacles_text":
                row[tag] = "test - please ignore" if preview else "asdfgh qwerty"
        rows.append(row)
    return rows


def _human_sample(
    obstacles: dict[str, FreeTextAnswer | None], rnd: random.Random
) -> list[tuple[str, str]]:
    """A human coder's categories for ~60 obstacle answers; differs from the dictionary on a few.

    An answer the human coded as fitting no category gets one row with a blank category.
    """
    answered = {rid: a for rid, a in sorted(obstacles.items()) if a is not None}
    sample = sorted(rnd.sample(sorted(answered), min(HUMAN_SAMPLE, len(answered))))
    human: dict[str, set[str]] = {rid: set(answered[rid].categories) for rid in sample}
    natural = {rid for rid in sample if dictionary_codes("obstacles", answered[rid].text) != human[rid]}
    agreeing = [rid for rid in sample if rid not in natural and human[rid]]
    for k, rid in enumerate(rnd.sample(agreeing, max(0, HUMAN_DISAGREEMENTS - len(natural)))):
        extra = sorted(human[rid] - {"lack_of_time"})
        if k % 2 == 0 and extra:
            human[rid].discard(extra[0])  # the human coder missed a category
        else:
            candidates = sorted({"complexity", "fragmentation", "capability"} - human[rid])
            human[rid].add(candidates[0])  # ... or read one into the answer
    return [(rid, cat) for rid in sample for cat in (sorted(human[rid]) or [""])]
