"""Case selection: exact search against an independent brute force, quotas, pins, random baseline."""

from __future__ import annotations

import itertools
import random

import polars as pl
import pytest

from schemas.qualitative import CaseSelection, SelectionSets
from schemas.study_config import CaseSelectionConfig, Quota
from tasks.qualitative import selection
from tasks.qualitative.selection import select_cases, site_features, survey_indicators


def _pool(seed: int, n_sites: int = 12) -> tuple[pl.DataFrame, pl.DataFrame]:
    rnd = random.Random(seed)
    ids = [f"X{i:02d}" for i in range(n_sites)]
    sites = pl.DataFrame({
        "id": ids,
        "setting": [rnd.choice(["inner_city", "conurbation", "mixed", "rural"]) for _ in ids],
        "region": [rnd.choice(["N", "S", "E", "W"]) for _ in ids],
        "population": [str(rnd.randint(150, 900) * 1000) for _ in ids],
    })
    candidates = pl.DataFrame({
        "site_id": ids,
        "target_areas": [rnd.choice(["", "Urgent care", "Mental health; Urgent care"]) for _ in ids],
    })
    return sites, candidates


def _brute(sites: pl.DataFrame, candidates: pl.DataFrame, n: int, quotas: list[Quota],
           attrs: list[str]) -> tuple[list[str], float]:
    """Independent reference: Gower distances in plain Python, every combination scored."""
    rows = {r["id"]: r for r in sites.iter_rows(named=True)}
    pops = [float(r["population"]) for r in rows.values()]
    spread = max(pops) - min(pops)

    def dist(a: str, b: str) -> float:
        parts = []
        for attr in attrs:
            if attr == "population":
                parts.append(min(abs(float(rows[a][attr]) - float(rows[b][attr])) / spread, 1.0))
            else:
                parts.append(float(rows[a][attr] != rows[b][attr]))
        return sum(parts) / len(parts)

    eligible = [r["site_id"] for r in candidates.iter_rows(named=True) if r["target_areas"]]
    best: tuple[tuple[float, ...], list[str]] | None = None
    for combo in itertools.combinations(sorted(eligible), n):
        d = [dist(a, b) for a, b in itertools.combinations(combo, 2)]
        fulfil = sum(min(sum(all(rows[s][k] == v for k, v in q.where.items()) for s in combo), q.min) for q in quotas)
        key = (fulfil, round(sum(d) / len(d), 12), round(min(d), 12))
        if best is None or key > best[0]:
            best = (key, list(combo))
    assert best is not None
    return best[1], best[0][1]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_exact_search_matches_brute_force(seed: int) -> None:
    sites, candidates = _pool(seed)
    quotas = [Quota(name="ic", where={"setting": "inner_city"}, min=1), Quota(name="mixed", where={"setting": "mixed"})]
    attrs = ["setting", "region", "population"]
    cfg = CaseSelectionConfig(n=4, attributes=attrs, quotas=quotas, seed=seed)
    features = site_features(sites, "id", {a: a for a in attrs})
    assert features.schema["population"] == pl.Float64 and features.schema["setting"] == pl.String
    out = select_cases(candidates, features, attrs, cfg)
    chosen = sorted(out.selection.filter(pl.col("selected")).get_column("site_id").to_list())
    expected, mean = _brute(sites, candidates, 4, quotas, attrs)
    assert chosen == expected
    row = out.sets.filter(pl.col("set") == "selected").row(0, named=True)
    assert row["mean_distance"] == pytest.approx(mean)
    CaseSelection.validate(out.selection)
    SelectionSets.validate(out.sets)
    # Every chosen site works on a target area; every row explains itself.
    assert out.selection.filter(pl.col("selected") & ~pl.col("eligible")).height == 0
    assert all(r.startswith("chosen: ") for r in out.selection.filter(pl.col("selected")).get_column("reason"))


def test_quotas_pins_random_baseline_and_actual_cases() -> None:
    sites, candidates = _pool(9)
    candidates = candidates.with_columns(pl.lit("Urgent care").alias("target_areas"))
    attrs = ["setting", "region", "population"]
    features = site_features(sites, "id", {a: a for a in attrs})
    settings = dict(sites.select("id", "setting").iter_rows())
    want = {"inner_city": 2, "rural": 1}
    quotas = [Quota(name=k, where={"setting": k}, min=v) for k, v in want.items() if list(settings.values()).count(k) >= v]
    cfg = CaseSelectionConfig(n=4, attributes=attrs, quotas=quotas, seed=5)
    actual = pl.DataFrame({"case": ["A", "B"], "site_ids": ["X00", "X01;X02"]})
    out = select_cases(candidates, features, attrs, cfg, actual=actual)
    chosen = out.selection.filter(pl.col("selected")).get_column("site_id").to_list()
    for q in quotas:
        assert sum(settings[s] == q.where["setting"] for s in chosen) >= q.min
    sets = {r["set"]: r for r in out.sets.iter_rows(named=True)}
    assert set(sets) == {"selected", "actual", "random"}
    assert sets["selected"]["mean_distance"] >= sets["random"]["mean_distance"]
    assert sets["actual"]["n_sites"] == 2
    assert out.selection.filter(pl.col("site_id") == "X02").item(0, "actual_case") == "B"
    # Same inputs, same choice and same random baseline.
    again = select_cases(candidates, features, attrs, cfg, actual=actual)
    assert again.selection.equals(out.selection) and again.sets.equals(out.sets)

    pinned_cfg = CaseSelectionConfig(n=4, attributes=attrs, quotas=quotas, pins=["X11"], seed=5)
    pinned = select_cases(candidates, features, attrs, pinned_cfg)
    rows = pinned.selection.filter(pl.col("selected"))
    assert "X11" in rows.get_column("site_id").to_list() and rows.height == 4
    assert rows.filter(pl.col("site_id") == "X11").item(0, "reason").startswith("chosen: pinned")
    names = pinned.sets.get_column("set").to_list()
    assert "optimal_unpinned" in names
    best = pinned.sets.filter(pl.col("set") == "optimal_unpinned").item(0, "mean_distance")
    assert pinned.sets.filter(pl.col("set") == "selected").item(0, "mean_distance") <= best + 1e-12


