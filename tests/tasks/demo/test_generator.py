"""The bundled demo study: deterministic, in real formats, and calibrated to the published figures."""

from __future__ import annotations

import importlib.util
import io
import re
import zipfile
from collections import Counter
from pathlib import Path

import defusedxml.ElementTree as SafeET
import polars as pl
import pytest

from schemas.study_config import load_study_config
from tasks.demo.generator import CASE_PLAN, DemoStudy, generate_demo_study
from tasks.demo.respondents import ROLE_PROFILE, TARGETS, round_half_up
from tasks.demo.sites import exact_counts
from tasks.demo.text import dictionary_codes
from tasks.ingest.coded_segments_csv import read_coded_segments_csv
from tasks.ingest.qdpx import read_qdc, read_qdpx
from tasks.ingest.qualtrics import qualtrics_status_label
from tasks.ingest.survey_export import SurveyExport, read_survey_export
from tasks.ingest.tables import read_table

SEED = 2013
WAVES = {"w2014": ("survey/wave1_2014.csv", "rosters/board_2014.csv"),
         "w2016": ("survey/wave2_2016.csv", "rosters/board_2016.xlsx")}
EXCLUDED = {"Survey Preview", "Survey Test", "Spam"}
GRID = ["Q5_1", "Q5_2", "Q5_3", "Q5_4", "Q5_5"]
SMALL = Path(__file__).resolve().parents[2] / "fixtures" / "small_study" / "make_small_study.py"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStudy:
    return generate_demo_study(tmp_path_factory.mktemp("demo"), seed=SEED)


@pytest.fixture(scope="module")
def root(demo: DemoStudy) -> Path:
    return demo.config_path.parent


def _export(root: Path, wave: str) -> SurveyExport:
    path = WAVES[wave][0]
    return read_survey_export((root / path).read_bytes(), path, "qualtrics")


def _roster(root: Path, wave: str) -> pl.DataFrame:
    path = WAVES[wave][1]
    return read_table((root / path).read_bytes(), path).frame


def _sites(root: Path) -> pl.DataFrame:
    return read_table((root / "sites/ccgs.csv").read_bytes(), "ccgs.csv").frame


def _clean(data: pl.DataFrame, site_ids: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """The cleaning rules of the brief: status, unknown site, repeat submissions (most complete, latest)."""
    removed = {}
    status = data["Status"].map_elements(qualtrics_status_label, return_dtype=pl.String)
    kept = data.filter(~status.is_in(list(EXCLUDED)))
    removed["status"] = data.height - kept.height
    before = kept.height
    kept = kept.filter(pl.col("SiteID").is_in(site_ids))
    removed["unknown_site"] = before - kept.height
    answered = pl.sum_horizontal(pl.col(c).is_not_null().cast(pl.Int64) for c in data.columns if c.startswith("Q"))
    before = kept.height
    kept = (
        kept.with_columns(answered.alias("_answered"))
        .sort(["_answered", "RecordedDate"], descending=True)
        .unique("ExternalReference", keep="first", maintain_order=True)
        .drop("_answered")
    )
    removed["duplicates"] = before - kept.height
    return kept, removed


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
    demo: DemoStudy, tmp_path: Path
) -> None:
    again = generate_demo_study(tmp_path / "again", seed=SEED)
    root, other = demo.config_path.parent, again.config_path.parent
    mine = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert mine == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    assert "rosters/board_2016.xlsx" in {str(p) for p in mine}
    for rel in mine:
        assert (root / rel).read_bytes() == (other / rel).read_bytes(), rel
    different = generate_demo_study(tmp_path / "other", seed=SEED + 1)
    for wave_path, _ in WAVES.values():
        assert (different.config_path.parent / wave_path).read_bytes() != (root / wave_path).read_bytes()


def test_roster_workbook_carries_no_clock_time(root: Path) -> None:
    with zipfile.ZipFile(root / "rosters/board_2016.xlsx") as book:
        assert {info.date_time for info in book.infolist()} == {(2016, 9, 1, 9, 0, 0)}
        core = book.read("docProps/core.xml").decode("utf-8")
    assert core.count("2016-09-01T09:00:00Z") == 2
    roster = _roster(root, "w2016")
    assert roster.columns == ["member_id", "ccg_code", "role"] and roster.height > 3500


