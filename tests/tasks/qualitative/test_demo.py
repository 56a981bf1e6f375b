"""Acceptance on the bundled demo study: scoping, selection, matrices, ICR, quotes, round trip.

Expected values are computed here from the raw demo files (sites table, .qdpx projects), not
looked up from the pipeline's own outputs.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import run_steps

from schemas.datasets import Dataset
from schemas.datasets.qualitative import (
    AREA_RANKING,
    CASE_SELECTION,
    CASES_CODEBOOK,
    CASES_SEGMENTS,
    CASES_SOURCES,
    DISAGREEMENTS,
    FRAMEWORK,
    PROJECT,
    QUOTES,
    RELIABILITY,
    SELECTION_SETS,
    SITE_PROFILES,
    THEME_PRESENCE,
)
from schemas.datasets.survey import ANSWERS, RESPONDENTS
from schemas.manifest import OutputRecord
from schemas.phases import SURVEY_PHASES
from schemas.study_config import StudyConfig, load_study_config
from tasks.context import RunContext
from tasks.ingest.qdpx import read_qdpx
from tasks.phase import PhaseResult, phase_result
from tasks.qualitative.inputs import role_map
from tasks.qualitative.model import SEGMENT_COLUMNS, build_model
from tasks.qualitative.pipeline import CASE_STEPS, SCOPING_STEPS
from tasks.step_io import execute_step, records_of
from tasks.storage.runs import ingest_inputs
from tasks.storage.store import open_store

generator = pytest.importorskip("tasks.demo.generator")


@dataclass(frozen=True)
class DemoRun:
    """The demo study after scoping, survey wave 1 (respondents and answers) and the case studies."""

    root: Path
    cfg: StudyConfig
    ctx: RunContext
    scoping: PhaseResult
    cases: PhaseResult
    counts: dict[str, int]
    timings: dict[str, float]

    def table(self, dataset: Dataset) -> pl.DataFrame:
        """A written table, read back through its contract."""
        return self.ctx.read_table({**self.scoping.by_dataset(), **self.cases.by_dataset()}[dataset.resolve()])


def _wave_one_frame(ctx: RunContext, cfg: StudyConfig) -> dict[str, OutputRecord]:
    """The first wave's survey steps, up to the respondents and answers the selection reads."""
    from tasks.survey.pipeline import STEPS as SURVEY_STEPS

    wave = cfg.survey.wave_for_phase(SURVEY_PHASES[0])
    wanted = {RESPONDENTS.resolve(wave=wave), ANSWERS.resolve(wave=wave)}
    available: dict[str, OutputRecord] = {}
    for step in SURVEY_STEPS:
        if wanted <= set(available):
            break
        if step.applies(cfg, wave):
            available.update(records_of([execute_step(ctx, step, wave, available)]))
    return available


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Generate the demo (seed 2013, scale 1) and run the qualitative step lists on a file store."""
    root = tmp_path_factory.mktemp("demo")
    study = generator.generate_demo_study(root / "study", seed=2013, scale=1)
    cfg = load_study_config(study.config_path)
    ctx = RunContext(store_url=str(root / "store"), run_id="demo", config_path=str(study.config_path),
                     inputs=tuple(ingest_inputs(open_store(str(root / "store")), cfg)))
    timings = {}
    start = time.perf_counter()
    scoping = run_steps(ctx, SCOPING_STEPS, {})
    timings["scoping"] = time.perf_counter() - start
    upstream = {**records_of(scoping), **_wave_one_frame(ctx, cfg)}
    start = time.perf_counter()
    cases = run_steps(ctx, CASE_STEPS, upstream)
    timings["case_studies"] = time.perf_counter() - start
    return DemoRun(root, cfg, ctx, phase_result("scoping", scoping, ctx.run_id),
                   phase_result("case_studies", cases, ctx.run_id), dict(study.counts), timings)


def _projects(run: DemoRun, pattern: str) -> list:  # noqa: ANN401 - QdaProject list
    return [read_qdpx(p.read_bytes(), p.name) for p in run.cfg.resolve(pattern)]


def test_target_areas_rank_top(demo: DemoRun) -> None:
    ranking = demo.table(AREA_RANKING)
    top = [a.lower() for a in ranking.filter(pl.col("is_target")).sort("rank").get_column("area")]
    assert len(top) == 3
    for wanted in ("frail older people", "urgent care", "mental health"):
        assert any(wanted in area for area in top), (wanted, top)
    profiles = demo.table(SITE_PROFILES)
    assert profiles.height == demo.counts["scoping_sites"] == 15
    assert profiles.get_column("maturity").null_count() == 0


def test_selection_covers_the_setting_mix(demo: DemoRun) -> None:
    sel = demo.table(CASE_SELECTION)
    chosen = sel.filter(pl.col("selected")).get_column("site_id").to_list()
    assert len(chosen) == 6 and sel.filter(pl.col("selected")).get_column("eligible").all()
    sites = pl.read_csv(demo.cfg.resolve(demo.cfg.sites.path)[0], infer_schema=False)
    attrs = {r[demo.cfg.sites.id_column]: r for r in sites.iter_rows(named=True)}
    setting, deprivation = demo.cfg.sites.attributes["setting"], demo.cfg.sites.attributes["deprivation_quintile"]
    mix = Counter(attrs[s][setting] for s in chosen)
    deprived_inner = sum(attrs[s][setting] == "inner_city" and attrs[s][deprivation] == "1" for s in chosen)
    assert deprived_inner == 2 and mix["conurbation"] == 1 and mix["mixed_urban_rural"] == 3
    sets = {r["set"]: r for r in demo.table(SELECTION_SETS).iter_rows(named=True)}
    assert sets["selected"]["mean_distance"] > sets["random"]["mean_distance"]
    assert sets["actual"]["n_sites"] == 6
    # Every site of every actual case is tagged with its case.
    case_sites = {s for p in _projects(demo, demo.cfg.qualitative.case_studies.projects[0])
                  for v in p.case_variables.filter(pl.col("name") == "site_ids").get_column("value")
                  for s in v.split(";")}
    assert set(sel.filter(pl.col("actual_case").is_not_null()).get_column("site_id")) == case_sites


def test_matrices_count_the_planted_themes(demo: DemoRun) -> None:
    """Lead-coder spans per case × theme, counted from the raw projects in plain Python."""
    spans: dict[tuple[str, str], set[str]] = defaultdict(set)
    for project in _projects(demo, demo.cfg.qualitative.case_studies.projects[0]):
        users = dict(project.users.select("guid", "name").iter_rows())
        coders = Counter(users.get(u) for u in project.selections.get_column("user_guid"))
        assert coders.most_common(1)[0][0] == "coder_a"
        path = dict(project.codes.select("guid", "path").iter_rows())
        case_of = {s: c for c, s in project.case_sources.iter_rows()}
        case_name = dict(project.cases.select("guid", "name").iter_rows())
        for sel, source, code, user in project.selections.select(
                "guid", "source_guid", "code_guid", "user_guid").iter_rows():
            if users.get(user) == "coder_a":
                spans[(case_name[case_of[source]], path[code].split("/")[0])].add(sel)
    framework = demo.table(FRAMEWORK)
    got = {(r["case"], r["theme"]): r["n_segments"] for r in framework.iter_rows(named=True)}
    assert got == {k: len(v) for k, v in spans.items()}
    presence = demo.table(THEME_PRESENCE)
    expected = Counter(theme for (_, theme) in spans)
    assert {r["theme"]: r["n_cases"] for r in presence.iter_rows(named=True) if r["n_cases"]} == dict(expected)


def test_reliability_on_the_double_coded_subset(demo: DemoRun) -> None:
    double = 0
    for project in _projects(demo, demo.cfg.qualitative.case_studies.projects[0]):
        per_source = project.selections.group_by("source_guid").agg(pl.col("user_guid").n_unique())
        double += per_source.filter(pl.col("user_guid") >= 2).height
    assert double == demo.counts["case_double_coded"]
    rel = demo.table(RELIABILITY)
    assert set(rel.get_column("n_sources")) == {double}
    pooled = rel.filter(pl.col("code_id") == "__pooled__")
    assert set(pooled.get_column("unit")) == {"presence", "segment", "character"}
    assert all(0.4 < k < 1 for k in pooled.get_column("kappa"))
    assert demo.table(DISAGREEMENTS).height > 0


def test_quotes_contain_no_planted_names(demo: DemoRun) -> None:
    from tasks.demo.names import FIRST_NAMES, LAST_NAMES

    quotes = demo.table(QUOTES)
    segments = demo.table(CASES_SEGMENTS)
    assert quotes.height > 0
    words = {w for term in demo.cfg.qualitative.redact_terms for w in term.split()} | set(FIRST_NAMES) | set(LAST_NAMES)
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")
    texts = [*quotes.get_column("text"), *quotes.get_column("source_name"), *segments.get_column("text")]
    leaks = [t for t in texts if pattern.search(t)]
    assert leaks == []
    assert segments.filter(pl.col("text").str.contains("[name]", literal=True)).height > 0
    participants = demo.table(CASES_SOURCES).get_column("participant_pseudonym").drop_nulls()
    assert participants.len() > 0 and participants.str.contains(r"^P[0-9a-f]{12}$").all()


def test_qdpx_round_trip(demo: DemoRun) -> None:
    data = demo.ctx.store().get(demo.cases.by_dataset()[PROJECT.resolve()].key)
    project = read_qdpx(data, "cases.qdpx", strict=True)
    codebook = demo.table(CASES_CODEBOOK)
    model = build_model(project, codebook, "cases.qdpx", demo.cfg.qualitative.case_studies.source_variables,
                        key=None, role_map=role_map(demo.cfg))
    assert model.published_sources().sort("source_id").equals(demo.table(CASES_SOURCES).sort("source_id"))
    order = ["source_id", "segment_id", "code_id"]
    assert model.segments.select(SEGMENT_COLUMNS).sort(order).equals(demo.table(CASES_SEGMENTS).sort(order))


def test_summaries(demo: DemoRun) -> None:
    assert demo.cases.summary["cases"] == 6
    assert demo.cases.summary["double_coded_sources"] == demo.counts["case_double_coded"]
    assert "survey indicators" not in demo.cases.markdown or "left out" not in demo.cases.markdown


def _coded_labels(demo: DemoRun) -> tuple[dict[str, dict[str, dict[str, np.ndarray]]], dict[str, int]]:
    """From the demo's .qdpx files: source → coder → code path → a 0/1 mark per character of the coded text."""
    marks: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    lengths: dict[str, int] = {}
    for project in _projects(demo, demo.cfg.qualitative.case_studies.projects[0]):
        users = dict(project.users.select("guid", "name").iter_rows())
        path = dict(project.codes.select("guid", "path").iter_rows())
        texts = dict(project.sources.select("guid", "text").iter_rows())
        for source, start, end, code, user in project.selections.select(
                "source_guid", "start", "end", "code_guid", "user_guid").iter_rows():
            lengths[source] = len(texts[source])
            per_code = marks.setdefault(source, {}).setdefault(users[user], {})
            mark = per_code.setdefault(path[code], np.zeros(len(texts[source]), dtype=np.int8))
            mark[start:end] = 1
    return marks, lengths


