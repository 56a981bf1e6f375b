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
    PseudonymKeyWeak,
    check_key_strength,
    demo_key_file,
    key_entropy_bits,
    load_pseudonym_key,
    pseudonym,
    pseudonym_key_for,
    pseudonymise,
)

# Keys of 32 random bytes (hex), as `secrets.token_hex(32)` makes them.
FROM_ENV = "0d8f3b6a9c2e4f7a1b5d8e0c3f6a9b2d4e7f0a3c6b9d1e4f7a0c3e6b9d2f5a8c"
FROM_BLOCK = "e2c4a6b8d0f1e3c5a7b9d1f3e5c7a9b0d2f4e6c8a0b1d3f5e7c9a1b3d5f7e9c0"


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
    monkeypatch.setenv("MY_STUDY_KEY", FROM_ENV)
    assert load_pseudonym_key("MY_STUDY_KEY", "s") == FROM_ENV.encode()
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
    monkeypatch.setenv("MY_STUDY_KEY", FROM_ENV)
    cfg = _config(demo_copy, pseudonym_key_env="MY_STUDY_KEY", pseudonym_key_block="not-consulted")
    resolved = pseudonym_key_for(cfg)
    assert resolved.key == FROM_ENV.encode() and resolved.origin == "environment variable MY_STUDY_KEY"
    assert FROM_ENV not in repr(resolved)
    # With the variable set, no demo key file is ever created.
    assert not (demo_copy.parent / ".studyflow").exists()
    assert load_pseudonym_key("MY_STUDY_KEY", STUDY_ID) == FROM_ENV.encode()


@pytest.mark.usefixtures("prefect_harness")
def test_secret_block_is_used_without_the_variable(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.blocks.system import Secret

    name = f"studyflow-test-key-{uuid.uuid4().hex[:8]}"
    Secret(value=FROM_BLOCK).save(name)
    _no_key_in_env(monkeypatch)
    cfg = _config(demo_copy, demo=False, pseudonym_key_block=name)
    resolved = pseudonym_key_for(cfg)
    assert resolved.key == FROM_BLOCK.encode() and name in resolved.origin
    # Callers that know only the names find the block through the source seen for this study.
    assert load_pseudonym_key("STUDYFLOW_PSEUDONYM_KEY", STUDY_ID) == FROM_BLOCK.encode()
    # The variable still wins over the block.
    monkeypatch.setenv("STUDYFLOW_PSEUDONYM_KEY", FROM_ENV)
    assert pseudonym_key_for(cfg).key == FROM_ENV.encode()


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


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("test-only-pseudonym-key", "about 138 bits of entropy, at least 256"),
        ("a" * 100, "about 0 bits of entropy"),
        ("ab" * 64, "about 0 bits of entropy"),
        ("/usr/local/bin:/usr/bin:/bin", "it looks like a path or a list of paths"),
        ("/home/researcher", "it looks like a path or a list of paths"),
        ("correct horse battery staple", "it contains white space"),
        ("0d8f3b6a9c2e4f7a1b5d8e0c3f6a9b2d4e7f0a3c6b9d1e4f7a0c3e6b9d2f5a", "about 248 bits"),  # 31 bytes
    ],
)
def test_values_that_are_not_keys_are_refused(value: str, reason: str) -> None:
    with pytest.raises(PseudonymKeyWeak, match=r"^the pseudonymisation key from environment variable PATH does "
                       r"not look like a key: " + reason.replace("(", r"\(")) as info:
        check_key_strength(value.encode(), "environment variable PATH")
    assert value not in str(info.value)  # the refusal never repeats the value


def test_generated_keys_are_accepted() -> None:
    import secrets

    assert key_entropy_bits(FROM_ENV) == 256
    assert key_entropy_bits(secrets.token_urlsafe(32)) >= 256
    check_key_strength(secrets.token_hex(32).encode(), "x")


def test_a_non_secret_variable_named_as_the_key_refuses_the_run(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _config(demo_copy, pseudonym_key_env="PATH")
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    with pytest.raises(PseudonymKeyWeak, match=r"key from environment variable PATH does not look like a key"):
        pseudonym_key_for(cfg)
