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


def _set_row(
    name: str, members: list[int], ids: list[str], dist: npt.NDArray[np.float64], qmat: npt.NDArray[np.bool_],
    mins: npt.NDArray[np.int64], eligible: npt.NDArray[np.bool_], note: str,
) -> dict[str, object]:
    if not members:
        return {"set": name, "n_sites": 0, "sites": "", "mean_distance": None, "min_distance": None,
                "quota_share": None, "target_share": None, "note": note}
    mean, low, _, met = _score(np.array([members], dtype=np.int64), dist, qmat, mins)
    return {
        "set": name,
        "n_sites": len(members),
        "sites": LIST_SEPARATOR.join(sorted(ids[i] for i in members)),
        "mean_distance": None if np.isnan(mean[0]) else float(mean[0]),
        "min_distance": None if np.isnan(low[0]) else float(low[0]),
        "quota_share": float(met[0]),
        "target_share": float(eligible[members].mean()),
        "note": note,
    }


def _describe(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "missing" if value is None else str(value)


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
    notes: list[str] = []
    pool = sorted(candidates.get_column("site_id").unique().to_list())
    targets = dict(candidates.select("site_id", pl.col("target_areas").fill_null("")).iter_rows())
    any_targets = any(targets.values())
    if not any_targets:
        notes.append("no target area was coded in scoping: every scoping site counts as eligible")
    actual = actual if actual is not None else pl.DataFrame(schema={"case": pl.String, "site_ids": pl.String})
    actual_sites = (
        actual.select("case", pl.col("site_ids").str.split(";")).explode("site_ids")
        .with_columns(pl.col("site_ids").str.strip_chars()).filter(pl.col("site_ids") != "")
        .unique("site_ids", keep="first", maintain_order=True)
    )
    case_of = dict(actual_sites.select("site_ids", "case").iter_rows())
    known = set(features.get_column("site_id").to_list())
    for pin in config.pins:
        if pin not in known:
            notes.append(f"pin {pin!r} is not in the sites table: kept, without attributes")
    ids = sorted(set(pool) | set(case_of) | set(config.pins))
    table = pl.DataFrame({"site_id": ids}, schema={"site_id": pl.String}).join(
        features, on="site_id", how="left", maintain_order="left"
    )
    for name in distance_features:
        if name not in table.columns:
            notes.append(f"selection attribute {name!r} has no values; left out of the distances")
    used = [name for name in distance_features if name in table.columns]
    dist = distance_matrix(table, used, pool)
    qmat, qnotes = quota_matrix(table, config.quotas)
    notes += qnotes
    mins = np.array([q.min for q in config.quotas], dtype=np.int64)
    index = {s: i for i, s in enumerate(ids)}
    in_pool = np.array([s in set(pool) for s in ids])
    eligible = np.array([s in set(pool) and (bool(targets.get(s)) or not any_targets) for s in ids])
    candidates_ix = [index[s] for s in pool if eligible[index[s]]]

    def choose(fixed: list[int]) -> tuple[list[int], str]:
        rest = [c for c in candidates_ix if c not in fixed]
        chosen, how = _best(fixed, rest, config.n - len(fixed), dist, qmat, mins)
        if len(chosen) < config.n:
            notes.append(f"only {len(chosen)} of {config.n} cases could be chosen: too few eligible scoping sites")
        return chosen, how

    pins = [index[p] for p in dict.fromkeys(config.pins)]
    if len(pins) > config.n:
        notes.append(f"{len(pins)} pins exceed case_selection.n = {config.n}: all pins kept")
    optimal, how = choose([])
    chosen, how_pinned = (choose(pins) if pins else (optimal, how))
    rows = [_set_row("selected", chosen, ids, dist, qmat, mins, eligible,
                     ("pinned sites completed by " + how_pinned) if pins else how)]
    if pins:
        rows.append(_set_row("optimal_unpinned", optimal, ids, dist, qmat, mins, eligible, how))
    if case_of:
        chosen_set = set(chosen)
        members = []
        for case, group in actual_sites.group_by("case", maintain_order=True):
            sites = group.get_column("site_ids").to_list()
            pick = next((s for s in sites if index[s] in chosen_set), next((s for s in sites if s in pool), sites[0]))
            members.append(index[pick])
            del case
        rows.append(_set_row("actual", members, ids, dist, qmat, mins, eligible,
                             "one site per actual case (a chosen site if the case has one, else its first scoping site)"))
    pool_ix = np.array([index[s] for s in pool], dtype=np.int64)
    if len(pool) >= config.n and draws > 0 and len(pool) >= 1:
        rng = np.random.default_rng(config.seed)
        sets = pool_ix[np.argsort(rng.random((draws, len(pool))), axis=1)[:, : config.n]]
        mean, low, _, met = _score(sets, dist, qmat, mins)
        chosen_mean = rows[0]["mean_distance"]
        reference = float(chosen_mean) if isinstance(chosen_mean, float) else 0.0
        share_below = float(np.mean(np.nan_to_num(mean) < reference))
        rows.append({
            "set": "random",
            "n_sites": config.n,
            "sites": f"{draws} seeded random draws (seed {config.seed})",
            "mean_distance": None if np.isnan(mean).all() else float(np.nanmean(mean)),
            "min_distance": None if np.isnan(low).all() else float(np.nanmean(low)),
            "quota_share": float(met.mean()),
            "target_share": float(eligible[sets].mean()),
            "note": f"the selected set is more diverse than {share_below:.1%} of the random draws",
        })
    sets_frame = pl.DataFrame(rows, schema={
        "set": pl.String, "n_sites": pl.Int64, "sites": pl.String, "mean_distance": pl.Float64,
        "min_distance": pl.Float64, "quota_share": pl.Float64, "target_share": pl.Float64, "note": pl.String,
    })
    selection = _selection_table(ids, table, used, dist, qmat, config, chosen, pins, in_pool, eligible,
                                 targets, case_of, any_targets)
    summary: dict[str, float | int | str] = {
        "n_selected": len(chosen),
        "selected_sites": LIST_SEPARATOR.join(sorted(ids[i] for i in chosen)),
        "selection_search": how_pinned if pins else how,
    }
    for row in rows:
        if row["mean_distance"] is not None:
            summary[f"diversity_{row['set']}"] = round(float(row["mean_distance"]), 4)  # type: ignore[arg-type]
    return SelectionOutcome(selection=selection, sets=sets_frame, notes=notes, summary=summary)


def _selection_table(
    ids: list[str], table: pl.DataFrame, used: list[str], dist: npt.NDArray[np.float64],
    qmat: npt.NDArray[np.bool_], config: CaseSelectionConfig, chosen: list[int], pins: list[int],
    in_pool: npt.NDArray[np.bool_], eligible: npt.NDArray[np.bool_], targets: Mapping[str, str],
    case_of: Mapping[str, str], any_targets: bool,
) -> pl.DataFrame:
    """One row per site considered, with why it was (not) chosen."""
    shown = list(dict.fromkeys([*used, *(a for q in config.quotas for a in q.where if a in table.columns)]))
    records = table.to_dicts()
    chosen_order = {i: r + 1 for r, i in enumerate(sorted(chosen, key=lambda i: ids[i]))}
    rows = []
    for i, site in enumerate(ids):
        rec = records[i]
        quotas = [q.name for q, hit in zip(config.quotas, qmat[:, i], strict=True) if hit]
        others = [j for j in chosen if j != i]
        nearest = min(others, key=lambda j: (dist[i, j], ids[j])) if others else None
        near_text = f"nearest chosen case {ids[nearest]} at distance {dist[i, nearest]:.2f}" if nearest is not None else ""
        if i in chosen_order:
            parts = ["pinned in study.yaml"] if i in pins else []
            if targets.get(site):
                parts.append(f"works on target area(s) {targets[site]}")
            if quotas:
                parts.append("counts toward quota(s) " + ", ".join(quotas))
            for name in used:
                value = rec.get(name)
                values = [records[j].get(name) for j in chosen]
                if value is None:
                    continue
                if isinstance(value, float):
                    if len(chosen) > 1 and value == max(v for v in values if v is not None):
                        parts.append(f"highest {name} ({value:.3g})")
                    elif len(chosen) > 1 and value == min(v for v in values if v is not None):
                        parts.append(f"lowest {name} ({value:.3g})")
                elif sum(1 for v in values if str(v).lower() == str(value).lower()) == 1:
                    parts.append(f"only chosen case with {name}={value}")
            if near_text:
                parts.append(near_text)
            reason = "chosen: " + "; ".join(parts)
        elif not in_pool[i]:
            reason = "not a scoping site: outside the candidate pool"
        elif not eligible[i]:
            reason = "not eligible: none of the target areas was coded at this site in scoping"
        else:
            reason = "eligible, not chosen: a more diverse set meeting the quotas exists without it" + (
                f"; {near_text}" if near_text else ""
            )
        rows.append({
            "site_id": site,
            "in_pool": bool(in_pool[i]),
            "eligible": bool(eligible[i]),
            "selected": i in chosen_order,
            "pinned": i in pins,
            "order": chosen_order.get(i),
            "actual_case": case_of.get(site),
            "target_areas": targets.get(site, "") if any_targets else "",
            "quotas": LIST_SEPARATOR.join(quotas),
            "profile": LIST_SEPARATOR.join(f"{n}={_describe(rec.get(n))}" for n in shown),
            "nearest_distance": float(dist[i, nearest]) if nearest is not None else None,
            "reason": reason,
        })
    return pl.DataFrame(rows, schema={
        "site_id": pl.String, "in_pool": pl.Boolean, "eligible": pl.Boolean, "selected": pl.Boolean,
        "pinned": pl.Boolean, "order": pl.Int64, "actual_case": pl.String, "target_areas": pl.String,
        "quotas": pl.String, "profile": pl.String, "nearest_distance": pl.Float64, "reason": pl.String,
    })
