"""Triangulation's steps: joint displays, convergence coding, the meta-matrix and the summary.

Each step is a pure function of the tables it declares (see tasks/triangulation/pipeline.py).
Convergence joins the researcher-owned review file (raw input "review.triangulation", i.e.
review/triangulation.csv in the store) when it exists; the pipeline never writes that file.
"""

from __future__ import annotations

import io

import polars as pl

from schemas.datasets import Dataset
from schemas.datasets.qualitative import CASES_CODEBOOK, MATRIX, QUOTES
from schemas.datasets.survey import ASSOCIATIONS, CHANGE, ESTIMATES, FREETEXT
from schemas.datasets.triangulation import CONVERGENCE, JOINT_DISPLAYS, META_MATRIX
from tasks.step import StepInput, StepOutput
from tasks.triangulation import displays
from tasks.triangulation.displays import QualTables, join_review
from tasks.triangulation.qualitative import PropositionError
from tasks.triangulation.quantitative import SurveyTables

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
                                    survey_tables(inp))
    return StepOutput(tables={JOINT_DISPLAYS: frame})


def convergence(inp: StepInput) -> StepOutput:
    """Convergence coding of every proposition, with the researcher's review joined in."""
    cfg = inp.config
    computed = displays.convergence_table(
        cfg.triangulation.propositions, dict(cfg.survey.variables), _case_table(inp, CASES_CODEBOOK),
        _case_table(inp, MATRIX), survey_tables(inp),
    )
    reviewed, notes = join_review(computed, read_review(inp), REVIEW_PATH)
    return StepOutput(tables={CONVERGENCE: reviewed}, notes=tuple(notes))


def meta_matrix(inp: StepInput) -> StepOutput:
    """Cases × propositions, beside each proposition's convergence coding."""
    frame = displays.meta_matrix(
        inp.config.triangulation.propositions, _case_table(inp, CASES_CODEBOOK), _case_table(inp, MATRIX),
        inp.table(CONVERGENCE),
    )
    return StepOutput(tables={META_MATRIX: frame})


def summary(inp: StepInput) -> StepOutput:
    """The phase's key figures, markdown and table artifact, from the convergence table."""
    conv = inp.table(CONVERGENCE)
    review = read_review(inp)
    # Notes name review rows that match no proposition; the convergence step applied the same join.
    notes = join_review(conv, review, REVIEW_PATH)[1]
    codes = conv.get_column("convergence").to_list()
    figures: dict[str, float | int | str] = {
        "propositions": conv.height,
        "agreement": codes.count("agreement"),
        "partial_agreement": codes.count("partial agreement"),
        "silence": codes.count("silence"),
        "dissonance": codes.count("dissonance"),
        "reviewed": int((conv.get_column("reviewer_status") != "unreviewed").sum()),
        "review_file": "present" if review is not None else "absent",
    }
    lines = [
        "## Triangulation",
        f"{conv.height} propositions: {figures['agreement']} agreement, {figures['partial_agreement']} "
        f"partial agreement, {figures['silence']} silence, {figures['dissonance']} dissonance; "
        f"{figures['reviewed']} reviewed ({REVIEW_PATH} {figures['review_file']}).",
        "",
        *(f"- **{r['proposition_id']}** ({r['convergence']}): qualitative {r['qual_support']}, "
          f"quantitative {r['quant_result']} — {r['quant_headline']}" for r in conv.iter_rows(named=True)),
        *(f"- note: {n}" for n in notes),
    ]
    table = conv.select("proposition_id", "qual_support", "quant_result", "convergence", "reviewer_status")
    return StepOutput(summary=figures, markdown="\n".join(lines), table=table.to_dicts())