def test_study_yaml_loads_and_names_the_codebook_nodes(root: Path) -> None:
    cfg = load_study_config(root / "study.yaml")
    assert set(cfg.survey.variables) >= {
        "role", "influence_body", "redesign_player", "collaboration_neighbours", "influence_gps",
        "influence_managers", "influence_lay", "influence_secondary_care", "influence_nurses",
        "vision_lead", "communication_lead", "coalition_lead", "board_years", "obstacles_text",
        "gp_contribution_text", "impacts_text",
    }
    assert cfg.survey.variables["redesign_player"].waves == ["w2016"]
    assert cfg.survey.variables["board_years"].column_for("w2016") == "Q9_1"
    assert cfg.survey.freetext["obstacles"].human_coded == "survey/obstacles_human_coded.csv"
    assert len(cfg.triangulation.propositions) == 7
    codes = read_qdc((root / cfg.qualitative.codebook).read_bytes(), "codebook.qdc")
    paths = set(codes["path"].to_list())
    assert cfg.qualitative.area_theme in paths and cfg.qualitative.maturity_theme in paths
    assert codes["depth"].max() == 3
    for prop in cfg.triangulation.propositions:
        for theme in prop.themes:
            assert theme in paths, theme
        names = set(codes["name"].to_list())
        for ref in (*prop.supporting, *prop.contradicting):
            assert ref in paths or ref in names, ref
        assert prop.quantitative.variable in cfg.survey.variables
    for wave in cfg.survey.waves.values():
        for path in (wave.export, wave.roster.path):
            assert cfg.resolve(path)[0].exists()
    assert len(cfg.resolve(cfg.qualitative.case_studies.projects[0])) == 6


def test_export_formats(root: Path) -> None:
    wave1 = (root / WAVES["w2014"][0]).read_bytes()
    wave2 = (root / WAVES["w2016"][0]).read_bytes()
    assert wave1.startswith(b"\xef\xbb\xbf")
    wave1.decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        wave2.decode("utf-8")
    text2 = wave2.decode("cp1252")
    for char in ("\u2019", "\u2013", "é", "£"):
        assert char in text2, char
    tail = text2.split("\r\n")[-4:-1]
    assert len(tail) == 3 and all(line and set(line) == {","} for line in tail)  # blank trailing rows
    for data in (wave1, wave2):
        export = read_survey_export(data, "x.csv", "qualtrics")
        columns = export.columns
        assert columns["export_tag"].to_list()[:3] == ["StartDate", "EndDate", "Status"]
        assert columns.filter(pl.col("export_tag") == "Q1")["import_id"].item() == "QID1"
        assert columns.filter(pl.col("export_tag") == "StartDate")["import_extra"].item() == '{"timeZone":"Europe/London"}'
        assert set(export.identifying_columns) >= {"IPAddress", "RecipientEmail", "LocationLatitude"}
    lines = wave1[3:].decode("utf-8").split("\r\n")
    assert lines[0].startswith("StartDate,EndDate,Status") and lines[2].startswith('"{""ImportId"":""startDate""')
    assert any("dropped 3 entirely empty row" in n for n in read_survey_export(wave2, "w2.csv", "qualtrics").notes)


