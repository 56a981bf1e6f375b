"""REFI-QDA projects of the demo: scoping interviews (one case per site) and the six case studies.

Each coded segment is the exact span of a planted sentence, so a quote is always the slice of
the source text at its offsets. A share of case-study interviews is coded again by a second
coder with realistic disagreement: most spans the same, some codes missed, some boundaries
shifted, a few different codes, a few extra codings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from tasks.demo.codebook import (
    AREA_THEME,
    MATURITY_THEME,
    TREE,
    area_path,
    codes_frame,
    guid,
    maturity_path,
)
from tasks.demo.names import cast
from tasks.demo.qda_project import project_from_rows
from tasks.demo.sites import exact_counts
from tasks.demo.transcripts import (
    AREA_SENTENCES,
    DOCUMENT,
    DOCUMENT_KINDS,
    FILLERS,
    INTERVIEW,
    MATURITY_SENTENCES,
    OBSERVATION,
    OBSERVATION_KINDS,
    QUESTIONS,
    fill,
)
from tasks.ingest.qdpx import QdaProject, stable_guid

CODERS: tuple[str, ...] = ("coder_a", "coder_b")
OTHER_PARTICIPANTS: dict[str, float] = {
    "provider": 0.25, "nurse": 0.15, "secondary_care_doctor": 0.12, "lay_member": 0.12,
    "local_authority": 0.12, "voluntary_sector": 0.14, "patient_group": 0.10,
}
ROLE_TITLES: dict[str, str] = {
    "chair": "CCG chair (GP)", "gp_member": "GP member of the governing body",
    "accountable_officer": "Accountable officer", "other_manager": "Senior manager, CCG",
    "nurse": "Nurse", "secondary_care_doctor": "Secondary care doctor", "lay_member": "Lay member",
    "provider": "Provider manager or clinician", "local_authority": "Local authority officer",
    "voluntary_sector": "Voluntary sector representative", "patient_group": "Patient group member",
}
# Second coder: shares of the first coder's codings kept / missed / shifted / recoded.
SECOND_CODER: dict[str, float] = {"same": 0.78, "missed": 0.08, "shifted": 0.08, "recoded": 0.06}
SECOND_CODER_EXTRA = 0.10
REINTERVIEW_SHARE = 0.15
# Directional evidence for the triangulation propositions (tasks/demo/config.py): these codes are
# never drawn at random in the case studies, only planted in the listed cases' interviews (code ->
# case letter -> interviews), so which cases speak for or against a proposition is known.
# "Managers step in" supports `managers_dominate`; "Standing together" (GPs and managers leading
# jointly) contradicts it: one case for, four against, one silent.
PLANTED: dict[str, dict[str, int]] = {
    "Managers step in": {"F": 3},
    "Standing together": {"A": 2, "B": 2, "C": 1, "E": 3},
}
PLANT_STRIDE = 4
DOC_FILLERS: tuple[str, ...] = (
    "The paper was noted.",
    "No conflicts of interest were declared on this item.",
    "The next review is due in the autumn.",
    "Figures are provisional and subject to validation.",
)
OBS_FILLERS: tuple[str, ...] = (
    "The meeting started ten minutes late.",
    "Around twenty people attended, including two members of the public.",
    "The room was too small for the numbers present.",
    "Papers had been circulated a week in advance.",
)


@dataclass(frozen=True)
class CasePlan:
    """What one case study looks like: area, interviews by role, sources, theme emphasis."""

    title: str
    areas: tuple[str, ...]
    chairs: int
    gp_members: int
    accountable_officers: int
    senior_managers: int
    others: int
    documents: int
    observations: int
    double_coded: int
    themes: dict[str, int]
    emphasis: tuple[str, ...] = ()

    @property
    def interviews(self) -> int:
        """Number of interviews in the case."""
        return self.chairs + self.gp_members + self.accountable_officers + self.senior_managers + self.others


@dataclass(frozen=True)
class ScopingPlan:
    """Scoping: sites per clinical area, segments per site-area, maturity levels."""

    area_sites: dict[str, int]
    area_segments: dict[str, int]
    case_areas: dict[str, tuple[str, ...]]
    case_maturity: dict[str, tuple[str, ...]]
    other_maturity: tuple[str, ...]


@dataclass
class _Sentence:
    start: int
    end: int
    para: int
    codes: tuple[str, ...]


@dataclass
class _Text:
    chunks: list[str] = field(default_factory=list)
    length: int = 0
    para: int = 0
    sentences: list[_Sentence] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.chunks.append(text)
        self.length += len(text)

    def line(self, text: str) -> None:
        self.add(text + "\n")

    def paragraph(self, prefix: str, sentences: list[tuple[str, tuple[str, ...]]]) -> None:
        self.add(prefix)
        for k, (sentence, codes) in enumerate(sentences):
            if k:
                self.add(" ")
            start = self.length
            self.add(sentence)
            self.sentences.append(_Sentence(start, self.length, self.para, codes))
        self.add("\n\n")
        self.para += 1

    @property
    def text(self) -> str:
        return "".join(self.chunks).rstrip("\n") + "\n"


_LEAVES: dict[str, str] = {
    path.rsplit("/", 1)[1]: path
    for path in (
        f"{t}/{c}/{code}" for t, cats in TREE.items() for c, codes in cats.items() for code in codes
    )
}


def _theme_codes(rnd: random.Random, themes: dict[str, int], emphasis: tuple[str, ...], count: int,
                 allowed: set[str] | None = None) -> list[str]:
    """Leaf code names drawn by theme weight, emphasised codes three times as likely."""
    names, weights = [], []
    for theme, weight in themes.items():
        leaves = [c for cat in TREE[theme].values() for c in cat if allowed is None or c in allowed]
        for leaf in leaves:
            names.append(leaf)
            weights.append(weight / len(leaves) * (3.0 if leaf in emphasis else 1.0))
    return rnd.choices(names, weights=weights, k=count) if names else []


def _planted(letter: str, interview: int) -> list[str]:
    """The reserved codes planted in one interview of a case (every PLANT_STRIDE-th, offset per code)."""
    out = []
    for offset, (code, cases) in enumerate(PLANTED.items()):
        k, r = divmod(interview - offset, PLANT_STRIDE)
        if r == 0 and 0 <= k < cases.get(letter, 0):
            out.append(code)
    return out


def _unreserved(leaves: list[str]) -> list[str]:
    """Drawn codes without the reserved (planted-only) ones."""
    return [leaf for leaf in leaves if leaf not in PLANTED]


def _distinct(leaves: list[str]) -> list[str]:
    """The codes in first-drawn order, each once."""
    return list(dict.fromkeys(leaves))


def _interview_text(
    rnd: random.Random, header: str, leaves: list[str], areas: list[str], focus: str,
    names: list[str], co_code_area: float,
) -> _Text:
    items: list[tuple[str, tuple[str, ...]]] = []
    used: set[str] = set()
    for leaf in leaves:
        fresh = [t for t in INTERVIEW[leaf] if t not in used]
        if not fresh:
            continue
        template = rnd.choice(fresh)
        used.add(template)
        codes: tuple[str, ...] = (_LEAVES[leaf],)
        if "{area}" in template and rnd.random() < co_code_area:
            codes += (area_path(focus),)
        items.append((fill(template, rnd, area=focus, names=names), codes))
    for area in areas:
        fresh = [t for t in AREA_SENTENCES[area] if t not in used] or list(AREA_SENTENCES[area])
        template = rnd.choice(fresh)
        used.add(template)
        items.append((fill(template, rnd, area=area, names=names), (area_path(area),)))
    rnd.shuffle(items)
    text = _Text()
    text.line(header)
    text.add("\n")
    n_turns = max(2, min(5, (len(items) + 2) // 3))
    questions = rnd.sample(QUESTIONS, n_turns)
    fillers = rnd.sample(FILLERS, n_turns)
    for turn in range(n_turns):
        chunk = items[turn::n_turns]
        if rnd.random() < 0.7:
            chunk.insert(rnd.randrange(len(chunk) + 1), (fillers[turn], ()))
        text.line("Interviewer: " + fill(questions[turn], rnd, area=focus, names=names))
        text.paragraph("Participant: ", chunk)
    return text


def _source_rows(
    project: str, text: _Text, *, name: str, source_guid: str, variables: dict[str, str],
    coder_a: str, second: str | None, rnd: random.Random, themes: dict[str, int],
) -> tuple[dict, list[dict], list[dict]]:
    source = {"guid": source_guid, "name": name, "text": text.text}
    var_rows = [{"source_guid": source_guid, "name": k, "value": v} for k, v in variables.items()]
    selections: list[dict] = []
    coded = [s for s in text.sentences if s.codes]
    for k, s in enumerate(coded):
        sel = stable_guid("selection", project, name, coder_a, str(k))
        for code in s.codes:
            selections.append({"guid": sel, "source_guid": source_guid, "start": s.start,
                               "end": s.end, "code_guid": guid(code), "user_guid": coder_a})
    if second is not None:
        selections += _second_coding(project, name, source_guid, text, second, rnd, themes)
    return source, var_rows, selections


def _second_coding(
    project: str, name: str, source_guid: str, text: _Text, coder: str, rnd: random.Random,
    themes: dict[str, int],
) -> list[dict]:
    out: list[dict] = []
    sentences = text.sentences
    kinds = list(SECOND_CODER)
    weights = list(SECOND_CODER.values())
    for k, s in enumerate(sentences):
        sel = stable_guid("selection", project, name, coder, str(k))
        if not s.codes:
            if rnd.random() < SECOND_CODER_EXTRA:
                extra = _theme_codes(rnd, themes, (), 1)
                if extra:
                    out.append({"guid": sel, "source_guid": source_guid, "start": s.start, "end": s.end,
                                "code_guid": guid(_LEAVES[extra[0]]), "user_guid": coder})
            continue
        kind = rnd.choices(kinds, weights=weights)[0]
        if kind == "missed":
            continue
        start, end, codes = s.start, s.end, list(s.codes)
        if kind == "shifted":
            following = sentences[k + 1] if k + 1 < len(sentences) else None
            if following is not None and following.para == s.para:
                end = following.end
            else:
                body = text.text[s.start : s.end]
                cut = body.find(" ", 10)
                start = s.start + cut + 1 if cut > 0 else s.start
        elif kind == "recoded":
            codes[0] = _sibling(codes[0], rnd)
        for code in dict.fromkeys(codes):
            out.append({"guid": sel, "source_guid": source_guid, "start": start, "end": end,
                        "code_guid": guid(code), "user_guid": coder})
    return out


def _sibling(path: str, rnd: random.Random) -> str:
    """Another code of the same category (else theme, else area) than `path`."""
    parts = path.split("/")
    if parts[0] in TREE:
        theme, category, leaf = parts
        pool = [c for c in TREE[theme][category] if c != leaf] or [
            c for cat in TREE[theme].values() for c in cat if c != leaf
        ]
        return _LEAVES[rnd.choice(pool)]
    return path


def _users() -> list[dict[str, str]]:
    return [{"guid": stable_guid("demo-user", c), "name": c} for c in CODERS]


def _month(rnd: random.Random, first: date, days: int) -> str:
    return (first + timedelta(days=rnd.randrange(days))).strftime("%B %Y")


def case_project(
    letter: str, plan: CasePlan, site_ids: tuple[str, ...], names: list[str], *, label: str,
    seed: int, block: int,
) -> QdaProject:
    """The REFI-QDA project of one case study (interviews, documents, observations, one case).

    `names` are the titled people its transcripts mention (to be redacted in quotes).
    """
    rnd = random.Random(f"{seed}:{block}:case:{letter}")
    project = f"Case {label}"
    coder_a, coder_b = (u["guid"] for u in _users())
    roles = (
        ["chair"] * plan.chairs + ["gp_member"] * plan.gp_members
        + ["accountable_officer"] * plan.accountable_officers
        + ["other_manager"] * plan.senior_managers
        + [r for r, k in zip(OTHER_PARTICIPANTS, exact_counts(plan.others, list(OTHER_PARTICIPANTS.values())), strict=True) for _ in range(k)]
    )
    rnd.shuffle(roles)
    double = set(rnd.sample(range(len(roles)), plan.double_coded))
    participants: dict[str, list[str]] = {}
    sources, variables, selections = [], [], []
    for i, role in enumerate(roles):
        known = participants.setdefault(role, [])
        if known and rnd.random() < REINTERVIEW_SHARE:
            participant = rnd.choice(known)
        else:
            participant = f"P-{label.replace(' ', '')}-{sum(map(len, participants.values())) + 1:03d}"
            known.append(participant)
        name = f"{project} interview {i + 1:03d}"
        focus = plan.areas[0] if rnd.random() < 0.65 else rnd.choice(plan.areas)
        areas = [rnd.choice(plan.areas) for _ in range(rnd.randint(1, 3))]
        header = (f"{name}. Participant: {ROLE_TITLES[role]} ({participant}). "
                  f"Date: {_month(rnd, date(2014, 10, 1), 540)}.")
        leaves = _unreserved(_theme_codes(rnd, plan.themes, plan.emphasis, rnd.randint(7, 11))) + _planted(letter, i)
        text = _interview_text(rnd, header, leaves, areas, focus, names, co_code_area=0.4)
        site = site_ids[i % len(site_ids)]
        src, var, sel = _source_rows(
            project, text, name=name, source_guid=stable_guid("demo-source", str(seed), name),
            variables={"site_id": site, "source_type": "interview", "participant_role": role,
                       "participant_id": participant},
            coder_a=coder_a, second=coder_b if i in double else None, rnd=rnd, themes=plan.themes,
        )
        sources.append(src)
        variables += var
        selections += sel
    for k in range(plan.documents):
        kind, title = DOCUMENT_KINDS[k % len(DOCUMENT_KINDS)]
        name = f"{project} document {k + 1:02d}"
        text = _document_text(rnd, kind, title, plan, names)
        src, var, sel = _source_rows(
            project, text, name=name, source_guid=stable_guid("demo-source", str(seed), name),
            variables={"site_id": site_ids[k % len(site_ids)], "source_type": "document", "document_type": kind},
            coder_a=coder_a, second=None, rnd=rnd, themes=plan.themes,
        )
        sources.append(src)
        variables += var
        selections += sel
    for k in range(plan.observations):
        name = f"{project} observation {k + 1:02d}"
        text = _observation_text(rnd, OBSERVATION_KINDS[k % len(OBSERVATION_KINDS)], plan, names)
        src, var, sel = _source_rows(
            project, text, name=name, source_guid=stable_guid("demo-source", str(seed), name),
            variables={"site_id": site_ids[k % len(site_ids)], "source_type": "observation"},
            coder_a=coder_a, second=None, rnd=rnd, themes=plan.themes,
        )
        sources.append(src)
        variables += var
        selections += sel
    case_guid = stable_guid("demo-case", str(seed), project)
    return project_from_rows(
        project,
        codes=codes_frame().drop("path", "depth").to_dicts(),
        sources=sources,
        source_variables=variables,
        users=_users(),
        selections=selections,
        cases=[{"guid": case_guid, "name": project}],
        case_variables=[
            {"case_guid": case_guid, "name": "site_ids", "value": ";".join(site_ids)},
            {"case_guid": case_guid, "name": "case_label", "value": letter},
            {"case_guid": case_guid, "name": "focus", "value": plan.title},
        ],
        case_sources=[{"case_guid": case_guid, "source_guid": s["guid"]} for s in sources],
    )


def _document_text(rnd: random.Random, kind: str, title: str, plan: CasePlan, names: list[str]) -> _Text:
    focus = plan.areas[0]
    text = _Text()
    text.line(fill(title, rnd, area=focus, names=names) + f" ({_month(rnd, date(2014, 9, 1), 570)})")
    if "minutes" in kind:
        text.line("Present: " + ", ".join(rnd.sample(names, 3)) + " and officers of the CCG.")
    text.add("\n")
    leaves = _distinct(_theme_codes(rnd, plan.themes, plan.emphasis, 12, allowed=set(DOCUMENT) - set(PLANTED)))
    fillers = rnd.sample(DOC_FILLERS, len(DOC_FILLERS))
    for k in range(rnd.randint(2, 3)):
        take = rnd.randint(2, 3)
        chosen, leaves = leaves[:take], leaves[take:]
        items: list[tuple[str, tuple[str, ...]]] = [
            (fill(rnd.choice(DOCUMENT[leaf]), rnd, area=focus, names=names), (_LEAVES[leaf],))
            for leaf in chosen
        ]
        items.append((fillers[k], ()))
        if k == 0 and rnd.random() < 0.7:
            area = rnd.choice(plan.areas)
            items.append((f"Progress on {fill('{area}', rnd, area=area, names=names)} is summarised in the appendix.", (area_path(area),)))
        text.paragraph("", items)
    return text


def _observation_text(rnd: random.Random, kind: str, plan: CasePlan, names: list[str]) -> _Text:
    text = _Text()
    text.line(f"{kind}, {_month(rnd, date(2014, 11, 1), 480)}. Chair: {rnd.choice(names)}.")
    text.add("\n")
    leaves = _distinct(_theme_codes(rnd, plan.themes, plan.emphasis, 12, allowed=set(OBSERVATION) - set(PLANTED)))
    fillers = rnd.sample(OBS_FILLERS, len(OBS_FILLERS))
    for k in range(2):
        take = rnd.randint(2, 3)
        chosen, leaves = leaves[:take], leaves[take:]
        items: list[tuple[str, tuple[str, ...]]] = [
            (rnd.choice(OBSERVATION[leaf]), (_LEAVES[leaf],)) for leaf in chosen
        ]
        items.insert(rnd.randrange(len(items) + 1), (fillers[k], ()))
        text.paragraph("", items)
    return text


def scoping_project(
    scoping: tuple[str, ...], case_sites: dict[str, tuple[str, ...]], plan: ScopingPlan,
    *, label: str, seed: int, block: int,
) -> QdaProject:
    """The scoping project: 3-5 interviews per scoping site, one REFI case per site."""
    rnd = random.Random(f"{seed}:{block}:scoping")
    project = f"Scoping interviews{label}"
    coder_a = _users()[0]["guid"]
    areas = _scoping_areas(scoping, case_sites, plan, rnd)
    maturity = _scoping_maturity(scoping, case_sites, plan, rnd)
    themes = {theme: 1 for theme in TREE}
    sources, variables, selections, cases, case_vars, links = [], [], [], [], [], []
    for site in scoping:
        names = cast(4, rnd)
        n_interviews = rnd.randint(3, 5)
        per_interview: list[list[str]] = [[] for _ in range(n_interviews)]
        for area in areas[site]:
            for _ in range(plan.area_segments[area]):
                per_interview[rnd.randrange(n_interviews)].append(area)
        roles = ["chair", "accountable_officer"] + rnd.choices(
            ["gp_member", "other_manager", "nurse"], k=n_interviews - 2
        )
        case_guid = stable_guid("demo-case", str(seed), project, site)
        cases.append({"guid": case_guid, "name": site})
        case_vars.append({"case_guid": case_guid, "name": "site_ids", "value": site})
        for k in range(n_interviews):
            participant = f"P-S{site}-{k + 1}"
            name = f"{site} scoping interview {k + 1}"
            header = (f"Scoping interview {k + 1}, {site}. Participant: {ROLE_TITLES[roles[k]]} "
                      f"({participant}). Date: {_month(rnd, date(2013, 6, 1), 270)}.")
            leaves = _theme_codes(rnd, themes, (), rnd.randint(2, 4))
            focus = areas[site][0]
            text = _interview_text(rnd, header, leaves, per_interview[k], focus, names, co_code_area=0.0)
            if k == 0:
                sentence = rnd.choice(MATURITY_SENTENCES[maturity[site]])
                text.paragraph("Participant: ", [(sentence, (maturity_path(maturity[site]),))])
            src, var, sel = _source_rows(
                project, text, name=name, source_guid=stable_guid("demo-source", str(seed), name),
                variables={"site_id": site, "source_type": "interview",
                           "participant_role": roles[k], "participant_id": participant},
                coder_a=coder_a, second=None, rnd=rnd, themes=themes,
            )
            sources.append(src)
            variables += var
            selections += sel
            links.append({"case_guid": case_guid, "source_guid": src["guid"]})
    return project_from_rows(
        project,
        codes=codes_frame().drop("path", "depth").to_dicts(),
        sources=sources,
        source_variables=variables,
        users=_users()[:1],
        selections=selections,
        cases=cases,
        case_variables=case_vars,
        case_sources=links,
    )


def _scoping_areas(
    scoping: tuple[str, ...], case_sites: dict[str, tuple[str, ...]], plan: ScopingPlan,
    rnd: random.Random,
) -> dict[str, list[str]]:
    required: dict[str, set[str]] = {}
    for letter, sites in case_sites.items():
        for area in plan.case_areas[letter]:
            required.setdefault(area, set()).update(sites)
    chosen: dict[str, list[str]] = {site: [] for site in scoping}
    for area, count in plan.area_sites.items():
        must = sorted(required.get(area, set()))
        rest = [s for s in scoping if s not in must]
        for site in must + rnd.sample(rest, max(0, count - len(must))):
            chosen[site].append(area)
    top = next(iter(plan.area_sites))
    for areas in chosen.values():
        if not areas:
            areas.append(top)  # every scoping site talks about at least one area
    return chosen


def _scoping_maturity(
    scoping: tuple[str, ...], case_sites: dict[str, tuple[str, ...]], plan: ScopingPlan,
    rnd: random.Random,
) -> dict[str, str]:
    levels: dict[str, str] = {}
    for letter, sites in case_sites.items():
        for site, level in zip(sites, plan.case_maturity[letter], strict=True):
            levels[site] = level
    others = [s for s in scoping if s not in levels]
    pool = list(plan.other_maturity)
    rnd.shuffle(pool)
    levels.update(zip(others, pool, strict=True))
    return levels


__all__ = ["AREA_THEME", "MATURITY_THEME", "CasePlan", "ScopingPlan", "case_project", "scoping_project"]
