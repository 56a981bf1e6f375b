"""Datasets about the sites studied and the people who could respond (the denominators)."""

from __future__ import annotations

from schemas.datasets import Dataset
from schemas.sites import Roster, Sites

SITES = Dataset("survey.{wave}.sites", "survey.intake", "survey", Sites,
                description="the sites of the wave with their attributes")
ROSTER = Dataset("survey.{wave}.roster", "survey.intake", "survey", Roster,
                 description="the wave's roster, members pseudonymised")
