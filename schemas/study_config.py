"""The study configuration (`study.yaml`): one file declares a whole four-phase study.

Nothing about a particular study lives in code: sites, rosters, the survey instrument, the
qualitative inputs and the triangulation propositions are all declared here and validated on
load, with errors that name the key and what was expected.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.phases import PhaseName

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
VariableType = Literal["single_choice", "multiple_choice", "likert", "numeric", "free_text"]
Severity = Literal["error", "warn"]


class ConfigError(ValueError):
    """study.yaml is invalid; the message names each key and what was expected."""


class _Strict(BaseModel):
    # extra="forbid" is what turns a typo in a key into an error naming that key.
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhaseDates(_Strict):
    """When a phase ran."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> PhaseDates:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class StudyMeta(_Strict):
    """Identity of the study and its phase calendar."""

    id: Slug
    title: str
    funder: str | None = None
    phases: dict[PhaseName, PhaseDates] = Field(default_factory=dict)
    # Name of the environment variable holding the pseudonymisation key; never the key itself.
    pseudonym_key_env: str = "STUDYFLOW_PSEUDONYM_KEY"
    # Name of a Prefect Secret block holding the key, used when the variable is not set.
    pseudonym_key_block: str | None = None
    # The embedded demo (written by `study demo-data`): only then may the key be a local file,
    # created next to study.yaml when neither the variable nor the block holds one.
    demo: bool = False


class TableInput(_Strict):
    """A tabular input file (CSV or XLSX); `path` is relative to study.yaml, globs allowed."""

    path: str
    sheet: str | None = None


class SitesConfig(TableInput):
    """The organisations studied (the sampling units), e.g. CCGs."""

    id_column: str
    name_column: str | None = None
    # Columns carried into analyses, under the name used in study.yaml (key) from a column (value).
    attributes: dict[Slug, str] = Field(default_factory=dict)


class RoleConfig(_Strict):
    """A respondent or participant role."""

    label: str
    group: Slug  # coarser grouping used in breakdowns, e.g. gp / manager / other


class RosterConfig(TableInput):
    """The people who could respond in a wave (the denominator)."""

    id_column: str
    site_column: str
    role_column: str


class WaveConfig(_Strict):
    """One survey wave: its export, its roster and the site attributes valid at that time."""

    label: str
    year: int
    phase: Literal["survey_w1", "survey_w2"]
    export: str
    format: Literal["qualtrics", "redcap", "csv", "spss"]
    dictionary: str | None = None
    roster: RosterConfig
    # Time-varying site attributes for this wave: analysis name -> sites column.
    site_attributes: dict[Slug, str] = Field(default_factory=dict)


# Response statuses that are not real responses, as Qualtrics labels them (the reader resolves
# its numeric codes to these labels): previews (online or offline), tests and every kind of spam.
EXCLUDED_STATUSES = (
    "Survey Preview", "Survey Test", "Spam", "Survey Preview Spam", "Imported Spam",
    "Offline Survey Preview", "EX Spam",
)


class SiteLookup(TableInput):
    """A lookup table linking an export value (a member or reference id) to a site id."""

    # Export column whose value is looked up (e.g. ExternalReference).
    export_column: str
    # Lookup-table column matched against it, and the column holding the site id.
    key_column: str
    site_column: str


# Where a respondent's site comes from: the export's own site column, the wave's roster (the
# export's member column -> roster id -> roster site) or a lookup table.
RespondentSiteFrom = Literal["column", "roster", "lookup"]


class RespondentConfig(_Strict):
    """How a survey submission identifies its respondent, site and role."""

    id_column: str
    # The export's site column (site_from: column).
    site_column: str | None = None
    role_column: str
    site_from: RespondentSiteFrom = "column"
    site_lookup: SiteLookup | None = None
    # Export code -> role key in `roles`.
    role_codes: dict[str, Slug]
    # Pseudonymous link id (e.g. Qualtrics ExternalReference = roster member id), used to find
    # repeat submissions by one person; optional.
    member_column: str | None = None
    status_column: str | None = None
    finished_column: str | None = None
    progress_column: str | None = None
    submitted_column: str | None = None
    # Submissions with these status labels are removed (previews, spam, tests).
    exclude_status: list[str] = Field(default_factory=lambda: list(EXCLUDED_STATUSES))

    @model_validator(mode="after")
    def _site_link(self) -> RespondentConfig:
        if self.site_from == "column" and not self.site_column:
            raise ValueError("site_from: column needs site_column (the export column holding the site id)")
        if self.site_from == "roster" and not self.member_column:
            raise ValueError("site_from: roster needs member_column (the export column holding the roster's member id)")
        if self.site_from == "lookup" and self.site_lookup is None:
            raise ValueError("site_from: lookup needs site_lookup (path, export_column, key_column, site_column)")
        if self.site_from != "lookup" and self.site_lookup is not None:
            raise ValueError(f"site_lookup is only read with site_from: lookup (site_from is {self.site_from!r})")
        return self


