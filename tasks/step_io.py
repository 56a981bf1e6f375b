"""The step runner: read a step's declared inputs, call its pure function, write its outputs.

This is the one place where a step meets the store. Inputs arrive as records (by reference, never
as frames through Prefect); outputs are validated against the registry's contracts and written
under the run; what the function returns must be exactly what the registry says it produces.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from schemas.datasets import Dataset, dataset_for
from schemas.manifest import OutputRecord
from schemas.study_config import StudyConfig
from tasks.context import RunContext
from tasks.privacy import pseudonym_key_for
from tasks.step import Blob, RawFile, RunFacts, Step, StepInput, StepOutput, StepResult, Use
from tasks.storage.catalog import quarantine_key
from tasks.storage.tables import table_to_parquet


def waves_in_order(config: StudyConfig) -> tuple[str, ...]:
    """Survey wave keys, earlier phase first."""
    return tuple(sorted(config.survey.waves, key=lambda w: config.survey.waves[w].phase))


def phase_of(step: Step, config: StudyConfig, wave: str | None) -> str:
    """The concrete phase a step runs in: a survey step runs in its wave's phase."""
    if step.family == "survey":
        if wave is None or wave not in config.survey.waves:
            raise KeyError(f"step {step.name}: survey wave {wave!r} is not declared in study.yaml")
        return config.survey.waves[wave].phase
    return step.family


def selected_waves(use: Use, config: StudyConfig, wave: str | None) -> list[str | None]:
    """The waves whose instance of a dataset a use reads ([None] for wave-less datasets)."""
    if "wave" not in use.dataset.placeholders:
        return [None]
    waves = waves_in_order(config)
    if use.wave == "this":
        return [wave]
    if use.wave == "previous":
        i = waves.index(wave) if wave in waves else 0
        return [waves[i - 1]] if i > 0 else []
    if use.wave == "first":
        return [config.survey.wave_for_phase("survey_w1")]
    return list(waves)


def input_records(
    step: Step, config: StudyConfig, wave: str | None, available: Mapping[str, OutputRecord]
) -> dict[str, OutputRecord]:
    """The records a step reads, chosen from what is available; a missing required one raises."""
    chosen: dict[str, OutputRecord] = {}
    for use in step.uses:
        for w in selected_waves(use, config, wave):
            extra = [p for p in use.dataset.placeholders if p != "wave"]
            if extra:
                # A family of datasets (figures): every available instance of the selected wave.
                # A family's pattern also matches its siblings' names: keep its own members only.
                found = {
                    n: r for n, r in available.items()
                    if dataset_for(n) is use.dataset
                    and (w is None or use.dataset.parts_of(n).get("wave") == w)
                }
                chosen.update(found)
                continue
            name = use.dataset.resolve(**({"wave": w} if w else {}))
            if name in available:
                chosen[name] = available[name]
            elif not use.optional and use.wave != "previous":
                raise KeyError(f"step {step.name} needs {name!r}, which no earlier step published")
    return chosen


def raw_files(ctx: RunContext, step: Step, wave: str | None) -> dict[str, RawFile]:
    """The raw inputs a step declared, read from raw/."""
    prefixes = step.raw_prefixes(wave)
    files: dict[str, RawFile] = {}
    for rec in ctx.inputs:
        if any(rec.name == p or (p.endswith(".") and rec.name.startswith(p)) for p in prefixes):
            data, original = ctx.read_input(rec.name)
            files[rec.name] = RawFile(rec.name, data, original)
    return files


def read_inputs(
    ctx: RunContext, step: Step, wave: str | None, records: Mapping[str, OutputRecord],
    run: RunFacts | None = None,
) -> StepInput:
    """Read and validate everything a step declared into a StepInput."""
    config = ctx.config()
    tables = {n: ctx.read_table(r) for n, r in records.items() if r.key.endswith(".parquet")}
    store = ctx.store()
    blobs = {
        n: Blob(n, r.media_type, store.get(r.key), r.key)
        for n, r in records.items() if not r.key.endswith(".parquet")
    }
    key = pseudonym_key_for(config).key if step.needs_key else None
    return StepInput(
        config=config, wave=wave, tables=tables, blobs=blobs, files=raw_files(ctx, step, wave),
        key=key, waves=waves_in_order(config), run=run or RunFacts(run_id=ctx.run_id),
    )


def _check_outputs(step: Step, out: StepOutput) -> None:
    declared = set(step.outputs)
    returned: set[Dataset] = {*out.tables, *out.files, *out.figures}
    if returned - declared:
        names = ", ".join(sorted(d.name for d in returned - declared))
        raise RuntimeError(f"step {step.name} returned datasets the registry says it does not produce: {names}")


def write_outputs(
    ctx: RunContext, step: Step, wave: str | None, phase: str, out: StepOutput
) -> StepResult:
    """Validate and write a step's output under the run; quarantined rows go to quarantine/."""
    _check_outputs(step, out)
    parts = {"wave": wave} if wave else {}
    records: list[OutputRecord] = []
    for dataset, frame in out.tables.items():
        records.append(ctx.write_table(dataset.resolve(**parts), frame, phase))
    for dataset, data in out.files.items():
        ext, media = dataset.formats[0]
        records.append(ctx.write_bytes(dataset.resolve(**parts), data, ext, media, phase))
    for dataset, figures in out.figures.items():
        for fig in figures:
            name = dataset.resolve(**parts, figure=fig.name)
            records.extend(
                ctx.write_bytes(name, fig.data[ext], ext, media, phase) for ext, media in dataset.formats
            )
    quarantined = []
    stem = ".".join(p for p in (step.name.split(".")[0], wave) if p)
    for table, rows in out.quarantine.items():
        if rows.height:
            key = quarantine_key(ctx.run_id, f"{stem}.{table}")
            ctx.store().put(key, table_to_parquet(rows))
            quarantined.append(key)
    return StepResult(
        step=step.name, phase=phase, wave=wave, run_id=ctx.run_id, outputs=records,
        notes=list(out.notes), summary=dict(out.summary), markdown=out.markdown,
        table=[dict(r) for r in out.table], quarantined=quarantined,
    )


def execute_step(
    ctx: RunContext, step: Step, wave: str | None, available: Mapping[str, OutputRecord],
    run: RunFacts | None = None,
) -> StepResult:
    """Run one step end to end: inputs from the store, the pure function, outputs to the store."""
    config = ctx.config()
    records = input_records(step, config, wave, available)
    out = step.fn(read_inputs(ctx, step, wave, records, run))
    return write_outputs(ctx, step, wave, phase_of(step, config, wave), out)


def records_of(results: Iterable[StepResult]) -> dict[str, OutputRecord]:
    """Every output of some step results, by dataset name."""
    return {o.dataset: o for r in results for o in r.outputs}
