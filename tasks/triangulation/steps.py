"""Triangulation's steps: joint displays, convergence coding, the meta-matrix and the summary.

Each step is a pure function of the tables it declares (see tasks/triangulation/pipeline.py).
Convergence joins the researcher-owned review file (raw input "review.triangulation", i.e.
review/triangulation.csv in the store) when it exists; the pipeline never writes that file.
"""

from __future__ import annotations

import io

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.qualitative import CASES, CASES_CODEBOOK, MATRIX, QUOTES
from schemas.datasets.survey import (
    ANSWERS,
    ASSOCIATIONS,
    CHANGE,
    ESTIMATES,
    FREETEXT,
    FREETEXT_CODED,
    FREETEXT_UNCODED,
    RESPONDENTS,
)
from schemas.datasets.triangulation import (
    CONVERGENCE,
    JOINT_DISPLAYS,
    META_MATRIX,
    REVIEW,
    SENSITIVITY,
)
from tasks.step import StepInput, StepOutput
from tasks.triangulation import displays
from tasks.triangulation.cases import CaseSurvey, case_sites
from tasks.triangulation.displays import QualTables, base_setting
from tasks.triangulation.qualitative import PropositionError
from tasks.triangulation.quantitative import SurveyTables
from tasks.triangulation.review import join_review, review_table, review_template

# The review file's logical input name (tasks/storage/runs.py names review/<name>.csv
# "review.<name>") and where the researcher edits it, for messages.
REVIEW_INPUT = "review.triangulation"
REVIEW_PATH = "review/triangulation.csv"


def empty_table(dataset: Dataset) -> pl.DataFrame:
    """A zero-row frame with a dataset's contract columns."""
    if dataset.model is None:
        raise KeyError(f"dataset {dataset.name!r} is a {dataset.kind}, not a table")
    columns = dataset.model.to_schema().columns
    return pl.DataFrame(schema={name: col.dtype.type for name, col in columns.items()})


def _or_empty(inp: StepInput, dataset: Dataset, wave: str | None = None) -> pl.DataFrame:
    """A table when an earlier phase published it, else a contract-shaped empty one."""
    frame = inp.maybe(dataset, wave)
    return frame if frame is not None else empty_table(dataset)


def _case_table(inp: StepInput, dataset: Dataset) -> pl.DataFrame:
    """A case-study table; required as soon as the study declares propositions."""
    if inp.maybe(dataset) is None and inp.config.triangulation.propositions:
        raise PropositionError(f"triangulation needs {inp.name(dataset)!r}, which no earlier phase published")
    return _or_empty(inp, dataset)


def survey_tables(inp: StepInput) -> SurveyTables:
    """Every wave's survey tables concatenated in wave order (contract-shaped empties where absent)."""
    def every_wave(dataset: Dataset) -> pl.DataFrame:
        parts = [_or_empty(inp, dataset, w) for w in inp.waves]
        return pl.concat(parts, how="diagonal_relaxed") if parts else empty_table(dataset)

    return SurveyTables(
        waves=inp.waves, estimates=every_wave(ESTIMATES), associations=every_wave(ASSOCIATIONS),
        change=every_wave(CHANGE), freetext=every_wave(FREETEXT),
    )


def _every_wave(inp: StepInput, dataset: Dataset, columns: tuple[str, ...]) -> pl.DataFrame:
    parts = [_or_empty(inp, dataset, w).select(columns) for w in inp.waves]
    return pl.concat(parts, how="vertical_relaxed") if parts else empty_table(dataset).select(columns)


def case_survey(inp: StepInput) -> CaseSurvey:
    """Every wave's respondents, answers and coded free text, and each case's sites."""
    return CaseSurvey(
        respondents=_every_wave(inp, RESPONDENTS, ("wave", "respondent_id", "site_id", "role", "weight")),
        answers=_every_wave(inp, ANSWERS, ("wave", "respondent_id", "variable", "code", "missing")),
        freetext_coded=_every_wave(inp, FREETEXT_CODED, ("wave", "dictionary", "respondent_id", "category")),
        freetext_uncoded=_every_wave(inp, FREETEXT_UNCODED, ("wave", "dictionary", "variable", "respondent_id")),
        case_sites=case_sites(_case_table(inp, CASES)),
    )


def role_titles(inp: StepInput) -> dict[str, str]:
    """Role key → the study's label, for readable quote attribution."""
    return {key: role.label for key, role in inp.config.roles.items()}


def dictionaries(inp: StepInput) -> dict[str, str]:
    """Free-text variable → the key of its coding dictionary (the first declared)."""
    out: dict[str, str] = {}
    for key, ft in inp.config.survey.freetext.items():
        out.setdefault(ft.variable, key)
    return out


def read_review(inp: StepInput) -> pl.DataFrame | None:
    """The researcher's review as string columns, or None when it has not been written."""
    # Only review/triangulation.csv is the review; another file of that stem is not read.
    if REVIEW_INPUT not in inp.files or inp.file(REVIEW_INPUT).original_name != REVIEW_PATH.rsplit("/", 1)[-1]:
        return None
    text = inp.file(REVIEW_INPUT).data.decode("utf-8-sig")
    return pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)