def test_greedy_fallback_when_combinations_explode(monkeypatch: pytest.MonkeyPatch) -> None:
    sites, candidates = _pool(4, n_sites=16)
    attrs = ["setting", "region", "population"]
    features = site_features(sites, "id", {a: a for a in attrs})
    quotas = [Quota(name="ic", where={"setting": "inner_city"})]
    cfg = CaseSelectionConfig(n=5, attributes=attrs, quotas=quotas)
    exact = select_cases(candidates, features, attrs, cfg)
    monkeypatch.setattr(selection, "MAX_COMBINATIONS", 10)
    greedy = select_cases(candidates, features, attrs, cfg)
    assert str(greedy.summary["selection_search"]).startswith("greedy")
    assert greedy.selection.filter(pl.col("selected")).height == 5
    g = greedy.sets.filter(pl.col("set") == "selected").item(0, "mean_distance")
    e = exact.sets.filter(pl.col("set") == "selected").item(0, "mean_distance")
    assert g <= e + 1e-12


def test_survey_indicators_share_of_key_codes() -> None:
    respondents = pl.DataFrame({"respondent_id": ["r1", "r2", "r3", "r4"], "site_id": ["A", "A", "B", "B"]})
    answers = pl.DataFrame({
        "respondent_id": ["r1", "r2", "r3", "r4", "r4"],
        "variable": ["influence"] * 5,
        "code": ["1", "2", "1", "1", None],
        "missing": [False, False, False, False, True],
    })
    out = survey_indicators(respondents, answers, {"influence": ["1"]})
    assert out.to_dict(as_series=False) == {"site_id": ["A", "B"], "influence": [0.5, 1.0]}


def test_missing_attribute_and_unknown_quota_attribute_are_noted() -> None:
    sites, candidates = _pool(2)
    features = site_features(sites, "id", {"setting": "setting"})
    cfg = CaseSelectionConfig(n=3, attributes=["setting", "ghost"],
                              quotas=[Quota(name="q", where={"nowhere": "x"})])
    out = select_cases(candidates, features, ["setting", "ghost"], cfg)
    assert any("ghost" in n for n in out.notes) and any("nowhere" in n for n in out.notes)
    assert out.sets.filter(pl.col("set") == "selected").item(0, "quota_share") == 0.0


def test_a_site_shared_by_two_actual_cases_keeps_the_first_case() -> None:
    actual = pl.DataFrame({"case": ["B", "A"], "site_ids": ["X02; X01", "X01;;X03"]})
    sites = selection.actual_case_sites(actual)
    assert sites.rows() == [("B", "X02"), ("B", "X01"), ("A", "X03")]
    assert selection.actual_case_sites(None).height == 0
    # The projects' order decides: listed the other way round, X01 belongs to A.
    swapped = selection.actual_case_sites(actual.reverse())
    assert dict(swapped.select("site_ids", "case").iter_rows())["X01"] == "A"


def test_the_summary_can_be_rebuilt_from_the_two_tables() -> None:
    """The phase summary step reads the written tables: they must give the outcome's summary back."""
    sites, candidates = _pool(9)
    attrs = ["setting", "region", "population"]
    features = site_features(sites, "id", {a: a for a in attrs})
    for pins in ([], ["X11"]):
        cfg = CaseSelectionConfig(n=4, attributes=attrs, pins=pins, seed=5)
        out = select_cases(candidates, features, attrs, cfg, actual=pl.DataFrame({"case": ["A", "B"], "site_ids": ["X00", "X01"]}))
        assert list(out.summary) == ["n_selected", "selected_sites", "selection_search", "diversity_selected",
                                     *(["diversity_optimal_unpinned"] if pins else []), "diversity_actual",
                                     "diversity_random"]
        assert selection.outcome_summary(out.selection, out.sets) == out.summary
        search = str(out.summary["selection_search"])
        note = out.sets.filter(pl.col("set") == "selected").item(0, "note")
        assert search.startswith("exact search over ")
        assert note == (selection.PINNED_NOTE + search if pins else search)


def test_no_target_area_makes_every_scoping_site_eligible() -> None:
    sites, candidates = _pool(3, n_sites=6)
    features = site_features(sites, "id", {"setting": "setting"})
    cfg = CaseSelectionConfig(n=7, attributes=["setting"], pins=["X09"], seed=1)
    out = select_cases(candidates.with_columns(pl.lit(None, pl.String).alias("target_areas")), features,
                       ["setting"], cfg)
    assert out.notes == [selection.NO_TARGETS_NOTE, "pin 'X09' is not in the sites table: kept, without attributes",
                         "only 6 of 7 cases could be chosen: too few eligible scoping sites"]
    assert out.selection.filter(pl.col("in_pool")).get_column("eligible").all()
    assert set(out.sets.get_column("set")) == {"selected", "optimal_unpinned"}  # pool smaller than n: no draws