class Variable(_Strict):
    """One analysis variable of the survey instrument."""

    type: VariableType
    question: str
    # Export column, or for multiple choice a template with `{code}` (e.g. "Q7_{code}").
    column: str
    # Per-wave override of `column` when the export changed between waves.
    wave_columns: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    missing_codes: list[str] = Field(default_factory=list)
    waves: list[str]
    grid: Slug | None = None  # Likert items sharing a grid are checked for straight-lining
    # Codes counted as the "positive" answer when a single proportion summarises the variable.
    key_codes: list[str] = Field(default_factory=list)
    # Multiple choice: what a row with no option chosen means — an unanswered item ("missing",
    # left out of the proportions' base) or an answer choosing none ("none_chosen", counted in it).
    blank_means: Literal["missing", "none_chosen"] = "missing"

    @model_validator(mode="after")
    def _shape(self) -> Variable:
        if self.type in ("single_choice", "multiple_choice", "likert") and not self.labels:
            raise ValueError(f"a {self.type} variable needs `labels` (export code -> label)")
        if self.type == "multiple_choice" and "{code}" not in self.column:
            raise ValueError("a multiple_choice `column` must be a template containing {code}")
        if self.blank_means != "missing" and self.type != "multiple_choice":
            raise ValueError(f"blank_means applies to multiple_choice variables only (this one is {self.type})")
        unknown = [c for c in self.key_codes if c not in self.labels]
        if unknown:
            raise ValueError(f"key_codes {unknown} are not among the labels' codes")
        return self

    def column_for(self, wave: str) -> str:
        """The export column (or template) holding this variable in a wave."""
        return self.wave_columns.get(wave, self.column)


class FreeTextCategory(_Strict):
    """A category of a free-text coding dictionary: regular expressions, any of which matches."""

    label: str
    patterns: list[str]

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") from exc
        return patterns


class FreeTextDictionary(_Strict):
    """Dictionary that quantitises one free-text variable into categories (multi-label)."""

    variable: str
    categories: dict[Slug, FreeTextCategory]
    # Optional human-coded sample (CSV: response_id, category) for agreement with the dictionary.
    human_coded: str | None = None


class TrimConfig(_Strict):
    """Weight trimming bounds, as multiples of the mean weight."""

    lower: float = 0.3
    upper: float = 3.0


class WeightingConfig(_Strict):
    """Raking of respondents to roster margins."""

    # "role" always exists; other margins name site attributes, so a study adds its own.
    margins: list[str] = Field(default_factory=lambda: ["role"])
    trim: TrimConfig | None = Field(default_factory=TrimConfig)
    max_iter: int = 100


class InferenceConfig(_Strict):
    """Design-based inference options of the weighted estimates (docs/statistics.md)."""

    # Intervals on Student's t with G - 1 degrees of freedom (G = sites answering the item)
    # instead of the normal: cautious when there are few sites.
    t_intervals: bool = False
    # Finite-population correction 1 - g/G of the variance: g sites answering of the G sites
    # in the site list (every site of the population is listed).
    fpc: bool = False


class SurveyConfig(_Strict):
    """The survey strand: waves, respondent mapping, instrument and analysis options."""

    waves: dict[Slug, WaveConfig]
    respondent: RespondentConfig
    variables: dict[Slug, Variable]
    breakdowns: list[str] = Field(default_factory=lambda: ["role"])
    weighting: WeightingConfig = Field(default_factory=WeightingConfig)
    freetext: dict[Slug, FreeTextDictionary] = Field(default_factory=dict)
    straightlining_min_items: int = 4
    inference: InferenceConfig = Field(default_factory=InferenceConfig)

    @model_validator(mode="after")
    def _consistent(self) -> SurveyConfig:
        phases = sorted(w.phase for w in self.waves.values())
        if phases != ["survey_w1", "survey_w2"]:
            raise ValueError(
                f"waves must map to phases survey_w1 and survey_w2 once each, got {phases}"
            )
        for name, var in self.variables.items():
            for wave in (*var.waves, *var.wave_columns):
                if wave not in self.waves:
                    raise ValueError(f"variables.{name}: wave {wave!r} is not declared in waves")
        for key, ft in self.freetext.items():
            target = self.variables.get(ft.variable)
            if target is None or target.type != "free_text":
                raise ValueError(
                    f"freetext.{key}.variable {ft.variable!r} must name a free_text variable"
                )
        return self

    def wave_for_phase(self, phase: str) -> str:
        """The wave key run by a survey phase."""
        for key, wave in self.waves.items():
            if wave.phase == phase:
                return key
        raise KeyError(phase)


