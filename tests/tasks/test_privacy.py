"""Keyed pseudonyms: stable per key, different across keys, nulls preserved."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import polars as pl
import pytest

from tasks.privacy import load_pseudonym_key, pseudonym, pseudonymise


def test_pseudonym_is_truncated_hmac_sha256() -> None:
    expected = hmac.new(b"k", b"M00001", hashlib.sha256).hexdigest()[:12]
    assert pseudonym("M00001", b"k") == f"P{expected}"
    assert pseudonym("M00001", b"other") != pseudonym("M00001", b"k")


def test_pseudonymise_series_keeps_nulls_and_name() -> None:
    out = pseudonymise(pl.Series("id", ["a", None, "a"]), b"k", prefix="R")
    assert out.name == "id" and out.dtype == pl.String
    assert out.to_list() == [pseudonym("a", b"k", "R"), None, pseudonym("a", b"k", "R")]


def test_key_from_environment_then_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_STUDY_KEY", "from-env")
    assert load_pseudonym_key("MY_STUDY_KEY", "s") == b"from-env"
    monkeypatch.delenv("MY_STUDY_KEY")
    monkeypatch.setenv("STUDYFLOW_SECRETS_DIR", str(tmp_path / "secrets"))
    first = load_pseudonym_key("MY_STUDY_KEY", "s")
    assert first == load_pseudonym_key("MY_STUDY_KEY", "s") and len(first) == 64
    key_file = tmp_path / "secrets" / "s.pseudonym.key"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
