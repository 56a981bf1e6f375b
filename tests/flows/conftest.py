"""Flow tests share one Prefect harness and one generated demo study per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study's inputs, generated once (seed 2013, scale 1); returns study.yaml."""
    from tasks.demo.generator import generate_demo_study

    out = tmp_path_factory.mktemp("demo")
    return Path(generate_demo_study(out, seed=2013, scale=1).config_path)


@pytest.fixture()
def demo_copy(demo_study: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the demo study a test may modify; returns its study.yaml."""
    target = tmp_path / "study"
    shutil.copytree(demo_study.parent, target)
    yield target / "study.yaml"