class SourceVariables(_Strict):
    """Names of the REFI-QDA source variables carrying each source's metadata."""

    site: str = "site_id"
    source_type: str = "source_type"
    role: str = "participant_role"
    participant: str = "participant_id"


class CaseSiteMapping(TableInput):
    """A table linking each case name to the site id it studies."""

    case_column: str
    site_column: str


# Where a source's or case's site comes from: a REFI variable (the source's `site` variable, or
# the case's `case_site_variable`), the case name itself, a regular expression on the case name,
# or a mapping table (case name -> site id).
QualSiteFrom = Literal["variable", "case_name", "case_pattern", "mapping"]


class QdaInputs(_Strict):
    """A set of REFI-QDA projects (or coded-segment CSVs) and how to read their metadata."""

    projects: list[str]
    format: Literal["qdpx", "segments_csv"] = "qdpx"
    source_variables: SourceVariables = Field(default_factory=SourceVariables)
    # REFI case variable holding the site ids a case covers (several separated by ';').
    case_site_variable: str = "site_ids"
    site_from: QualSiteFrom = "variable"
    # site_from: case_pattern — the site id is the named group `site`, else group 1.
    site_pattern: str | None = None
    site_mapping: CaseSiteMapping | None = None

    # REFI sets that define cases (a regular expression on the whole set name, e.g. "Trust .*"):
    # each matching set becomes a case named after the set, holding the set's member sources.
    case_sets: str | None = None

    @field_validator("case_sets")
    @classmethod
    def _case_sets_is_a_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"case_sets must be a regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _site_link(self) -> QdaInputs:
        if self.site_from == "case_pattern":
            if not self.site_pattern:
                raise ValueError("site_from: case_pattern needs site_pattern (a regular expression on the case name)")
            try:
                compiled = re.compile(self.site_pattern)
            except re.error as exc:
                raise ValueError(f"site_pattern {self.site_pattern!r} is not a valid regular expression: {exc}") from exc
            if compiled.groups == 0:
                raise ValueError(f"site_pattern {self.site_pattern!r} needs a group: (?P<site>...) or (...)")
        elif self.site_pattern is not None:
            raise ValueError(f"site_pattern is only read with site_from: case_pattern (site_from is {self.site_from!r})")
        if self.site_from == "mapping" and self.site_mapping is None:
            raise ValueError("site_from: mapping needs site_mapping (path, case_column, site_column)")
        if self.site_from != "mapping" and self.site_mapping is not None:
            raise ValueError(f"site_mapping is only read with site_from: mapping (site_from is {self.site_from!r})")
        return self


class Quota(_Strict):
    """A case-selection quota: at least `min` cases whose site attributes match `where`."""

    name: str
    where: dict[str, str]
    min: int = 1


class CaseSelectionConfig(_Strict):
    """Purposive maximum-variation choice of case sites from the scoping sites."""

    n: int = Field(ge=1)
    attributes: list[str]
    # Wave-1 site indicators (survey variables, by key code share) added to the attributes.
    survey_indicators: list[str] = Field(default_factory=list)
    quotas: list[Quota] = Field(default_factory=list)
    pins: list[str] = Field(default_factory=list)
    seed: int = 0


class QualitativeConfig(_Strict):
    """The qualitative strand: codebook, scoping interviews, case-study projects."""

    codebook: str
    scoping: QdaInputs
    case_studies: QdaInputs
    # Codebook node (path) whose child codes are the clinical / topic areas ranked in scoping.
    area_theme: str
    # Codebook node whose child codes rate a site's maturity in scoping.
    maturity_theme: str | None = None
    # Areas a case must work on (names of child codes of area_theme); empty = any area.
    target_areas_top: int = 3
    case_selection: CaseSelectionConfig
    double_coded_share_min: float = 0.1
    redact_terms: list[str] = Field(default_factory=list)


class PropositionQuant(_Strict):
    """The quantitative side of a proposition: a survey variable, optional breakdown."""

    variable: str
    codes: list[str] = Field(default_factory=list)
    breakdown: str | None = None
    compare_waves: bool = False


