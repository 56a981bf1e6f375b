"""Purposive maximum-variation choice of case sites from the scoping sites.

Distance between two sites: Gower distance over the configured attributes and wave-1
indicators (categorical: 0 same / 1 different; numeric: |x - y| / range over the pool, capped
at 1; a feature missing for either site is left out of that pair's mean). Diversity of a set:
the mean pairwise distance, then the smallest pairwise distance. Hard constraints: every chosen
site works on a target area (coded at the site in scoping); quotas (`where` matches site
attributes, case-insensitively) are met. The search is exact when the number of combinations is
at most MAX_COMBINATIONS (sets compared by quota fulfilment, mean distance, min distance, then
the lexicographically first site ids); otherwise greedy with the same order of preference.
Random draws (seeded) of the same size from the whole pool give the baseline diversity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from schemas.study_config import CaseSelectionConfig, Quota

MAX_COMBINATIONS = 250_000
RANDOM_DRAWS = 1000
LIST_SEPARATOR = "; "
_DECIMALS = 12


@dataclass(frozen=True, eq=False)
class SelectionOutcome:
    """The selection table, the set comparison table, notes and key figures."""

    selection: pl.DataFrame
    sets: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    summary: dict[str, float | int | str] = field(default_factory=dict)


def _numeric(values: pl.Series) -> pl.Series | None:
    """The values as numbers when every non-empty one parses (thousands commas allowed), else None."""
    frame = pl.DataFrame({"v": values.cast(pl.String).str.strip_chars().str.replace_all(",", "")})
    cleaned = frame.select(pl.when(pl.col("v") != "").then(pl.col("v"))).to_series()
    parsed = cleaned.cast(pl.Float64, strict=False)
    if cleaned.drop_nulls().len() and parsed.null_count() == cleaned.null_count():
        return parsed
    return None


def site_features(sites: pl.DataFrame, id_column: str, columns: Mapping[str, str]) -> pl.DataFrame:
    """site_id plus one column per feature name (numeric where every value parses as a number)."""
    out = [sites.get_column(id_column).cast(pl.String).str.strip_chars().alias("site_id")]
    for name, column in columns.items():
        values = sites.get_column(column).cast(pl.String).str.strip_chars()
        numbers = _numeric(values)
        out.append((values if numbers is None else numbers).alias(name))
    return pl.DataFrame(out).unique("site_id", keep="first", maintain_order=True)


def survey_indicators(
    respondents: pl.DataFrame, answers: pl.DataFrame, key_codes: Mapping[str, Sequence[str]]
) -> pl.DataFrame:
    """Per site, the share of respondents answering each variable who gave one of its key codes.

    respondents: respondent_id (or response_id), site_id; answers (long): the same id, variable,
    code and optionally `missing` (missing answers are left out of the denominator).
    """
    rid = "respondent_id" if "respondent_id" in respondents.columns else "response_id"
    aid = "respondent_id" if "respondent_id" in answers.columns else "response_id"
    sites = respondents.select(pl.col(rid).cast(pl.String).alias("rid"), pl.col("site_id").cast(pl.String))
    usable = answers.filter(pl.col("code").is_not_null())
    if "missing" in answers.columns:
        usable = usable.filter(~pl.col("missing").fill_null(False))
    frame = sites.select("site_id").drop_nulls().unique()
    for variable, codes in key_codes.items():
        given = (
            usable.filter(pl.col("variable") == variable)
            .select(pl.col(aid).cast(pl.String).alias("rid"), pl.col("code").cast(pl.String).is_in(list(codes)).alias("key"))
            .group_by("rid").agg(pl.col("key").any())
            .join(sites, on="rid", how="inner")
            .group_by("site_id").agg(pl.col("key").mean().alias(variable))
        )
        frame = frame.join(given, on="site_id", how="left")
    return frame.sort("site_id")


def distance_matrix(features: pl.DataFrame, names: Sequence[str], pool: Sequence[str]) -> npt.NDArray[np.float64]:
    """Gower distances between the rows of `features` over the named features."""
    k = features.height
    total = np.zeros((k, k))
    weight = np.zeros((k, k))
    in_pool = features.get_column("site_id").is_in(list(pool)).to_numpy()
    for name in names:
        column = features.get_column(name)
        valid = column.is_not_null().to_numpy()
        both = valid[:, None] & valid[None, :]
        if column.dtype.is_numeric():
            x = column.cast(pl.Float64).fill_null(0.0).to_numpy()
            ref = x[valid & in_pool] if (valid & in_pool).any() else x[valid]
            spread = float(ref.max() - ref.min()) if ref.size else 0.0
            d = np.minimum(np.abs(x[:, None] - x[None, :]) / spread, 1.0) if spread > 0 else np.zeros((k, k))
        else:
            v = column.fill_null("").str.to_lowercase().to_numpy()
            d = (v[:, None] != v[None, :]).astype(float)
        total += np.where(both, d, 0.0)
        weight += both
    return np.divide(total, weight, out=np.zeros((k, k)), where=weight > 0)


def _matches(value: object, wanted: str) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        try:
            return math.isclose(value, float(wanted))
        except ValueError:
            return False
    return str(value).strip().lower() == wanted.strip().lower()


def quota_matrix(features: pl.DataFrame, quotas: Sequence[Quota]) -> tuple[npt.NDArray[np.bool_], list[str]]:
    """Which site (column) matches which quota (row), and notes on unknown attributes."""
    notes: list[str] = []
    out = np.zeros((len(quotas), features.height), dtype=bool)
    for q, quota in enumerate(quotas):
        hit = np.ones(features.height, dtype=bool)
        for attr, wanted in quota.where.items():
            if attr not in features.columns:
                notes.append(f"quota {quota.name!r}: attribute {attr!r} is not a site attribute; no site matches")
                hit[:] = False
                continue
            hit &= np.array([_matches(v, str(wanted)) for v in features.get_column(attr).to_list()], dtype=bool)
        out[q] = hit
    return out, notes


def _score(
    sets: npt.NDArray[np.int64], dist: npt.NDArray[np.float64], qmat: npt.NDArray[np.bool_], mins: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    n = sets.shape[1]
    if n >= 2:
        a, b = np.triu_indices(n, k=1)
        pair = dist[sets[:, a], sets[:, b]]
        mean, low = pair.mean(axis=1), pair.min(axis=1)
    else:
        mean = low = np.full(sets.shape[0], np.nan)
    if qmat.shape[0]:
        counts = qmat[:, sets].sum(axis=2)
        fulfil = np.minimum(counts, mins[:, None]).sum(axis=0)
        met = (counts >= mins[:, None]).all(axis=0)
    else:
        fulfil = np.zeros(sets.shape[0], dtype=np.int64)
        met = np.ones(sets.shape[0], dtype=bool)
    return mean, low, fulfil, met


def _best(
    fixed: list[int], candidates: list[int], k: int, dist: npt.NDArray[np.float64],
    qmat: npt.NDArray[np.bool_], mins: npt.NDArray[np.int64],
) -> tuple[list[int], str]:
    k = max(0, min(k, len(candidates)))
    count = math.comb(len(candidates), k)
    if count <= MAX_COMBINATIONS:
        combos = np.array(list(combinations(candidates, k)), dtype=np.int64).reshape(count, k)
        sets = np.hstack([np.tile(np.array(fixed, dtype=np.int64), (count, 1)), combos])
        mean, low, fulfil, _ = _score(sets, dist, qmat, mins)
        order = np.lexsort((np.arange(count), -np.round(np.nan_to_num(low), _DECIMALS),
                            -np.round(np.nan_to_num(mean), _DECIMALS), -fulfil))
        return [int(i) for i in sets[order[0]]], f"exact search over {count} combinations"
    chosen = list(fixed)
    left = list(candidates)
    for _ in range(k):
        trial = np.array([chosen + [c] for c in left], dtype=np.int64)
        mean, low, fulfil, _ = _score(trial, dist, qmat, mins)
        if len(chosen) == 0:
            mean = low = dist[np.array(left)][:, np.array(left)].mean(axis=1)
        order = np.lexsort((np.arange(len(left)), -np.round(np.nan_to_num(mean), _DECIMALS),
                            -np.round(np.nan_to_num(low), _DECIMALS), -fulfil))
        chosen.append(left.pop(int(order[0])))
    return chosen, f"greedy search ({count} combinations exceed {MAX_COMBINATIONS})"


# The selected set's note names the search; with pins it says the search completed them.
PINNED_NOTE = "pinned sites completed by "
ACTUAL_NOTE = "one site per actual case (a chosen site if the case has one, else its first scoping site)"
NO_TARGETS_NOTE = "no target area was coded in scoping: every scoping site counts as eligible"
SETS_SCHEMA: dict[str, pl.DataType] = {
    "set": pl.String(), "n_sites": pl.Int64(), "sites": pl.String(), "mean_distance": pl.Float64(),
    "min_distance": pl.Float64(), "quota_share": pl.Float64(), "target_share": pl.Float64(),
    "note": pl.String(),
}
SELECTION_SCHEMA: dict[str, pl.DataType] = {
    "site_id": pl.String(), "in_pool": pl.Boolean(), "eligible": pl.Boolean(), "selected": pl.Boolean(),
    "pinned": pl.Boolean(), "order": pl.Int64(), "actual_case": pl.String(), "target_areas": pl.String(),
    "quotas": pl.String(), "profile": pl.String(), "nearest_distance": pl.Float64(), "reason": pl.String(),
}
_ACTUAL_SCHEMA = {"case": pl.String, "site_ids": pl.String}


@dataclass(frozen=True, eq=False)
class _Sites:
    """Every site considered (the pool, the actual cases' sites and the pins; sorted by id)."""

    ids: list[str]
    # ids joined with their features (None where a site has none).
    table: pl.DataFrame
    # The distance features that have values.
    used: list[str]
    pool: list[str]
    targets: Mapping[str, str]
    any_targets: bool
    # Site → the actual case studying it.
    case_of: Mapping[str, str]
    dist: npt.NDArray[np.float64]
    qmat: npt.NDArray[np.bool_]
    mins: npt.NDArray[np.int64]
    in_pool: npt.NDArray[np.bool_]
    eligible: npt.NDArray[np.bool_]

    @property
    def index(self) -> dict[str, int]:
        """Site id → row of the matrices."""
        return {s: i for i, s in enumerate(self.ids)}

    @property
    def candidates(self) -> list[int]:
        """The eligible pool sites' rows, in site order."""
        index = self.index
        return [index[s] for s in self.pool if self.eligible[index[s]]]


@dataclass(frozen=True)
class _Search:
    """The chosen set (pins first), the best set without pins, and how each was found."""

    chosen: list[int]
    optimal: list[int]
    pins: list[int]
    how: str
    how_pinned: str


def target_areas(candidates: pl.DataFrame) -> dict[str, str]:
    """Each scoping site's target areas coded in scoping ("" where none was)."""
    return dict(candidates.select("site_id", pl.col("target_areas").fill_null("")).iter_rows())


def actual_case_sites(actual: pl.DataFrame | None) -> pl.DataFrame:
    """(case, site_ids) with one row per site of an actual case; a site shared keeps its first case."""
    frame = actual if actual is not None else pl.DataFrame(schema=_ACTUAL_SCHEMA)
    return (
        frame.select("case", pl.col("site_ids").str.split(";")).explode("site_ids")
        .with_columns(pl.col("site_ids").str.strip_chars()).filter(pl.col("site_ids") != "")
        .unique("site_ids", keep="first", maintain_order=True)
    )


def _pin_notes(pins: Sequence[str], features: pl.DataFrame) -> list[str]:
    known = set(features.get_column("site_id").to_list())
    return [f"pin {pin!r} is not in the sites table: kept, without attributes" for pin in pins if pin not in known]


def _usable(distance_features: Sequence[str], table: pl.DataFrame) -> tuple[list[str], list[str]]:
    """The distance features with values, and a note for each without."""
    notes = [f"selection attribute {name!r} has no values; left out of the distances"
             for name in distance_features if name not in table.columns]
    return [name for name in distance_features if name in table.columns], notes


def _sites(
    candidates: pl.DataFrame, features: pl.DataFrame, distance_features: Sequence[str],
    config: CaseSelectionConfig, case_of: Mapping[str, str],
) -> tuple[_Sites, list[str]]:
    """The sites considered with their distances, quota matches and eligibility, and notes."""
    pool = sorted(candidates.get_column("site_id").unique().to_list())
    targets = target_areas(candidates)
    any_targets = any(targets.values())
    notes = [] if any_targets else [NO_TARGETS_NOTE]
    notes += _pin_notes(config.pins, features)
    ids = sorted(set(pool) | set(case_of) | set(config.pins))
    table = pl.DataFrame({"site_id": ids}, schema={"site_id": pl.String}).join(
        features, on="site_id", how="left", maintain_order="left"
    )
    used, unused = _usable(distance_features, table)
    qmat, quota_notes = quota_matrix(table, config.quotas)
    in_pool = np.array([s in set(pool) for s in ids])
    # Only sites where scoping coded a target area are eligible, unless none was coded anywhere.
    eligible = np.array([s in set(pool) and (bool(targets.get(s)) or not any_targets) for s in ids])
    sites = _Sites(
        ids=ids, table=table, used=used, pool=pool, targets=targets, any_targets=any_targets, case_of=case_of,
        dist=distance_matrix(table, used, pool), qmat=qmat,
        mins=np.array([q.min for q in config.quotas], dtype=np.int64), in_pool=in_pool, eligible=eligible,
    )
    return sites, [*notes, *unused, *quota_notes]


def _choose(sites: _Sites, fixed: list[int], n: int) -> tuple[list[int], str, list[str]]:
    """The best set of n sites containing `fixed`, how it was found, and a note when too few qualify."""
    rest = [c for c in sites.candidates if c not in fixed]
    chosen, how = _best(fixed, rest, n - len(fixed), sites.dist, sites.qmat, sites.mins)
    short = [f"only {len(chosen)} of {n} cases could be chosen: too few eligible scoping sites"] if len(chosen) < n else []
    return chosen, how, short


def _search(sites: _Sites, config: CaseSelectionConfig) -> tuple[_Search, list[str]]:
    """The best set without pins and, when there are pins, the best set completing them."""
    index = sites.index
    pins = [index[p] for p in dict.fromkeys(config.pins)]
    notes = [f"{len(pins)} pins exceed case_selection.n = {config.n}: all pins kept"] if len(pins) > config.n else []
    optimal, how, short = _choose(sites, [], config.n)
    notes += short
    chosen, how_pinned = optimal, how
    if pins:
        chosen, how_pinned, short = _choose(sites, pins, config.n)
        notes += short
    return _Search(chosen=chosen, optimal=optimal, pins=pins, how=how, how_pinned=how_pinned), notes


def _set_row(name: str, members: list[int], sites: _Sites, note: str) -> dict[str, object]:
    """A set's size, sites, diversity, quota and target shares."""
    if not members:
        return {"set": name, "n_sites": 0, "sites": "", "mean_distance": None, "min_distance": None,
                "quota_share": None, "target_share": None, "note": note}
    mean, low, _, met = _score(np.array([members], dtype=np.int64), sites.dist, sites.qmat, sites.mins)
    return {
        "set": name,
        "n_sites": len(members),
        "sites": LIST_SEPARATOR.join(sorted(sites.ids[i] for i in members)),
        "mean_distance": None if np.isnan(mean[0]) else float(mean[0]),
        "min_distance": None if np.isnan(low[0]) else float(low[0]),
        "quota_share": float(met[0]),
        "target_share": float(sites.eligible[members].mean()),
        "note": note,
    }


def _actual_members(actual_sites: pl.DataFrame, sites: _Sites, chosen: list[int]) -> list[int]:
    """One site per actual case: a chosen one if the case has one, else its first scoping site."""
    index, chosen_set = sites.index, set(chosen)
    members = []
    for _case, group in actual_sites.group_by("case", maintain_order=True):
        ids = group.get_column("site_ids").to_list()
        pick = next((s for s in ids if index[s] in chosen_set), next((s for s in ids if s in sites.pool), ids[0]))
        members.append(index[pick])
    return members


def _random_row(sites: _Sites, config: CaseSelectionConfig, draws: int, reference: object) -> dict[str, object] | None:
    """Seeded random draws of n pool sites: their mean diversity and the selected set's standing."""
    pool = sites.pool
    if not (len(pool) >= config.n and draws > 0 and len(pool) >= 1):
        return None
    index = sites.index
    pool_ix = np.array([index[s] for s in pool], dtype=np.int64)
    rng = np.random.default_rng(config.seed)
    sets = pool_ix[np.argsort(rng.random((draws, len(pool))), axis=1)[:, : config.n]]
    mean, low, _, met = _score(sets, sites.dist, sites.qmat, sites.mins)
    # The selected set's mean distance (0 when it has fewer than two sites).
    chosen_mean = float(reference) if isinstance(reference, float) else 0.0
    share_below = float(np.mean(np.nan_to_num(mean) < chosen_mean))
    return {
        "set": "random",
        "n_sites": config.n,
        "sites": f"{draws} seeded random draws (seed {config.seed})",
        "mean_distance": None if np.isnan(mean).all() else float(np.nanmean(mean)),
        "min_distance": None if np.isnan(low).all() else float(np.nanmean(low)),
        "quota_share": float(met.mean()),
        "target_share": float(sites.eligible[sets].mean()),
        "note": f"the selected set is more diverse than {share_below:.1%} of the random draws",
    }


def _sets_table(
    sites: _Sites, search: _Search, actual_sites: pl.DataFrame, config: CaseSelectionConfig, draws: int
) -> pl.DataFrame:
    """The selected set against the best unpinned set, the actual cases and random draws."""
    pinned = bool(search.pins)
    rows = [_set_row("selected", search.chosen, sites, PINNED_NOTE + search.how_pinned if pinned else search.how)]
    if pinned:
        rows.append(_set_row("optimal_unpinned", search.optimal, sites, search.how))
    if sites.case_of:
        rows.append(_set_row("actual", _actual_members(actual_sites, sites, search.chosen), sites, ACTUAL_NOTE))
    random = _random_row(sites, config, draws, rows[0]["mean_distance"])
    if random is not None:
        rows.append(random)
    return pl.DataFrame(rows, schema=SETS_SCHEMA)


def outcome_summary(selection: pl.DataFrame, sets: pl.DataFrame) -> dict[str, float | int | str]:
    """Key figures of a selection from its two tables: the chosen sites, the search, diversities."""
    chosen = sorted(selection.filter(pl.col("selected")).get_column("site_id").to_list())
    note = str(sets.filter(pl.col("set") == "selected").item(0, "note"))
    summary: dict[str, float | int | str] = {
        "n_selected": len(chosen),
        "selected_sites": LIST_SEPARATOR.join(chosen),
        "selection_search": note.removeprefix(PINNED_NOTE),
    }
    for name, mean in sets.select("set", "mean_distance").iter_rows():
        if mean is not None:
            summary[f"diversity_{name}"] = round(float(mean), 4)
    return summary


def select_cases(
    candidates: pl.DataFrame,
    features: pl.DataFrame,
    distance_features: Sequence[str],
    config: CaseSelectionConfig,
    actual: pl.DataFrame | None = None,
    draws: int = RANDOM_DRAWS,
) -> SelectionOutcome:
    """Choose config.n case sites from `candidates` (site_id, target_areas) and explain the choice.

    `features` holds site_id and every attribute named in distance_features or in a quota;
    `actual` (case, site_ids) lists the cases actually studied, for comparison.
    """
    actual_sites = actual_case_sites(actual)
    case_of = dict(actual_sites.select("site_ids", "case").iter_rows())
    sites, notes = _sites(candidates, features, distance_features, config, case_of)
    search, search_notes = _search(sites, config)
    sets = _sets_table(sites, search, actual_sites, config, draws)
    selection = _selection_table(sites, search, config.quotas)
    return SelectionOutcome(selection=selection, sets=sets, notes=[*notes, *search_notes],
                            summary=outcome_summary(selection, sets))


def _nearest(i: int, chosen: Sequence[int], sites: _Sites) -> int | None:
    """The chosen site nearest to site i (ties: first by id), other than i itself."""
    others = [j for j in chosen if j != i]
    return min(others, key=lambda j: (sites.dist[i, j], sites.ids[j])) if others else None


def _contrast(name: str, value: Any, values: list[Any]) -> str | None:
    """How one feature sets a chosen site apart among the chosen (`values`), if it does."""
    if isinstance(value, float):
        known = [v for v in values if v is not None]
        if len(values) > 1 and value == max(known):
            return f"highest {name} ({value:.3g})"
        if len(values) > 1 and value == min(known):
            return f"lowest {name} ({value:.3g})"
        return None
    if sum(1 for v in values if str(v).lower() == str(value).lower()) == 1:
        return f"only chosen case with {name}={value}"
    return None


def _contrasts(i: int, chosen: Sequence[int], sites: _Sites, records: list[dict[str, Any]]) -> list[str]:
    """What sets a chosen site apart among the chosen: extreme numbers, a unique category."""
    found = (
        _contrast(name, records[i].get(name), [records[j].get(name) for j in chosen])
        for name in sites.used if records[i].get(name) is not None
    )
    return [text for text in found if text is not None]


def _chosen_reason(
    i: int, sites: _Sites, search: _Search, quotas: list[str], records: list[dict[str, Any]], near: str
) -> str:
    """Why a chosen site was chosen: pinned, its target areas and quotas, what sets it apart."""
    site = sites.ids[i]
    parts = ["pinned in study.yaml"] if i in search.pins else []
    if sites.targets.get(site):
        parts.append(f"works on target area(s) {sites.targets[site]}")
    if quotas:
        parts.append("counts toward quota(s) " + ", ".join(quotas))
    parts += _contrasts(i, search.chosen, sites, records)
    if near:
        parts.append(near)
    return "chosen: " + "; ".join(parts)


def _reason(
    i: int, sites: _Sites, search: _Search, quotas: list[str], records: list[dict[str, Any]], near: str
) -> str:
    """Why a site was (not) chosen."""
    if i in search.chosen:
        return _chosen_reason(i, sites, search, quotas, records, near)
    if not sites.in_pool[i]:
        return "not a scoping site: outside the candidate pool"
    if not sites.eligible[i]:
        return "not eligible: none of the target areas was coded at this site in scoping"
    return "eligible, not chosen: a more diverse set meeting the quotas exists without it" + (
        f"; {near}" if near else ""
    )


def _selection_table(sites: _Sites, search: _Search, quotas: Sequence[Quota]) -> pl.DataFrame:
    """One row per site considered, with why it was (not) chosen."""
    shown = list(dict.fromkeys([*sites.used, *(a for q in quotas for a in q.where if a in sites.table.columns)]))
    records = sites.table.to_dicts()
    chosen_order = {i: r + 1 for r, i in enumerate(sorted(search.chosen, key=lambda i: sites.ids[i]))}
    rows = []
    for i, site in enumerate(sites.ids):
        met = [q.name for q, hit in zip(quotas, sites.qmat[:, i], strict=True) if hit]
        nearest = _nearest(i, search.chosen, sites)
        near = f"nearest chosen case {sites.ids[nearest]} at distance {sites.dist[i, nearest]:.2f}" if nearest is not None else ""
        rows.append({
            "site_id": site,
            "in_pool": bool(sites.in_pool[i]),
            "eligible": bool(sites.eligible[i]),
            "selected": i in chosen_order,
            "pinned": i in search.pins,
            "order": chosen_order.get(i),
            "actual_case": sites.case_of.get(site),
            "target_areas": sites.targets.get(site, "") if sites.any_targets else "",
            "quotas": LIST_SEPARATOR.join(met),
            "profile": LIST_SEPARATOR.join(f"{n}={_describe(records[i].get(n))}" for n in shown),
            "nearest_distance": float(sites.dist[i, nearest]) if nearest is not None else None,
            "reason": _reason(i, sites, search, met, records, near),
        })
    return pl.DataFrame(rows, schema=SELECTION_SCHEMA)


def _describe(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "missing" if value is None else str(value)