@pytest.mark.parametrize("wave", ["w2014", "w2016"])
def test_planted_counts_are_exact_through_the_readers(root: Path, wave: str) -> None:
    index = 0 if wave == "w2014" else 1
    data = _export(root, wave).data
    roster = _roster(root, wave)
    sites = _sites(root)["ccg_code"].to_list()
    kept, removed = _clean(data, sites)
    n = round_half_up(TARGETS[index].member_share * roster.height)
    assert removed == {"status": 12, "unknown_site": 2, "duplicates": 8}
    assert kept.height == n and kept["ExternalReference"].n_unique() == n
    assert kept["ExternalReference"].is_in(roster["member_id"].to_list()).all()
    covered = kept["SiteID"].n_unique()
    assert covered == round_half_up(TARGETS[index].site_share * len(sites))
    assert abs(covered / len(sites) - TARGETS[index].site_share) < 0.02
    assert abs(n / roster.height - TARGETS[index].member_share) < 0.02
    roles = Counter(kept["Q1"].to_list())
    codes = {"chair": "1", "accountable_officer": "2", "gp_member": "3", "nurse": "4",
             "secondary_care_doctor": "5", "finance_director": "6", "lay_member": "7", "other_manager": "8"}
    expected = dict(zip(ROLE_PROFILE, exact_counts(n, list(ROLE_PROFILE.values())), strict=True))
    assert {role: roles[codes[role]] for role in ROLE_PROFILE} == expected
    assert kept.filter(pl.col("Finished") == "0").height == round_half_up(0.06 * n)
    assert kept.filter(pl.col("Finished") == "0")["Progress"].cast(pl.Int64).max() < 100
    grid = kept.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in GRID))
    flat = grid.filter(pl.all_horizontal(pl.col(c) == pl.col("Q5_1") for c in GRID))
    assert flat.height == 10
    # the duplicates removed were the earlier or less complete copy
    dup_members = data.drop_nulls("ExternalReference").filter(pl.col("ExternalReference").is_duplicated())["ExternalReference"].unique()
    assert dup_members.len() == 8
    for member in dup_members.to_list():
        copies = data.filter(pl.col("ExternalReference") == member).sort("RecordedDate")
        assert copies["ResponseId"][-1] == kept.filter(pl.col("ExternalReference") == member)["ResponseId"].item()


def test_survey_patterns_follow_the_papers(root: Path) -> None:
    sites = _sites(root)
    w1, _ = _clean(_export(root, "w2014").data, sites["ccg_code"].to_list())
    w2, _ = _clean(_export(root, "w2016").data, sites["ccg_code"].to_list())
    for kept in (w1, w2):
        mine = (kept["Q2"] == "1").mean()
        assert 0.47 <= mine <= 0.53
        by_role = kept.group_by("Q1").agg((pl.col("Q2") == "1").mean().alias("p"))
        share = dict(by_role.iter_rows())
        assert share["1"] == max(share.values())  # chairs
        assert share["2"] < 0.5  # accountable officers
    rated = w1.join(sites.select("ccg_code", "rating_2014"), left_on="SiteID", right_on="ccg_code")
    share = dict(rated.group_by("rating_2014").agg((pl.col("Q2") == "1").mean()).iter_rows())
    assert share["inadequate"] < share["requires_improvement"] < share["good"] < share["outstanding"]
    collab = [(k["Q2"] == "3").mean() for k in (w1, w2)]
    assert collab[1] > collab[0]
    redesign = Counter(w2["Q3"].to_list())
    assert abs(redesign["1"] / w2.height - 0.38) < 0.005
    assert abs(redesign["2"] / w2.height - 0.18) < 0.005
    assert abs(redesign["3"] / w2.height - 0.14) < 0.005
    managers = [k["Q5_2"].drop_nulls().cast(pl.Int64).mean() for k in (w1, w2)]
    gps = [k["Q5_1"].drop_nulls().cast(pl.Int64).mean() for k in (w1, w2)]
    assert managers[1] - gps[1] > managers[0] - gps[0]


def test_free_text_is_calibrated_and_codable(root: Path) -> None:
    w1, _ = _clean(_export(root, "w2014").data, _sites(root)["ccg_code"].to_list())
    obstacles = w1["Q10"].drop_nulls().to_list()
    coded = [dictionary_codes("obstacles", t) for t in obstacles]
    assert sum("lack_of_time" in c for c in coded) / len(coded) > 0.92
    assert 0.03 <= sum(not c for c in coded) / len(coded) <= 0.07
    assert sum(len(c) >= 3 for c in coded) > 0
    impacts = Counter(c for t in w1["Q12"].drop_nulls().to_list() for c in dictionary_codes("impacts", t))
    assert impacts["msk_to_community"] > impacts["talking_therapies"] > impacts["frail_elderly"]
    assert impacts["frail_elderly"] > max(impacts[k] for k in ("urgent_care", "primary_care", "closer_to_home"))
    human = pl.read_csv(root / "survey/obstacles_human_coded.csv", infer_schema_length=0)
    ids = human["response_id"].unique().to_list()
    assert len(ids) == 60 and set(ids) <= set(w1["ResponseId"].to_list())
    texts = dict(w1.select("ResponseId", "Q10").iter_rows())
    by_human = {rid: set(human.filter(pl.col("response_id") == rid)["category"].drop_nulls()) - {""} for rid in ids}
    disagree = sum(dictionary_codes("obstacles", texts[rid]) != cats for rid, cats in by_human.items())
    assert 3 <= disagree <= 7  # 5-10% of the sample


