"""The triangulation step against a real local store: upstream tables in, three tables out."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
import yaml

from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.storage.catalog import review_key
from tasks.triangulation.qualitative import PropositionError
from tasks.triangulation.steps import triangulation_step

PROPOSITIONS = [
    {"id": "p1_constrained", "statement": "CCGs are constrained by other bodies", "themes": ["Political context"],
     "quantitative": {"variable": "influence", "compare_waves": True}, "expect": "majority"},
    {"id": "p2_managers", "statement": "Managers gained influence", "themes": ["Time pressure"],
     "quantitative": {"variable": "influence"}, "expect": "increase"},
]


def _context(tmp_path: Path, tf: ModuleType, propositions: list[dict]) -> tuple[RunContext, dict[str, OutputRecord]]:
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(tf.study_config(propositions)), encoding="utf-8")
    up = RunContext(store_url=str(tmp_path / "store"), run_id="run-up", config_path=str(config))
    frames = {
        "cases.codebook": tf.codebook(), "cases.matrix": tf.matrix(), "cases.quotes": tf.quotes(),
        "survey.w1.estimates": pl.DataFrame([tf.estimate("w1", "influence", "key", "1", 0.62, 0.55, 0.69)]),
        "survey.w2.estimates": pl.DataFrame([tf.estimate("w2", "influence", "key", "1", 0.58, 0.52, 0.64)]),
        "survey.w2.change": pl.DataFrame([tf.change("influence", 0.05, 0.01, 0.09)]),
    }
    upstream = {name: up.write_table(name, frame, "case_studies" if name.startswith("cases") else "survey_w1")
                for name, frame in frames.items()}
    return up.model_copy(update={"run_id": "run-tri"}), upstream


def test_step_publishes_three_valid_tables(tmp_path: Path, tf: ModuleType) -> None:
    ctx, upstream = _context(tmp_path, tf, PROPOSITIONS)
    result = triangulation_step(ctx, upstream)
    out = result.by_dataset()
    assert set(out) == {"triangulation.joint_displays", "triangulation.meta_matrix", "triangulation.convergence"}
    assert all(o.key.startswith("runs/run-tri/triangulation/") and o.phase == "triangulation" for o in result.outputs)
    conv = ctx.read_table(out["triangulation.convergence"])
    assert conv["convergence"].to_list() == ["agreement", "partial agreement"]
    assert conv["reviewer_status"].to_list() == ["unreviewed", "unreviewed"]
    assert out["triangulation.meta_matrix"].rows == 8
    assert result.summary["agreement"] == 1 and result.summary["review_file"] == "absent"


def test_step_joins_the_review_and_never_writes_it(tmp_path: Path, tf: ModuleType) -> None:
    ctx, upstream = _context(tmp_path, tf, PROPOSITIONS)
    review = b"\xef\xbb\xbfproposition_id,status,note\np2_managers,disputed,small change\np1_constrained,confirmed,\n"
    store = ctx.store()
    store.put(review_key("triangulation.csv"), review)
    before = store.head(review_key("triangulation.csv"))
    result = triangulation_step(ctx, upstream)
    conv = ctx.read_table(result.by_dataset()["triangulation.convergence"])
    assert conv["reviewer_status"].to_list() == ["confirmed", "disputed"]
    assert conv["reviewer_note"].to_list() == [None, "small change"]
    assert store.get(review_key("triangulation.csv")) == review
    assert store.head(review_key("triangulation.csv")).sha256 == before.sha256
    assert all(not o.key.startswith("review/") for o in result.outputs)
    assert result.summary["reviewed"] == 2


def test_step_names_a_missing_theme(tmp_path: Path, tf: ModuleType) -> None:
    bad = [{**PROPOSITIONS[0], "themes": ["Vicious circle"]}]
    ctx, upstream = _context(tmp_path, tf, bad)
    with pytest.raises(PropositionError, match="'p1_constrained': theme 'Vicious circle'"):
        triangulation_step(ctx, upstream)


def test_step_without_propositions_publishes_empty_tables(tmp_path: Path, tf: ModuleType) -> None:
    ctx, _ = _context(tmp_path, tf, [])
    result = triangulation_step(ctx, {})
    assert [o.rows for o in result.outputs] == [0, 0, 0]
