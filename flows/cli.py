"""The `study` command: generate the demo, run a study or one phase, list runs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.api_server import APP_FACTORY, ApiServer, connected
from flows.processes import alive, command_line, record_this_process, recorded_process_alive
from schemas.phases import PHASES
from tasks.storage.store import DEFAULT_STORE

app = typer.Typer(
    help="studyflow: run a four-phase mixed-methods study (scoping, survey waves, case studies, "
    "triangulation) as one reproducible Prefect pipeline.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DEMO_DIR = Path(".studyflow/demo")
StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="STUDYFLOW_STORE",
        help="Object store URL: a folder path, file:///abs/path or s3://bucket/prefix.",
    ),
]
TaskRunnerOpt = Annotated[
    str | None,
    typer.Option(
        "--task-runner",
        help="threads (default), dask (a local two-worker cluster) or dask=tcp://HOST:PORT; "
        "overrides study.yaml orchestration.task_runner.",
    ),
]


# Set by the --debug option: show tracebacks (and Prefect's own) instead of one clear line.
_DEBUG = {"on": False}


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks when something fails.")] = False,
) -> None:
    """studyflow: run a four-phase mixed-methods study as one reproducible Prefect pipeline."""
    _DEBUG["on"] = debug
    # A `study` process killed with SIGKILL could not end its API server: the next start does.
    with contextlib.suppress(Exception):
        reap_orphan_servers()


def _error(message: str) -> None:
    # markup=False: error messages quote user text such as "role_codes['1']".
    console.print(message, style="red", markup=False, soft_wrap=True)


def friendly_error(exc: BaseException) -> tuple[str, int]:
    """One line (or a short block) a user can act on, and the exit code, for a failure."""
    from flows.study import StudyRunFailed
    from schemas.study_config import ConfigError
    from tasks.ingest.errors import InputError, InputErrors
    from tasks.privacy import PseudonymKeyMissing
    from tasks.storage.runs import PseudonymKeyChanged
    from tasks.storage.store import StoreError, StoreUnavailable

    if isinstance(exc, ConfigError | PseudonymKeyChanged | PseudonymKeyMissing):
        return str(exc), 2
    if isinstance(exc, StudyRunFailed):
        return str(exc), 1
    if isinstance(exc, StoreUnavailable):
        return f"store unavailable: {exc}. Nothing was published; run again when the store is back.", 1
    if isinstance(exc, StoreError):
        return f"store error: {exc}", 1
    if isinstance(exc, InputError | InputErrors):
        return str(exc), 1
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (RecursionError); run with --debug to see where", 1
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: nothing was published by this run", 130
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text} (run with --debug for the traceback)", 1


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn any failure into one clear message and an exit code; --debug re-raises it."""
    try:
        yield
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - every failure gets a message
        if _DEBUG["on"]:
            raise
        message, code = friendly_error(exc)
        _error(message)
        raise typer.Exit(code) from None