def _stretch_starts(per_coder: dict[str, dict[str, np.ndarray]], length: int) -> list[tuple[int, int]]:
    covered = np.zeros(length + 1, dtype=bool)
    spans = []
    for per_code in per_coder.values():
        for mark in per_code.values():
            covered[:length] |= mark.astype(bool)
    # Stretches of characters coded by anyone (codings here never touch without overlapping).
    edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.astype(np.int8)])))
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        spans.append((int(s), int(e)))
    return spans


def _unit_labels(marks: dict[str, dict[str, np.ndarray]], unit: str, path: str, length: int,
                 stretches: list[tuple[int, int]]) -> np.ndarray:
    mark = marks.get(path, np.zeros(length, dtype=np.int8))
    if unit == "character":
        return mark
    if unit == "presence":
        return np.array([int(mark.any())])
    return np.array([int(mark[s:e].any()) for s, e in stretches])


def test_reliability_equals_a_computation_on_the_coded_texts(demo: DemoRun) -> None:
    """Acceptance (issue 13): every published figure equals one computed here from the .qdpx files' own texts."""
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    marks, lengths = _coded_labels(demo)
    published = demo.table(CASES_SOURCES).select("source_id", "length")
    shared = [s for s, coders in marks.items() if len(coders) >= 2]
    # Redaction moved offsets in the double-coded sources: a computation on them would differ.
    redacted = dict(published.iter_rows())
    assert any(redacted[s] != lengths[s] for s in shared)
    rel = demo.table(RELIABILITY)
    pairs = rel.filter(pl.col("comparison") == "pair")
    assert pairs.height > 0
    checked = 0
    for (a, b), rows in pairs.group_by("coder_a", "coder_b"):
        sources = sorted(s for s in shared if {a, b} <= set(marks[s]))
        paths = sorted({p for s in sources for c in (a, b) for p in marks[s][c]})
        for unit in ("presence", "segment", "character"):
            first: dict[str, list[np.ndarray]] = {p: [] for p in paths}
            second: dict[str, list[np.ndarray]] = {p: [] for p in paths}
            for s in sources:
                stretches = _stretch_starts({c: marks[s][c] for c in (a, b)}, lengths[s])
                for p in paths:
                    first[p].append(_unit_labels(marks[s][a], unit, p, lengths[s], stretches))
                    second[p].append(_unit_labels(marks[s][b], unit, p, lengths[s], stretches))
            got = rows.filter(pl.col("unit") == unit)
            expected = {p: (np.concatenate(first[p]), np.concatenate(second[p])) for p in paths}
            expected["(all codes)"] = (np.concatenate([expected[p][0] for p in paths]),
                                       np.concatenate([expected[p][1] for p in paths]))
            assert got.height == len(expected)
            for row in got.iter_rows(named=True):
                x, y = expected[row["path"]]
                assert row["n_units"] == x.size and row["n_sources"] == len(sources)
                assert row["kappa"] == pytest.approx(cohen_kappa_score(x, y), abs=1e-9), (unit, row["path"])
                if x.any() or y.any():
                    alpha = krippendorff.alpha(reliability_data=np.array([x, y]), level_of_measurement="nominal")
                    assert row["alpha"] == pytest.approx(alpha, abs=1e-9), (unit, row["path"])
                checked += 1
    assert checked > 3


def test_quotes_are_attributed_in_the_studys_words(demo: DemoRun) -> None:
    quotes = demo.table(QUOTES)
    labels = {role.label for role in demo.cfg.roles.values()}
    for row in quotes.iter_rows(named=True):
        role, case, kind = row["attribution"].split(", ")
        assert role in labels and case == f"case {row['case']}" and kind == row["source_type"] == "interview"
        assert "|" not in row["attribution"] and "_" not in row["attribution"]
