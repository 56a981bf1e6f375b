"""A small hand-made study for the qualitative tests: sites, codebook, scoping and case projects.

Everything is built from plain Python rows so tests can count what was planted independently
of the pipeline. Two formats: REFI-QDA projects, or coded-segment CSVs (no transcripts).
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.demo.qda_project import project_from_rows
from tasks.ingest.qdpx import QdaProject, stable_guid, write_qdc, write_qdpx

CODEBOOK: dict[str, list[str]] = {
    "Topic areas": ["Frail older people", "Urgent care", "Mental health", "Maternity", "Dermatology"],
    "Maturity": ["Emerging", "Developing", "Established"],
    "Leadership/Arenas": ["Strategic", "Programme", "Front line"],
    "Leadership/Style": ["Collaborative", "Heroic"],
    "Context/Politics": ["Uncertainty", "Side-lined"],
}
SITES = [
    # id, name, region, setting, deprivation, population
    ("S01", "Ashford", "North", "inner_city", "high", "310000"),
    ("S02", "Bramley", "North", "mixed", "low", "420000"),
    ("S03", "Calder", "South", "conurbation", "medium", "880000"),
    ("S04", "Dunmore", "South", "mixed", "low", "250000"),
    ("S05", "Elmswick", "East", "inner_city", "high", "560000"),
    ("S06", "Fernley", "West", "mixed", "medium", "300000"),
    ("S07", "Glenholm", "West", "rural", "low", "190000"),
    ("S08", "Hartwell", "East", "conurbation", "high", "1100000"),
]
# Areas each scoping site talks about (first listed = most segments).
SCOPING_AREAS = {
    "S01": ["Urgent care", "Mental health"],
    "S02": ["Frail older people", "Urgent care"],
    "S03": ["Frail older people", "Mental health", "Urgent care"],
    "S04": ["Mental health"],
    "S05": ["Urgent care", "Frail older people"],
    "S06": ["Frail older people", "Mental health"],
    "S07": ["Dermatology"],
    "S08": ["Maternity", "Urgent care"],
}
SCOPING_MATURITY = {"S01": "Emerging", "S02": "Established", "S03": "Developing", "S04": "Emerging",
                    "S05": "Established", "S06": "Developing", "S07": "Emerging", "S08": "Developing"}
CASES = {"A": "S01", "B": "S03;S04", "C": "S06"}
ROLES = ["gp_chair", "accountable_officer", "lay_member", "nurse"]
PEOPLE = ["Dr Alice Pemberton", "Mr Kwame Okafor", "Mrs Helen Sutcliffe", "Ms Priya Desai", "Professor Neil Hollis"]
EMAIL = "alice.pemberton@example.nhs.uk"
FILLER = ["We met on Tuesday.", "The board discussed it.", "That took a while.", "Nothing more on that."]
PHRASES = {
    "Frail older people": "Integrated care for frail older people kept people out of hospital.",
    "Urgent care": "The urgent care redesign changed how the hub worked at night.",
    "Mental health": "Talking therapies by self-referral were our mental health priority.",
    "Maternity": "Maternity pathways were rewritten with the trust.",
    "Dermatology": "Dermatology clinics moved into the community.",
    "Emerging": "We are still finding our feet as a group.",
    "Developing": "We have some programmes running now.",
    "Established": "The programme board is mature and delivers.",
    "Strategic": "The governing body set the strategy.",
    "Programme": "Programme boards carried the work.",
    "Front line": "Practices on the front line made it happen.",
    "Collaborative": "Leadership was shared between clinicians and managers.",
    "Heroic": "One GP drove everything single-handedly.",
    "Uncertainty": "Nobody knew what the next reorganisation would bring.",
    "Side-lined": "The STP side-lined the CCG.",
}


def code_guid(path: str) -> str:
    """GUID of a codebook node by path."""
    return stable_guid("mini-code", path)


def codebook_rows() -> list[dict[str, object]]:
    """REFI code rows for the codebook (parents before children)."""
    rows: dict[str, dict[str, object]] = {}
    for parent, children in CODEBOOK.items():
        parts = parent.split("/")
        for depth in range(len(parts)):
            path = "/".join(parts[: depth + 1])
            if path not in rows:
                rows[path] = {"guid": code_guid(path), "name": parts[depth], "is_codable": False,
                              "parent_guid": code_guid("/".join(parts[:depth])) if depth else None}
        for child in children:
            path = f"{parent}/{child}"
            rows[path] = {"guid": code_guid(path), "name": child, "parent_guid": code_guid(parent)}
    return list(rows.values())


def leaf_path(name: str) -> str:
    """The codebook path of a leaf code by name."""
    return next(f"{p}/{name}" for p, kids in CODEBOOK.items() if name in kids)


@dataclass
class Coding:
    """One planted coding."""

    source: str
    start: int
    end: int
    code: str  # leaf name
    coder: str


@dataclass
class Source:
    """One planted source."""

    name: str
    text: str
    site: str
    case: str | None
    source_type: str
    role: str | None
    participant: str | None
    codings: list[Coding] = field(default_factory=list)


def _source(name: str, parts: list[tuple[str, list[str]]], rnd: random.Random, **meta: object) -> Source:
    """Text from (sentence, codes) parts; each coded sentence becomes a coding by coder_a."""
    text = ""
    codings = []
    for sentence, codes in parts:
        if text:
            text += " "
        start = len(text)
        text += sentence
        for code in codes:
            codings.append(Coding(name, start, len(text), code, "coder_a"))
        if rnd.random() < 0.5:
            text += " " + rnd.choice(FILLER)
    return Source(name=name, text=text, codings=codings, **meta)  # type: ignore[arg-type]


def scoping_sources(seed: int = 7) -> list[Source]:
    """Two scoping interviews per site."""
    rnd = random.Random(seed)
    out = []
    for site, areas in SCOPING_AREAS.items():
        for k in range(2):
            parts: list[tuple[str, list[str]]] = []
            for rank, area in enumerate(areas):
                for _ in range(3 - min(rank, 2) + (1 if k == 0 else 0)):
                    parts.append((PHRASES[area], [area]))
            parts.append((PHRASES[SCOPING_MATURITY[site]], [SCOPING_MATURITY[site]]))
            parts.append((f"I am {PEOPLE[k % len(PEOPLE)]}, chair here.", []))
            out.append(_source(f"Scoping {site} interview {k + 1}", parts, rnd, site=site, case=None,
                               source_type="interview", role=ROLES[k], participant=f"{site}-p{k}"))
    return out


def case_sources(seed: int = 11) -> list[Source]:
    """Interviews and a document per case; some sentences carry two codes; names planted."""
    rnd = random.Random(seed)
    themes = ["Strategic", "Programme", "Front line", "Collaborative", "Heroic", "Uncertainty", "Side-lined"]
    out = []
    for case, site_ids in CASES.items():
        sites = site_ids.split(";")
        for i in range(4):
            parts: list[tuple[str, list[str]]] = []
            for _ in range(6):
                a = rnd.choice(themes)
                codes = [a] if rnd.random() < 0.6 else [a, rnd.choice([t for t in themes if t != a])]
                parts.append((PHRASES[a], codes))
            parts.append((PHRASES["Urgent care"], ["Urgent care"]))
            person = PEOPLE[(i + len(case)) % len(PEOPLE)]
            parts.append((f"As {person} told me, the plan worked. Write to {EMAIL} or ring 0113 496 0123.",
                          ["Collaborative"]))
            out.append(_source(f"Case {case} interview {i + 1}", parts, rnd, site=sites[i % len(sites)], case=case,
                               source_type="interview", role=ROLES[i % len(ROLES)], participant=f"{case}-p{i}"))
        parts = [(PHRASES["Strategic"], ["Strategic"]), (PHRASES["Programme"], ["Programme"])]
        out.append(_source(f"Case {case} strategy paper", parts, rnd, site=sites[0], case=case,
                           source_type="document", role=None, participant=None))
    # coder_b double-codes the first interview of each case: agrees on most, misses one, adds one.
    for src in out:
        if src.name.endswith("interview 1"):
            extra = [Coding(c.source, c.start, c.end, c.code, "coder_b") for c in src.codings[1:]]
            first = src.codings[0]
            taken = {c.code for c in src.codings if (c.start, c.end) == (first.start, first.end)}
            other = next(t for t in ("Heroic", "Strategic", "Programme") if t not in taken)
            extra.append(Coding(src.name, first.start, first.end, other, "coder_b"))
            src.codings.extend(extra)
    return out


def project(name: str, sources: list[Source]) -> QdaProject:
    """A REFI-QDA project holding the sources and their codings."""
    cases = sorted({s.case for s in sources if s.case})
    variables = []
    for s in sources:
        sg = stable_guid("mini-source", s.name)
        for var, value in (("site_id", s.site), ("source_type", s.source_type), ("participant_role", s.role),
                           ("participant_id", s.participant)):
            if value is not None:
                variables.append({"source_guid": sg, "name": var, "value": value})
    return project_from_rows(
        name,
        codes=codebook_rows(),
        sources=[{"guid": stable_guid("mini-source", s.name), "name": s.name, "text": s.text} for s in sources],
        source_variables=variables,
        users=[{"guid": stable_guid("mini-user", c), "name": c} for c in ("coder_a", "coder_b")],
        selections=[
            {"guid": stable_guid("mini-sel", c.source, str(c.start), str(c.end), c.coder),
             "source_guid": stable_guid("mini-source", c.source), "start": c.start, "end": c.end,
             "code_guid": code_guid(leaf_path(c.code)), "user_guid": stable_guid("mini-user", c.coder)}
            for s in sources for c in s.codings
        ],
        cases=[{"guid": stable_guid("mini-case", c), "name": c} for c in cases],
        case_variables=[{"case_guid": stable_guid("mini-case", c), "name": "site_ids", "value": CASES[c]} for c in cases],
        case_sources=[{"case_guid": stable_guid("mini-case", s.case), "source_guid": stable_guid("mini-source", s.name)}
                      for s in sources if s.case],
    )


def segments_csv(sources: list[Source]) -> bytes:
    """The sources' codings as a coded-segments CSV."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["source", "case", "speaker_role", "start", "end", "code", "coder", "text"])
    for s in sources:
        for c in s.codings:
            case = CASES[s.case].split(";")[0] if s.case else s.site
            writer.writerow([s.name, case, s.role or "", c.start, c.end, c.code, c.coder,
                             s.text[c.start:c.end]])
    return buf.getvalue().encode("utf-8")


