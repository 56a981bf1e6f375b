"""The input files a study declares, by logical name: declared once, here.

A run ingests each file study.yaml names into raw/ under one of these names (a name ending in
"." is a family of numbered files, e.g. "qual.scoping.000"); steps declare which they read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputFile:
    """A logical input: its name pattern and what it holds."""

    name: str
    description: str = ""

    def resolve(self, **parts: str) -> str:
        """The concrete logical name, e.g. EXPORT.resolve(wave="w2014")."""
        return self.name.format(**parts)

    @property
    def is_family(self) -> bool:
        """Whether the name is a prefix of numbered or keyed files."""
        return self.name.endswith(".")


SITES = InputFile("sites", "the sites table (CSV or XLSX)")
EXPORT = InputFile("survey.{wave}.export", "a wave's survey export (Qualtrics, REDCap, CSV, XLSX)")
ROSTER = InputFile("survey.{wave}.roster", "a wave's roster of members who could respond")
DICTIONARY = InputFile("survey.{wave}.dictionary", "a REDCap data dictionary")
SITE_LOOKUP = InputFile("survey.site_lookup", "a lookup table from an export value to a respondent's site")
HUMAN_CODED = InputFile("survey.freetext.", "human-coded free-text samples, one per dictionary")
CODEBOOK = InputFile("qual.codebook", "the qualitative codebook (.qdc or .qdpx)")
SCOPING_PROJECTS = InputFile("qual.scoping.", "scoping interview projects (.qdpx or coded CSV)")
CASE_PROJECTS = InputFile("qual.cases.", "case-study projects (.qdpx or coded CSV)")
SITE_MAPS = InputFile("qual.site_map.", "case name -> site id tables, one per qualitative phase")
REVIEW = InputFile("review.", "researcher-owned review files kept in the store")


def human_coded_name(dictionary: str) -> str:
    """Logical name of the human-coded sample of one free-text dictionary."""
    return f"{HUMAN_CODED.name}{dictionary}.human"


def site_map_name(section: str) -> str:
    """Logical name of the case-to-site mapping of a qualitative section (scoping, case_studies)."""
    return f"{SITE_MAPS.name}{section}"
