"""`pseudonymise` (keyed states computed once, one HMAC per distinct value) equals `pseudonym` per value."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from tasks.privacy import _pseudonyms, pseudonym, pseudonymise

KEY = bytes.fromhex("0d8f3b6a9c2e4f7a1b5d8e0c3f6a9b2d4e7f0a3c6b9d1e4f7a0c3e6b9d2f5a8c")


@pytest.mark.parametrize("key", [b"", b"k", KEY, KEY * 2 + b"x", b"\x00" * 64, b"\xff" * 65])
def test_keyed_states_give_hmac_sha256_for_any_key_length(key: bytes) -> None:
    values = ["M00001", "", "ünïcödé 日本", "a" * 200]
    expected = [f"R{hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:12]}" for v in values]
    assert _pseudonyms(values, key, "R") == expected


@pytest.mark.parametrize(
    "values",
    [
        pl.Series("id", ["a", None, "a", "é", "日本", "", " a", "a"]),  # duplicates: mapped back by value
        pl.Series("id", ["x1", "x2", None]),  # all distinct
        pl.Series("n", [1, 2, None, 1]),
        pl.Series("f", [1.0, float("nan"), None, 1e20, -0.0, 0.0]),  # 0.0 and -0.0 print differently
        pl.Series("z", [None, None]),
        pl.Series("e", [], dtype=pl.String),
        pl.Series("c", ["x", "y", None, "x"], dtype=pl.Categorical),
        pl.Series("b", [True, None, False, True]),
    ],
)
def test_pseudonymise_equals_pseudonym_per_value(values: pl.Series) -> None:
    out = pseudonymise(values, KEY, prefix="R")
    assert out.name == values.name and out.dtype == pl.String
    assert out.to_list() == [None if v is None else pseudonym(str(v), KEY, "R") for v in values.to_list()]
