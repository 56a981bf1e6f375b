"""Tiny hand-made upstream frames shaped like the survey and case-study tables."""

from __future__ import annotations

from typing import Any

import polars as pl

from schemas.study_config import Proposition, Variable
from tasks.triangulation.displays import QualTables
from tasks.triangulation.quantitative import SurveyTables

CASES = ["A", "B", "C", "D"]
Z95 = 1.959963984540054
# code_id, name, path, theme, category
CODES = [
    ("c1", "Political context", "Political context", "Political context", None),
    ("c2", "STPs", "Political context/STPs", "Political context", "STPs"),
    ("c3", "Side-lined", "Political context/STPs/Side-lined", "Political context", "STPs"),
    ("c4", "Alliance leadership", "Alliance leadership", "Alliance leadership", None),
    ("c5", "Time pressure", "Alliance leadership/Time pressure", "Alliance leadership", "Time pressure"),
    ("c6", "Heroic leadership", "Heroic leadership", "Heroic leadership", None),
]
# case -> code_id -> n_segments (everything else 0)
CODINGS = {"A": {"c2": 3, "c3": 2, "c5": 1}, "B": {"c3": 4}, "C": {"c2": 1}, "D": {}}


def codebook() -> pl.DataFrame:
    """The codebook table."""
    return pl.DataFrame(
        [
            {"code_id": c, "name": n, "path": p, "parent_id": None, "theme": t, "category": cat,
             "depth": p.count("/") + 1, "is_codable": True, "color": None, "description": None}
            for c, n, p, t, cat in CODES
        ]
    )


def matrix() -> pl.DataFrame:
    """Case × code counts over the whole grid."""
    return pl.DataFrame(
        [
            {"case": case, "theme": t, "category": cat, "code_id": c, "code": n, "path": p,
             "n_segments": CODINGS[case].get(c, 0), "n_sources": min(CODINGS[case].get(c, 0), 2),
             "n_participants": min(CODINGS[case].get(c, 0), 1)}
            for case in CASES
            for c, n, p, t, cat in CODES
        ]
    )


def quote(case: str, theme: str, rank: int, codes: str, text: str, length: int = 50) -> dict[str, Any]:
    """One quotes row."""
    return {"quote_id": f"{case}|{theme}|{rank}", "case": case, "theme": theme, "rank": rank, "segment_id": f"s{case}{rank}",
            "codes": codes, "source_id": f"src{case}", "source_name": f"Interview {case}", "source_type": "interview",
            "role": "chair", "participant_pseudonym": None, "site_id": None, "start": 0, "end": length,
            "raw_start": 0, "raw_end": length, "text": text, "redactions": text.count("[REDACTED]"),
            "attribution": f"CCG chair (GP), case {case}, interview"}


def quotes() -> pl.DataFrame:
    """Redacted exemplar quotes."""
    return pl.DataFrame([
        quote("A", "Political context", 1, "Political context/STPs", "The STP meets without [REDACTED] and decides.", 80),
        quote("A", "Political context", 2, "Political context/STPs/Side-lined", "We feel side-lined.", 20),
        quote("B", "Political context", 1, "Political context/STPs/Side-lined", "[REDACTED] said the CCG no longer leads.", 60),
        quote("A", "Alliance leadership", 1, "Alliance leadership/Time pressure", "No time for the board.", 30),
    ])


def qual_tables() -> QualTables:
    """The case-study side."""
    return QualTables(codebook=codebook(), matrix=matrix(), quotes=quotes())


def estimate(wave: str, variable: str, kind: str, code: str, p: float, lo: float, hi: float,
             breakdown: str = "all", group: str = "all", n: int = 200) -> dict[str, Any]:
    """One estimates row (weighted figures = given, SE from the interval; unweighted slightly different)."""
    return {"wave": wave, "variable": variable, "type": "single_choice", "kind": kind, "code": code,
            "label": "key: My CCG" if kind == "key" else f"code {code}", "breakdown": breakdown, "group": group,
            "n": n, "count": round(p * n), "proportion": p + 0.01, "lower": lo + 0.01, "upper": hi + 0.01,
            "weighted_proportion": p, "weighted_se": (hi - lo) / (2 * Z95), "weighted_lower": lo, "weighted_upper": hi,
            "design_effect": 1.2, "effective_n": n / 1.2, "n_clusters": 40}


