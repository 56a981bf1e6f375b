"""The demo survey instrument: Qualtrics metadata columns, questions, codes and labels.

One definition feeds both the export writer (tags, question text, ImportIds) and study.yaml
(variable keys, columns, labels), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WAVES: tuple[str, ...] = ("w2014", "w2016")

ROLE_CODES: dict[str, str] = {
    "1": "chair",
    "2": "accountable_officer",
    "3": "gp_member",
    "4": "nurse",
    "5": "secondary_care_doctor",
    "6": "finance_director",
    "7": "lay_member",
    "8": "other_manager",
}
ROLE_LABELS: dict[str, str] = {
    "chair": "Chair",
    "accountable_officer": "Accountable officer",
    "gp_member": "GP member of the governing body",
    "nurse": "Registered nurse",
    "secondary_care_doctor": "Secondary care doctor",
    "finance_director": "Chief finance officer",
    "lay_member": "Lay member",
    "other_manager": "Other manager / director",
}
ROLE_GROUPS: dict[str, str] = {
    "chair": "gp",
    "gp_member": "gp",
    "accountable_officer": "manager",
    "finance_director": "manager",
    "other_manager": "manager",
    "nurse": "other",
    "secondary_care_doctor": "other",
    "lay_member": "other",
}
CODE_OF_ROLE: dict[str, str] = {role: code for code, role in ROLE_CODES.items()}

INFLUENCE_LABELS: dict[str, str] = {
    "1": "My CCG",
    "2": "NHS England",
    "3": "A collaboration of CCGs",
    "4": "The local authority",
    "5": "Provider trusts",
    "6": "Other",
}
REDESIGN_LABELS: dict[str, str] = {
    "1": "Our own CCG",
    "2": "A local collaboration of CCGs",
    "3": "NHS England",
    "4": "Provider trusts",
    "5": "The local authority",
    "6": "NHS Improvement",
    "7": "The sustainability and transformation partnership (STP)",
}
COLLABORATION_LABELS: dict[str, str] = {
    "1": "Very little",
    "2": "Little",
    "3": "Some",
    "4": "A lot",
    "5": "A great deal",
}
INFLUENCE_SCALE: dict[str, str] = {
    "1": "No influence",
    "2": "Little influence",
    "3": "Some influence",
    "4": "Much influence",
    "5": "A great deal of influence",
}
LEAD_LABELS: dict[str, str] = {
    "1": "GP members",
    "2": "Managers",
    "3": "GP members and managers equally",
    "4": "Lay members",
    "5": "Other clinicians",
}
GRID_ITEMS: tuple[tuple[str, str], ...] = (
    ("influence_gps", "GP members"),
    ("influence_managers", "Managers"),
    ("influence_lay", "Lay members"),
    ("influence_secondary_care", "Secondary care doctors"),
    ("influence_nurses", "Nurses"),
)
GRID_STEM = "Within your CCG, how much influence do the following have on decisions?"
BOARD_YEARS_MISSING = "-99"


@dataclass(frozen=True)
class Question:
    """One export column of the questionnaire and the analysis variable it carries."""

    key: str
    type: str
    tag: str
    import_id: str
    text: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    waves: tuple[int, ...] = (0, 1)
    wave_tags: dict[int, str] = field(default_factory=dict)
    wave_import_ids: dict[int, str] = field(default_factory=dict)
    grid: str | None = None
    key_codes: tuple[str, ...] = ()
    missing_codes: tuple[str, ...] = ()

    def tag_for(self, wave: int) -> str:
        """The export tag of this question in a wave (0 or 1)."""
        return self.wave_tags.get(wave, self.tag)

    def import_id_for(self, wave: int) -> str:
        """The Qualtrics ImportId of this question in a wave."""
        return self.wave_import_ids.get(wave, self.import_id)


_LEAD = "Who in your CCG mainly {}?"

QUESTIONS: tuple[Question, ...] = (
    Question("role", "single_choice", "Q1", "QID1", "What is your role on the CCG's governing body?",
             "Respondent's role on the governing body",
             labels={c: ROLE_LABELS[r] for c, r in ROLE_CODES.items()}),
    Question("influence_body", "single_choice", "Q2", "QID2",
             "Which body has the most influence over the design of local services for your CCG's population?",
             "Body with most influence over local service design", labels=INFLUENCE_LABELS,
             key_codes=("1",)),
    Question("redesign_player", "single_choice", "Q3", "QID14",
             "Who is the major player in redesigning services across your local health economy?",
             "Major player in redesign across the local health economy", labels=REDESIGN_LABELS,
             waves=(1,), key_codes=("1",)),
    Question("collaboration_neighbours", "likert", "Q4", "QID4",
             "How much does your CCG collaborate with neighbouring CCGs?",
             "Collaboration with neighbouring CCGs", labels=COLLABORATION_LABELS,
             key_codes=("4", "5")),
    *(
        Question(key, "likert", f"Q5_{k}", f"QID5_{k}", f"{GRID_STEM} - {item}",
                 f"Influence within the CCG: {item}", labels=INFLUENCE_SCALE,
                 grid="within_ccg_influence", key_codes=("4", "5"))
        for k, (key, item) in enumerate(GRID_ITEMS, start=1)
    ),
    Question("vision_lead", "single_choice", "Q6", "QID6", _LEAD.format("sets a compelling vision"),
             "Who sets the compelling vision", labels=LEAD_LABELS),
    Question("communication_lead", "single_choice", "Q7", "QID7",
             _LEAD.format("communicates with patients and the public"),
             "Who communicates with patients and the public", labels=LEAD_LABELS),
    Question("coalition_lead", "single_choice", "Q8", "QID8",
             _LEAD.format("builds coalitions with other CCGs and providers"),
             "Who builds coalitions", labels=LEAD_LABELS),
    Question("board_years", "numeric", "Q9", "QID9",
             "How many years have you served on this governing body (or its predecessor)?",
             "Years on the governing body", wave_tags={1: "Q9_1"},
             wave_import_ids={1: "QID9_1"}, missing_codes=(BOARD_YEARS_MISSING,)),
    Question("obstacles_text", "free_text", "Q10", "QID10_TEXT",
             "What are the main obstacles to clinical leadership in your CCG?",
             "Obstacles to clinical leadership (free text)"),
    Question("gp_contribution_text", "free_text", "Q11", "QID11_TEXT",
             "What distinctive contribution, if any, do GPs make to the work of the CCG?",
             "Distinctive contribution of GPs (free text)"),
    Question("impacts_text", "free_text", "Q12", "QID12_TEXT",
             "What have been the most significant impacts of your CCG on local services?",
             "Most significant impacts (free text)"),
)

# (export tag, question text, ImportId, extra ImportId keys) of the Qualtrics metadata columns.
METADATA: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("StartDate", "Start Date", "startDate", {"timeZone": "Europe/London"}),
    ("EndDate", "End Date", "endDate", {"timeZone": "Europe/London"}),
    ("Status", "Response Type", "status", {}),
    ("IPAddress", "IP Address", "ipAddress", {}),
    ("Progress", "Progress", "progress", {}),
    ("Duration (in seconds)", "Duration (in seconds)", "duration", {}),
    ("Finished", "Finished", "finished", {}),
    ("RecordedDate", "Recorded Date", "recordedDate", {"timeZone": "Europe/London"}),
    ("ResponseId", "Response ID", "_recordId", {}),
    ("RecipientLastName", "Recipient Last Name", "recipientLastName", {}),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName", {}),
    ("RecipientEmail", "Recipient Email", "recipientEmail", {}),
    ("ExternalReference", "External Data Reference", "externalDataReference", {}),
    ("LocationLatitude", "Location Latitude", "locationLatitude", {}),
    ("LocationLongitude", "Location Longitude", "locationLongitude", {}),
    ("DistributionChannel", "Distribution Channel", "distributionChannel", {}),
    ("UserLanguage", "User Language", "userLanguage", {}),
    ("SiteID", "SiteID", "SiteID", {}),
)

# Answer stages in questionnaire order; a partial response stops after one of them.
STAGES: tuple[tuple[str, ...], ...] = (
    ("role",),
    ("influence_body", "redesign_player"),
    ("collaboration_neighbours", *(key for key, _ in GRID_ITEMS)),
    ("vision_lead", "communication_lead", "coalition_lead"),
    ("board_years",),
    ("obstacles_text", "gp_contribution_text", "impacts_text"),
)
STAGE_PROGRESS: tuple[int, ...] = (9, 27, 55, 73, 82, 100)


def questions_in(wave: int) -> list[Question]:
    """The questions asked in a wave (0 or 1), in export order."""
    return [q for q in QUESTIONS if wave in q.waves]


def question(key: str) -> Question:
    """The question carrying variable `key`."""
    return next(q for q in QUESTIONS if q.key == key)
