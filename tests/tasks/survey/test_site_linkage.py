"""A respondent's site through the roster or a lookup table; Likert answers off the scale; none chosen."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.study_config import (
    EXCLUDED_STATUSES,
    RespondentConfig,
    RoleConfig,
    SiteLookup,
    Variable,
)
from tasks.ingest.errors import InputError
from tasks.survey.cleaning import RESPONSE, clean_export
from tasks.survey.instrument import answers_long, recode
from tasks.survey.intake import intake_table, respondent_site_links
from tasks.survey.population import lookup_links, roster_frame

ROLES = {"staff": RoleConfig(label="Staff", group="staff"), "lead": RoleConfig(label="Lead", group="lead")}
VARIABLES = {
    "trust": Variable(type="likert", question="Trust?", column="Q1", labels={str(i): f"l{i}" for i in range(1, 6)},
                      waves=["w1"]),
    "help": Variable(type="multiple_choice", question="Help?", column="Q2_{code}", labels={"1": "A", "2": "B"},
                     waves=["w1"], blank_means="none_chosen"),
}
ROSTER_RESPONDENT = RespondentConfig(
    id_column="ResponseId", role_column="role", role_codes={"1": "staff", "2": "lead"},
    member_column="ExternalReference", status_column="Status", site_from="roster",
)
ROSTER = pl.DataFrame({
    "member_id": ["M1", "M2", "M3", "M4", "M5"],
    "trust_id": ["T1", "T1", "T2", "T9", "T2"],  # T9 is not in the site list
    "role": ["staff", "staff", "lead", "staff", "staff"],
})


def _export(rows: list[tuple[str, str | None, str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"ResponseId": pl.String, "ExternalReference": pl.String, "Status": pl.String, "Q1": pl.String,
                      "Q2_1": pl.String, "Q2_2": pl.String}, orient="row",
    ).with_columns(pl.lit("1").alias("role"))


EXPORT = _export([
    ("R1", "M1", "0", "4", "1", None),
    ("R2", "M3", "0", "2", None, None),   # nothing chosen: "none chosen" in this study
    ("R3", "M4", "0", "3", "1", "1"),     # the roster gives T9, not a site of the study
    ("R4", "M8", "0", "3", "1", None),    # not on the roster
    ("R5", None, "0", "3", "1", None),    # no member id
    ("R6", "M5", "0", "9", "1", None),    # 9 is outside the scale
    ("R7", "M2", "9", "4", "1", None),    # Survey Preview Spam
])


def _clean(respondent: RespondentConfig, links: pl.DataFrame | None, export: pl.DataFrame = EXPORT):
    return clean_export(
        export, respondent=respondent, roles=ROLES, variables=VARIABLES, wave="w1", export_format="qualtrics",
        site_ids=pl.Series(["T1", "T2"]), straightlining_min_items=4, name="staff.csv", site_links=links,
    )


def _roster_links() -> pl.DataFrame:
    from schemas.study_config import RosterConfig

    roster = roster_frame(ROSTER, RosterConfig(path="r.csv", id_column="member_id", site_column="trust_id",
                                               role_column="role"),
                          ROLES, {}, pl.Series(["T1", "T2"]), "w1", b"k" * 32, "r.csv")
    links = respondent_site_links(ROSTER_RESPONDENT, roster, None, "")
    assert links is not None
    return links


def test_site_through_the_roster_with_each_failed_rule_as_the_reason() -> None:
    links = _roster_links()
    # M4's roster row is at a site outside the list: it is not a kept member, so no link.
    assert sorted(links.rows()) == [("M1", "T1"), ("M2", "T1"), ("M3", "T2"), ("M5", "T2")]
    cleaned = _clean(ROSTER_RESPONDENT, links)
    kept = dict(zip(cleaned.kept[RESPONSE].to_list(), cleaned.kept["site_id"].to_list(), strict=True))
    assert kept == {"R1": "T1", "R2": "T2"}
    reasons = dict(zip(cleaned.removed[RESPONSE].to_list(), cleaned.removed["reason"].to_list(), strict=True))
    assert reasons == {
        "R3": "no site: 'ExternalReference' is not in the wave's roster",
        "R4": "no site: 'ExternalReference' is not in the wave's roster",
        "R5": "no site: 'ExternalReference' is blank",
        "R6": "answer 9 to 'trust' is outside the scale 1–5",
        "R7": "excluded status",
    }
    assert cleaned.kept.height + cleaned.removed.height == EXPORT.height
    # No member id is published as a detail.
    assert cleaned.removed.filter(pl.col("step") == "unknown_site")["detail"].to_list() == [None, None, None]
    steps = dict(zip(cleaned.steps["step"].to_list(), cleaned.steps["removed"].to_list(), strict=True))
    assert steps["unknown_site"] == 3 and steps["out_of_scale"] == 1 and steps["exclude_status"] == 1
    # The intake accounting: rows in = kept + quarantined.
    table = intake_table("w1", [("export", "staff.csv", EXPORT.height, cleaned.kept.height, cleaned.removed.height)])
    assert table.row(0) == ("w1", "export", "staff.csv", 7, 2, 5)


def test_site_from_a_lookup_table() -> None:
    respondent = ROSTER_RESPONDENT.model_copy(update={
        "site_from": "lookup", "member_column": None,
        "site_lookup": SiteLookup(path="l.csv", export_column="ExternalReference", key_column="ref",
                                  site_column="trust"),
    })
    lookup = pl.DataFrame({"ref": ["M1", " M3 ", "M4", "M5", "M2", ""], "trust": ["T1", "T2", "T7", "T1", "T2", "T1"]})
    links = lookup_links(lookup, "ref", "trust", "l.csv")
    cleaned = _clean(respondent, links)
    assert dict(zip(cleaned.kept[RESPONSE].to_list(), cleaned.kept["site_id"].to_list(), strict=True)) == {
        "R1": "T1", "R2": "T2"}
    removed = cleaned.removed.filter(pl.col("step") == "unknown_site")
    assert removed.select(RESPONSE, "reason", "detail").rows() == [
        ("R3", "unknown site: the site lookup table gives a site not in the site list", "T7"),
        ("R4", "no site: 'ExternalReference' is not in the site lookup table", None),
        ("R5", "no site: 'ExternalReference' is blank", None),
    ]


def test_a_lookup_key_with_two_sites_is_an_error() -> None:
    with pytest.raises(InputError, match=r"l.csv: column 'ref': each key must link to one site"):
        lookup_links(pl.DataFrame({"ref": ["M1", "M1"], "trust": ["T1", "T2"]}), "ref", "trust", "l.csv")


def test_a_wave_with_no_linked_submission_fails_naming_the_rule_and_key() -> None:
    empty_roster = pl.DataFrame(schema={"link": pl.String, "site_id": pl.String})
    with pytest.raises(InputError) as info:
        _clean(ROSTER_RESPONDENT, empty_roster)
    assert info.value.rule == "a survey wave needs at least one kept submission"
    assert info.value.detail.startswith(
        "5 removed by unknown_site: no site: 'ExternalReference' is not in the wave's roster "
        "(study.yaml survey.respondent.member_column (site_from: roster)); "
    )
    assert "1 removed by exclude_status: excluded status" in info.value.detail


def test_excluded_statuses_cover_every_preview_and_spam() -> None:
    assert {"Survey Preview", "Survey Test", "Spam", "Survey Preview Spam", "Imported Spam",
            "Offline Survey Preview", "EX Spam"} == set(EXCLUDED_STATUSES)
    export = _export([(f"R{k}", "M1", code, "3", "1", None) for k, code in enumerate(
        ("0", "1", "2", "4", "8", "9", "12", "16", "17", "40", "Imported Spam"))])
    cleaned = _clean(ROSTER_RESPONDENT, _roster_links(), export)
    excluded = cleaned.removed.filter(pl.col("step") == "exclude_status")["detail"].to_list()
    assert excluded == ["Survey Preview", "Survey Test", "Spam", "Survey Preview Spam", "Imported Spam",
                        "Offline Survey Preview", "EX Spam", "Imported Spam"]


def test_all_blank_multiple_choice_is_none_chosen_or_missing_as_declared() -> None:
    frame = pl.DataFrame({"_row": [1, 2], "Q1": ["3", "4"], "Q2_1": ["1", None], "Q2_2": [None, None]},
                         schema_overrides={"_row": pl.Int64})
    recoded = recode(frame, VARIABLES, "w1").frame.with_columns(pl.Series("rid", ["R1", "R2"]))
    help_rows = answers_long(recoded, VARIABLES, "w1", "rid").filter(pl.col("variable") == "help")
    assert help_rows.select("respondent_id", "code", "missing").rows() == [("R1", "1", False), ("R2", None, False)]
    missing = {**VARIABLES, "help": VARIABLES["help"].model_copy(update={"blank_means": "missing"})}
    rows = answers_long(recoded, missing, "w1", "rid").filter(pl.col("variable") == "help")
    assert rows.select("respondent_id", "code", "missing").rows() == [("R1", "1", False), ("R2", None, True)]


def test_a_wave_links_sites_through_a_lookup_table_ingested_with_the_study(tmp_path) -> None:
    """The lookup table is an input of the study (ingested, read by intake), not a derived file."""
    import yaml

    from schemas.datasets.survey import INTAKE, REMOVED, RESPONDENTS
    from tasks.storage.tables import parquet_to_table
    from tests.tasks.survey.conftest import build_study
    from tests.tasks.survey.wave_run import run_wave, wave_context

    toy = build_study(tmp_path / "toy", n_sites=12, per_site=6, human=False)
    export = toy.exports["w1"]
    # The lookup says where each member works: the roster's sites, one reference moved.
    lookup = toy.rosters["w1"].select(pl.col("member").alias("ref"), pl.col("site").alias("site_code"))
    # Two rows link nothing: quarantined with their reason, the lookup's rows accounted for.
    lookup = pl.concat([lookup, pl.DataFrame({"ref": ["", "X1"], "site_code": ["S001", None]})])
    lookup.write_csv(toy.root / "ref_sites.csv")
    data = yaml.safe_load(toy.config.read_text())
    respondent = data["survey"]["respondent"]
    respondent.pop("site_column")
    respondent.update({"site_from": "lookup", "site_lookup": {
        "path": "ref_sites.csv", "export_column": "ExternalReference", "key_column": "ref",
        "site_column": "site_code"}})
    toy.config.write_text(yaml.safe_dump(data))
    ctx = wave_context(toy.config, tmp_path / "store")
    assert "survey.site_lookup" in {r.name for r in ctx.inputs}
    run = run_wave(ctx, "w1")

    def table(name: str) -> pl.DataFrame:
        return parquet_to_table(ctx.store().get(run.records[name].key))

    removed = table(REMOVED.resolve(wave="w1"))
    blank = export.filter(pl.col("ExternalReference").is_null() | (pl.col("ExternalReference") == "")).height
    assert removed.filter(pl.col("reason") == "no site: 'ExternalReference' is blank").height == blank > 0
    intake = table(INTAKE.resolve(wave="w1")).filter(pl.col("input") == "export").row(0, named=True)
    assert intake["rows_in"] == export.height == intake["rows_kept"] + intake["rows_quarantined"]
    accounted = table(INTAKE.resolve(wave="w1")).filter(pl.col("input") == "site_lookup")
    assert accounted.select("file", "rows_in", "rows_kept", "rows_quarantined").rows() == [
        ("ref_sites.csv", lookup.height, lookup.height - 2, 2)]
    quarantined = [k for k in ctx.store().list("quarantine/") if k.endswith("site_lookup.parquet")]
    assert parquet_to_table(ctx.store().get(quarantined[0]))["quarantine_reason"].to_list() == [
        "blank key", "blank site id"]
    respondents = table(RESPONDENTS.resolve(wave="w1"))
    assert respondents.height == intake["rows_kept"] > 0
    assert set(respondents["site_id"].to_list()) <= set(toy.sites["code"].to_list())
