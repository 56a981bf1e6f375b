"""The bundled demo study, calibrated to the CCG study's published figures.

`generate_demo_study(out_dir, seed=2013, scale=1)` writes a whole four-phase study in real
export formats (Qualtrics CSV, REFI-QDA .qdpx/.qdc, CSV/XLSX rosters) plus its study.yaml.
Everything is driven by the seed: the same seed and scale give byte-identical files. At scale
K the sites, rosters, responses, scoping sites and case projects are K blocks of the scale-1
study, generated and written one block at a time so memory does not grow with K.

The plans below are the demo's ground truth: the analysis code never sees them and has to
recover the patterns from the files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from tasks.demo.codebook import codes_frame
from tasks.demo.config import dump_yaml, study_config
from tasks.demo.exports import CsvStream, QualtricsStream
from tasks.demo.names import cast
from tasks.demo.qualitative import CasePlan, ScopingPlan, case_project, scoping_project
from tasks.demo.sites import (
    CASE_LETTERS,
    SITES_PER_BLOCK,
    make_rosters,
    make_site_block,
    member_width,
    unknown_site_code,
)
from tasks.demo.survey import WAVE_SPECS, wave_block
from tasks.demo.xlsx import XlsxStream
from tasks.ingest.qdpx import write_qdc, write_qdpx

# Box 1 of the first paper: each case's clinical area and leadership pattern. Interview counts
# add up to 202 (65 GP chairs and GP board members, 36 accountable officers and senior
# managers); about 20% of interviews are double-coded. Theme weights set how often each theme's
# codes are applied in a case, emphasised codes three times as often as their siblings.
CASE_PLAN: dict[str, CasePlan] = {
    "A": CasePlan(
        "GPs on the board challenge provider clinicians on adult mental health and integrate "
        "urgent care with primary care, out-of-hours GPs implementing",
        ("Mental health", "Urgent care"), chairs=2, gp_members=9, accountable_officers=1,
        senior_managers=5, others=17, documents=6, observations=4, double_coded=7,
        themes={"Leadership arenas": 3, "Leadership style": 2, "Clinician-manager alliance": 2,
                "Political context": 1, "Institutional logics": 2, "Institutional work": 3,
                "Vicious circle of disengagement": 1},
        emphasis=("Peer credibility", "Front-line implementation", "Trialling", "Collaborative networks"),
    ),
    "B": CasePlan(
        "GPs on the board lead new standards for primary care across a large conurbation; "
        "locality GPs lead implementation",
        ("Primary care reform",), chairs=2, gp_members=12, accountable_officers=2,
        senior_managers=3, others=17, documents=7, observations=4, double_coded=7,
        themes={"Leadership arenas": 4, "Leadership style": 3, "Clinician-manager alliance": 1,
                "Political context": 1, "Institutional logics": 2, "Institutional work": 3,
                "Vicious circle of disengagement": 1},
        emphasis=("Governing body strategy", "Front-line implementation", "Peer credibility",
                  "Top-down direction", "Embedding", "Plans and directives"),
    ),
    "C": CasePlan(
        "GPs build relationships between practices and with the voluntary sector and fund a "
        "Wellbeing Hub for preventive mental health",
        ("Mental health",), chairs=2, gp_members=8, accountable_officers=1,
        senior_managers=4, others=15, documents=5, observations=3, double_coded=6,
        themes={"Leadership arenas": 2, "Leadership style": 4, "Clinician-manager alliance": 1,
                "Political context": 1, "Institutional logics": 3, "Institutional work": 2,
                "Vicious circle of disengagement": 1},
        emphasis=("Building networks", "Non-positional leaders", "Collaborative networks", "Instigating"),
    ),
    "D": CasePlan(
        "A GP federation pilots collaborative GP services across a locality, integrated with "
        "community services, seeking CCG support",
        ("Primary care reform", "Frail older people and integrated care"), chairs=1,
        gp_members=11, accountable_officers=1, senior_managers=3, others=16, documents=5,
        observations=3, double_coded=6,
        themes={"Leadership arenas": 1, "Leadership style": 3, "Clinician-manager alliance": 1,
                "Political context": 4, "Institutional logics": 1, "Institutional work": 3,
                "Vicious circle of disengagement": 2},
        emphasis=("Non-positional leaders", "Bending the rules", "Federations and accountable care",
                  "Disillusioned GPs", "Conceptualising", "Instigating"),
    ),
    "E": CasePlan(
        "GPs on the board work with neighbouring CCGs on integrated care for frail older people "
        "and take it to the GP community",
        ("Frail older people and integrated care",), chairs=3, gp_members=7,
        accountable_officers=3, senior_managers=6, others=19, documents=8, observations=5,
        double_coded=8,
        themes={"Leadership arenas": 2, "Leadership style": 3, "Clinician-manager alliance": 4,
                "Political context": 2, "Institutional logics": 2, "Institutional work": 2,
                "Vicious circle of disengagement": 1},
        emphasis=("Standing together", "Shared interests", "Evidence and rigour", "Building networks",
                  "Governing body strategy", "Programme board work", "Mergers"),
    ),
    "F": CasePlan(
        "GPs work at the strategic level with the local authority to conceptualise an accountable "
        "care organisation; little wider GP involvement",
        ("Frail older people and integrated care", "Urgent care"), chairs=3, gp_members=5,
        accountable_officers=2, senior_managers=5, others=17, documents=7, observations=4,
        double_coded=6,
        themes={"Leadership arenas": 3, "Leadership style": 1, "Clinician-manager alliance": 1,
                "Political context": 3, "Institutional logics": 2, "Institutional work": 2,
                "Vicious circle of disengagement": 4},
        emphasis=("Governing body strategy", "Strategic gap", "Federations and accountable care",
                  "Sustainability and transformation plans", "Managers step in", "Little incentive",
                  "GP suspicion", "Conceptualising", "System maintenance"),
    ),
}

# Scoping: frail older people, urgent care and mental health in the most sites and segments,
# then MSK, primary care, ...; each site coded with one maturity level.
SCOPING_PLAN = ScopingPlan(
    area_sites={
        "Frail older people and integrated care": 13, "Urgent care": 12, "Mental health": 11,
        "Musculoskeletal": 8, "Primary care reform": 7, "Diabetes": 4, "Maternity": 3, "Cancer": 3,
    },
    area_segments={
        "Frail older people and integrated care": 3, "Urgent care": 3, "Mental health": 3,
        "Musculoskeletal": 2, "Primary care reform": 2, "Diabetes": 1, "Maternity": 1, "Cancer": 1,
    },
    case_areas={letter: plan.areas for letter, plan in CASE_PLAN.items()},
    case_maturity={
        "A": ("Developing",), "B": ("Established",), "C": ("Developing",), "D": ("Developing",),
        "E": ("Established", "Established", "Developing"), "F": ("Established", "Established"),
    },
    other_maturity=("Emerging", "Emerging", "Emerging", "Developing", "Developing", "Established"),
)
# Above this many blocks the 2016 roster would not fit one Excel sheet: it is written as CSV.
XLSX_MAX_SCALE = 230
REDACT_PER_CASE = 2


@dataclass(frozen=True)
class DemoStudy:
    """What generate_demo_study wrote: the study.yaml path, every file, and planted counts."""

    config_path: Path
    files: tuple[Path, ...]
    counts: dict[str, int] = field(default_factory=dict)


def _suffix(block: int) -> str:
    return "" if block == 0 else f"_{block + 1:03d}"


def _remove_stale(out_dir: Path, written: set[Path]) -> None:
    """Delete earlier demo outputs that this run did not rewrite (e.g. from a larger scale)."""
    patterns = ("qualitative/scoping*.qdpx", "qualitative/cases/case_*.qdpx", "rosters/board_2016.*")
    for pattern in patterns:
        for path in out_dir.glob(pattern):
            if path.resolve() not in written:
                path.unlink()


def generate_demo_study(
    out_dir: Path, *, seed: int = 2013, scale: int = 1, qualitative_scale: int | None = None
) -> DemoStudy:
    """Write the demo study into `out_dir` and return its study.yaml path, files and counts.

    `qualitative_scale` (default: `scale`) caps the blocks that get scoping and case-study
    projects, so a national-scale survey can come with a chosen number of coded segments.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    qualitative_blocks = scale if qualitative_scale is None else qualitative_scale
    if not 1 <= qualitative_blocks <= scale:
        raise ValueError(f"qualitative_scale must be between 1 and scale ({scale}), got {qualitative_scale}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_sites = SITES_PER_BLOCK * scale
    width = member_width(n_sites)
    unknown_members = (f"M{10**width - 2}", f"M{10**width - 1}")
    use_xlsx = scale <= XLSX_MAX_SCALE
    roster_2016 = "rosters/board_2016.xlsx" if use_xlsx else "rosters/board_2016.csv"
    files: list[Path] = []
    counts: dict[str, int] = {}

    def add(key: str, value: int) -> None:
        counts[key] = counts.get(key, 0) + value

    sites_out = CsvStream(out_dir / "sites/ccgs.csv")
    board_2014 = CsvStream(out_dir / "rosters/board_2014.csv")
    board_2016: XlsxStream | CsvStream = (
        XlsxStream(["member_id", "ccg_code", "role"], sheet="board_2016")
        if use_xlsx
        else CsvStream(out_dir / roster_2016)
    )
    surveys = [
        QualtricsStream(out_dir / spec.path, spec.index, encoding=spec.encoding, bom=spec.bom)
        for spec in WAVE_SPECS
    ]
    human = CsvStream(out_dir / "survey/obstacles_human_coded.csv")
    (out_dir / "qualitative/cases").mkdir(parents=True, exist_ok=True)
    used_ids: set[str] = set()
    next_member = 1
    redact: list[str] = []
    for block in range(scale):
        sites = make_site_block(block, n_sites, seed)
        rosters = make_rosters(sites.frame, seed, block, next_member, width)
        next_member = rosters.next_member
        sites_out.write(sites.frame)
        board_2014.write(rosters.board_2014)
        if isinstance(board_2016, XlsxStream):
            board_2016.append(rosters.board_2016.iter_rows())
        else:
            board_2016.write(rosters.board_2016)
        add("sites", sites.frame.height)
        add("roster_w2014", rosters.board_2014.height)
        add("roster_w2016", rosters.board_2016.height)
        for spec, roster, stream in zip(
            WAVE_SPECS, (rosters.board_2014, rosters.board_2016), surveys, strict=True
        ):
            wave = wave_block(
                spec, sites.frame, roster, seed=seed, block=block,
                unknown_site=unknown_site_code(n_sites), unknown_members=unknown_members,
                used_ids=used_ids,
            )
            stream.write(wave.rows)
            for key, value in wave.counts.items():
                add(f"{spec.key}_{key}", value)
            if wave.human_coded:
                human.write(pl.DataFrame(wave.human_coded, schema=["response_id", "category"], orient="row"))
        if block >= qualitative_blocks:
            continue
        suffix = _suffix(block)
        label = "" if block == 0 else f" (block {block + 1:03d})"
        scoping = scoping_project(
            sites.scoping, sites.case_sites, SCOPING_PLAN, label=label, seed=seed, block=block
        )
        path = out_dir / f"qualitative/scoping{suffix}.qdpx"
        path.write_bytes(write_qdpx(scoping))
        files.append(path)
        add("scoping_sites", len(sites.scoping))
        add("scoping_interviews", scoping.sources.height)
        add("segments", scoping.selections.height)
        for letter in CASE_LETTERS:
            plan = CASE_PLAN[letter]
            names = cast(8, random.Random(f"{seed}:{block}:cast:{letter}"))
            if block == 0:
                redact += [n.split(" ", 1)[1] for n in names[:REDACT_PER_CASE]]
            project = case_project(
                letter, plan, sites.case_sites[letter], names, label=f"{letter}{label}",
                seed=seed, block=block,
            )
            path = out_dir / f"qualitative/cases/case_{letter}{suffix}.qdpx"
            path.write_bytes(write_qdpx(project))
            files.append(path)
            add("case_interviews", plan.interviews)
            add("case_gp_interviews", plan.chairs + plan.gp_members)
            add("case_manager_interviews", plan.accountable_officers + plan.senior_managers)
            add("case_double_coded", plan.double_coded)
            add("case_documents", plan.documents)
            add("case_observations", plan.observations)
            add("segments", project.selections.height)
    sites_out.close()
    board_2014.close()
    if isinstance(board_2016, XlsxStream):
        (out_dir / roster_2016).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / roster_2016).write_bytes(board_2016.finish())
    else:
        board_2016.close()
    for spec, stream in zip(WAVE_SPECS, surveys, strict=True):
        stream.close(spec.blank_trailing_rows)
    human.close()
    codebook = out_dir / "qualitative/codebook.qdc"
    codebook.write_bytes(write_qdc(codes_frame(), "codebook.qdc"))
    config = study_config(
        roster_2016=roster_2016,
        roster_2016_sheet="board_2016" if use_xlsx else None,
        scoping_glob="qualitative/scoping*.qdpx",
        cases_glob="qualitative/cases/case_*.qdpx",
        redact_terms=sorted(set(redact)),
        seed=seed,
    )
    config_path = out_dir / "study.yaml"
    config_path.write_bytes(dump_yaml(config))
    files += [
        sites_out.path, board_2014.path, out_dir / roster_2016, human.path, codebook, config_path,
        *(s.path for s in surveys),
    ]
    _remove_stale(out_dir, {f.resolve() for f in files})
    return DemoStudy(config_path=config_path, files=tuple(sorted(files)), counts=counts)