def test_scoping_project(root: Path) -> None:
    project = read_qdpx((root / "qualitative/scoping.qdpx").read_bytes(), "scoping.qdpx")
    sites = _sites(root)
    site_ids = sorted(project.case_variables.filter(pl.col("name") == "site_ids")["value"].to_list())
    assert len(site_ids) == 15 and project.cases.height == 15
    settings = Counter(sites.filter(pl.col("ccg_code").is_in(site_ids))["setting"].to_list())
    assert settings["inner_city"] >= 3 and settings["conurbation"] >= 2 and settings["mixed_urban_rural"] >= 5
    variables = project.source_variables
    assert set(variables.filter(pl.col("name") == "source_type")["value"]) == {"interview"}
    per_site = Counter(variables.filter(pl.col("name") == "site_id")["value"].to_list())
    assert set(per_site) == set(site_ids) and min(per_site.values()) >= 3 and max(per_site.values()) <= 5
    codes = project.codes.select(pl.col("guid").alias("code_guid"), "path")
    sel = project.selections.join(codes, on="code_guid").join(
        variables.filter(pl.col("name") == "site_id").select(pl.col("source_guid"), pl.col("value").alias("site")),
        on="source_guid",
    )
    areas = sel.filter(pl.col("path").str.starts_with("Clinical areas/")).group_by("path").agg(
        pl.col("site").n_unique().alias("sites"), pl.len().alias("segments")
    ).sort(["sites", "segments"], descending=True)
    assert [p.split("/")[1] for p in areas["path"].head(3)] == [
        "Frail older people and integrated care", "Urgent care", "Mental health"]
    assert areas["segments"].head(3).to_list() == sorted(areas["segments"].head(3).to_list(), reverse=True)
    maturity = sel.filter(pl.col("path").str.starts_with("Maturity/")).group_by("site").len()
    assert maturity.height == 15 and set(maturity["len"]) == {1}