def change(variable: str, diff: float, lo: float, hi: float, p1: float = 0.40) -> dict[str, Any]:
    """One change row (w2 − w1, overall)."""
    return {"wave": "w2", "previous_wave": "w1", "variable": variable, "type": "single_choice", "kind": "key",
            "code": "1", "label": "key: My CCG", "breakdown": "all", "group": "all", "n1": 200,
            "proportion1": p1, "n2": 210, "proportion2": p1 + diff, "difference": diff, "lower": lo - 0.01,
            "upper": hi + 0.01, "statistic": 1.0, "p_value": 0.2, "weighted_proportion1": p1,
            "weighted_proportion2": p1 + diff, "weighted_difference": diff, "weighted_lower": lo,
            "weighted_upper": hi, "weighted_p_value": 0.04, "q_value": 0.08, "significant": True,
            "panel_n": 0, "panel_difference": None, "panel_statistic": None, "panel_p_value": None,
            "overlap_se": None, "overlap_p_value": None}


def association(wave: str, variable: str, p: float, v: float = 0.21) -> dict[str, Any]:
    """One associations row (variable-level test by role)."""
    return {"wave": wave, "variable": variable, "type": "single_choice", "kind": "code", "code": None, "breakdown": "role",
            "method": "chi_square", "n": 200, "statistic": 11.5, "dof": 4, "p_value": p, "cramers_v": v,
            "min_expected": 6.0, "small_expected": False, "monte_carlo_se": None, "q_value": p,
            "rs_f": 3.1, "rs_df_num": 3.2, "rs_df_den": 40.0, "rs_p_value": p, "rs_q_value": p,
            "rs_mean_deff": 1.2, "n_clusters": 14}


def survey_tables(estimates: list[dict[str, Any]], changes: list[dict[str, Any]] = (),  # type: ignore[assignment]
                  associations: list[dict[str, Any]] = (), freetext: list[dict[str, Any]] = ()) -> SurveyTables:  # type: ignore[assignment]
    """SurveyTables from row dicts."""
    return SurveyTables(
        waves=("w1", "w2"),
        estimates=pl.DataFrame(estimates),
        change=pl.DataFrame(list(changes), schema=pl.DataFrame([change("x", 0.0, 0.0, 0.0)]).schema),
        associations=pl.DataFrame(list(associations), schema=pl.DataFrame([association("w1", "x", 0.5)]).schema),
        freetext=pl.DataFrame(list(freetext), schema={"wave": pl.String, "dictionary": pl.String, "variable": pl.String,
                              "category": pl.String, "label": pl.String, "breakdown": pl.String, "group": pl.String,
                              "answers": pl.Int64, "count": pl.Int64, "share": pl.Float64, "lower": pl.Float64,
                              "upper": pl.Float64}),
    )


def variables() -> dict[str, Variable]:
    """Two categorical variables and one free-text one."""
    labels = {"1": "My CCG", "2": "NHS England", "3": "Other"}
    return {
        "influence": Variable(type="single_choice", question="Most influence?", column="Q1", labels=labels,
                              waves=["w1", "w2"], key_codes=["1"]),
        "major": Variable(type="single_choice", question="Major player?", column="Q2", labels=labels,
                          waves=["w1", "w2"], key_codes=["1"]),
        "obstacles": Variable(type="free_text", question="Obstacles?", column="Q9", waves=["w1", "w2"]),
    }


def proposition(pid: str, themes: list[str], variable: str = "influence", expect: str | None = "majority",
                **quant: Any) -> Proposition:
    """A proposition."""
    return Proposition.model_validate({"id": pid, "statement": f"Statement {pid}", "themes": themes,
                                       "quantitative": {"variable": variable, **quant}, "expect": expect})


def study_config(propositions: list[dict[str, Any]]) -> dict[str, Any]:
    """A minimal valid study.yaml mapping whose survey and themes match the frames above."""
    wave = {"format": "csv", "roster": {"path": "roster.csv", "id_column": "m", "site_column": "s",
                                        "role_column": "r"}}
    labels = {"1": "My CCG", "2": "NHS England", "3": "Other"}
    return {
        "study": {"id": "tiny", "title": "Tiny study of leadership", "funder": "NIHR",
                  "phases": {"scoping": {"start": "2013-04-01", "end": "2014-02-28"},
                             "survey_w1": {"start": "2014-03-01", "end": "2014-07-31"}}},
        "roles": {"chair": {"label": "Chair", "group": "gp"}, "gp": {"label": "GP member", "group": "gp"}},
        "sites": {"path": "sites.csv", "id_column": "code"},
        "survey": {
            "waves": {w: {**wave, "label": f"Wave {i}", "year": 2012 + 2 * i, "phase": f"survey_w{i}",
                          "export": f"{w}.csv"} for i, w in ((1, "w1"), (2, "w2"))},
            "respondent": {"id_column": "id", "site_column": "s", "role_column": "r",
                           "role_codes": {"1": "chair", "2": "gp"}},
            "variables": {
                "influence": {"type": "single_choice", "question": "Which body has most influence?", "column": "Q1",
                              "labels": labels, "waves": ["w1", "w2"], "key_codes": ["1"]},
                "obstacles": {"type": "free_text", "question": "Obstacles?", "column": "Q9", "waves": ["w1", "w2"]},
            },
        },
        "qualitative": {"codebook": "codebook.qdc", "scoping": {"projects": ["s.qdpx"]},
                        "case_studies": {"projects": ["c.qdpx"]}, "area_theme": "Areas",
                        "case_selection": {"n": 2, "attributes": ["region"]}},
        "triangulation": {"propositions": propositions},
    }


