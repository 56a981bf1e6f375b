"""A study linked as real exports link it runs end to end with no derived input files.

Sites through the roster (ExternalReference -> roster member id -> roster service), cases named
by service, wave 1 an SPSS .sav, three coders (tests/fixtures/third_study/make_third_study.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from schemas.datasets.qualitative import CASES, CASES_SEGMENTS, CASES_SOURCES, RELIABILITY
from schemas.datasets.survey import ANSWERS, INTAKE, REMOVED, RESPONDENTS
from schemas.phases import PHASES
from tasks.qualitative.reliability import POOLED
from tasks.storage.catalog import quarantine_prefix
from tasks.storage.store import open_store
from tests.fixtures.studies import make_fixture_study

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_third_study_runs_end_to_end_with_sites_through_the_roster_and_case_names(tmp_path: Path) -> None:
    from flows.study import study_flow

    config = make_fixture_study("third_study", tmp_path / "study")
    store_url = str(tmp_path / "store")
    manifest = study_flow(str(config), store_url)
    assert manifest.complete
    assert [p.status for p in manifest.phases] == ["completed"] * len(PHASES)
    store = open_store(store_url)

    def table(name: str) -> pl.DataFrame:
        return pl.read_parquet(io.BytesIO(store.get(manifest.output(name).key)))

    # Wave 1 (.sav): 45 rows = 40 kept + 5 removed, each with the rule that removed it.
    removed = table(REMOVED.resolve(wave="w2023"))
    assert sorted(removed["reason"].to_list()) == [
        "answer 9 to 'conf_lead' is outside the scale 1–5",
        "excluded status",
        "excluded status",
        "no site: 'ExternalReference' is blank",
        "no site: 'ExternalReference' is not in the wave's roster",
    ]
    assert sorted(removed.filter(pl.col("step") == "exclude_status")["detail"].to_list()) == [
        "Survey Preview", "Survey Preview Spam"]
    intake = table(INTAKE.resolve(wave="w2023"))
    assert intake.select("input", "rows_in", "rows_kept", "rows_quarantined").rows() == [
        ("sites", 8, 8, 0), ("roster", 73, 72, 1), ("export", 45, 40, 5)]
    # Every kept respondent's service came through the roster.
    respondents = table(RESPONDENTS.resolve(wave="w2023"))
    by_site = dict(respondents.group_by("site_id").len().sort("site_id").iter_rows())
    assert sum(by_site.values()) == 40 and set(by_site) <= {f"LS{k:02d}" for k in range(1, 9)}
    assert by_site == {"LS01": 5, "LS02": 7, "LS03": 5, "LS04": 6, "LS05": 5, "LS06": 4, "LS07": 6, "LS08": 2}
    # Ticking no partner is an answer here (blank_means: none_chosen), not a missing item.
    partners = table(ANSWERS.resolve(wave="w2023")).filter(pl.col("variable") == "partners")
    # (The two planted, and eight who happened to tick none.)
    assert partners.filter(pl.col("code").is_null())["missing"].to_list() == [False] * 10
    # Wave 2 (Qualtrics CSV) follows the same rule.
    assert sorted(table(REMOVED.resolve(wave="w2024"))["reason"].to_list()) == sorted(removed["reason"].to_list())

    # Case studies: the site is read from the case name; "Pilot visit" matches no service.
    cases = table(CASES.resolve())
    assert cases.select("case", "site_ids").sort("case").rows() == [
        ("Service LS02", "LS02"), ("Service LS05", "LS05"), ("Service LS07", "LS07")]
    sources = table(CASES_SOURCES.resolve())
    # Three coders double-coded: every coder's segments are read.
    assert sorted(set(table(CASES_SEGMENTS.resolve())["coder"].to_list())) == ["ana", "ben", "cleo"]
    assert sources.height == 9 and sorted(set(sources["site_id"].to_list())) == ["LS02", "LS05", "LS07"]
    quarantined = [k for k in store.list(quarantine_prefix(manifest.run_id)) if "cases" in k and "sources" in k]
    assert len(quarantined) == 1
    rows = pl.read_parquet(io.BytesIO(store.get(quarantined[0])))
    assert rows.select("name", "quarantine_reason").sort("name").rows() == [
        (f"Pilot visit interview {i}",
         r"no site: case name 'Pilot visit' does not match qualitative.case_studies.site_pattern "
         r"'^Service (?P<site>LS\d{2})$'")
        for i in (1, 2, 3)
    ]
    # Reliability compares every pair of the three coders and all three together, at each unit.
    reliability = table(RELIABILITY.resolve()).filter(pl.col("code_id") == POOLED)
    assert sorted(set(reliability.select("comparison", "coders").rows())) == [
        ("all coders", "ana, ben, cleo"), ("pair", "ana vs ben"), ("pair", "ana vs cleo"), ("pair", "ben vs cleo")]
    assert reliability.group_by("coders").agg(pl.col("unit").sort()).sort("coders")["unit"].to_list() == [
        ["character", "presence", "segment"]] * 4
    assert reliability.filter(pl.col("comparison") == "all coders")["kappa_type"].unique().to_list() == ["Fleiss"]
