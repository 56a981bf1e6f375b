"""The demo's study.yaml, built from the same definitions that wrote the inputs."""

from __future__ import annotations

from typing import Any

import yaml

from tasks.demo.codebook import AREA_THEME, MATURITY_THEME, area_path
from tasks.demo.instrument import QUESTIONS, ROLE_CODES, ROLE_GROUPS, ROLE_LABELS, WAVES
from tasks.demo.qualitative import ROLE_TITLES
from tasks.demo.survey import WAVE_SPECS
from tasks.demo.text import DICTIONARIES

EXTERNAL_ROLES: tuple[str, ...] = ("provider", "local_authority", "voluntary_sector", "patient_group")

PROPOSITIONS: list[dict[str, Any]] = [
    {
        "id": "ccgs_constrained",
        "statement": "CCGs are constrained by other bodies and competing institutional logics, "
        "so only a minority see their own CCG as the major player in redesign.",
        "themes": ["Institutional logics", "Political context/Side-lined CCGs"],
        "quantitative": {"variable": "redesign_player", "codes": ["1"]},
        "expect": "minority",
    },
    {
        "id": "managers_gained_influence",
        "statement": "Managers gained influence within CCGs while GPs did not clearly lead.",
        "themes": ["Clinician-manager alliance", "Vicious circle of disengagement/Others step in"],
        "quantitative": {"variable": "influence_managers", "codes": ["4", "5"], "breakdown": "role",
                         "compare_waves": True},
        "expect": "increase",
    },
    {
        "id": "gps_lack_time",
        "statement": "GPs lack time for CCG work, feeding a vicious circle of disengagement.",
        "themes": ["Vicious circle of disengagement/Low GP engagement/Lack of time",
                   "Vicious circle of disengagement"],
        "quantitative": {"variable": "obstacles_text", "codes": ["lack_of_time"], "breakdown": "role"},
        "expect": "majority",
    },
    {
        "id": "collaboration_grew",
        "statement": "Collaboration across neighbouring CCGs grew between the two waves.",
        "themes": ["Institutional logics/Network logic", "Political context/Uncertainty/Mergers"],
        "quantitative": {"variable": "collaboration_neighbours", "codes": ["4", "5"],
                         "breakdown": "rating", "compare_waves": True},
        "expect": "increase",
    },
    {
        "id": "pioneering_areas",
        "statement": "Pioneering redesign concentrated on frail older people, urgent care and mental "
        "health; respondents' most-mentioned impacts include frail elderly care.",
        "themes": [area_path("Frail older people and integrated care"), area_path("Urgent care"),
                   area_path("Mental health")],
        "quantitative": {"variable": "impacts_text", "codes": ["frail_elderly"]},
    },
    # Planted (tasks/demo/qualitative.py PLANTED): one case describes managers stepping in, four
    # describe GPs and managers standing together; the survey says managers are influential.
    {
        "id": "managers_dominate",
        "statement": "Managers hold the real influence within CCGs, and GP members defer to them.",
        "supporting": ["Managers step in"],
        "contradicting": ["Standing together"],
        "quantitative": {"variable": "influence_managers", "codes": ["4", "5"]},
        "expect": "majority",
    },
    # Interviews in every case speak both of a strategic gap among GP members and of GP-led
    # governing-body strategy.
    {
        "id": "vision_rarely_left_to_gps",
        "statement": "Setting the CCG's vision is rarely left to GP members alone; strategic work falls "
        "largely to managers.",
        "supporting": ["Leadership arenas/Strategic arena/Strategic gap"],
        "contradicting": ["Leadership arenas/Strategic arena/Governing body strategy"],
        "quantitative": {"variable": "vision_lead", "codes": ["1"]},
        "expect": "minority",
    },
]
# The rules' thresholds (docs/triangulation.md), written out so a reader of study.yaml sees them.
TRIANGULATION_SETTINGS: dict[str, Any] = {"case_prevalence": 0.5, "confidence": 0.95, "weighted": True, "small_n": 10}


