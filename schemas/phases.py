"""The four phases of a study and triangulation, in the order a run takes them."""

from __future__ import annotations

from typing import Literal, get_args

PhaseName = Literal["scoping", "survey_w1", "case_studies", "survey_w2", "triangulation"]
PHASES: tuple[str, ...] = get_args(PhaseName)
# The survey phases share one step list; each runs it for the wave study.yaml assigns it.
SURVEY_PHASES: tuple[str, ...] = ("survey_w1", "survey_w2")
