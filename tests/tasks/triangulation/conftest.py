"""Tiny hand-made upstream frames (tiny_frames.py) offered to the triangulation tests as a fixture."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

FRAMES = Path(__file__).with_name("tiny_frames.py")


def load_frames() -> ModuleType:
    """The tiny_frames helper module (tests run with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location("triangulation_tiny_frames", FRAMES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """Factories of codebook, matrix, quotes, survey rows, variables and propositions."""
    return load_frames()
