"""Keyed pseudonyms: stable per key, different across keys, nulls preserved."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tasks.privacy import (
    PseudonymKeyMissing,
    demo_key_file,
    load_pseudonym_key,
    pseudonym,
    pseudonym_key_for,
    pseudonymise,
)


def test_pseudonym_is_truncated_hmac_sha256() -> None:
    expected = hmac.new(b"k", b"M00001", hashlib.sha256).hexdigest()[:12]
    assert pseudonym("M00001", b"k") == f"P{expected}"
    assert pseudonym("M00001", b"other") != pseudonym("M00001", b"k")


def test_pseudonymise_series_keeps_nulls_and_name() -> None:
    out = pseudonymise(pl.Series("id", ["a", None, "a"]), b"k", prefix="R")
    assert out.name == "id" and out.dtype == pl.String
    assert out.to_list() == [pseudonym("a", b"k", "R"), None, pseudonym("a", b"k", "R")]


def test_names_only_lookup_uses_the_variable_and_never_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_STUDY_KEY", "from-env")
    assert load_pseudonym_key("MY_STUDY_KEY", "s") == b"from-env"
    monkeypatch.delenv("MY_STUDY_KEY")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PseudonymKeyMissing, match="MY_STUDY_KEY"):
        load_pseudonym_key("MY_STUDY_KEY", "s")
    assert not (tmp_path / ".studyflow").exists()


# --- where the key comes from: environment, then Secret block, then (demo only) a study file ---

STUDY_ID = "ccg_clinical_leadership"


def _config(study_yaml: Path, **study: object) -> Any:
    from schemas.study_config import load_study_config

    cfg = load_study_config(study_yaml)
    return cfg.model_copy(update={"study": cfg.study.model_copy(update=study)})


def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDYFLOW_PSEUDONYM_KEY", raising=False)


def test_the_demo_generator_marks_its_study_as_demo(demo_study: Path) -> None:
    from schemas.study_config import load_study_config

    meta = load_study_config(demo_study).study
    assert meta.demo is True and meta.pseudonym_key_block is None


def test_environment_variable_wins(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_STUDY_KEY", "from-env")
    cfg = _config(demo_copy, pseudonym_key_env="MY_STUDY_KEY", pseudonym_key_block="not-consulted")
    resolved = pseudonym_key_for(cfg)
    assert resolved.key == b"from-env" and resolved.origin == "environment variable MY_STUDY_KEY"
    assert "from-env" not in repr(resolved)
    # With the variable set, no demo key file is ever created.
    assert not (demo_copy.parent / ".studyflow").exists()
    assert load_pseudonym_key("MY_STUDY_KEY", STUDY_ID) == b"from-env"


@pytest.mark.usefixtures("prefect_harness")
def test_secret_block_is_used_without_the_variable(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    name = f"studyflow-test-key-{uuid.uuid4().hex[:8]}"
    Secret(value="from-block").save(name)
    _no_key_in_env(monkeypatch)
    cfg = _config(demo_copy, demo=False, pseudonym_key_block=name)
    resolved = pseudonym_key_for(cfg)
    assert resolved.key == b"from-block" and name in resolved.origin
    # Callers that know only the names find the block through the source seen for this study.
    assert load_pseudonym_key("STUDYFLOW_PSEUDONYM_KEY", STUDY_ID) == b"from-block"
    # The variable still wins over the block.
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", "from-env")
    assert pseudonym_key_for(cfg).key == b"from-env"


def test_demo_key_file_is_anchored_to_the_study_folder(
    demo_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_key_in_env(monkeypatch)
    cfg = _config(demo_copy)
    assert cfg.study.demo
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    first = pseudonym_key_for(cfg).key
    key_file = demo_copy.parent / ".studyflow" / "secrets" / f"{STUDY_ID}.pseudonym.key"
    assert key_file == demo_key_file(demo_copy.parent, STUDY_ID)
    assert key_file.read_text().strip().encode() == first and len(first) == 64
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert not (elsewhere / ".studyflow").exists()
    # Another working directory (another worker) finds the same key.
    monkeypatch.chdir(demo_copy.parent.parent)
    assert pseudonym_key_for(cfg).key == first
    assert not (demo_copy.parent.parent / ".studyflow").exists()


def test_outside_demo_mode_without_variable_or_block_refuses(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_key_in_env(monkeypatch)
    with pytest.raises(PseudonymKeyMissing) as err:
        pseudonym_key_for(_config(demo_copy, demo=False))
    message = str(err.value)
    assert "STUDYFLOW_PSEUDONYM_KEY" in message and "study.pseudonym_key_block" in message
    assert not (demo_copy.parent / ".studyflow").exists()


@pytest.mark.usefixtures("prefect_harness")
def test_a_missing_block_is_named_in_the_refusal(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_key_in_env(monkeypatch)
    with pytest.raises(PseudonymKeyMissing, match="'no-such-studyflow-key' does not exist") as err:
        pseudonym_key_for(_config(demo_copy, demo=False, pseudonym_key_block="no-such-studyflow-key"))
    assert "STUDYFLOW_PSEUDONYM_KEY" in str(err.value)
