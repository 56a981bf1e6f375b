"""Step cache keys follow content, code and config; cached results live in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.storage import step_cache
from tasks.storage.step_cache import (
    StoreCache,
    config_section_digest,
    module_closure_digest,
)
from tasks.storage.store import open_store


@pytest.fixture()
def fake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny source tree: tasks/a.py imports tasks.b; tasks/c.py stands alone."""
    pkg = tmp_path / "tasks"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from tasks.b import f\nimport polars\n")
    (pkg / "b.py").write_text("def f():\n    return 1\n")
    (pkg / "c.py").write_text("X = 1\n")
    monkeypatch.setattr(step_cache, "ROOT", tmp_path)
    module_closure_digest.cache_clear()
    yield tmp_path
    module_closure_digest.cache_clear()


def test_code_version_covers_imported_project_modules(fake_root: Path) -> None:
    before_a, before_c = module_closure_digest("tasks.a"), module_closure_digest("tasks.c")
    (fake_root / "tasks" / "b.py").write_text("def f():\n    return 2\n")
    module_closure_digest.cache_clear()
    # a imports b, so a's version moves; c does not import b, so c's does not.
    assert module_closure_digest("tasks.a") != before_a
    assert module_closure_digest("tasks.c") == before_c


def test_config_digest_sees_only_the_declared_sections(demo_study: Path) -> None:
    from schemas.study_config import load_study_config

    config = load_study_config(demo_study)
    changed = config.model_copy(update={"quality": config.quality.model_copy(update={"severity": {"x": "warn"}})})
    assert config_section_digest(config, ("survey",)) == config_section_digest(changed, ("survey",))
    assert config_section_digest(config, ("quality",)) != config_section_digest(changed, ("quality",))


def test_store_cache_round_trip_first_writer_wins(tmp_path: Path) -> None:
    cache = StoreCache(store_url=str(tmp_path))
    key = cache.write_path("survey.intake-abc", b"first")
    assert key == "cache/steps/survey.intake-abc"
    assert cache.write_path("survey.intake-abc", b"second") == key
    assert cache.read_path("survey.intake-abc") == b"first"
    assert open_store(str(tmp_path)).get(key) == b"first"
    with pytest.raises(ValueError, match="no cached step result 'missing'"):
        cache.read_path("missing")