# Case-level survey: the sites of each case, and per wave and site the respondents of `influence`
# as (role, weight, chose code "1"). Site s6 belongs to no case.
CASE_SITES = {"A": ["s1"], "B": ["s2"], "C": ["s3", "s4"], "D": ["s5"]}
RESPONSES: dict[str, dict[str, list[tuple[str, float, bool]]]] = {
    "w1": {"s1": [("chair", 1.0, True), ("gp", 1.5, False)], "s2": [("gp", 1.0, True)],
           "s6": [("chair", 1.0, False), ("gp", 1.0, True)]},
    "w2": {
        "s1": [("chair", 1.2, True), ("gp", 0.8, True), ("gp", 1.0, True), ("gp", 1.1, True), ("chair", 0.9, True),
               ("gp", 1.0, True), ("gp", 1.3, True), ("gp", 0.7, True), ("chair", 1.0, True), ("gp", 1.0, True),
               ("gp", 1.2, True), ("gp", 0.9, False)],
        "s2": [("chair", 1.0, False), ("gp", 1.4, False), ("gp", 0.6, False)],
        "s3": [("chair", 1.0, True), ("gp", 2.0, False)],
        "s4": [("gp", 1.0, True), ("gp", 1.0, False)],
        "s6": [("chair", 1.0, i % 3 == 0) for i in range(12)] + [("gp", 1.5, i % 4 == 0) for i in range(18)],
    },
}


def cases_table() -> pl.DataFrame:
    """The cases table (cases.cases) with each case's sites."""
    return pl.DataFrame([{"case": c, "case_guid": f"g{c}", "site_ids": ";".join(s), "n_sources": 1, "n_segments": 1}
                         for c, s in CASE_SITES.items()])


def respondent_id(wave: str, site: str, i: int) -> str:
    """A pseudonym shaped like the survey's (R + 12 hex digits), distinct per wave, site and person."""
    return f"R{int(wave[1:]):02x}{int(site[1:]):02x}{i:08x}"


def respondents(wave: str) -> pl.DataFrame:
    """Respondents of a wave, with every column of the published survey.{wave}.respondents."""
    rows = [{"wave": wave, "respondent_id": respondent_id(wave, site, i), "member_id": None, "site_id": site,
             "role": role, "role_group": "gp", "finished": True, "progress": 100.0, "partial": False, "items": 1,
             "answered": 1, "item_missing_share": 0.0, "straightlined": False, "straightlined_grids": None,
             "weight": weight}
            for site, people in RESPONSES[wave].items() for i, (role, weight, _) in enumerate(people)]
    return pl.DataFrame(rows, schema_overrides={"member_id": pl.String, "straightlined_grids": pl.String})


def answers(wave: str) -> pl.DataFrame:
    """Long answers of `influence` in a wave (code "1" or "2"), one missing answer added."""
    labels = {"1": "My CCG", "2": "NHS England", None: None}
    rows = [(respondent_id(wave, site, i), "1" if chose else "2", False)
            for site, people in RESPONSES[wave].items() for i, (_, _, chose) in enumerate(people)]
    rows.append((respondent_id(wave, "s9", 0), None, True))
    return pl.DataFrame(
        [{"wave": wave, "respondent_id": r, "variable": "influence", "type": "single_choice", "code": code,
          "label": labels[code], "value": None, "missing": missing} for r, code, missing in rows],
        schema={"wave": pl.String, "respondent_id": pl.String, "variable": pl.String, "type": pl.String,
                "code": pl.String, "label": pl.String, "value": pl.Float64, "missing": pl.Boolean},
    )


def case_survey() -> Any:
    """The case-level survey rows for both waves."""
    from tasks.triangulation.cases import CaseSurvey, case_sites

    coded = pl.DataFrame(schema={"wave": pl.String, "dictionary": pl.String, "respondent_id": pl.String,
                                 "category": pl.String})
    uncoded = pl.DataFrame(schema={"wave": pl.String, "dictionary": pl.String, "variable": pl.String,
                                   "respondent_id": pl.String})
    return CaseSurvey(respondents=pl.concat([respondents("w1"), respondents("w2")]),
                      answers=pl.concat([answers("w1"), answers("w2")]), freetext_coded=coded,
                      freetext_uncoded=uncoded, case_sites=case_sites(cases_table()))
