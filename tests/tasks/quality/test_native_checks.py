"""The gate's native (polars) checks agree with Great Expectations, and large frames are sampled."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import tasks.quality.gx as gx
from schemas.expectations import Check
from tasks.quality.native_checks import NotNative, evaluate, natively_checkable

SITES = [f"S{i:03d}" for i in range(150)]
FRAME = pl.DataFrame(
    {
        "respondent_id": ["r1", "r2", "r3", "r3", "r5", None],
        "site_id": ["S001", "S002", "X999", "S003", None, "S004"],
        "role": ["head", "teacher", "teacher", "cook", "head", "head"],
        "score": [1.0, 5.0, 7.0, None, -1.0, 3.0],
        "roster": [3, 2, 1, None, 5, 0],
        "respondents": [2, 2, 3, 1, None, 1],
        "code": ["a", "b", "a", "b", "a", "a"],
    }
)
CHECKS = [
    Check("rows", "ExpectTableRowCountToBeBetween", {"min_value": 1, "max_value": 5}),
    Check("columns", "ExpectTableColumnsToMatchSet", {"column_set": ["site_id", "role"], "exact_match": False}),
    Check("mean", "ExpectColumnMeanToBeBetween", {"column": "score", "min_value": 0, "max_value": 4}),
    Check("distinct", "ExpectColumnDistinctValuesToEqualSet", {"column": "code", "value_set": ["a", "b"]}),
    Check("not_null", "ExpectColumnValuesToNotBeNull", {"column": "respondent_id"}),
    Check("role_in_set", "ExpectColumnValuesToBeInSet", {"column": "role", "value_set": ["head", "teacher"]}),
    Check("site_in_set", "ExpectColumnValuesToBeInSet", {"column": "site_id", "value_set": SITES}),
    Check("between", "ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 0, "max_value": 5}),
    Check("unique", "ExpectColumnValuesToBeUnique", {"column": "respondent_id"}),
    Check("compound", "ExpectCompoundColumnsToBeUnique", {"column_list": ["role", "code"]}),
    Check("pair", "ExpectColumnPairValuesAToBeGreaterThanB",
          {"column_A": "roster", "column_B": "respondents", "or_equal": True,
           "ignore_row_if": "either_value_is_missing"}),
]
COMPARED = ["check", "success", "element_count", "unexpected_count"]


def _results(tmp: Path, full_rows: int, monkeypatch: pytest.MonkeyPatch) -> pl.DataFrame:
    monkeypatch.setattr(gx, "GX_FULL_ROWS", full_rows)
    report = gx.run_checkpoint(
        "t", {"survey.w1.respondents": FRAME}, {"survey.w1.respondents": CHECKS}, tmp,
        row_keys={"survey.w1.respondents": ["respondent_id"]}, build_docs=False,
    )
    return report.results


def test_native_results_equal_great_expectations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_gx = _results(tmp_path / "gx", 10**9, monkeypatch)
    native = _results(tmp_path / "native", 0, monkeypatch)
    assert native.select(COMPARED).to_dicts() == by_gx.select(COMPARED).to_dicts()
    unexpected = dict(zip(native["check"], native["unexpected_count"], strict=True))
    assert {k: unexpected[k] for k in ("not_null", "role_in_set", "site_in_set", "between", "unique")} == {
        "not_null": 1, "role_in_set": 1, "site_in_set": 1, "between": 2, "unique": 2,
    }
    # compound (role, code): (head, a) three times; pair: roster below respondents in two rows.
    assert (unexpected["compound"], unexpected["pair"]) == (3, 2)
    success = dict(zip(native["check"], native["success"], strict=True))
    assert (success["rows"], success["columns"], success["mean"], success["distinct"]) == (False, True, True, True)


def test_observed_text_names_the_rows(tmp_path: Path) -> None:
    result = evaluate(CHECKS[8], FRAME, ["respondent_id"])
    assert result["observed"] == "2 of 6 unexpected: respondent_id=r3; respondent_id=r3"
    assert evaluate(CHECKS[5], FRAME)["observed"] == '1 of 6 unexpected, e.g. ["cook"]'
    assert evaluate(CHECKS[2], FRAME)["observed"] == "3.0"


def test_unsupported_expectation_is_refused() -> None:
    odd = Check("regex", "ExpectColumnValuesToMatchRegex", {"column": "role", "regex": "^h"})
    assert not natively_checkable([*CHECKS, odd])
    with pytest.raises(NotNative, match="regex"):
        evaluate(odd, FRAME)


def test_large_frames_are_checked_natively_and_sampled_for_the_docs() -> None:
    big = pl.DataFrame({"site_id": [SITES[i % 150] for i in range(1000)] + ["X1"]})
    sample = gx.systematic_sample(big, 100)
    assert sample.height == 91 and sample["site_id"][0] == "S000" and sample["site_id"][1] == "S011"
    check = Check("site_in_set", "ExpectColumnValuesToBeInSet", {"column": "site_id", "value_set": SITES},
                  why="Sites must be known.")
    native = {check.name: evaluate(check, big)}
    frame, checks = gx.sampled_checks([check, CHECKS[0]], native, sample, big.height)
    # The 150-value set becomes a flag column computed by polars; whole-table checks are left out.
    flag = "site_id in value set (150 values)"
    assert [c.name for c in checks] == ["site_in_set"]
    assert dict(checks[0].kwargs) == {"column": flag, "value_set": [True]}
    assert frame[flag].all()
    assert checks[0].why.startswith("Sites must be known.\n\nAll 1,001 rows were checked by polars: FAILED")
