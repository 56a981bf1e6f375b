"""Phase flows take the run context by reference: a national study's context is not a parameter."""

from __future__ import annotations

from prefect import flow

from flows.phases import ByReference, PhaseFlow, survey_flow
from schemas.manifest import InputRecord
from tasks.context import RunContext


def _context(n_inputs: int) -> RunContext:
    inputs = tuple(
        InputRecord(name=f"cases.{i}", key=f"raw/{i:064x}/case_{i}.qdpx", sha256=f"{i:064x}",
                    version=f"{i:016x}", size=1, original_name=f"case_{i}.qdpx")
        for i in range(n_inputs)
    )
    return RunContext(store_url="/tmp/store", run_id="r-1", config_path="study.yaml", inputs=inputs)


def test_large_arguments_are_recorded_as_references() -> None:
    ctx = _context(3000)
    recorded = flow(lambda ctx, wave, upstream: None).serialize_parameters(
        {"ctx": ByReference(ctx), "wave": "w1", "upstream": ByReference({"a": 1})}
    )
    assert recorded == {"ctx": "<ByReference>", "wave": "w1", "upstream": "<ByReference>"}
    # Flow-run names read attributes through the reference.
    assert "survey-{wave}-{ctx.run_id}".format(wave="w1", ctx=ByReference(ctx)) == "survey-w1-r-1"


def test_phase_flow_keeps_its_options_and_wraps_non_string_arguments() -> None:
    seen: list[tuple[object, ...]] = []

    class Recorder:
        def with_options(self, **options: object) -> Recorder:
            seen.append(tuple(sorted(options)))
            return self

        def __call__(self, *args: object) -> str:
            seen.append(tuple(type(a).__name__ for a in args))
            return "done"

    phase = PhaseFlow(Recorder())  # type: ignore[arg-type]
    assert phase.with_options(task_runner="threads")(_context(1), "w1", {}) == "done"
    assert seen == [("task_runner",), ("ByReference", "str", "ByReference")]
    assert isinstance(survey_flow, PhaseFlow)
