"""The real Qualtrics and REDCap sample exports (from the shared samples folder) as fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / ".." / "shared" / "samples"
QUALTRICS_SAMPLE = SAMPLES / "qualtrics" / "qualtRics-sample.csv"
REDCAP_DATA = SAMPLES / "redcap" / "REDCapR-survey-data.csv"
REDCAP_DICTIONARY = SAMPLES / "redcap" / "REDCapR-checkboxes-dictionary.csv"


@pytest.fixture(scope="module")
def qualtrics_sample() -> bytes:
    """The qualtRics package's sample export."""
    return QUALTRICS_SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def redcap_sample() -> bytes:
    """REDCapR's sample survey data export."""
    return REDCAP_DATA.read_bytes()


@pytest.fixture(scope="module")
def redcap_dictionary() -> bytes:
    """REDCapR's sample data dictionary with checkbox fields."""
    return REDCAP_DICTIONARY.read_bytes()