class _NoTracebacks(logging.Filter):
    """On the console, without --debug: no tracebacks, and no per-task failure lines (the command
    reports the failure itself, in one line). The Prefect API still records everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _DEBUG["on"]:
            return True
        if record.levelno >= logging.ERROR and record.name.startswith(("prefect.task_runs", "prefect.flow_runs")):
            return False
        record.exc_info = None
        record.exc_text = None
        return True


def _quiet_prefect() -> None:
    # Embedded defaults: Prefect's ephemeral API and no telemetry unless the user set otherwise.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.logging import configuration

    # Prefect sets its handlers up on first import; do it now so they can be given the filter
    # (a later setup is incremental and keeps them).
    if not configuration.PROCESS_LOGGING_CONFIG:
        configuration.setup_logging()

    # Prefect's console handler sits on the root logger; its API handlers keep the traceback.
    for handler in [*logging.getLogger().handlers, *logging.getLogger("prefect").handlers]:
        if not any(isinstance(f, _NoTracebacks) for f in handler.filters):
            handler.addFilter(_NoTracebacks())


# The API server a CLI run starts is recorded here (server pid, owner pid), so a later start can
# end one whose CLI was killed (SIGKILL leaves no chance to clean up).
_SERVER_MARK = APP_FACTORY


def _servers_dir() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "studyflow-servers"


def reap_orphan_servers() -> list[int]:
    """End API servers left by `study` processes that died; returns their pids."""
    ended: list[int] = []
    folder = _servers_dir()
    for record in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            info = json.loads(record.read_text())
            owner, server = int(info["owner"]), int(info["server"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)
            continue
        if alive(owner) and owner != os.getpid():
            continue
        # Only a process that is still that server is ended (pids are reused).
        if alive(server) and _SERVER_MARK in command_line(server):
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signal.SIGTERM)
            ended.append(server)
        record.unlink(missing_ok=True)
    return ended


def _standing_record() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "studyflow-server.json"


def standing_server() -> str | None:
    """The API URL of a `study server` started on this Prefect home that still answers, else None."""
    import httpx

    record = _standing_record()
    try:
        info = json.loads(record.read_text())
        api, running = str(info["api"]), recorded_process_alive(info)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        record.unlink(missing_ok=True)
        return None
    if not running:
        record.unlink(missing_ok=True)  # that server has ended
        return None
    try:
        answers = httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        answers = False
    return api if answers else None


def _startup_timeout() -> float:
    from prefect.settings import get_current_settings

    # A busy machine can take longer than Prefect's default 20 s to start the server.
    return float(max(get_current_settings().server.ephemeral.startup_timeout_seconds, 90))


def _drain_to_api() -> None:
    # Logs and events still queued reach the API before it stops (not "Error logging to API").
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    # Draining logs a routine "still processing" warning under the service's class name.
    logging.getLogger(EventsWorker.__name__).setLevel(logging.ERROR)
    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=5)


@contextlib.contextmanager
def ephemeral_api() -> Iterator[ApiServer | None]:
    """A local Prefect API server for this command, launched now and ended with it (also on
    SIGINT/SIGTERM); `connected(server, …)` waits for it and points Prefect at it.

    Yields None when PREFECT_API_URL names a server, or a `study server` started on this Prefect
    home answers (nothing is started; the run uses that server).
    """
    from prefect.settings import get_current_settings

    reap_orphan_servers()
    if get_current_settings().api.url:
        yield None
        return
    standing = standing_server()
    if standing is not None:
        # Runs are recorded where the researcher is watching, and no server starts (≈6 s saved).
        from prefect.settings import PREFECT_API_URL, temporary_settings

        console.print(f"Using the Prefect server at {standing} (`study server` on this Prefect home)",
                      markup=False, soft_wrap=True, crop=False, highlight=False)
        with temporary_settings(updates={PREFECT_API_URL: standing}):
            yield None
        return
    server = ApiServer()
    record = _servers_dir() / f"{os.getpid()}.json"

    def _end(signum: int, frame: FrameType | None) -> None:
        # Stop the server, then leave at once: the engine would otherwise go on calling the API it
        # no longer has. Nothing half-done is visible: a run is published whole (manifest last)
        # or not at all, and what it staged is removed by `study gc`.
        server.stop()
        record.unlink(missing_ok=True)
        name = signal.Signals(signum).name
        # Plain bytes, not rich: the signal may land while the main thread is importing rich.
        message = f"interrupted ({name}): this run published nothing; its API server was stopped\n"
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            os.write(sys.stdout.fileno(), message.encode())
        os._exit(130 if signum == signal.SIGINT else 128 + signum)

    # The handlers come first, so a signal while the server starts (or the moment its record
    # appears) still stops it rather than raising KeyboardInterrupt somewhere and orphaning it.
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread (e.g. under a test runner)
            previous[sig] = signal.signal(sig, _end)
    try:
        pid = server.launch()
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"owner": os.getpid(), "server": pid}))
        yield server
        _drain_to_api()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        server.stop()
        record.unlink(missing_ok=True)


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo study into.")] = DEMO_DIR,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives identical files.")] = 2013,
    scale: Annotated[int, typer.Option(min=1, help="Multiply sites, members, responses and interviews.")] = 1,
) -> None:
    """Write the bundled CCG demo study (inputs in real export formats plus study.yaml)."""
    from tasks.demo.generator import generate_demo_study

    with _user_errors(), console.status(f"Generating the demo study (seed {seed}, scale {scale}) …"):
        demo = generate_demo_study(out, seed=seed, scale=scale)
    console.print(f"[green]Demo study written[/green] to {out}  (config: {demo.config_path})")


def _run(
    config: Path, store: str, phases: list[str] | None, task_runner: str | None = None, new_key: bool = False
) -> None:
    _quiet_prefect()
    from schemas.study_config import TASK_RUNNER, ConfigError, load_study_config

    if task_runner is not None and not TASK_RUNNER.match(task_runner):
        _error(f"--task-runner {task_runner!r}: expected threads, dask or dask=tcp://HOST:PORT")
        raise typer.Exit(2)
    try:
        load_study_config(config)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    with _user_errors(), ephemeral_api() as api:
        # The pipeline is imported while the API server starts in its own process.
        from flows.study import study_flow

        if api is not None:
            _load_steps_while_the_server_starts(phases)
        with connected(api, _startup_timeout()), console.status(
            f"Running the study in {config} (phases that changed) …"
        ):
            manifest = study_flow(str(config), store, phases, task_runner, new_key)
    from tasks.storage.runs import read_latest
    from tasks.storage.store import open_store as _open

    latest, _ = read_latest(_open(store))
    if latest is not None and latest.run_id != manifest.run_id and manifest.complete:
        # Another run became `latest` first with the same inputs: one line, no traceback.
        console.print(
            f"Run {manifest.run_id} was superseded by run {latest.run_id}, which read the same "
            "inputs and became latest first; this run's outputs are kept.",
            markup=False, soft_wrap=True, style="yellow",
        )
    table = Table(title=f"Run {manifest.run_id}")
    for col in ("phase", "status", "from run"):
        table.add_column(col)
    for p in manifest.phases:
        table.add_row(p.phase, p.status, p.run_id)
    console.print(table)
    from schemas.datasets import dataset_for
    from schemas.datasets.triangulation import REPORT_HTML
    from tasks.storage.catalog import manifest_key, run_prefix
    from tasks.storage.store import object_url, open_store

    st = open_store(store)
    report = [o for o in manifest.outputs if dataset_for(o.dataset) is REPORT_HTML]
    # Paths and URLs are printed whole (no wrapping), so they can be copied.
    for label, value in (
        ("Store:   ", st.url),
        ("Manifest:", object_url(st, manifest_key(manifest.run_id))),
        ("Outputs: ", f"{object_url(st, run_prefix(manifest.run_id))}  ({len(manifest.outputs)} objects)"),
        *((("Report:  ", object_url(st, report[0].key)),) if report else ()),
    ):
        console.print(f"{label} {value}", markup=False, soft_wrap=True, overflow="ignore", crop=False)


def _load_steps_while_the_server_starts(phases: list[str] | None) -> None:
    # The step modules (scipy, statsmodels, pandera models: ~1.5-2 s of CPU) load on this
    # thread while the server process is still starting, instead of on the flow's thread between
    # stages. A run that finds nothing changed loads them for nothing, but within that wait.
    from tasks.pipeline import load_steps, phase_downstream

    wanted = set(phases or PHASES)
    wanted |= {d for p in wanted for d in phase_downstream(p)}
    load_steps(p for p in PHASES if p in wanted)


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", help="The study's study.yaml.")] = DEMO_DIR / "study.yaml",
    store: StoreOpt = DEFAULT_STORE,
    phase: Annotated[
        list[str] | None,
        typer.Option("--phase", help=f"Re-run this phase and what depends on it: {', '.join(PHASES)}."),
    ] = None,
    task_runner: TaskRunnerOpt = None,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key",
            help="Accept a pseudonymisation key other than the store's last run used (recomputes "
            "every phase; earlier pseudonyms will not match the new ones).",
        ),
    ] = False,
) -> None:
    """Run the study: phases whose inputs changed (or --phase ones) and everything downstream."""
    for p in phase or []:
        if p not in PHASES:
            _error(f"--phase {p!r}: expected one of {', '.join(PHASES)}")
            raise typer.Exit(2)
    _run(config, store, phase, task_runner, new_key)


@app.command()
def demo(
    store: StoreOpt = DEFAULT_STORE,
    out: Annotated[Path, typer.Option("--out", help="Where the demo study's inputs go.")] = DEMO_DIR,
) -> None:
    """Generate the demo study and run all of it with the embedded defaults."""
    # Regenerating is cheap and deterministic: unchanged files hash the same and are not re-run.
    demo_data(out=out, seed=2013, scale=1)
    _run(out / "study.yaml", store, None)


@app.command()
def runs(store: StoreOpt = DEFAULT_STORE) -> None:
    """List the runs in the store, newest last; `*` marks the one `latest` points at."""
    from tasks.storage.runs import list_manifests, read_latest
    from tasks.storage.store import open_store

    with _user_errors():
        st = open_store(store)
        latest, _ = read_latest(st)
        manifests = list_manifests(st)
    if not manifests:
        console.print(f"No runs in {st.url} yet.", markup=False, soft_wrap=True)
        return
    table = Table(title=f"Runs in {st.url}")
    table.add_column("run", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("phases", min_width=14, overflow="fold")
    table.add_column("outputs", justify="right")
    for m in manifests:
        mark = " *" if latest and latest.run_id == m.run_id else ""
        counts: dict[str, int] = {}
        for p in m.phases:
            counts[p.status] = counts.get(p.status, 0) + 1
        phases = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        created = m.created[:16].replace("T", " ")
        # Completeness shows in the phases: a failed or skipped phase means an incomplete run.
        table.add_row(f"{m.run_id}{mark}", created, phases, str(len(m.outputs)))
    console.print(table)


@app.command()
def watch(
    config: Annotated[Path, typer.Option("--config", help="The study's study.yaml.")] = DEMO_DIR / "study.yaml",
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Read the store inbox and announce changed inputs (one studyflow.data.arrived event)."""
    _quiet_prefect()
    from flows.watch import watch_flow

    with _user_errors(), ephemeral_api() as api, connected(api, _startup_timeout()):
        labels = watch_flow(str(config), store)
    if not labels:
        console.print("Nothing to announce: no new or changed input since the last complete run "
                      "(or it was announced already; see the notes above).", soft_wrap=True)
        return
    console.print(
        f"announced {labels['studyflow.inputs']} (phases {labels['studyflow.phases']}; "
        f"attempt {labels['studyflow.attempt']})", markup=False, soft_wrap=True,
    )


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="The file that arrived, e.g. a new wave's export.")],
    input_name: Annotated[
        str, typer.Option("--input", help="The input it is, by logical name (e.g. survey.w2016.export).")
    ],
    config: Annotated[Path, typer.Option("--config", help="The study's study.yaml.")] = DEMO_DIR / "study.yaml",
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Store a file for one of the study's inputs (raw/, by content hash) and announce it.

    The same content again announces nothing. With PREFECT_API_URL set, a studyflow.data.arrived
    event starts the study's arrivals deployment; without it, the next `study run` reads the file.
    """
    from schemas.study_config import ConfigError, load_study_config
    from tasks.storage.arrivals import (
        UnknownInput,
        changed_inputs,
        record_announcements,
        record_arrival,
    )
    from tasks.storage.steps import arrival_labels, emit_data_arrived
    from tasks.storage.store import open_store

    try:
        cfg = load_study_config(config)
        data = file.read_bytes()
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    except OSError as exc:
        _error(f"{file}: cannot read the file ({exc.strerror or exc})")
        raise typer.Exit(2) from None
    st = open_store(store)
    try:
        arrival = record_arrival(st, cfg, input_name, data, file.name)
    except UnknownInput as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    if arrival is None:
        console.print(f"{file}: this content already arrived for {input_name}; nothing announced.",
                      markup=False, soft_wrap=True)
        return
    console.print(f"stored {input_name} as {arrival.key}", markup=False, soft_wrap=True, crop=False)
    if changed_inputs(cfg, st).get(input_name) != arrival.sha256:
        # The study folder's file for this input changed after the arrival: the folder wins.
        console.print(f"{input_name}: the study folder's file is newer than this arrival; nothing announced.",
                      markup=False, soft_wrap=True)
        return
    if not os.environ.get("PREFECT_API_URL"):
        console.print("No Prefect server (PREFECT_API_URL is not set): not announced; the next "
                      "`study run` or watcher tick reads it.", markup=False, soft_wrap=True)
        return
    pair = {input_name: arrival.sha256}
    labels = arrival_labels(cfg, pair, attempt=1)
    emit_data_arrived(labels)
    import logging

    from prefect.events.worker import EventsWorker

    # Deliver the event before this short process exits (draining logs a routine "still
    # processing" warning under the service's class name, which is noise here).
    logging.getLogger(EventsWorker.__name__).setLevel(logging.ERROR)
    EventsWorker.drain_all(timeout=30)
    record_announcements(st, pair, {input_name: (1, "ingested")})
    console.print(f"announced {input_name} (phases {labels['studyflow.phases']}) to {os.environ['PREFECT_API_URL']}",
                  markup=False, soft_wrap=True, crop=False)


@app.command()
def server(
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 for the UI and API.")] = 4200,
) -> None:
    """Start a local Prefect server (UI and API on 127.0.0.1) that runs can be recorded in."""
    import shutil
    import sys

    host = "127.0.0.1"
    ui = f"http://{host}:{port}"
    api = f"{ui}/api"
    # The server's own environment must name its API, or the UI calls the wrong one.
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    prefect = shutil.which("prefect", path=os.path.dirname(sys.executable)) or shutil.which("prefect")
    if prefect is None:
        _error("the `prefect` command was not found next to this Python or on PATH")
        raise typer.Exit(2)
    # `study` commands on this Prefect home find the server by this record (the pid stays the
    # server's across the exec below) and use it instead of starting their own.
    record_this_process(_standing_record(), api=api)
    for line in (
        f"Prefect UI:  {ui}",
        f"Prefect API: {api}",
        "`study` commands on this Prefect home record their runs here by themselves; for",
        "Prefect's own CLI, or on another Prefect home, point them at this server:",
        f"export PREFECT_API_URL={api}",
    ):
        console.print(line, markup=False, soft_wrap=True, overflow="ignore", crop=False, highlight=False)
    sys.stdout.flush()
    # Replace this process, so Ctrl-C or SIGTERM reaches the server itself.
    os.execve(prefect, [prefect, "server", "start", "--host", host, "--port", str(port)], env)


@app.command()
def gc(
    store: StoreOpt = DEFAULT_STORE,
    older_than: Annotated[
        float, typer.Option("--older-than", min=0, help="Only runs started more than this many hours ago.")
    ] = 24.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")] = False,
) -> None:
    """Remove what incomplete runs left in the store (staged outputs, quarantine copies) and say what.

    Objects any complete run's manifest names are always kept, also when a cached step reused
    them from an earlier, incomplete run. Runs younger than --older-than may still be running.
    """
    from datetime import timedelta

    from tasks.storage.runs import collect_garbage
    from tasks.storage.store import open_store

    with _user_errors():
        report = collect_garbage(open_store(store), timedelta(hours=older_than), dry_run=dry_run)
    for line in report.lines(dry_run=dry_run):
        console.print(line, markup=False, soft_wrap=True)


@app.command()
def graph() -> None:
    """Print the pipeline (phases, steps, datasets, edges) as a Mermaid flowchart."""
    from tasks.graph import mermaid

    typer.echo(mermaid(), nl=False)


@app.command("check-config")
def check_config(config: Annotated[Path, typer.Argument(help="Path to a study.yaml.")]) -> None:
    """Validate a study.yaml and say what is wrong, key by key."""
    from schemas.study_config import ConfigError, load_study_config

    try:
        cfg = load_study_config(config)
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    console.print(f"[green]OK[/green]: {cfg.study.title} ({len(cfg.survey.variables)} survey variables)")


@app.command("check-qda")
def check_qda(
    file: Annotated[Path, typer.Argument(
        help="A REFI-QDA .qdpx project, project.qde or .qdc codebook.", exists=True, dir_okay=False, readable=True,
    )],
    lenient: Annotated[bool, typer.Option(help="Read as the pipeline does and list the tolerated deviations.")] = False,
) -> None:
    """Judge a QDA export by the REFI-QDA standard (Project.xsd / Codebook.xsd), each deviation by XPath."""
    from tasks.ingest.errors import InputError, InputErrors
    from tasks.ingest.qdpx import read_codebook_file, read_project_xml, read_qdpx

    data, name = file.read_bytes(), file.name
    try:
        if name.lower().endswith(".qdc"):
            notes = read_codebook_file(data, name, strict=not lenient)[1]
        elif name.lower().endswith(".qde"):
            notes = read_project_xml(data, name, strict=not lenient).notes
        else:
            notes = read_qdpx(data, name, strict=not lenient).notes
    except (InputError, InputErrors) as exc:
        _error(str(exc))
        raise typer.Exit(1) from None
    for note in notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    mode = "tolerated by the lenient reader" if lenient else "valid against the REFI-QDA schema"
    console.print(f"[green]OK[/green]: {name} is {mode}")


if __name__ == "__main__":
    app()
