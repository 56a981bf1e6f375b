"""The flows the deployments run: `study` and `watch-inputs`, with their paths checked first.

A served deployment passes `config_path` and `store_url` explicitly. A prefect.yaml deployment
leaves them out: they are read from the Prefect Variables `studyflow_config` and `studyflow_store`
when the run starts (prefect.yaml cannot template them: `prefect deploy` resolves
`{{ prefect.variables.* }}` in parameters at deploy time, freezing the deployer's values), and a
missing or empty one stops the run before it does any work, naming the variable.
"""

from __future__ import annotations

from prefect import flow

from deployments.definitions import CONFIG_VARIABLE, STORE_VARIABLE
from flows.study import study_flow
from flows.watch import watch_flow
from schemas.manifest import Manifest


class MissingStudyParameter(ValueError):
    """A deployment run has no study.yaml path or store URL to work with."""


def resolve_parameter(value: str | None, variable: str, parameter: str) -> str:
    """The parameter if given, else the Prefect Variable's value; empty or missing is an error."""
    if value is not None:
        if value.strip():
            return value
        raise MissingStudyParameter(
            f"parameter {parameter} is empty: pass a value, or leave it out to use the Prefect "
            f"Variable {variable}."
        )
    from prefect.variables import Variable

    found = Variable.get(variable, default=None)
    if isinstance(found, str) and found.strip():
        return found
    state = "is not set" if found is None else f"is empty or not a string ({found!r})"
    raise MissingStudyParameter(
        f"Prefect Variable {variable} {state}: set it with `prefect variable set {variable} VALUE` "
        f"(or pass the parameter {parameter}) before running this deployment."
    )


# Same names, run names, task runner and logging as the flows they wrap; the function names equal
# the attribute names, so a served deployment's entrypoint loads these wrappers too.
@flow(
    name=study_flow.name,
    flow_run_name=study_flow.flow_run_name,
    task_runner=study_flow.task_runner,
    log_prints=True,
)
def study(
    config_path: str | None = None,
    store_url: str | None = None,
    phases: list[str] | None = None,
    task_runner: str | None = None,
    new_key: bool = False,
    arrived_at: str | None = None,
) -> Manifest:
    """Run every phase whose inputs changed (or those asked for) and publish the run."""
    config = resolve_parameter(config_path, CONFIG_VARIABLE, "config_path")
    store = resolve_parameter(store_url, STORE_VARIABLE, "store_url")
    return study_flow.fn(config, store, phases, task_runner, new_key, arrived_at)


@flow(name=watch_flow.name, flow_run_name=watch_flow.flow_run_name, log_prints=True)
def watch(config_path: str | None = None, store_url: str | None = None) -> dict[str, str] | None:
    """Read the store inbox and announce the inputs changed since `latest` (one event)."""
    config = resolve_parameter(config_path, CONFIG_VARIABLE, "config_path")
    store = resolve_parameter(store_url, STORE_VARIABLE, "store_url")
    return watch_flow.fn(config, store)