def joint_displays(inp: StepInput) -> StepOutput:
    """Each proposition's case-study and survey evidence side by side."""
    cfg = inp.config
    qual = QualTables(
        codebook=_case_table(inp, CASES_CODEBOOK), matrix=_case_table(inp, MATRIX),
        quotes=_or_empty(inp, QUOTES),
    )
    frame = displays.joint_displays(cfg.triangulation.propositions, dict(cfg.survey.variables), qual,
                                    survey_tables(inp), role_titles(inp), base_setting(cfg.triangulation))
    return StepOutput(tables={JOINT_DISPLAYS: frame})


def convergence(inp: StepInput) -> StepOutput:
    """Convergence coding and sensitivity of every proposition, with the researcher's review joined in."""
    cfg = inp.config
    computed, sensitivity = displays.convergence_tables(
        cfg.triangulation.propositions, dict(cfg.survey.variables), _case_table(inp, CASES_CODEBOOK),
        _case_table(inp, MATRIX), survey_tables(inp), base_setting(cfg.triangulation),
    )
    review = read_review(inp)
    reviewed, notes = join_review(computed, review, REVIEW_PATH)
    return StepOutput(
        tables={CONVERGENCE: reviewed, SENSITIVITY: sensitivity, REVIEW: review_table(computed, review, REVIEW_PATH)},
        notes=tuple(notes),
    )


def meta_matrix(inp: StepInput) -> StepOutput:
    """Cases × propositions, beside each proposition's convergence coding."""
    cfg = inp.config
    frame = displays.meta_matrix(
        cfg.triangulation.propositions, dict(cfg.survey.variables), _case_table(inp, CASES_CODEBOOK),
        _case_table(inp, MATRIX), inp.table(CONVERGENCE), survey_tables(inp), case_survey(inp),
        base_setting(cfg.triangulation), cfg.triangulation.small_n, dictionaries(inp),
    )
    return StepOutput(tables={META_MATRIX: frame})


def summary_markdown(conv: pl.DataFrame, review: pl.DataFrame, meta: pl.DataFrame | None,
                     notes: list[str], review_file: str) -> str:
    """The phase artifact: verdicts with sensitivity, re-review flags, diverging case sites, and
    ready-to-paste review rows."""
    codes = conv.get_column("convergence").to_list()
    flagged = review.filter(pl.col("flag").is_not_null())
    lines = [
        "## Triangulation",
        f"{conv.height} propositions: {codes.count('agreement')} agreement, {codes.count('partial agreement')} "
        f"partial agreement, {codes.count('silence')} silence, {codes.count('dissonance')} dissonance; "
        f"{int((conv.get_column('reviewer_status') != 'unreviewed').sum())} reviewed ({REVIEW_PATH} {review_file}).",
        "",
        *(f"- **{r['proposition_id']}** ({r['convergence']}): qualitative {r['qual_support']}, "
          f"quantitative {r['quant_result']} — {r['quant_headline']}; sensitivity: {r['sensitivity']}"
          for r in conv.iter_rows(named=True)),
    ]
    if flagged.height:
        lines += ["", "### Review", *(f"- **{r['proposition_id']}**: {r['flag']}" for r in flagged.iter_rows(named=True))]
    if meta is not None and meta.height:
        apart = meta.filter(pl.col("site_direction").is_in(["higher", "lower"]))
        if apart.height:
            lines += ["", "### Case sites diverging from the other sites",
                      *(f"- {r['proposition_id']}, {r['case']} ({r['case_sites']}): {r['site_vs_national']}"
                        for r in apart.iter_rows(named=True))]
    lines += [*(f"- note: {n}" for n in notes), "",
              f"Rows for {REVIEW_PATH} (confirm a verdict by keeping its row; the category records what you confirmed):",
              "", "```csv", review_template(conv), "```"]
    return "\n".join(lines)


def summary(inp: StepInput) -> StepOutput:
    """The phase's key figures, markdown and table artifact, from the convergence table."""
    conv = inp.table(CONVERGENCE)
    review = read_review(inp)
    table_review = inp.maybe(REVIEW)
    if table_review is None:
        table_review = review_table(conv, review, REVIEW_PATH)
    # Notes name review rows that match no proposition; the convergence step applied the same join.
    notes = [n for n in join_review(conv, review, REVIEW_PATH)[1] if "no longer in study.yaml" in n]
    codes = conv.get_column("convergence").to_list()
    figures: dict[str, float | int | str] = {
        "propositions": conv.height,
        "agreement": codes.count("agreement"),
        "partial_agreement": codes.count("partial agreement"),
        "silence": codes.count("silence"),
        "dissonance": codes.count("dissonance"),
        "reviewed": int((conv.get_column("reviewer_status") != "unreviewed").sum()),
        "needs_rereview": int(conv.get_column("review_flag").str.starts_with("needs re-review").fill_null(False).sum()),
        "unstable_verdicts": int((~conv.get_column("sensitivity").str.starts_with("stable")).sum()),
        "review_file": "present" if review is not None else "absent",
    }
    markdown = summary_markdown(conv, table_review, inp.maybe(META_MATRIX), notes, str(figures["review_file"]))
    table = conv.select("proposition_id", "qual_support", "quant_result", "convergence", "sensitivity",
                        "reviewer_status", "review_flag")
    return StepOutput(summary=figures, markdown=markdown, table=table.to_dicts())