def config(fmt: str = "qdpx", **selection: object) -> dict[str, object]:
    """The study.yaml mapping."""
    ext = "qdpx" if fmt == "qdpx" else "csv"
    wave = {"format": "csv", "roster": {"path": "roster.csv", "id_column": "id", "site_column": "site",
                                        "role_column": "role"}}
    case_selection = {
        "n": 3,
        "attributes": ["region", "setting", "population"],
        "quotas": [{"name": "inner_city", "where": {"setting": "inner_city"}, "min": 1},
                   {"name": "mixed", "where": {"setting": "mixed"}, "min": 1}],
        "seed": 3,
    }
    case_selection.update(selection)
    return {
        "study": {"id": "mini", "title": "Mini study"},
        "roles": {r: {"label": r.replace("_", " ").title(), "group": "gp" if "gp" in r else "other"} for r in ROLES},
        "sites": {"path": "sites.csv", "id_column": "code", "name_column": "name",
                  "attributes": {"region": "region", "setting": "setting", "deprivation": "deprivation",
                                 "population": "population"}},
        "survey": {
            "waves": {"w1": {"label": "2014", "year": 2014, "phase": "survey_w1", "export": "w1.csv", **wave},
                      "w2": {"label": "2016", "year": 2016, "phase": "survey_w2", "export": "w2.csv", **wave}},
            "respondent": {"id_column": "rid", "site_column": "site", "role_column": "role", "role_codes": {}},
            "variables": {},
        },
        "qualitative": {
            "codebook": "codebook.qdc",
            "scoping": {"projects": [f"scoping/*.{ext}"], "format": fmt if fmt == "qdpx" else "segments_csv"},
            "case_studies": {"projects": [f"cases/*.{ext}"], "format": fmt if fmt == "qdpx" else "segments_csv"},
            "area_theme": "Topic areas",
            "maturity_theme": "Maturity",
            "target_areas_top": 3,
            "case_selection": case_selection,
            "redact_terms": ["Hartwell Surgery"],
        },
    }