def study_config(
    *, roster_2016: str, roster_2016_sheet: str | None, scoping_glob: str, cases_glob: str,
    redact_terms: list[str], seed: int,
) -> dict[str, Any]:
    """The study.yaml mapping of the demo (paths relative to study.yaml)."""
    roles = {key: {"label": label, "group": ROLE_GROUPS[key]} for key, label in ROLE_LABELS.items()}
    roles.update({key: {"label": ROLE_TITLES[key], "group": "external"} for key in EXTERNAL_ROLES})
    rosters = {
        "w2014": {"path": "rosters/board_2014.csv", "id_column": "member_id",
                  "site_column": "ccg_code", "role_column": "role"},
        "w2016": {"path": roster_2016, "id_column": "member_id", "site_column": "ccg_code",
                  "role_column": "role"},
    }
    if roster_2016_sheet:
        rosters["w2016"]["sheet"] = roster_2016_sheet
    waves = {
        spec.key: {
            "label": f"Survey wave {spec.index + 1} ({spec.year})",
            "year": spec.year,
            "phase": f"survey_w{spec.index + 1}",
            "export": spec.path,
            "format": "qualtrics",
            "roster": rosters[spec.key],
            "site_attributes": {"rating": spec.rating_column},
        }
        for spec in WAVE_SPECS
    }
    variables: dict[str, Any] = {}
    for q in QUESTIONS:
        var: dict[str, Any] = {
            "type": q.type,
            "question": q.summary,
            "column": q.tag,
            "waves": [WAVES[w] for w in q.waves],
        }
        if q.wave_tags:
            var["wave_columns"] = {WAVES[w]: tag for w, tag in q.wave_tags.items()}
        if q.labels:
            var["labels"] = dict(q.labels)
        if q.missing_codes:
            var["missing_codes"] = list(q.missing_codes)
        if q.grid:
            var["grid"] = q.grid
        if q.key_codes:
            var["key_codes"] = list(q.key_codes)
        variables[q.key] = var
    freetext = {}
    for key, (variable, categories) in DICTIONARIES.items():
        entry: dict[str, Any] = {
            "variable": variable,
            "categories": {
                slug: {"label": cat.label, "patterns": list(cat.patterns)}
                for slug, cat in categories.items()
            },
        }
        if key == "obstacles":
            entry["human_coded"] = "survey/obstacles_human_coded.csv"
        freetext[key] = entry
    return {
        "study": {
            "id": "ccg_clinical_leadership",
            "title": "Mobilising clinical leadership in and around Clinical Commissioning Groups "
            "(synthetic demo data)",
            "funder": "NIHR HS&DR 12/136/104 (the study this demo imitates; all data are synthetic)",
            "demo": True,
            "phases": {
                "scoping": {"start": "2013-06-01", "end": "2014-03-31"},
                "survey_w1": {"start": "2014-05-12", "end": "2014-07-31"},
                "case_studies": {"start": "2014-09-01", "end": "2016-03-31"},
                "survey_w2": {"start": "2016-06-06", "end": "2016-08-31"},
                "triangulation": {"start": "2016-09-01", "end": "2017-03-31"},
            },
        },
        "roles": roles,
        "sites": {
            "path": "sites/ccgs.csv",
            "id_column": "ccg_code",
            "name_column": "name",
            "attributes": {
                "region": "region",
                "setting": "setting",
                "deprivation_quintile": "deprivation_quintile",
                "population": "population",
                "member_practices": "member_practices",
                "rating": "rating_2014",
                "collaboration": "collaboration",
            },
        },
        "survey": {
            "waves": waves,
            "respondent": {
                "id_column": "ResponseId",
                "site_column": "SiteID",
                "role_column": "Q1",
                "role_codes": dict(ROLE_CODES),
                "member_column": "ExternalReference",
                "status_column": "Status",
                "finished_column": "Finished",
                "progress_column": "Progress",
                "submitted_column": "RecordedDate",
            },
            "variables": variables,
            "breakdowns": ["role", "rating", "collaboration"],
            "weighting": {"margins": ["role", "region"]},
            "freetext": freetext,
        },
        "qualitative": {
            "codebook": "qualitative/codebook.qdc",
            "scoping": {"projects": [scoping_glob]},
            "case_studies": {"projects": [cases_glob]},
            "area_theme": AREA_THEME,
            "maturity_theme": MATURITY_THEME,
            "target_areas_top": 3,
            "case_selection": {
                "n": 6,
                "attributes": ["setting", "deprivation_quintile", "region", "rating"],
                "survey_indicators": ["influence_body"],
                "quotas": [
                    {"name": "deprived inner city", "where": {"setting": "inner_city", "deprivation_quintile": "1"}, "min": 2},
                    {"name": "large urban conurbation", "where": {"setting": "conurbation"}, "min": 1},
                    {"name": "mixed urban and rural", "where": {"setting": "mixed_urban_rural"}, "min": 3},
                ],
                "seed": seed,
            },
            "double_coded_share_min": 0.15,
            "redact_terms": redact_terms,
        },
        "triangulation": {**TRIANGULATION_SETTINGS, "propositions": PROPOSITIONS},
    }


def dump_yaml(data: dict[str, Any]) -> bytes:
    """Deterministic YAML text (insertion order kept, Unicode as is)."""
    header = "# Demo study generated by `study demo-data`: every value below is synthetic.\n"
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return (header + body).encode("utf-8")