class PropositionStance(_Strict):
    """Evidence direction read from a codebook attribute (e.g. a stance in each code's description)."""

    # A column of the case-study codebook table: description, name, color, category or theme.
    attribute: Literal["description", "name", "color", "category", "theme"] = "description"
    # Attribute values (compared ignoring case and surrounding spaces) of supporting codes.
    supporting: list[str]
    contradicting: list[str] = Field(default_factory=list)


class Proposition(_Strict):
    """A triangulation proposition: qualitative evidence for and against, set against a survey result."""

    id: Slug
    statement: str
    # Where the case-study evidence lies. Without `supporting` or `stance`, every code under these
    # themes supports the proposition (and nothing contradicts it).
    themes: list[str] = Field(default_factory=list)
    # Codes, categories or themes whose codings speak for / against the proposition.
    supporting: list[str] = Field(default_factory=list)
    contradicting: list[str] = Field(default_factory=list)
    # Alternative to supporting/contradicting: the codes under `themes` sorted by a codebook attribute.
    stance: PropositionStance | None = None
    quantitative: PropositionQuant
    expect: Literal["majority", "minority", "increase", "decrease", "differs_by_group"] | None = None

    @model_validator(mode="after")
    def _evidence(self) -> Proposition:
        if self.stance is not None and (self.supporting or self.contradicting):
            raise ValueError("give either stance or supporting/contradicting, not both")
        if self.stance is not None and not self.themes:
            raise ValueError("stance needs themes: the codes whose attribute it reads")
        if not (self.themes or self.supporting):
            raise ValueError("a proposition needs themes or supporting codes")
        return self


class TriangulationConfig(_Strict):
    """Propositions joining qualitative evidence to survey results, and the rules' thresholds."""

    propositions: list[Proposition] = Field(default_factory=list)
    # Share of cases that must carry evidence for (against) a proposition before it counts as
    # supported (contradicted); see docs/triangulation.md.
    case_prevalence: float = Field(default=0.5, gt=0.0, le=1.0)
    # Interval level of the quantitative rules (differs_by_group tests at alpha = 1 - confidence).
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    # Weighted (raked, design-based) or unweighted (Wilson) survey figures in the verdicts.
    weighted: bool = True
    # A case site estimate from fewer respondents than this is flagged small-n.
    small_n: int = Field(default=10, ge=1)


class QualityConfig(_Strict):
    """Severity of each named data-quality check (`error` stops the phase, `warn` reports)."""

    severity: dict[str, Severity] = Field(default_factory=dict)


TASK_RUNNER = re.compile(r"^(threads|dask|dask=tcp://[A-Za-z0-9.\-]+:[0-9]+)$")


class OrchestrationConfig(_Strict):
    """How a run executes its steps: task runner, retries of store I/O, time limits."""

    # threads (default), dask (a local two-worker cluster) or dask=tcp://HOST:PORT (a scheduler).
    task_runner: str = "threads"
    # Retries of a step whose store I/O failed, with exponential backoff from retry_delay_seconds.
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay_seconds: float = Field(default=1.0, ge=0, le=600)
    step_timeout_seconds: float = Field(default=3600, gt=0)
    # Data arriving within this many seconds of the first arrival joins the same study run.
    arrival_window_seconds: float = Field(default=120, ge=0, le=86400)
    # After an announced input's run fails, the watcher waits this long before announcing it
    # again, doubling each time (at most a day).
    announce_backoff_seconds: float = Field(default=600, gt=0, le=86400)

    @field_validator("task_runner")
    @classmethod
    def _runner(cls, value: str) -> str:
        if not TASK_RUNNER.match(value):
            raise ValueError(f"{value!r}: expected threads, dask or dask=tcp://HOST:PORT")
        return value


