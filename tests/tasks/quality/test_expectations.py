"""Every declared check passes on clean tiny frames and fails on a frame built to break it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from schemas.datasets import registry
from schemas.datasets.qualitative import CASES_CODEBOOK, CASES_SEGMENTS, CASES_SOURCES
from schemas.datasets.quality import (
    ANSWER_CODES,
    CASES_CODE_USAGE,
    CASES_SEGMENT_BOUNDS,
    LIKERT_SCORES,
    QUALITY_RESULTS,
    RESPONDENT_LINKS,
    ROLE_MIX,
    SITE_COUNTS,
    SOURCE_CODING,
    STRANDS,
)
from schemas.datasets.sites import ROSTER, SITES
from schemas.datasets.survey import ANSWERS, ESTIMATES, RESPONDENTS
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from schemas.expectations import (
    Check,
    SuiteContext,
    build_suites,
    derive_frames,
    known_check_names,
    row_keys,
    with_severity,
)
from schemas.study_config import StudyConfig

Frames = dict[str, pl.DataFrame]
Factory = Callable[[], Frames]
# The tiny study's tables by concrete name (wave "w1", the case studies, triangulation).
W1_SITES, W1_ROSTER, W1_RESPONDENTS, W1_ANSWERS = (
    d.resolve(wave="w1") for d in (SITES, ROSTER, RESPONDENTS, ANSWERS)
)
CODEBOOK, SOURCES, SEGMENTS = CASES_CODEBOOK.name, CASES_SOURCES.name, CASES_SEGMENTS.name
TRI_CONVERGENCE, TRI_JOINT, TRI_META = CONVERGENCE.name, JOINT_DISPLAYS.name, META_MATRIX.name


def rid(i: int) -> str:
    """A respondent pseudonym."""
    return f"R{i:012x}"


def pid(i: int) -> str:
    """A roster member pseudonym."""
    return f"P{i:012x}"


def run(frames: Frames, study: StudyConfig, tmp: Path, check: str) -> pl.DataFrame:
    """Results of the suite holding one check (no Data Docs: fast)."""
    from tasks.quality.gx import run_checkpoint

    frames = {**frames, **derive_frames(frames, study)}
    suites, _ = build_suites(frames, study)
    suites = {d: cs for d, cs in suites.items() if any(c.name == check for c in cs)}
    report = run_checkpoint("t", {d: frames[d] for d in suites}, suites, tmp,
                            row_keys={d: row_keys(d) for d in suites}, build_docs=False)
    return report.results


def _set(dataset: str, **columns: object) -> Callable[[Frames], Frames]:
    def mutate(frames: Frames) -> Frames:
        frame = frames[dataset]
        updates = [pl.Series(k, v) if isinstance(v, list) else pl.lit(v).alias(k)
                   for k, v in columns.items()]
        return {**frames, dataset: frame.with_columns(updates)}
    return mutate


def _drop(dataset: str) -> Callable[[Frames], Frames]:
    return lambda f: {**f, dataset: f[dataset].clear()}


def _dup_row(dataset: str) -> Callable[[Frames], Frames]:
    return lambda f: {**f, dataset: pl.concat([f[dataset], f[dataset].head(1)])}


def _extra_respondents(f: Frames) -> Frames:
    more = f[W1_RESPONDENTS].with_columns(
        pl.Series("respondent_id", [rid(i) for i in range(10, 14)]), pl.lit(None).alias("member_id"))
    return {**f, W1_RESPONDENTS: pl.concat([f[W1_RESPONDENTS], more])}


def _skew_roles(f: Frames) -> Frames:
    return _set(W1_RESPONDENTS, role=["head"] * 4, role_group=["leader"] * 4)(f)


def _unused_code(f: Frames) -> Frames:
    extra = pl.DataFrame({"code_id": ["c9"], "path": ["T/z"], "is_codable": [True]})
    return {**f, CODEBOOK: pl.concat([f[CODEBOOK], extra])}


BREAKERS: dict[str, Callable[[Frames], Frames]] = {
    "sites.row_count": _drop(W1_SITES),
    "sites.id_unique": _set(W1_SITES, site_id=["s1", "s1"]),
    "sites.id_not_null": _set(W1_SITES, site_id=["s1", None]),
    "sites.declared_attributes": lambda f: {**f, W1_SITES: f[W1_SITES].drop("phase")},
    "roster.row_count": _drop(W1_ROSTER),
    "roster.member_unique": _set(W1_ROSTER, member_id=[pid(0)] * 4),
    "roster.site_known": _set(W1_ROSTER, site_id=["s1", "s1", "s2", "s9"]),
    "roster.role_known": _set(W1_ROSTER, role=["head", "teacher", "head", "pupil"]),
    "roster.role_group_known": _set(W1_ROSTER, role_group="other"),
    "survey.respondents_present": _drop(W1_RESPONDENTS),
    "survey.respondents_within_roster": _extra_respondents,
    "survey.respondent_id_unique": _set(W1_RESPONDENTS, respondent_id=[rid(0)] * 4),
    "survey.member_id_unique": _set(W1_RESPONDENTS, member_id=[pid(0), pid(0), None, None]),
    "survey.respondent_role_known": _set(W1_RESPONDENTS, role=["head", "teacher", "head", "x"]),
    "survey.respondent_site_in_roster": _set(W1_RESPONDENTS, site_id=["s1", "s1", "s2", "s9"]),
    "survey.respondent_member_in_roster": _set(W1_RESPONDENTS,
                                               member_id=[pid(0), pid(1), pid(2), pid(99)]),
    "survey.site_responses_within_roster": _set(W1_RESPONDENTS, site_id="s1"),
    "survey.role_mix_within_tolerance": _skew_roles,
    "survey.answers_row_count": lambda f: {**f, W1_ANSWERS: f[W1_ANSWERS].head(3)},
    "survey.answer_keys_unique": _dup_row(W1_ANSWERS),
    "survey.answer_variables_in_instrument": _set(W1_ANSWERS,
                                                  variable=["mood", "trust", "bogus"] * 4),
    "survey.answer_codes_in_instrument": _set(W1_ANSWERS, code=["1", "2", "z"] * 4),
    "survey.likert_within_scale": _set(W1_ANSWERS, value=[1.0, 7.0, None] * 4),
    "qual.codebook_row_count": _drop(CODEBOOK),
    "qual.code_id_unique": _set(CODEBOOK, code_id=["c0", "c1", "c2", "c2"]),
    "qual.code_path_unique": _set(CODEBOOK, path=["T", "T/a", "T/a", "T/c"]),
    "qual.sources_row_count": _drop(SOURCES),
    "qual.source_id_unique": _set(SOURCES, source_id=["d1", "d1"]),
    "qual.segments_row_count": _drop(SEGMENTS),
    "qual.segment_keys_unique": _dup_row(SEGMENTS),
    "qual.segment_code_in_codebook": _set(SEGMENTS, code_id=["c1", "c2", "c3", "c7"]),
    "qual.segment_source_known": _set(SEGMENTS, source_id=["d1", "d1", "d2", "d5"]),
    "qual.segment_inside_source": _set(SEGMENTS, end=[10, 101, 50, 10]),
    "qual.codes_used": _unused_code,
    "qual.double_coded_share": _set(SEGMENTS, coder="ann"),
    "tri.proposition_unique": _set(TRI_CONVERGENCE, proposition_id=["p1", "p1"]),
    "tri.every_proposition_assessed": _set(TRI_CONVERGENCE, proposition_id=["p1", "p3"]),
    "tri.qualitative_evidence": _set(TRI_JOINT, strand="quant"),
    "tri.quantitative_evidence": _set(TRI_JOINT, strand="qual"),
    "tri.interval_ordered": _set(TRI_JOINT, lower=[None, 0.7, None, 0.3]),
    "tri.meta_matrix_cells_unique": _dup_row(TRI_META),
    "tri.sensitivity_cells_unique": _dup_row(SENSITIVITY.name),
    "tri.sensitivity_settings_known": _set(SENSITIVITY.name, case_prevalence=["1/2", "1/4", "1/2"]),
    "tri.review_still_holds": _set(REVIEW.name, flag=[None, "needs re-review: confirmed as agreement, now proposed "
                                                             "silence"]),
}


def test_every_check_has_a_breaking_case() -> None:
    assert set(BREAKERS) == known_check_names()


def test_clean_frames_pass_every_check(built_docs) -> None:  # type: ignore[no-untyped-def]
    results = built_docs.report.results
    assert set(results["check"]) == known_check_names()
    failed = results.filter(~pl.col("success"))
    assert failed.is_empty(), failed.select("dataset", "check", "observed").to_dicts()


@pytest.mark.parametrize("check", sorted(BREAKERS))
def test_check_fails_on_a_frame_that_breaks_it(
    check: str, study: StudyConfig, clean_frames: Factory, tmp_path: Path
) -> None:
    results = run(BREAKERS[check](clean_frames()), study, tmp_path, check)
    row = results.filter(pl.col("check") == check)
    assert row.height == 1, f"{check} did not run"
    assert not row["success"][0], f"{check} passed: observed {row['observed'][0]}"
    assert row["observed"][0]


def _observed(check: str, study: StudyConfig, frames: Frames, tmp: Path) -> dict[str, object]:
    results = run(BREAKERS[check](frames), study, tmp, check)
    return results.filter(pl.col("check") == check).row(0, named=True)


def test_failures_name_the_row(study: StudyConfig, clean_frames: Factory, tmp_path: Path) -> None:
    row = _observed("survey.site_responses_within_roster", study, clean_frames(), tmp_path)
    assert "site_id=s1" in str(row["observed"]) and "respondents=4" in str(row["observed"])
    row = _observed("survey.answer_codes_in_instrument", study, clean_frames(), tmp_path)
    assert "tools=z" in str(row["observed"])


def test_double_coded_share_reports_the_share(
    study: StudyConfig, clean_frames: Factory, tmp_path: Path
) -> None:
    row = _observed("qual.double_coded_share", study, clean_frames(), tmp_path)
    assert row["observed"] == "0.0" and row["severity"] == "error"


def test_checks_needing_an_absent_table_are_skipped(study: StudyConfig, clean_frames: Factory) -> None:
    frames = {SEGMENTS: clean_frames()[SEGMENTS]}
    suites, skipped = build_suites(frames, study)
    names = {c.name for c in suites[SEGMENTS]}
    assert "qual.segments_row_count" in names
    assert {(d, c.name) for d, c in skipped} == {
        (SEGMENTS, "qual.segment_code_in_codebook"),
        (SEGMENTS, "qual.segment_source_known"),
    }


def test_top_level_sites_table_is_used_when_the_wave_has_none(
    study: StudyConfig, clean_frames: Factory
) -> None:
    clean = clean_frames()
    frames = {"sites": clean[W1_SITES], W1_ROSTER: clean[W1_ROSTER]}
    ctx = SuiteContext(W1_ROSTER, study, frames)
    assert ctx.sibling_name("sites") == "sites"
    suites, skipped = build_suites(frames, study)
    assert not skipped
    check = next(c for c in suites[W1_ROSTER] if c.name == "roster.site_known")
    assert check.kwargs["value_set"] == ["s1", "s2"]


def test_study_severity_overrides_the_default() -> None:
    checks = [Check("a", "ExpectColumnValuesToBeUnique", {"column": "x"}),
              Check("b", "ExpectColumnValuesToBeUnique", {"column": "y"}, severity="warn")]
    out = with_severity(checks, {"a": "warn", "b": "error"})
    assert [c.severity for c in out] == ["warn", "error"]
    with pytest.raises(ValueError, match="expected error or warn"):
        with_severity(checks, {"a": "fatal"})


def test_check_names_are_unique_and_documented() -> None:
    from schemas.expectations import documented_suites

    seen: dict[str, str] = {}
    for pattern, checks in documented_suites().items():
        names = [c.name for c in checks]
        assert len(names) == len(set(names)), pattern
        for c in checks:
            assert c.why.strip(), c.name
            assert c.severity in ("error", "warn")
            # One name, one meaning: a name shared by patterns is the same check (same builder).
            assert seen.setdefault(c.name, c.expectation) == c.expectation


def test_suites_are_found_through_the_registry() -> None:
    from schemas.expectations import builder_for, is_checked
    from schemas.expectations.sites import roster_suite, sites_suite

    assert builder_for(W1_ROSTER) is roster_suite
    assert builder_for(SITES.resolve(wave="w2")) is builder_for("sites") is sites_suite
    assert row_keys("sites") == row_keys(W1_SITES) == ("site_id",)
    assert builder_for(ESTIMATES.resolve(wave="w1")) is None and row_keys(TRI_META + "x") == ()
    assert is_checked(W1_RESPONDENTS) and is_checked(SEGMENTS) and is_checked(TRI_JOINT)
    assert not is_checked(QUALITY_RESULTS.resolve(phase="survey_w1"))
    assert not is_checked(ESTIMATES.resolve(wave="w1")) and not is_checked("no.such.table")


def test_derived_frames_are_registry_datasets_with_suites(study: StudyConfig, clean_frames: Factory) -> None:
    from schemas.expectations import entry_for, suite_builders

    derived = {d for d in registry() if d.kind == "derived"}
    assert derived and derived <= set(suite_builders())
    frames = derive_frames(clean_frames(), study)
    assert set(frames) == {
        *(d.resolve(wave="w1") for d in (RESPONDENT_LINKS, SITE_COUNTS, ROLE_MIX, ANSWER_CODES,
                                          LIKERT_SCORES)),
        CASES_SEGMENT_BOUNDS.name, CASES_CODE_USAGE.name, SOURCE_CODING.name, STRANDS.name,
    }
    assert all(entry_for(name) in derived for name in frames)


def test_a_deriver_may_only_yield_derived_datasets(
    study: StudyConfig, clean_frames: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemas.expectations as expectations

    def rogue(ctx: SuiteContext) -> dict[str, pl.DataFrame]:
        """Derives a published table's name."""
        return {W1_ANSWERS: ctx.frames[ctx.dataset]}

    declared = expectations.Declared(suites={}, derived={RESPONDENTS: (rogue,)}, row_keys={})
    monkeypatch.setattr(expectations, "declared", lambda: declared)
    with pytest.raises(RuntimeError, match="not a registry dataset of kind derived"):
        derive_frames(clean_frames(), study)


def test_siblings_come_from_the_registry(study: StudyConfig, clean_frames: Factory) -> None:
    ctx = SuiteContext(W1_ROSTER, study, clean_frames())
    assert ctx.sibling_name("sites") == W1_SITES and ctx.wave == "w1"
    assert SuiteContext(ROSTER.name).sibling_name("sites") == SITES.name
    assert SuiteContext(SEGMENTS).sibling_name("segment_bounds") == CASES_SEGMENT_BOUNDS.name
    # A renamed or misspelt sibling fails loudly instead of skipping its checks.
    with pytest.raises(KeyError, match="no registry sibling"):
        ctx.sibling_name("rooster")
