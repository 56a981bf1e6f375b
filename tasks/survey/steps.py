"""The survey phase step: read a wave's inputs from the run, analyse, publish every output."""

from __future__ import annotations

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from schemas.manifest import OutputRecord
from tasks.context import RunContext
from tasks.ingest.survey_export import read_survey_export
from tasks.ingest.tables import read_table, require_columns
from tasks.phase import PhaseResult
from tasks.privacy import load_pseudonym_key
from tasks.storage.catalog import quarantine_key
from tasks.storage.tables import table_to_parquet
from tasks.survey.estimates import ALL
from tasks.survey.wave import analyse_wave

HUMAN_COLUMNS = ("response_id", "category")


def survey_wave_step(ctx: RunContext, wave: str, upstream: dict[str, OutputRecord]) -> PhaseResult:
    """Clean, weight, estimate, quantitise free text and draw one wave; wave 2 adds the change."""
    cfg = ctx.config()
    survey = cfg.survey
    if wave not in survey.waves:
        raise KeyError(
            f"survey wave {wave!r} is not declared in study.yaml (waves: {', '.join(survey.waves)})"
        )
    wave_cfg = survey.waves[wave]
    phase = wave_cfg.phase
    # The key is read here, at the last moment, and never travels as a task parameter.
    key = load_pseudonym_key(cfg.study.pseudonym_key_env, cfg.study.id)

    sites_data, sites_name = ctx.read_input("sites")
    sites_read = read_table(sites_data, sites_name, sheet=cfg.sites.sheet)
    roster_data, roster_name = ctx.read_input(f"survey.{wave}.roster")
    roster_read = read_table(roster_data, roster_name, sheet=wave_cfg.roster.sheet)
    sites_table, roster_table = sites_read.frame, roster_read.frame
    # What the readers tolerated (blank rows, encodings) is reported, not lost.
    notes: list[str] = [f"{sites_name}: {n}" for n in sites_read.notes]
    notes += [f"{roster_name}: {n}" for n in roster_read.notes]
    export_data, export_name = ctx.read_input(f"survey.{wave}.export")
    dictionary, dictionary_name = None, None
    if ctx.has_input(f"survey.{wave}.dictionary"):
        dictionary, dictionary_name = ctx.read_input(f"survey.{wave}.dictionary")
    export = read_survey_export(
        export_data, export_name, wave_cfg.format, dictionary, dictionary_name
    )

    human: dict[str, pl.DataFrame] = {}
    for fkey in survey.freetext:
        name = f"survey.freetext.{fkey}.human"
        if ctx.has_input(name):
            data, original = ctx.read_input(name)
            human_read = read_table(data, original)
            notes += [f"{original}: {n}" for n in human_read.notes]
            coded = human_read.frame
            require_columns(coded, HUMAN_COLUMNS, original)
            human[fkey] = coded

    previous = None
    if phase == "survey_w2":
        first = survey.wave_for_phase("survey_w1")
        record = upstream.get(f"survey.{first}.estimates")
        if record is not None:
            previous = (first, ctx.read_table(record))
        else:
            notes.append(f"no estimates of wave {first!r} upstream: the change table was not built")

    analysis = analyse_wave(
        cfg,
        wave,
        export,
        sites_table,
        roster_table,
        key,
        human=human,
        previous=previous,
        names={"sites": sites_name, "roster": roster_name, "export": export_name},
    )

    outputs = [
        ctx.write_table(f"survey.{wave}.{suffix}", frame, phase)
        for suffix, frame in analysis.tables.items()
    ]
    # Input rows left out are kept for the researchers under quarantine/, never published.
    quarantined = []
    for input_table, rows in analysis.quarantine.items():
        if rows.height:
            store_key = quarantine_key(ctx.run_id, f"survey.{wave}.{input_table}")
            ctx.store().put(store_key, table_to_parquet(rows))
            quarantined.append(
                f"- {rows.height} row(s) of the {input_table} table quarantined: `{store_key}`"
            )
    figure_lines = []
    for fig in analysis.figures:
        dataset = f"survey.{wave}.{fig.name}"
        png = ctx.write_bytes(dataset, fig.png, "png", "image/png", phase)
        svg = ctx.write_bytes(dataset, fig.svg, "svg", "image/svg+xml", phase)
        outputs.extend([png, svg])
        figure_lines.append(f"- {fig.title}: `{png.key}` (SVG: `{svg.key}`)")

    markdown = analysis.markdown
    if quarantined:
        markdown += "\n\n### Quarantine\n\n" + "\n".join(quarantined)
    if notes:
        markdown += "\n" + "\n".join(f"- {n}" for n in notes)
    if figure_lines:
        markdown += "\n\n### Figures\n\n" + "\n".join(figure_lines)
    keyed = analysis.tables["estimates"].filter(
        (pl.col("kind") == "key") & (pl.col("breakdown") == ALL)
    )
    table = [
        {
            "variable": r["variable"],
            "answer": r["label"],
            "n": r["n"],
            "share": r["proportion"],
            "weighted_share": r["weighted_proportion"],
            "weighted_lower": r["weighted_lower"],
            "weighted_upper": r["weighted_upper"],
        }
        for r in keyed.iter_rows(named=True)
    ]
    return PhaseResult(
        phase=phase, outputs=outputs, summary=analysis.summary, markdown=markdown, table=table
    )


survey_wave_task = task(name="survey-wave", cache_policy=NO_CACHE)(survey_wave_step)