class StudyConfig(_Strict):
    """A whole study as declared in study.yaml."""

    study: StudyMeta
    roles: dict[Slug, RoleConfig]
    sites: SitesConfig
    survey: SurveyConfig
    qualitative: QualitativeConfig
    triangulation: TriangulationConfig = Field(default_factory=TriangulationConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    # Folders outside the study folder that inputs may also come from (absolute, or relative to
    # study.yaml). Without it, every input must resolve inside the study folder.
    inputs_root: list[str] = Field(default_factory=list)
    # Directory of study.yaml; relative input paths resolve against it. Set by the loader.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @field_validator("inputs_root", mode="before")
    @classmethod
    def _roots_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _references(self) -> StudyConfig:
        for code, role in self.survey.respondent.role_codes.items():
            if role not in self.roles:
                raise ValueError(
                    f"survey.respondent.role_codes[{code!r}] = {role!r} is not a key of roles"
                )
        return self

    def resolve(self, pattern: str) -> list[Path]:
        """Input files matching a path or glob relative to study.yaml, sorted."""
        if Path(pattern).is_absolute():
            root, rel = Path(Path(pattern).anchor), str(Path(pattern).relative_to(Path(pattern).anchor))
        else:
            root, rel = self.base_dir, pattern
        if any(ch in pattern for ch in "*?["):
            return sorted(p for p in root.glob(rel) if p.is_file())
        return [root / rel]

    def allowed_roots(self) -> list[Path]:
        """Folders inputs may come from: the study folder plus `inputs_root`, symlinks resolved."""
        roots = [self.base_dir.resolve()]
        for entry in self.inputs_root:
            root = Path(entry) if Path(entry).is_absolute() else self.base_dir / entry
            roots.append(root.resolve())
        return roots

    def input_files(self, key: str, pattern: str) -> list[Path]:
        """The files an input key names, each confined to the allowed folders (resolved paths).

        Refused, with an InputPathError naming the study.yaml key and the path: an absolute path
        or a symlink leading outside the study folder (and `inputs_root`), anything under /proc,
        /sys or /dev, and anything that is not a regular file (devices, FIFOs, sockets).
        """
        roots = self.allowed_roots()
        if Path(pattern).is_absolute() and not any(Path(pattern).is_relative_to(r) for r in roots):
            raise InputPathError(key, pattern, "absolute paths are not allowed; give a path relative "
                                 "to study.yaml, or list its folder in inputs_root")
        found: list[Path] = []
        for path in self.resolve(pattern) if any(c in pattern for c in "*?[") else self._literal(pattern):
            found.append(confine_path(key, pattern, path, roots))
        return found

    def _literal(self, pattern: str) -> list[Path]:
        path = Path(pattern) if Path(pattern).is_absolute() else self.base_dir / pattern
        # lexists: a dangling or looping symlink is reported, not taken for a missing file.
        return [path] if os.path.lexists(path) else []


# Pseudo-file systems: never study data, and reading them can leak the process's secrets.
_SYSTEM_DIRS = (Path("/proc"), Path("/sys"), Path("/dev"))


class InputPathError(ConfigError):
    """An input path in study.yaml leads somewhere inputs may not come from."""

    def __init__(self, key: str, path: str, rule: str) -> None:
        super().__init__(f"study.yaml {key}: {path!r}: {rule}")
        self.key, self.path, self.rule = key, path, rule


def confine_path(key: str, pattern: str, path: Path, roots: list[Path]) -> Path:
    """`path` resolved (symlinks followed) if it is a regular file inside one of `roots`."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise InputPathError(key, pattern, f"cannot be resolved ({exc.__class__.__name__}: {exc})") from None
    if any(real == d or real.is_relative_to(d) for d in _SYSTEM_DIRS):
        raise InputPathError(key, pattern, f"resolves to {real}, a system file; inputs must be data files")
    if not any(real.is_relative_to(r) for r in roots):
        via = " through a symlink" if real != Path(os.path.normpath(path.absolute())) else ""
        raise InputPathError(
            key, pattern,
            f"leads outside the study folder{via} (to {real}); inputs must stay inside "
            f"{roots[0]}, or their folder must be listed in inputs_root",
        )
    mode = real.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a folder" if stat.S_ISDIR(mode) else "not a file")
        raise InputPathError(key, pattern, f"is {kind}, not a regular file")
    return real


def read_confined(path: Path) -> bytes:
    """Bytes of a confined input, opened without following a symlink swapped in since the check."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return fh.read()


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against docs/study-yaml.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
        lines.append(f"  {loc}: {msg}")
    return f"{path}: invalid study configuration:\n" + "\n".join(lines)


def parse_study_config(data: dict[str, Any], path: Path) -> StudyConfig:
    """Validate a parsed study.yaml mapping; `path` locates relative inputs and errors."""
    try:
        cfg = StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc)) from None
    return cfg.model_copy(update={"base_dir": path.resolve().parent})


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML says keys are unique;
    PyYAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                hash(key)
            except TypeError:
                break  # unhashable keys are refused by the base constructor
            if key in seen:
                first = seen[key].start_mark
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first given on line {first.line + 1})", key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_study_config(path: str | Path) -> StudyConfig:
    """Read and validate a study.yaml file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: study configuration not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: byte {exc.start}: study.yaml must be UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ConfigError(f"{path}: {where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return parse_study_config(data, path)
