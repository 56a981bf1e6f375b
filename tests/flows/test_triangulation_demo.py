"""Triangulation on the demo run: the four convergence codes computed from planted evidence, case-level
site estimates, sensitivity, and a review that is flagged when a re-run changes a confirmed verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from schemas.datasets import dataset_for
from schemas.datasets.triangulation import CONVERGENCE, META_MATRIX, REPORT_MD, REVIEW, SENSITIVITY

# Spaces, quotes, a comma, a line break and non-ASCII: the researcher's note must come back exactly.
NOTE = '  Agreed at the team meeting, "dissonance" is real;\nask E. Ó Briain – 3 March  '


def _tables(store_url: str, outputs: list) -> dict[str, pl.DataFrame]:
    from tasks.storage.store import open_store
    from tasks.storage.tables import parquet_to_table

    store = open_store(store_url)
    wanted = {CONVERGENCE, META_MATRIX, SENSITIVITY, REVIEW}
    return {o.dataset: parquet_to_table(store.get(o.key)) for o in outputs
            if o.key.endswith(".parquet") and dataset_for(o.dataset) in wanted}


@pytest.fixture(scope="module")
def demo_tables(demo_run: Any) -> dict[str, pl.DataFrame]:
    return _tables(str(demo_run.store), demo_run.manifest.outputs)


def test_the_convergence_table_holds_all_four_codes_with_rule_and_sensitivity(demo_tables: dict) -> None:
    conv = demo_tables[CONVERGENCE.name]
    codes = dict(zip(conv["proposition_id"].to_list(), conv["convergence"].to_list(), strict=True))
    assert {"agreement", "partial agreement", "silence", "dissonance"} <= set(codes.values())
    # Computed from the planted data: managers step in at one case, GPs and managers stand together at
    # four, while the survey clearly says managers are influential.
    row = conv.filter(pl.col("proposition_id") == "managers_dominate").row(0, named=True)
    assert (row["cases_supporting"], row["cases_contradicting"], row["cases_contested"], row["cases_none"]) == (
        1, 4, 0, 1)
    assert (row["qual_support"], row["quant_result"], row["convergence"]) == ("contradicted", "convergent", "dissonance")
    contested = conv.filter(pl.col("proposition_id") == "vision_rarely_left_to_gps").row(0, named=True)
    assert (contested["qual_support"], contested["convergence"]) == ("contested", "partial agreement")
    assert codes["pioneering_areas"] == "silence" and codes["ccgs_constrained"] == "agreement"
    assert conv["rule"].str.contains(" → ").all()
    assert conv["sensitivity"].str.contains(r"^(stable under|changes under: )").all()
    sens = demo_tables[SENSITIVITY.name]
    assert sens.height == 6 * conv.height
    assert set(sens["setting"]) == {"study setting", "case prevalence 1/3", "case prevalence 2/3", "90% intervals",
                                    "99% intervals", "unweighted"}


def test_the_meta_matrix_sets_each_case_beside_its_own_sites(demo_tables: dict) -> None:
    meta = demo_tables[META_MATRIX.name]
    assert meta.height == 6 * demo_tables[CONVERGENCE.name].height
    assert meta["site_n"].null_count() == 0 and meta["case_sites"].null_count() == 0
    one = meta.filter(pl.col("proposition_id") == "collaboration_grew")
    # Each case's own respondents, not the national headline repeated: estimates differ by case.
    assert one.filter(pl.col("site_n") > 0)["site_estimate"].n_unique() > 1
    # At least one case site diverges from the other sites (computed by chi-square / Fisher).
    apart = meta.filter(pl.col("site_direction").is_in(["higher", "lower"]))
    assert apart.height >= 1
    assert apart["site_p_value"].max() < 0.05  # type: ignore[operator]


def test_a_changed_verdict_under_a_confirmed_proposition_is_flagged(demo_run: Any, tmp_path: Path) -> None:
    from flows.study import study_flow
    from tasks.storage.catalog import review_key
    from tasks.storage.store import open_store

    config, store_url = demo_run.copy(tmp_path)
    # The researcher confirmed managers_dominate when it was proposed as agreement (say, before the
    # contradicting interviews were coded); today's data propose dissonance. gone_prop was removed.
    quoted = '"' + NOTE.replace('"', '""') + '"'
    review = (f"proposition_id,status,category,note\nmanagers_dominate,confirmed,agreement,{quoted}\n"
              "ccgs_constrained,confirmed,agreement,fine\ngone_prop,disputed,silence,kept\n").encode()
    store = open_store(store_url)
    store.put(review_key("triangulation.csv"), review)
    manifest = study_flow(str(config), store_url)
    tables = _tables(store_url, manifest.outputs)
    conv = tables[CONVERGENCE.name]
    row = conv.filter(pl.col("proposition_id") == "managers_dominate").row(0, named=True)
    assert row["review_flag"] == "needs re-review: confirmed as agreement, now proposed dissonance"
    assert row["reviewer_note"] == NOTE
    assert conv.filter(pl.col("proposition_id") == "ccgs_constrained").item(0, "review_flag") is None
    rev = tables[REVIEW.name]
    gone = rev.filter(pl.col("proposition_id") == "gone_prop").row(0, named=True)
    assert (gone["in_study"], gone["flag"], gone["note"]) == (False, "proposition removed from study.yaml", "kept")
    # The review file itself is untouched, byte for byte.
    assert store.get(review_key("triangulation.csv")) == review
    report = next(o for o in manifest.outputs if dataset_for(o.dataset) is REPORT_MD)
    md = store.get(report.key).decode("utf-8")
    assert "**needs re-review: confirmed as agreement, now proposed dissonance**" in md
    assert f"~~~text\n{NOTE}\n~~~" in md
    phase = next(p for p in manifest.phases if p.phase == "triangulation")
    assert phase.status == "completed"
