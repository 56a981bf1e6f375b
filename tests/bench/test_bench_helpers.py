"""The bench's own arithmetic and file handling (fast unit tests; no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from statsmodels.stats.proportion import proportion_confint

from tests.bench import study_bench
from tests.bench.pandas_baseline import change, wilson


def test_union_of_intervals_counts_overlaps_once() -> None:
    assert study_bench._union([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0), (5.5, 5.7)]) == pytest.approx(4.0)
    assert study_bench._union([]) == 0.0


def test_summary_splits_task_and_orchestration_time() -> None:
    timings = {
        "events": [
            {"kind": "flow", "name": "study", "start": 2.0, "end": 12.0, "seconds": 10.0},
            {"kind": "phase", "name": "survey_w1", "start": 3.0, "end": 9.0, "seconds": 6.0},
            {"kind": "step", "name": "survey.intake[w1]", "start": 3.0, "end": 6.0, "seconds": 3.0},
            {"kind": "step", "name": "survey.weights[w1]", "start": 5.0, "end": 7.0, "seconds": 2.0},
            {"kind": "gate", "name": "survey_w1", "start": 8.0, "end": 9.0, "seconds": 1.0},
        ],
        "steps_submitted": ["survey.intake[w1]", "survey.weights[w1]", "survey.answers[w1]"],
        "rss_samples": [[3.5, 100], [8.5, 300], [11.0, 900]],
        "peak_rss_bytes": 1000,
    }
    s = study_bench.summarise_run(timings, wall=14.0, rss_tree=2000, rows=700)
    assert (s["flow_seconds"], s["task_seconds"], s["orchestration_seconds"]) == (10.0, 5.0, 5.0)
    assert (s["steps_executed"], s["steps_cached"], s["startup_seconds"]) == (2, 1, 2.0)
    assert s["phase_peak_rss_bytes"] == {"survey_w1": 300}
    assert s["rows_per_second"] == 50


def test_change_one_answer_edits_one_field_of_the_last_submission(tmp_path: Path) -> None:
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump({
        "survey": {
            "waves": {"w2": {"export": "w2.csv", "phase": "survey_w2"}},
            "variables": {"influence_managers": {"column": "Q5", "wave_columns": {"w2": "Q5b"}}},
        }
    }))
    export = tmp_path / "w2.csv"
    rows = ["ResponseId,Q5b,Q9", "Response ID,Managers,Why", '{"ImportId":"r"},{"ImportId":"q5"},{"ImportId":"q9"}',
            'R_1,4,"a, b"', 'R_2,2,"c ""d"""', ",,", ""]
    export.write_bytes("\r\n".join(rows).encode("cp1252"))
    said = study_bench.change_one_answer(export, str(config))
    assert said == "w2.csv line 5: Q5b 2 -> 3"
    assert export.read_bytes().decode("cp1252").split("\r\n")[3:5] == ['R_1,4,"a, b"', 'R_2,3,"c ""d"""']


def test_readme_table_is_replaced_between_its_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{study_bench.README_START}\nold\n{study_bench.README_END}\ntail\n")
    monkeypatch.setattr(study_bench, "ROOT", tmp_path)
    study_bench.update_readme("| new |\n")
    assert readme.read_text() == f"# x\n{study_bench.README_START}\n| new |\n{study_bench.README_END}\ntail\n"


@pytest.mark.parametrize(("k", "n"), [(1, 7), (45, 120), (300, 301)])
def test_baseline_wilson_matches_statsmodels(k: int, n: int) -> None:
    p, low, high = wilson(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert p == k / n
    assert low == pytest.approx(ref_low, abs=1e-9)
    assert high == pytest.approx(ref_high, abs=1e-9)


def test_baseline_wave_change_is_the_difference_with_a_wald_interval() -> None:
    first = {"proportions": {"influence_managers": {"p": 0.25, "n": 400}}}
    second = {"proportions": {"influence_managers": {"p": 0.30, "n": 500}}}
    out = change(first, second)
    se = (0.25 * 0.75 / 400 + 0.30 * 0.70 / 500) ** 0.5
    assert out["difference"] == pytest.approx(0.05, abs=1e-12)
    assert out["low"] == pytest.approx(0.05 - 1.959963984540054 * se, abs=1e-12)
    assert out["p"] == pytest.approx(0.0935069, abs=1e-6)
