"""Acceptance on the bundled demo study: the survey phase recovers the CCG study's published figures."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from schemas.datasets import dataset_for
from schemas.study_config import StudyConfig, load_study_config
from tests.tasks.survey.wave_run import WaveRun, run_wave, wave_context

generator = pytest.importorskip("tasks.demo.generator")

PP = 0.02
# Published respondent profile (share of respondents by role).
PROFILE = {
    "gp_member": 0.25,
    "chair": 0.15,
    "accountable_officer": 0.10,
    "lay_member": 0.18,
    "nurse": 0.06,
    "finance_director": 0.06,
}


class Demo:
    """The demo study run through both survey waves on a file store."""

    def __init__(self, root: Path) -> None:
        study = generator.generate_demo_study(root / "demo")
        config_path = Path(study.config_path)
        self.cfg: StudyConfig = load_study_config(config_path)
        ctx = wave_context(config_path, root / "store", run_id="demo-run")
        self.w1 = self.cfg.survey.wave_for_phase("survey_w1")
        self.w2 = self.cfg.survey.wave_for_phase("survey_w2")
        first_run = run_wave(ctx, self.w1)
        self.runs: dict[str, WaveRun] = {self.w1: first_run, self.w2: run_wave(ctx, self.w2, first_run.records)}
        self.first, self.second = (self.runs[w].phase for w in (self.w1, self.w2))

    def table(self, wave: str, name: str) -> pl.DataFrame:
        """A published table of one wave, read back through its contract."""
        return self.runs[wave].table(dataset_for(f"survey.{wave}.{name}"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """Generate the demo once for this module and run both waves."""
    return Demo(tmp_path_factory.mktemp("demo"))


def test_coverage_matches_published(demo: Demo) -> None:
    for result, sites, members in ((demo.first, 0.79, 0.124), (demo.second, 0.775, 0.122)):
        assert result.summary["sites_covered_share"] == pytest.approx(sites, abs=PP)
        assert result.summary["member_response_rate"] == pytest.approx(members, abs=PP)
        assert (
            result.summary["rows_in"] == result.summary["respondents"] + result.summary["removed"]
        )


def test_role_profile_matches_published(demo: Demo) -> None:
    for wave in (demo.w1, demo.w2):
        profile = demo.table(wave, "profile").filter(pl.col("breakdown") == "role")
        shares = dict(zip(profile["group"], profile["respondent_share"], strict=True))
        for role, share in PROFILE.items():
            assert shares[role] == pytest.approx(share, abs=PP), (wave, role)


def _overall(est: pl.DataFrame, variable: str, code: str) -> dict[str, object]:
    return est.filter(
        (pl.col("variable") == variable)
        & (pl.col("kind") == "code")
        & (pl.col("code") == code)
        & (pl.col("breakdown") == "all")
    ).row(0, named=True)


def test_about_half_say_my_ccg(demo: Demo) -> None:
    for wave in (demo.w1, demo.w2):
        est = demo.table(wave, "estimates")
        row = _overall(est, "influence_body", "1")
        assert row["label"] == "My CCG"
        assert 0.44 <= row["proportion"] <= 0.56 and 0.44 <= row["weighted_proportion"] <= 0.56
    # Chairs most likely to say "my CCG"; under half of accountable officers do.
    by_role = demo.table(demo.w1, "estimates").filter(
        (pl.col("variable") == "influence_body")
        & (pl.col("kind") == "code")
        & (pl.col("code") == "1")
        & (pl.col("breakdown") == "role")
    )
    shares = dict(zip(by_role["group"], by_role["proportion"], strict=True))
    assert max(shares, key=shares.__getitem__) == "chair" and shares["accountable_officer"] < 0.5


def test_major_player_in_redesign_wave_two(demo: Demo) -> None:
    est = demo.table(demo.w2, "estimates")
    assert "redesign_player" not in demo.table(demo.w1, "estimates")["variable"].to_list()
    for code, published in (("1", 0.38), ("2", 0.18), ("3", 0.14)):
        row = _overall(est, "redesign_player", code)
        assert row["proportion"] == pytest.approx(published, abs=PP), code
        assert row["weighted_lower"] <= row["weighted_proportion"] <= row["weighted_upper"]


def test_lack_of_time_dominates_obstacles(demo: Demo) -> None:
    for wave in (demo.w1, demo.w2):
        freq = demo.table(wave, "freetext")
        row = freq.filter(
            (pl.col("dictionary") == "obstacles")
            & (pl.col("category") == "lack_of_time")
            & (pl.col("breakdown") == "all")
        ).row(0, named=True)
        assert row["share"] > 0.92 and row["answers"] > 200
    agreement = demo.table(demo.w1, "freetext_agreement")
    assert agreement.height > 0 and agreement["kappa"].drop_nulls().min() > 0.6


def test_wave_change_and_figures(demo: Demo) -> None:
    change = demo.table(demo.w2, "change")
    assert {"influence_body", "influence_managers"} <= set(change["variable"])
    assert "redesign_player" not in change["variable"].to_list()  # asked in wave 2 only
    figures = {o.dataset for o in demo.runs[demo.w2].outputs if o.media_type == "image/png"}
    assert (
        f"survey.{demo.w2}.fig_change" in figures
        and f"survey.{demo.w2}.fig_redesign_player" in figures
    )
    assert (
        f"survey.{demo.w2}.fig_freetext_obstacles" in figures
        and f"survey.{demo.w2}.fig_coverage" in figures
    )
