"""The demo codebook: theme → category → code, built on the study's published themes.

GUIDs are uuid5 of the code's path, so every project and the .qdc share them and they never
change between runs. Themes and categories are organising nodes (not codable); leaves are.
"""

from __future__ import annotations

import polars as pl

from tasks.ingest.qdpx import stable_guid

AREA_THEME = "Clinical areas"
MATURITY_THEME = "Maturity"

# theme -> category -> codes (leaves). Clinical areas and maturity are two levels deep.
TREE: dict[str, dict[str, tuple[str, ...]]] = {
    "Leadership arenas": {
        "Strategic arena": ("Governing body strategy", "Strategic gap"),
        "Programme board arena": ("Programme board work", "Mediating perspectives"),
        "Front-line arena": ("Front-line implementation", "Peer credibility"),
    },
    "Leadership style": {
        "Collaborative leadership": ("Building networks", "Sparing use of contract levers"),
        "Heroic leadership": ("Top-down direction",),
        "Informal leadership": ("Non-positional leaders", "Bending the rules"),
    },
    "Clinician-manager alliance": {
        "Complementary skills": ("Evidence and rigour", "Clinical framing"),
        "Shared messaging": ("Standing together",),
        "Alliance leadership": ("Shared interests",),
    },
    "Political context": {
        "Uncertainty": ("Organisational future", "Mergers"),
        "Disillusionment": ("Disillusioned GPs",),
        "Side-lined CCGs": ("Sustainability and transformation plans", "Federations and accountable care"),
        "Board recruitment": ("Recruiting GPs to boards",),
    },
    "Institutional logics": {
        "Market logic": ("Competition and contracts",),
        "Bureaucratic logic": ("Plans and directives",),
        "Network logic": ("Collaborative networks",),
    },
    "Institutional work": {
        "Creating work": ("Conceptualising", "Instigating", "Trialling", "Embedding"),
        "Maintenance work": ("System maintenance",),
    },
    "Vicious circle of disengagement": {
        "Low GP engagement": ("Lack of time", "Little incentive"),
        "Others step in": ("Managers step in", "Centre steps in"),
        "Suspicion confirmed": ("GP suspicion",),
    },
}
AREAS: tuple[str, ...] = (
    "Frail older people and integrated care",
    "Urgent care",
    "Mental health",
    "Musculoskeletal",
    "Primary care reform",
    "Maternity",
    "Diabetes",
    "Cancer",
)
MATURITY: tuple[str, ...] = ("Emerging", "Developing", "Established")
COLORS: dict[str, str] = {
    "Leadership arenas": "#1f77b4",
    "Leadership style": "#ff7f0e",
    "Clinician-manager alliance": "#2ca02c",
    "Political context": "#d62728",
    "Institutional logics": "#9467bd",
    "Institutional work": "#8c564b",
    "Vicious circle of disengagement": "#e377c2",
    AREA_THEME: "#17becf",
    MATURITY_THEME: "#7f7f7f",
}


def guid(path: str) -> str:
    """The GUID of the code at `path` ("Theme/Category/Code")."""
    return stable_guid("demo-codebook", path)


def area_path(area: str) -> str:
    """Path of a clinical-area code."""
    return f"{AREA_THEME}/{area}"


def maturity_path(level: str) -> str:
    """Path of a maturity code."""
    return f"{MATURITY_THEME}/{level}"


def leaf_paths() -> list[str]:
    """Paths of the theme codes (three levels), in codebook order."""
    return [
        f"{theme}/{category}/{code}"
        for theme, categories in TREE.items()
        for category, codes in categories.items()
        for code in codes
    ]


def codes_frame() -> pl.DataFrame:
    """The codebook as a REFI codes table (guid, name, parent_guid, is_codable, color, ...)."""
    rows: list[dict[str, object]] = []

    def add(path: str, codable: bool, description: str | None = None) -> None:
        parent, _, name = path.rpartition("/")
        rows.append(
            {
                "guid": guid(path),
                "name": name,
                "parent_guid": guid(parent) if parent else None,
                "is_codable": codable,
                "color": COLORS[path.split("/")[0]],
                "description": description,
                "path": path,
                "depth": path.count("/") + 1,
            }
        )

    for theme, categories in TREE.items():
        add(theme, False, f"Theme: {theme.lower()}")
        for category, codes in categories.items():
            add(f"{theme}/{category}", False)
            for code in codes:
                add(f"{theme}/{category}/{code}", True)
    add(AREA_THEME, False, "Clinical and service areas where redesign is taking place")
    for area in AREAS:
        add(area_path(area), True)
    add(MATURITY_THEME, False, "Organisational maturity of the site at scoping (one code per site)")
    for level in MATURITY:
        add(maturity_path(level), True)
    return pl.DataFrame(
        rows,
        schema={
            "guid": pl.String, "name": pl.String, "parent_guid": pl.String,
            "is_codable": pl.Boolean, "color": pl.String, "description": pl.String,
            "path": pl.String, "depth": pl.Int64,
        },
        orient="row",
    )
