"""Roster and site-list rows left out are quarantined with a reason, never dropped silently."""

from __future__ import annotations

import polars as pl

from schemas.study_config import RoleConfig, RosterConfig, SitesConfig
from tasks.survey.population import rejected_site_rows, roster_frame

ROSTER = RosterConfig(path="r.csv", id_column="id", site_column="site", role_column="role")
ROLES = {"gp": RoleConfig(label="GP", group="gp")}


def test_roster_rows_left_out_carry_their_reason() -> None:
    table = pl.DataFrame(
        {
            "id": ["a", "a", "b", "c", None, "d", "a"],
            "site": ["X", "X", "Y", "X", "X", "X", "Z"],
            "role": ["gp", "gp", "gp", "??", "gp", "gp", "gp"],
        }
    )
    roster = roster_frame(table, ROSTER, ROLES, {}, pl.Series(["X"]), "w1", b"k", "r.csv")
    assert roster.frame.height == 2  # a (once), d
    assert roster.rejected.select("id", "site", "quarantine_reason").rows() == [
        ("a", "X", "repeated member id"),
        ("b", "Y", "site not in the site list"),
        ("c", "X", "unknown role"),
        (None, "X", "blank member id"),
        ("a", "Z", "site not in the site list"),
    ]
    assert table.height == roster.frame.height + roster.rejected.height
    assert (roster.unknown_site, roster.unknown_role, roster.duplicates) == (2, 1, 1)


def test_a_blank_or_empty_member_id_is_quarantined_and_noted() -> None:
    table = pl.DataFrame({"id": ["  ", None, "b"], "site": ["X", "X", "X"], "role": ["gp", "gp", "gp"]})
    roster = roster_frame(table, ROSTER, ROLES, {}, pl.Series(["X"]), "w1", b"k", "r.csv")
    assert roster.frame.height == 1
    assert roster.rejected.select("id", "quarantine_reason").rows() == [
        ("  ", "blank member id"), (None, "blank member id")
    ]
    assert "roster: 2 row(s) with a blank member id quarantined" in roster.notes


def test_roster_row_with_a_blank_site_is_quarantined() -> None:
    table = pl.DataFrame({"id": ["a", "b"], "site": [None, "X"], "role": ["gp", "gp"]})
    roster = roster_frame(table, ROSTER, ROLES, {}, pl.Series(["X"]), "w1", b"k", "r.csv")
    assert roster.frame["site_id"].to_list() == ["X"]
    assert roster.rejected.select("id", "quarantine_reason").rows() == [
        ("a", "site not in the site list")
    ]


def test_a_member_rejected_first_is_still_kept_once() -> None:
    table = pl.DataFrame({"id": ["a", "a"], "site": ["Z", "X"], "role": ["gp", "gp"]})
    roster = roster_frame(table, ROSTER, ROLES, {}, pl.Series(["X"]), "w1", b"k", "r.csv")
    assert roster.frame["site_id"].to_list() == ["X"]
    assert roster.rejected["quarantine_reason"].to_list() == ["site not in the site list"]


def test_site_rows_without_an_id_are_quarantined() -> None:
    sites = SitesConfig(path="s.csv", id_column="code")
    table = pl.DataFrame({"code": ["S1", " ", None, "S2"], "name": ["a", "b", "c", "d"]})
    rejected = rejected_site_rows(table, sites)
    assert rejected["name"].to_list() == ["b", "c"]
    assert set(rejected["quarantine_reason"]) == {"blank site id"}