def write_study(root: Path, fmt: str = "qdpx", **selection: object) -> Path:
    """Write the whole mini study under `root`; returns the study.yaml path."""
    (root / "scoping").mkdir(parents=True, exist_ok=True)
    (root / "cases").mkdir(exist_ok=True)
    with (root / "sites.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "region", "setting", "deprivation", "population"])
        w.writerows(SITES)
    for name in ("w1.csv", "w2.csv", "roster.csv"):
        (root / name).write_text("id,site,role\n")
    (root / "codebook.qdc").write_bytes(write_qdc(project("cb", []).codes, "codebook.qdc"))
    scoping = scoping_sources()
    cases = case_sources()
    half = len(scoping) // 2
    if fmt == "qdpx":
        (root / "scoping" / "part1.qdpx").write_bytes(write_qdpx(project("scoping 1", scoping[:half])))
        (root / "scoping" / "part2.qdpx").write_bytes(write_qdpx(project("scoping 2", scoping[half:])))
        (root / "cases" / "cases.qdpx").write_bytes(write_qdpx(project("cases", cases)))
    else:
        (root / "scoping" / "part1.csv").write_bytes(segments_csv(scoping[:half]))
        (root / "scoping" / "part2.csv").write_bytes(segments_csv(scoping[half:]))
        (root / "cases" / "cases.csv").write_bytes(segments_csv(cases))
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(config(fmt, **selection), sort_keys=False))
    return path
