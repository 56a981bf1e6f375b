"""Every declared check passes on clean tiny frames and fails on a frame built to break it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

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
    more = f["survey.w1.respondents"].with_columns(
        pl.Series("respondent_id", [rid(i) for i in range(10, 14)]), pl.lit(None).alias("member_id"))
    return {**f, "survey.w1.respondents": pl.concat([f["survey.w1.respondents"], more])}


def _skew_roles(f: Frames) -> Frames:
    return _set("survey.w1.respondents", role=["head"] * 4, role_group=["leader"] * 4)(f)


def _unused_code(f: Frames) -> Frames:
    extra = pl.DataFrame({"code_id": ["c9"], "path": ["T/z"], "is_codable": [True]})
    return {**f, "cases.codebook": pl.concat([f["cases.codebook"], extra])}


BREAKERS: dict[str, Callable[[Frames], Frames]] = {
    "sites.row_count": _drop("survey.w1.sites"),
    "sites.id_unique": _set("survey.w1.sites", site_id=["s1", "s1"]),
    "sites.id_not_null": _set("survey.w1.sites", site_id=["s1", None]),
    "sites.declared_attributes": lambda f: {**f, "survey.w1.sites": f["survey.w1.sites"].drop("phase")},
    "roster.row_count": _drop("survey.w1.roster"),
    "roster.member_unique": _set("survey.w1.roster", member_id=[pid(0)] * 4),
    "roster.site_known": _set("survey.w1.roster", site_id=["s1", "s1", "s2", "s9"]),
    "roster.role_known": _set("survey.w1.roster", role=["head", "teacher", "head", "pupil"]),
    "roster.role_group_known": _set("survey.w1.roster", role_group="other"),
    "survey.respondents_present": _drop("survey.w1.respondents"),
    "survey.respondents_within_roster": _extra_respondents,
    "survey.respondent_id_unique": _set("survey.w1.respondents", respondent_id=[rid(0)] * 4),
    "survey.member_id_unique": _set("survey.w1.respondents", member_id=[pid(0), pid(0), None, None]),
    "survey.respondent_role_known": _set("survey.w1.respondents", role=["head", "teacher", "head", "x"]),
    "survey.respondent_site_in_roster": _set("survey.w1.respondents", site_id=["s1", "s1", "s2", "s9"]),
    "survey.respondent_member_in_roster": _set("survey.w1.respondents",
                                               member_id=[pid(0), pid(1), pid(2), pid(99)]),
    "survey.site_responses_within_roster": _set("survey.w1.respondents", site_id="s1"),
    "survey.role_mix_within_tolerance": _skew_roles,
    "survey.answers_row_count": lambda f: {**f, "survey.w1.answers": f["survey.w1.answers"].head(3)},
    "survey.answer_keys_unique": _dup_row("survey.w1.answers"),
    "survey.answer_variables_in_instrument": _set("survey.w1.answers",
                                                  variable=["mood", "trust", "bogus"] * 4),
    "survey.answer_codes_in_instrument": _set("survey.w1.answers", code=["1", "2", "z"] * 4),
    "survey.likert_within_scale": _set("survey.w1.answers", value=[1.0, 7.0, None] * 4),
    "qual.codebook_row_count": _drop("cases.codebook"),
    "qual.code_id_unique": _set("cases.codebook", code_id=["c0", "c1", "c2", "c2"]),
    "qual.code_path_unique": _set("cases.codebook", path=["T", "T/a", "T/a", "T/c"]),
    "qual.sources_row_count": _drop("cases.sources"),
    "qual.source_id_unique": _set("cases.sources", source_id=["d1", "d1"]),
    "qual.segments_row_count": _drop("cases.segments"),
    "qual.segment_keys_unique": _dup_row("cases.segments"),
    "qual.segment_code_in_codebook": _set("cases.segments", code_id=["c1", "c2", "c3", "c7"]),
    "qual.segment_source_known": _set("cases.segments", source_id=["d1", "d1", "d2", "d5"]),
    "qual.segment_inside_source": _set("cases.segments", end=[10, 101, 50, 10]),
    "qual.codes_used": _unused_code,
    "qual.double_coded_share": _set("cases.segments", coder="ann"),
    "tri.proposition_unique": _set("triangulation.convergence", proposition_id=["p1", "p1"]),
    "tri.every_proposition_assessed": _set("triangulation.convergence", proposition_id=["p1", "p3"]),
    "tri.qualitative_evidence": _set("triangulation.joint_displays", strand="quant"),
    "tri.quantitative_evidence": _set("triangulation.joint_displays", strand="qual"),
    "tri.interval_ordered": _set("triangulation.joint_displays", lower=[None, 0.7, None, 0.3]),
    "tri.meta_matrix_cells_unique": _dup_row("triangulation.meta_matrix"),
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
    frames = {"cases.segments": clean_frames()["cases.segments"]}
    suites, skipped = build_suites(frames, study)
    names = {c.name for c in suites["cases.segments"]}
    assert "qual.segments_row_count" in names
    assert {(d, c.name) for d, c in skipped} == {
        ("cases.segments", "qual.segment_code_in_codebook"),
        ("cases.segments", "qual.segment_source_known"),
    }


def test_top_level_sites_table_is_used_when_the_wave_has_none(
    study: StudyConfig, clean_frames: Factory
) -> None:
    clean = clean_frames()
    frames = {"sites": clean["survey.w1.sites"], "survey.w1.roster": clean["survey.w1.roster"]}
    ctx = SuiteContext("survey.w1.roster", study, frames)
    assert ctx.sibling_name("sites") == "sites"
    suites, skipped = build_suites(frames, study)
    assert not skipped
    check = next(c for c in suites["survey.w1.roster"] if c.name == "roster.site_known")
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
