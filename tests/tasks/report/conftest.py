"""The report tests reuse the triangulation tests' tiny frames (loaded by path: importlib mode)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

FRAMES = Path(__file__).resolve().parents[1] / "triangulation" / "tiny_frames.py"


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """Factories of codebook, matrix, quotes, survey rows, variables, propositions and study.yaml."""
    spec = importlib.util.spec_from_file_location("report_tiny_frames", FRAMES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
