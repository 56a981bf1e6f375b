"""The triangulation step: read the case-study and survey tables, set them side by side, publish.

Reads the researcher-owned review/triangulation.csv when it exists and joins its confirmations
in; the pipeline never writes to that key.
"""

from __future__ import annotations

import io

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.manifest import OutputRecord
from schemas.registry import model_for
from schemas.study_config import StudyConfig
from tasks.context import RunContext
from tasks.phase import PhaseResult
from tasks.storage.catalog import review_key
from tasks.triangulation.displays import QualTables, join_review, triangulate
from tasks.triangulation.qualitative import PropositionError
from tasks.triangulation.quantitative import SurveyTables

PHASE = "triangulation"
REVIEW_FILE = "triangulation.csv"
SURVEY_TABLES = ("estimates", "associations", "change", "freetext")


def empty_table(dataset: str) -> pl.DataFrame:
    """A zero-row frame with a dataset's contract columns."""
    columns = model_for(dataset).to_schema().columns
    return pl.DataFrame(schema={name: col.dtype.type for name, col in columns.items()})


def ordered_waves(cfg: StudyConfig) -> tuple[str, ...]:
    """Survey wave keys, earlier phase first."""
    return tuple(sorted(cfg.survey.waves, key=lambda w: cfg.survey.waves[w].phase))


def _read(ctx: RunContext, upstream: dict[str, OutputRecord], dataset: str, required: bool) -> pl.DataFrame:
    rec = upstream.get(dataset)
    if rec is None:
        if required:
            raise PropositionError(f"triangulation needs {dataset!r}, which no earlier phase published")
        return empty_table(dataset)
    return ctx.read_table(rec)


def read_review(ctx: RunContext) -> pl.DataFrame | None:
    """review/triangulation.csv as string columns, or None when the researcher has not written one."""
    store = ctx.store()
    key = review_key(REVIEW_FILE)
    if not store.exists(key):
        return None
    text = store.get(key).decode("utf-8-sig")
    return pl.read_csv(io.StringIO(text), infer_schema=False, truncate_ragged_lines=True)


def survey_tables(ctx: RunContext, upstream: dict[str, OutputRecord], waves: tuple[str, ...]) -> SurveyTables:
    """Every wave's survey tables read from upstream and concatenated."""
    frames: dict[str, pl.DataFrame] = {}
    for name in SURVEY_TABLES:
        parts = [_read(ctx, upstream, f"survey.{w}.{name}", False) for w in waves]
        frames[name] = pl.concat(parts, how="diagonal_relaxed")
    return SurveyTables(waves=waves, estimates=frames["estimates"], associations=frames["associations"],
                        change=frames["change"], freetext=frames["freetext"])


def triangulation_step(ctx: RunContext, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Joint displays, meta-matrix and convergence coding for every proposition of study.yaml."""
    cfg = ctx.config()
    props = cfg.triangulation.propositions
    needed = bool(props)
    qual = QualTables(
        codebook=_read(ctx, upstream, "cases.codebook", needed),
        matrix=_read(ctx, upstream, "cases.matrix", needed),
        quotes=_read(ctx, upstream, "cases.quotes", False),
    )
    result = triangulate(props, dict(cfg.survey.variables), qual, survey_tables(ctx, upstream, ordered_waves(cfg)))
    review = read_review(ctx)
    convergence, notes = join_review(result.convergence, review, review_key(REVIEW_FILE))
    tables = {
        "triangulation.joint_displays": result.joint_displays,
        "triangulation.meta_matrix": result.meta_matrix,
        "triangulation.convergence": convergence,
    }
    outputs = [ctx.write_table(name, frame, PHASE) for name, frame in tables.items()]
    codes = convergence.get_column("convergence").to_list()
    summary: dict[str, float | int | str] = {
        "propositions": convergence.height,
        "agreement": codes.count("agreement"),
        "partial_agreement": codes.count("partial agreement"),
        "silence": codes.count("silence"),
        "dissonance": codes.count("dissonance"),
        "reviewed": int((convergence.get_column("reviewer_status") != "unreviewed").sum()),
        "review_file": "present" if review is not None else "absent",
    }
    lines = [
        "## Triangulation",
        f"{convergence.height} propositions: {summary['agreement']} agreement, {summary['partial_agreement']} "
        f"partial agreement, {summary['silence']} silence, {summary['dissonance']} dissonance; "
        f"{summary['reviewed']} reviewed ({review_key(REVIEW_FILE)} {summary['review_file']}).",
        "",
        *(f"- **{r['proposition_id']}** ({r['convergence']}): qualitative {r['qual_support']}, "
          f"quantitative {r['quant_result']} — {r['quant_headline']}" for r in convergence.iter_rows(named=True)),
        *(f"- note: {n}" for n in notes),
    ]
    table = convergence.select(
        "proposition_id", "qual_support", "quant_result", "convergence", "reviewer_status"
    ).to_dicts()
    return PhaseResult(phase=PHASE, outputs=outputs, summary=summary, markdown="\n".join(lines), table=table)


triangulation_task = task(name="triangulation", cache_policy=NO_CACHE)(triangulation_step)