def test_case_projects(root: Path) -> None:
    sites = _sites(root)
    scoping = read_qdpx((root / "qualitative/scoping.qdpx").read_bytes(), "scoping.qdpx")
    scoping_sites = set(scoping.case_variables["value"].to_list())
    interviews, by_role, double, groups, settings = 0, Counter(), [], 0, Counter()
    theme_share: dict[str, dict[str, float]] = {}
    for letter in CASE_PLAN:
        path = root / f"qualitative/cases/case_{letter}.qdpx"
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            root_tag = SafeET.fromstring(archive.read("project.qde")).tag
        assert root_tag == "{urn:QDA-XML:project:1.0}Project"
        project = read_qdpx(path.read_bytes(), path.name)
        assert project.cases.height == 1
        case_sites = project.case_variables.filter(pl.col("name") == "site_ids")["value"].item().split(";")
        assert set(case_sites) <= scoping_sites
        groups += len(case_sites) > 1
        settings.update(set(sites.filter(pl.col("ccg_code").is_in(case_sites))["setting"].to_list()))
        wide = project.source_variables.pivot(on="name", index="source_guid", values="value")
        assert set(wide["source_type"]) == {"interview", "document", "observation"}
        inter = wide.filter(pl.col("source_type") == "interview")
        interviews += inter.height
        by_role.update(inter["participant_role"].to_list())
        users = dict(project.users.select("guid", "name").iter_rows())
        coders = project.selections.with_columns(pl.col("user_guid").replace_strict(users).alias("coder"))
        second = coders.filter(pl.col("coder") == "coder_b")["source_guid"].unique()
        double.append((second.len(), inter.height))
        first = coders.filter((pl.col("coder") == "coder_a") & pl.col("source_guid").is_in(second.implode()))
        pairs_a = set(first.select("source_guid", "start", "end", "code_guid").iter_rows())
        pairs_b = set(coders.filter(pl.col("coder") == "coder_b").select("source_guid", "start", "end", "code_guid").iter_rows())
        overlap = len(pairs_a & pairs_b) / len(pairs_a)
        assert 0.6 < overlap < 0.95  # mostly the same codings, not all
        texts = dict(project.sources.select("guid", "text").iter_rows())
        assert all(texts[s][a:b] == t for s, a, b, t in project.selections.select("source_guid", "start", "end", "text").iter_rows())
        assert any(re.search(r"\b(Dr|Mr|Mrs|Ms) [A-Z][a-zë]+ [A-Z][a-z]+", t) for t in texts.values())
        lengths = [len(t) for t in texts.values()]
        assert 600 < sum(lengths) / len(lengths) < 3000
        themes = first.join(project.codes.select(pl.col("guid").alias("code_guid"), "path"), on="code_guid")
        counts = Counter(p.split("/")[0] for p in coders.filter(pl.col("coder") == "coder_a").join(
            project.codes.select(pl.col("guid").alias("code_guid"), "path"), on="code_guid")["path"].to_list())
        total = sum(counts.values())
        theme_share[letter] = {k: v / total for k, v in counts.items()}
        assert themes.height > 0
    assert interviews == 202
    assert by_role["chair"] + by_role["gp_member"] == 65
    assert by_role["accountable_officer"] + by_role["other_manager"] == 36
    assert 0.18 <= sum(d for d, _ in double) / sum(n for _, n in double) <= 0.22
    assert groups == 2
    assert settings["inner_city"] == 2 and settings["conurbation"] == 1 and settings["mixed_urban_rural"] == 3
    assert theme_share["E"]["Clinician-manager alliance"] > 1.5 * theme_share["F"]["Clinician-manager alliance"]
    assert theme_share["F"]["Vicious circle of disengagement"] > 1.5 * theme_share["E"]["Vicious circle of disengagement"]


def test_scale_two_doubles_the_study(tmp_path: Path) -> None:
    demo = generate_demo_study(tmp_path / "x2", seed=SEED, scale=2)
    root = demo.config_path.parent
    cfg = load_study_config(demo.config_path)
    assert _sites(root).height == 420 and _sites(root)["ccg_code"].n_unique() == 420
    assert demo.counts["case_interviews"] == 404
    assert len(cfg.resolve(cfg.qualitative.scoping.projects[0])) == 2
    assert len(cfg.resolve(cfg.qualitative.case_studies.projects[0])) == 12
    export = _export(root, "w2014").data
    assert export.height == demo.counts["w2014_rows"] and export["ResponseId"].n_unique() == export.height
    assert _roster(root, "w2016").height == demo.counts["roster_w2016"]


def test_small_study_loads_and_reads(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_small_study", SMALL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = load_study_config(module.make_small_study(tmp_path / "small"))
    assert config.survey.waves["y2019"].format == "redcap"
    for wave in config.survey.waves.values():
        export = read_survey_export(
            config.resolve(wave.export)[0].read_bytes(), wave.export, "redcap",
            config.resolve(wave.dictionary or "")[0].read_bytes(), wave.dictionary,
        )
        assert export.data.height == 42 and "supports___1" in export.data.columns
    for inputs in (config.qualitative.scoping, config.qualitative.case_studies):
        assert inputs.format == "segments_csv"
        table = read_coded_segments_csv(config.resolve(inputs.projects[0])[0].read_bytes(), "seg.csv")
        assert table.height > 10
    codes = read_qdc(config.resolve(config.qualitative.codebook)[0].read_bytes(), "codebook.qdc")
    assert config.qualitative.area_theme in codes["path"].to_list()
