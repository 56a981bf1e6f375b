"""Synthetic free-text survey answers and the regex dictionaries that code them.

Each category has sentence templates (alternatives in braces, e.g. "{GPs|clinicians}") written
so the category's patterns match them, and no other category's do. A few templates are marked
"hard": a human coder recognises the category but the dictionary does not, which plants
realistic dictionary-versus-human disagreement. All wording is invented for the demo.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_ALTERNATIVES = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Category:
    """A free-text category: label, dictionary patterns and sentence templates (text, hard)."""

    label: str
    patterns: tuple[str, ...]
    templates: tuple[tuple[str, bool], ...]


def expand(template: str, rnd: random.Random) -> str:
    """Fill every "{a|b|c}" group with one alternative, chosen by `rnd`."""
    return _ALTERNATIVES.sub(lambda m: rnd.choice(m.group(1).split("|")), template)


def _t(*texts: str, hard: tuple[str, ...] = ()) -> tuple[tuple[str, bool], ...]:
    return tuple((t, False) for t in texts) + tuple((t, True) for t in hard)


OBSTACLES: dict[str, Category] = {
    "lack_of_time": Category(
        "Lack of time",
        (r"\b(time|hours|too busy|over-?stretched|stretched|workload|sessions)\b",),
        _t(
            "{There is simply no|There's no|We have no} {protected |}time for {GPs|clinical members|GP leads} to do this properly alongside {their practices|the day job|clinical work}.",
            "{Lack|Shortage} of time{ -|:|,} {most|many} clinical leads are funded for two sessions a week and {need|spend} four.",
            "Time, above all{:|,} {practice workload|surgery demand|the pressure in general practice} {always|inevitably} comes first.",
            "GPs {are|feel} {too busy|overstretched|stretched too thin} {with patients|in their practices|by rising demand} to {give more|commit what is needed}.",
            "{Finding|Freeing up} time {is the|remains the} {single biggest|main|overriding} obstacle.",
            "{Not enough|Too few} hours in the week to {lead redesign|sit on programme boards} and {see patients|run a practice}.",
        ),
    ),
    "lack_of_will": Category(
        "Lack of will or commitment",
        (r"\b(the will to|lack of will|willingness|commitment|committed|appetite|enthusiasm|motivation|motivated)\b",),
        _t(
            "Some {GPs|GP members|colleagues} lack the will to {engage|take on a wider role|step up}.",
            "{There is|We see} a lack of commitment to the {CCG's|wider} agenda among {many GPs|some clinical members}.",
            "{Frankly, few|Not many} GPs {have the appetite|show much appetite} for commissioning.",
            "{Enthusiasm|Motivation} {has waned|has dropped off|is low} {since the early days|after the first year|among the membership}.",
        ),
    ),
    "capability": Category(
        "Capability shortfalls",
        (r"\b(skills?|capabilit\w*|competen\w*|training|leadership development|experience)\b",),
        _t(
            "Not all {GPs|clinical members} have the {skills|leadership skills} needed for board-level work.",
            "{Capability|Competence} in {finance|contracting|strategic planning} is {thin|limited|patchy} among clinical members.",
            "{Too little|Not enough} {leadership development|training} has been offered to {new GP leads|clinical members}.",
            "{Some|Many} lack experience of {running an organisation|strategic management|managing large contracts}.",
            hard=("Board papers on finance go over the heads of {several|some} clinical members.",),
        ),
    ),
    "poor_attendance": Category(
        "Poor attendance",
        (r"\b(attend\w*|apologies|turn(s|ing)? up|no-?shows?)\b",),
        _t(
            "Attendance {at|of GPs at} {board|locality|programme board} meetings is {poor|patchy|erratic}.",
            "{GP members|Clinical members} {often|regularly} send {apologies|their apologies}{ at short notice|}.",
            "{Meetings|Locality meetings} are {poorly|badly} attended by {practices|GPs}.",
            hard=("{Several|Some} clinical seats {sit empty|are empty} {most months|at most meetings}.",),
        ),
    ),
    "system_understanding": Category(
        "Lack of system-wide understanding",
        (r"\b(whole[- ]system|system[- ]wide|wider system)\b",),
        _t(
            "{Limited|Little|Poor} understanding of the {wider system|whole system} {among|amongst} GP members.",
            "{GPs|Clinicians} {tend to|often} see {things|issues} from their own practice rather than {the whole system|system-wide}.",
            "{A|The} whole-system view is {often |}missing {from clinical contributions|when GPs debate priorities}.",
            hard=("Board debates drift back to single practices and rarely reach population health.",),
        ),
    ),
    "fragmentation": Category(
        "Fragmentation",
        (r"\b(fragment\w*|silos?|disjointed)\b",),
        _t(
            "The {system|landscape|commissioning landscape} is {badly |}fragmented.",
            "Fragmentation {between|across} {CCG, specialist commissioners and the council|health and social care|commissioners} {undermines|blocks} joined-up {redesign|care}.",
            "{Services|Budgets} are {split|divided} into silos {that nobody owns|that do not talk to each other}.",
            hard=("Every pathway crosses four organisations, each with its own budget.",),
        ),
    ),
    "complexity": Category(
        "Complexity",
        (r"\b(complex\w*|complicated|convoluted)\b",),
        _t(
            "The {sheer |}complexity of the {system|NHS|landscape} {is overwhelming|defeats people|is exhausting}.",
            "{It is|Things are} {far too|too} complicated{ -|,} {there are|with} too many {layers|bodies|committees}.",
            "{A|The} {complex|convoluted} web of {governance|accountabilities} {slows everything down|gets in the way}.",
        ),
    ),
    "political_interference": Category(
        "Political interference",
        (r"\b(politic\w*|ministers?|whitehall|department of health)\b",),
        _t(
            "{Political interference|Interference from politicians} {is constant|never stops|undermines local decisions}.",
            "{Ministers|Whitehall|The Department of Health} {keep|keeps} changing the {rules|priorities} {before anything beds in|every year}.",
            "{Decisions|Priorities} are {driven|shaped} by {national politics|the political cycle} rather than local need.",
            "{The inspection régime|The régime of targets} is {politically driven|driven by politics}.",
        ),
    ),
    "acute_bias": Category(
        "Bias towards the acute sector",
        (r"(acute sector|\bbias (towards|in favour of)|payment by results)",),
        _t(
            "{The money|Funding|Resource} still {follows|flows to} the acute sector.",
            "{There is a|We see a} {strong |}bias {towards|in favour of} {hospitals|the acute trusts|acute care}.",
            "Payment by results {rewards|props up} hospital activity {rather than|instead of} {prevention|community care}.",
            hard=("{Every|Each} £1 {moved|shifted} out of {hospital|the big trust} is fought over.",),
        ),
    ),
    "lack_of_autonomy": Category(
        "Lack of CCG autonomy",
        (r"\b(autonom\w*|told what to do|freedom to|instructed)\b",),
        _t(
            "{The CCG|Our CCG|CCGs} {has|have} {little|very little|no} real autonomy.",
            "We are {told what to do|instructed} {from above|by the centre} {on almost everything|at every turn}.",
            "There is {little|no} freedom to {decide|act} locally{.|, whatever the rhetoric said.}",
        ),
    ),
    "power_of_nhse_acute": Category(
        "Power of NHS England and acute hospitals",
        (r"\b(nhs ?england|nhse|calls the shots|dominat\w*)\b",),
        _t(
            "{NHS England|NHSE} {holds|keeps} the real power{.|, not the CCG.}",
            "The {big|large|local} {hospital trust|acute trust|foundation trust} calls the shots.",
            "{NHS England|NHSE} and the {acute trusts|big hospitals} dominate {the local system|every negotiation}.",
        ),
    ),
}

GP_CONTRIBUTION: dict[str, Category] = {
    "knowledge": Category(
        "Knowledge and understanding (professional, front-line)",
        (r"\b(knowledge|understand\w*|front[- ]line|first[- ]hand|know what|insight)\b",),
        _t(
            "{GPs|They} bring {front-line|first-hand} knowledge of {what patients need|how services work on the ground}.",
            "{Real|Deep} understanding of {patients|the local population|how care is actually delivered}.",
            "{Clinical|Professional} knowledge {that managers cannot replicate|that no manager has}.",
            "They know what {happens|goes wrong} in {practice|surgeries} every day.",
        ),
    ),
    "analytical": Category(
        "Analytical and evidence-based thinking",
        (r"\b(evidence|analytic\w*|rigou?r|data)\b",),
        _t(
            "An {evidence-based|analytical} approach to {decisions|business cases}.",
            "{They|GPs} {ask|keep asking} what the evidence {says|shows}{ before we spend money|}.",
            "{Rigour|Scientific rigour} in {reviewing|appraising} {proposals|data}.",
        ),
    ),
    "common_sense": Category(
        "Common sense and pragmatism",
        (r"\b(common sense|pragmati\w*|practical|down-to-earth|realism)\b",),
        _t(
            "Common sense{.|, above all.}",
            "A {pragmatic|practical|down-to-earth} {approach|view} {to problems|that cuts through jargon}.",
            "{Pragmatism|Realism} about what can {actually |}be delivered.",
        ),
    ),
    "independent_perspective": Category(
        "Independent perspective",
        (r"\b(independen\w*|challeng\w*|awkward questions|fresh eyes|question (managers|assumptions))\b",),
        _t(
            "An independent perspective{.|, not tied to the organisation.}",
            "{They|GPs} {challenge|question} {managers|assumptions}{ and ask awkward questions| constructively}.",
            "{A healthy dose of challenge|Fresh eyes} {from outside the NHS hierarchy|on old problems}.",
        ),
    ),
    "credibility": Category(
        "Credibility and trust with patients",
        (r"\b(credib\w*|trust\w*|respect\w*)\b",),
        _t(
            "Credibility with {patients|the public|colleagues}.",
            "Patients {trust|still trust} {their GP|GPs} {far more than|more than} {managers|any organisation}.",
            "{They carry|GPs carry} {the |}respect {of|from} {peers|patients and peers}.",
        ),
    ),
    "sceptical": Category(
        "Sceptical: not sure they do",
        (r"(not sure they do|not convinced|\bvery little\b|\bnot much\b)",),
        _t(
            "I'm not sure they do{.|, to be honest.}",
            "{Very little|Not much}{,| -} {in my experience|from what I have seen}.",
            "{I am|I'm} not convinced they add {much|anything distinctive}.",
        ),
    ),
}

IMPACTS: dict[str, Category] = {
    "msk_to_community": Category(
        "Musculoskeletal services moved from acute to community",
        (r"\b(msk|musculo-?skeletal|physiotherap\w*|orthopaedic\w*)\b",),
        _t(
            "{MSK|Musculoskeletal} services {moved|shifted|transferred} from the {acute trust|hospital} {into|to} the community.",
            "{A new|The} community {MSK|musculoskeletal} {service|pathway} {with physiotherapy-led triage|run by physiotherapists}.",
            "{Re-procured|Recommissioned} {MSK|musculoskeletal and orthopaedic} services {outside hospital|in community settings}.",
        ),
    ),
    "talking_therapies": Category(
        "Mental health self-referral to talking therapies",
        (r"(talking therap\w*|\biapt\b|psychological therap\w*|self-referr?al|refer themselves)",),
        _t(
            "Self-referral to {talking therapies|IAPT|psychological therapies}{ for adults|}.",
            "{Patients can now|People can} refer themselves to {talking therapies|counselling} {without seeing a GP|directly}.",
            "{Expanded|Improved} access to psychological therapies{.|, with waiting times down.}",
        ),
    ),
    "frail_elderly": Category(
        "Frail elderly care to reduce emergency admissions",
        (r"\b(frail\w*|elderly|older (people|patients)|care homes?)\b",),
        _t(
            "{Integrated|Joined-up} care for {frail elderly|frail older} {patients|people}{ to reduce emergency admissions|, with community matrons|}.",
            "{Multidisciplinary teams|Care co-ordinators} {supporting|for} {older people|frail patients} {at home|in care homes}.",
            "{Better|Improved} support {to|for} care homes{ to avoid admissions|, with a named GP}.",
        ),
    ),
    "urgent_care": Category(
        "Urgent care redesign",
        (r"(urgent care|\bA ?& ?E\b|out[- ]of[- ]hours|\bNHS 111\b)",),
        _t(
            "{A new|An} urgent care centre {next to|alongside} A&E.",
            "{Redesigned|Integrated} {out-of-hours|out of hours} {and NHS 111 |}services.",
            "{GP streaming|GPs} at the front door of A&E.",
        ),
    ),
    "primary_care": Category(
        "Primary care development",
        (r"(extended (access|opening)|co-?commissioning|delegated|standards for (all|every) practices?)",),
        _t(
            "Extended {access|opening hours} in general practice {at evenings and weekends|across the patch}.",
            "{Delegated|Co-commissioning of} primary care{ since 2015|}.",
            "{New|Common} standards for {all|every} {practices|practice} {in the CCG|across the city}.",
        ),
    ),
    "shift_to_primary": Category(
        "Shift of resources from acute to primary",
        (r"(shift(ing)? of resources|from acute to primary|(moving|shifting) (money|funding|£\S+) from)",),
        _t(
            "{A|The} shift of resources from acute to primary {care|and community care}.",
            "{Moving|Shifting} {money|funding|£2m} from {hospital|acute} {care|budgets} into {primary|community} care.",
        ),
    ),
    "closer_to_home": Category(
        "Care closer to home",
        (r"(closer to home|nearer (to )?(home|where people live)|closer to where people live)",),
        _t(
            "Care closer to home{.| for people with long-term conditions.}",
            "{Bringing|Moving} {care|clinics} {closer to home|nearer where people live}.",
        ),
    ),
    "reducing_admissions": Category(
        "Reducing hospital admissions",
        (r"\b(reduc\w*|fewer|avoid\w*|cutting) (\w+ ){0,2}admissions?\b",),
        _t(
            "{Reducing|Fewer} {hospital|unplanned|emergency} admissions.",
            "{Avoiding|Cutting} {unnecessary |avoidable |}admissions{ to hospital|}.",
        ),
    ),
}

UNCODABLE: dict[str, tuple[str, ...]] = {
    "obstacles": (
        "{No comment|Nothing further to add|Hard to say|Difficult to generalise}.",
        "{See my previous answer|As above}.",
        "{I am new to the board|I joined recently} so {cannot|can't} comment{ yet|}.",
    ),
    "gp_contribution": (
        "{Depends on the individual|Varies a lot between people|Hard to generalise}.",
        "{No comment|Nothing to add}.",
    ),
    "impacts": ("{Too early to tell|Not yet clear|None that I can point to}.", "{No comment|Nothing to add}."),
}

DICTIONARIES: dict[str, tuple[str, dict[str, Category]]] = {
    "obstacles": ("obstacles_text", OBSTACLES),
    "gp_contribution": ("gp_contribution_text", GP_CONTRIBUTION),
    "impacts": ("impacts_text", IMPACTS),
}

# Obstacle categories by the respondent's role group (managers blame GP commitment and skills,
# GPs blame the system): STUDY.md's obstacles row.
OBSTACLES_BY_GROUP: dict[str, tuple[str, ...]] = {
    "gp": (
        "fragmentation", "complexity", "political_interference", "acute_bias",
        "lack_of_autonomy", "power_of_nhse_acute",
    ),
    "manager": ("lack_of_will", "capability", "poor_attendance", "system_understanding"),
    "other": (
        "lack_of_will", "capability", "poor_attendance", "system_understanding",
        "fragmentation", "complexity", "acute_bias",
    ),
}
HARD_SHARE = 0.06


def render(category: Category, rnd: random.Random, *, allow_hard: bool = True) -> tuple[str, bool]:
    """One sentence for a category and whether it is a "hard" (dictionary-missed) wording."""
    options = [t for t in category.templates if allow_hard or not t[1]]
    easy = [t for t in options if not t[1]]
    hard = [t for t in options if t[1]]
    pick = rnd.choice(hard) if hard and rnd.random() < HARD_SHARE else rnd.choice(easy)
    return expand(pick[0], rnd), pick[1]


def uncodable(kind: str, rnd: random.Random) -> str:
    """An answer that fits no category of the `kind` dictionary."""
    return expand(rnd.choice(UNCODABLE[kind]), rnd)


def localise(text: str, wave_index: int) -> str:
    """Wave-2 answers were typed in Word: curly apostrophes and en dashes (cp1252 characters)."""
    if wave_index == 0:
        return text
    return text.replace("'", "\u2019").replace(" - ", " \u2013 ")


def dictionary_codes(kind: str, text: str) -> set[str]:
    """Categories of the `kind` dictionary whose patterns match `text` (what the pipeline computes)."""
    _, categories = DICTIONARIES[kind]
    return {
        key
        for key, cat in categories.items()
        if any(re.search(p, text, re.IGNORECASE) for p in cat.patterns)
    }
