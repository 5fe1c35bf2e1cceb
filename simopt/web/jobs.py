"""Background jobs: the plans, frontiers and judgements a page queues, run by a bounded pool of
worker processes, with the :class:`~simopt.web.models.Run` table as the queue's record.

**The design.**

- A page inserts a ``Run`` row (``queued``, its parameters as JSON, the scenario version it is
  about) and hands its id to :class:`JobQueue`. The queue submits it to a
  ``ProcessPoolExecutor`` of ``settings.worker_threads`` processes (two on the reference
  machine), started with *spawn* (no forked copy of the server's threads or BLAS pool), each
  keeping one BLAS thread: the work is CPU-bound numpy and HiGHS, which threads would serialise
  on the GIL and which would slow the pages down.
- A worker is handed only the run's id, the database URL and the results folder
  (:class:`JobSpec`); it reads everything else — the scenario version's YAML text, the
  parameters — from the database itself. It first *claims* the row (``queued`` → ``running`` in
  one conditional UPDATE, so a run is never executed twice), then writes ``progress`` (0–1) and
  ``message`` (a stage, see :func:`describe`) as the library reports its rounds; the page polls
  that row (``/runs/{id}/progress``, every second, with htmx), so a reload or another browser
  sees the same bar.
- Each run writes one real run folder, ``<results>/<scenario>/<run-id>/``, with the machinery of
  the command line (:class:`simopt.runs.RunFolder`: built whole in a hidden folder, every file
  fsynced, renamed into place, ``manifest.json`` last) and the same files as ``simopt plan``,
  ``simopt ceilings --simulate`` or ``simopt judge`` in the same order; the manifest records the
  equivalent command line and options and the scenario version as run (its text's SHA-256 is
  ``file_sha256``), so ``simopt rerun`` redoes a web run like any other. The run id is new for
  every run; nothing but the worker holding the claim writes the folder, and the folder
  (``Run.folder``) and the manifest (``Run.manifest``) are recorded on that run's own row when
  it is done. ``results/<scenario>/latest`` is not moved: scenarios of two provinces may share a
  name, and the web finds its runs by id.
- A run is ``done`` when the computation answered (a plan that cannot meet its targets is an
  answer: its outcome is in ``message``), ``failed`` when it raised (bad input, or an internal
  error, one line) or its worker process died (the pool is then rebuilt and the runs still
  queued are submitted again).
- **A server restart**: runs left ``running`` are marked ``failed`` ("the server stopped during
  this run; queue it again" — their half-written folder was never renamed into place, so nothing
  of it is read), and runs still ``queued`` are submitted again: they had not started, so they
  are re-queued rather than lost. This assumes one server process per database runs the jobs
  (``simopt serve``); several would each fail the others' running runs at their start.

The what-ifs do not use this queue: they answer within the request, on a small thread pool of
their own (:func:`whatif_pool`), so that a queue of long plans never delays them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from simopt.web.models import Province, Run, Scenario, ScenarioVersion, User
from simopt.web.paths import SCENARIO_NAME
from simopt.web.settings import WebSettings, utc_now

if TYPE_CHECKING:
    from fastapi import FastAPI

    from simopt.reporting.i18n import Messages
    from simopt.runs import RunFolder
    from simopt.scenario import Scenario as ScenarioModel

log = logging.getLogger("simopt.web.jobs")

KINDS: tuple[str, ...] = ("plan", "ceilings", "judge")
"""The kinds of run the queue executes (``Run.kind``)."""
SEP = "|"
"""``Run.message`` is a catalogue key, optionally followed by ``|`` and a detail line (the
library's own words, English, as the command line prints them)."""
FOLDER_FALLBACK = "web"
"""The results sub-folder of a scenario whose name is not a folder name (see ``paths``)."""
PROGRESS_EVERY = 0.4
"""Seconds between two progress writes of a worker (stage changes are written at once)."""
MAX_DETAIL = 240

STAGE_QUEUED = "web.runs.stage.queued"
STAGE_STARTING = "web.runs.stage.starting"
FAILED_RESTART = "web.runs.failed.restart"
FAILED_WORKER = "web.runs.failed.worker_lost"
FAILED_INPUT = "web.runs.failed.input"
FAILED_INTERNAL = "web.runs.failed.internal"
USER_ERRORS = frozenset(
    {"ScenarioError", "RunError", "PlanError", "JudgeError", "SolverError", "ScheduleError"}
)
"""Exceptions that mean "this input cannot be computed" rather than a bug (by class name, as
the command line matches them)."""


def join_message(key: str, detail: str = "") -> str:
    from simopt.errors import printable

    return key if not detail else f"{key}{SEP}{printable(detail, MAX_DETAIL)}"


def describe(m: Messages, message: str) -> tuple[str, str]:
    """A run's message as the reader's words and the library's detail line (may be empty)."""
    key, _, detail = message.partition(SEP)
    if key.startswith("web.") and m.has(key):
        return m(key), detail
    return message, ""


# ------------------------------------------------------------------------------ in the worker
@dataclasses.dataclass(frozen=True)
class JobSpec:
    """What a worker process is handed: it reads the rest from the database."""

    run_id: int
    database_url: str
    results_dir: str


@dataclasses.dataclass(frozen=True)
class Job:
    """One run as the worker executes it."""

    run_id: int
    kind: str
    params: dict[str, Any]
    yaml_text: str
    sha256: str
    label: str
    """The scenario version's name in the manifest: ``web:<province>/<scenario>/v<number>``."""
    results_dir: Path

    @property
    def lang(self) -> str:
        return str(self.params.get("lang", "vi"))

    def scenario(self) -> ScenarioModel:
        from simopt.scenario import parse_scenario

        return parse_scenario(self.yaml_text, file=self.label)


@dataclasses.dataclass(frozen=True)
class Outcome:
    folder: str
    """``<scenario>/<run-id>`` under the results."""
    manifest: dict[str, Any]
    word: str
    """The answer in a word for the runs list: ``met``, ``not_met``, ``infeasible``, ``done``."""


_worker_sessions: dict[str, sessionmaker[Session]] = {}


def _sessions_for(url: str) -> sessionmaker[Session]:
    """This process's sessions on the app's database (the schema is the app's to migrate)."""
    found = _worker_sessions.get(url)
    if found is None:
        from simopt.web.db import make_engine

        found = sessionmaker(make_engine(url), expire_on_commit=False)
        _worker_sessions[url] = found
    return found


def worker_start() -> None:
    """A worker process's first act: one BLAS thread (the pool's processes are the
    parallelism), and Ctrl-C left to the server, which stops the pool."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - a dependency of simopt
        pass


class Progress:
    """A run's progress bar, written to its row: a stage sets a band of the bar; each line the
    library reports moves the bar a quarter of the way to the band's end."""

    def __init__(self, sessions: sessionmaker[Session], run_id: int) -> None:
        self.sessions = sessions
        self.run_id = run_id
        self.value = 0.0
        self.key = STAGE_STARTING
        self.band = (0.0, 0.05)
        self.detail = ""
        self._written = 0.0

    def stage(self, key: str, low: float, high: float) -> None:
        self.key, self.band, self.detail = key, (low, high), ""
        self.value = max(self.value, low)
        self._write(force=True)

    def say(self, line: str) -> None:
        high = self.band[1]
        self.value += (high - self.value) * 0.25
        self.detail = line.strip()
        self._write(force=False)

    def _write(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_EVERY:
            return
        self._written = now
        with self.sessions() as db:
            db.execute(
                update(Run)
                .where(Run.id == self.run_id, Run.status == "running")
                .values(
                    progress=min(max(self.value, 0.0), 0.99),
                    message=join_message(self.key, self.detail),
                )
            )
            db.commit()


def execute(spec: JobSpec) -> str:
    """Run one queued run to its end (in a worker process); its final status."""
    sessions = _sessions_for(spec.database_url)
    with sessions() as db:
        claimed = db.execute(
            update(Run)
            .where(Run.id == spec.run_id, Run.status == "queued")
            .values(status="running", started_at=utc_now(), progress=0.01, message=STAGE_STARTING)
        )
        db.commit()
        if getattr(claimed, "rowcount", 0) != 1:
            return "skipped"  # not queued any more: another worker has it, or it was settled
        job = _load_job(db, spec)
    progress = Progress(sessions, spec.run_id)
    try:
        outcome = RUNNERS[job.kind](job, progress)
    except Exception as exc:  # every failure becomes the run's one line
        if type(exc).__name__ not in USER_ERRORS:
            log.exception("run %s (%s) failed", spec.run_id, job.kind)
        _settle(sessions, spec.run_id, "failed", failure_message(exc))
        return "failed"
    with sessions() as db:
        db.execute(
            update(Run)
            .where(Run.id == spec.run_id)
            .values(
                status="done",
                progress=1.0,
                message=f"web.runs.outcome.{outcome.word}",
                folder=outcome.folder,
                manifest=outcome.manifest,
                finished_at=utc_now(),
            )
        )
        db.commit()
    return "done"


def failure_message(exc: BaseException) -> str:
    from simopt.errors import ScenarioError

    if isinstance(exc, ScenarioError):
        return join_message(FAILED_INPUT, exc.message)
    if type(exc).__name__ in USER_ERRORS:
        return join_message(FAILED_INPUT, str(exc))
    return join_message(FAILED_INTERNAL, f"{type(exc).__name__}: {exc}")


def _settle(sessions: sessionmaker[Session], run_id: int, status: str, message: str) -> None:
    with sessions() as db:
        db.execute(
            update(Run)
            .where(Run.id == run_id, Run.status.in_(("queued", "running")))
            .values(status=status, message=message, finished_at=utc_now())
        )
        db.commit()


def _load_job(db: Session, spec: JobSpec) -> Job:
    row = db.execute(
        select(Run, ScenarioVersion, Scenario, Province)
        .join(ScenarioVersion, ScenarioVersion.id == Run.scenario_version_id)
        .join(Scenario, Scenario.id == ScenarioVersion.scenario_id)
        .join(Province, Province.id == Scenario.province_id)
        .where(Run.id == spec.run_id)
    ).one()
    run, version, scenario, province = row
    return Job(
        run_id=run.id,
        kind=run.kind,
        params=dict(run.parameters or {}),
        yaml_text=version.yaml_text,
        sha256=version.sha256,
        label=version_label(province, scenario, version),
        results_dir=Path(spec.results_dir),
    )


def version_label(province: Province, scenario: Scenario, version: ScenarioVersion) -> str:
    return f"web:{province.slug}/{scenario.name}/v{version.number}"


# -------------------------------------------------------------------------- the run folder
def open_web_run(results_dir: Path, scenario_name: str, command: str) -> RunFolder:
    """A new run folder ``<results>/<scenario>/<run-id>/`` being built (``RunFolder``: hidden,
    renamed into place whole at the commit). ``latest`` is not moved (see the module's notes)."""
    from simopt.runs import TMP_PREFIX, RunFolder, new_run_id

    folder = scenario_name if SCENARIO_NAME.fullmatch(scenario_name) else FOLDER_FALLBACK
    run_id = new_run_id(command)
    parent = results_dir / folder
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f"{TMP_PREFIX}{run_id}-{secrets.token_hex(4)}"
    os.mkdir(tmp)
    return RunFolder(run_id, parent / run_id, tmp, False, None)


def scenario_record(job: Job, scenario: ScenarioModel) -> dict[str, Any]:
    """The scenario as run, as ``simopt.runs.record_scenario`` records a file: the version's
    text's SHA-256 as the file's, the resolved data and YAML and their hash."""
    import yaml

    from simopt.runs import sha256_bytes
    from simopt.yamlio import parse_yaml_text

    data, _ = parse_yaml_text(job.yaml_text, file=job.label)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    resolved = scenario.model_dump(mode="json")
    canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False) + "\n" + text
    return {
        "file": job.label,
        "file_sha256": sha256_bytes(job.yaml_text.encode("utf-8")),
        "name": scenario.name,
        "sets": [],
        "resolved_sha256": sha256_bytes(canonical.encode("utf-8")),
        "resolved": resolved,
        "resolved_yaml": text,
    }


def command_options(argv: list[str]) -> dict[str, Any]:
    """The options the command line records for ``argv`` (so that ``simopt rerun`` can redo
    the run): the parsed arguments without the function."""
    from simopt.cli import build_parser

    args = build_parser().parse_args(argv)
    return {k: v for k, v in vars(args).items() if k != "func"}


def commit_run(
    job: Job,
    run: RunFolder,
    scenario: ScenarioModel,
    argv: list[str],
    *,
    status: str,
    exit_code: int,
    word: str,
) -> Outcome:
    from simopt.runs import build_manifest, read_manifest

    manifest = build_manifest(
        command=argv[0],
        argv=argv,
        options=command_options(argv),
        scenarios=[scenario_record(job, scenario)],
        status=status,
        exit_code=exit_code,
        run=run,
    )
    path = run.commit(manifest)
    return Outcome(f"{path.parent.name}/{path.name}", read_manifest(path), word)


def _number(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() else str(int(x))


def run_plan(job: Job, progress: Progress) -> Outcome:
    """``simopt plan`` on the version: robust plan, evidence, tables, workbook, report, charts."""
    from simopt.evidence import gather_evidence
    from simopt.plan import robust_plan
    from simopt.price import LEVELS
    from simopt.reporting.data import from_robust
    from simopt.reporting.outputs import report_files
    from simopt.reporting.plan import plan_tables, robust_summary

    p = job.params
    confidence, reps, seed = float(p["confidence"]), int(p["reps"]), int(p.get("seed", 0))
    ceiling = p.get("ceiling_vnd")
    joint = bool(p.get("joint", False))
    argv = ["plan", job.label, "--confidence", _number(confidence), "--reps", str(reps)]
    argv += ["--seed", str(seed), "--lang", job.lang]
    if ceiling is not None:
        argv += ["--ceiling-vnd", _number(ceiling)]
    if joint:
        argv.append("--joint")
    if not p.get("price", True):
        argv.append("--no-price")
    scenario = job.scenario()
    with open_web_run(job.results_dir, scenario.name, "plan") as run:
        progress.stage("web.runs.stage.robust", 0.05, 0.5)
        result = robust_plan(
            scenario,
            confidence=confidence,
            reps=reps,
            seed=seed,
            ceiling_vnd=ceiling,
            engine="fast",
            workers=1,
            progress=progress.say,
            uncertainty="ranges",
            joint=joint,
        )
        progress.stage("web.runs.stage.evidence", 0.5, 0.8)
        evidence = gather_evidence(
            scenario,
            result,
            seed=seed,
            reps=reps,
            price_levels=LEVELS if p.get("price", True) else None,
            ceiling_vnd=ceiling,
            uncertainty="ranges",
            workers=1,
            progress=progress.say,
        )
        summary = robust_summary(result, scenario, evidence)
        for name, table in plan_tables(result, evidence).items():
            run.write_csv(name, table)
        run.write_json("plan.json", summary)
        progress.stage("web.runs.stage.report", 0.8, 0.95)
        report = from_robust(result, scenario, evidence, ceiling_vnd=ceiling)
        for name, blob in report_files(report, job.lang).items():
            run.write_bytes(name, blob)
        code = 0 if result.is_met else 1
        return commit_run(
            job, run, scenario, argv, status=result.status, exit_code=code, word=result.status
        )


def run_ceilings(job: Job, progress: Progress) -> Outcome:
    """``simopt ceilings --simulate``: each ceiling's robust plan, and the smallest ceiling."""
    from simopt.ceilings import sweep_ceilings
    from simopt.experiments.tables import ceilings_tables
    from simopt.reporting.charts import frontier_figure, png_bytes

    p = job.params
    confidence, reps, seed = float(p["confidence"]), int(p["reps"]), int(p.get("seed", 0))
    low, high, steps = float(p["from_vnd"]), float(p["to_vnd"]), int(p["steps"])
    argv = ["ceilings", job.label, "--from-vnd", _number(low), "--to-vnd", _number(high)]
    argv += ["--steps", str(steps), "--simulate", "--confidence", _number(confidence)]
    argv += ["--reps", str(reps), "--seed", str(seed), "--lang", job.lang]
    scenario = job.scenario()
    with open_web_run(job.results_dir, scenario.name, "ceilings") as run:
        progress.stage("web.runs.stage.ceilings", 0.05, 0.9)
        sweep = sweep_ceilings(
            scenario,
            from_vnd=low,
            to_vnd=high,
            steps=steps,
            simulate=True,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine="fast",
            uncertainty="ranges",
            progress=progress.say,
        )
        progress.stage("web.runs.stage.report", 0.9, 0.97)
        run.write_csv("ceilings.csv", sweep.table)
        run.write_json("ceilings.json", sweep.to_dict())
        experiments, outcomes = ceilings_tables(sweep.table)
        run.write_csv("experiments.csv", experiments)
        run.write_csv("outcomes.csv", outcomes)
        fig = frontier_figure(sweep.chart_frame(), job.lang, confidence=sweep.confidence)
        if fig is not None:
            run.write_bytes("chart_frontier.png", png_bytes(fig))
        return commit_run(job, run, scenario, argv, status="done", exit_code=0, word="done")


def run_judge(job: Job, progress: Progress) -> Outcome:
    """``simopt judge``: the plan as its stated budget writes it, simulated, beside the robust
    plan."""
    from simopt.judge import as_written_schedule, judge, stated_people

    p = job.params
    confidence, reps, seed = float(p["confidence"]), int(p["reps"]), int(p.get("seed", 0))
    argv = ["judge", job.label, "--confidence", _number(confidence), "--reps", str(reps)]
    argv += ["--seed", str(seed)]
    scenario = job.scenario()
    plan_people = stated_people(scenario)
    schedule = as_written_schedule(scenario, plan_people=plan_people)
    with open_web_run(job.results_dir, scenario.name, "judge") as run:
        progress.stage("web.runs.stage.judge", 0.05, 0.9)
        judgement = judge(
            scenario,
            None,
            reps=reps,
            seed=seed,
            confidence=confidence,
            engine="fast",
            uncertainty="ranges",
            plan_people=plan_people,
            schedule=schedule,
            progress=progress.say,
        )
        progress.stage("web.runs.stage.report", 0.9, 0.97)
        for name, table in judgement.tables().items():
            run.write_csv(name, table)
        run.write_json("judge.json", judgement.to_dict())
        return commit_run(job, run, scenario, argv, status="done", exit_code=0, word="done")


RUNNERS: dict[str, Callable[[Job, Progress], Outcome]] = {
    "plan": run_plan,
    "ceilings": run_ceilings,
    "judge": run_judge,
}


# ----------------------------------------------------------------------------- in the server
class JobQueue:
    """The server's side: submits queued runs to the worker processes, settles the runs whose
    worker died, and on start settles what a previous server left (see the module's notes)."""

    def __init__(self, settings: WebSettings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.workers = settings.worker_threads
        self._lock = threading.Lock()
        self._pool: Executor | None = None
        self._futures: dict[int, Future[str]] = {}
        self._closed = False

    # the pool ----------------------------------------------------------------------------
    def _executor(self) -> Executor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_start,
            )
        return self._pool

    def submit(self, run_id: int) -> None:
        """Hand a queued run to a worker (it runs when one is free)."""
        spec = JobSpec(run_id, self.settings.database_url, str(self.settings.results_dir))
        with self._lock:
            if self._closed:
                return  # stays queued: the next server start picks it up
            pool = self._executor()
            future: Future[str] = pool.submit(execute, spec)
            self._futures[run_id] = future
        future.add_done_callback(lambda f: self._settled(run_id, pool, f))

    def _settled(self, run_id: int, pool: Executor, future: Future[str]) -> None:
        with self._lock:
            if self._futures.get(run_id) is future:
                del self._futures[run_id]
        if future.cancelled():
            return  # the server is stopping: the run stays queued for its next start
        exc = future.exception()
        if exc is None:
            return
        if isinstance(exc, BrokenProcessPool):
            # a worker died (killed, out of memory): its run failed; the others never started
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            with self.sessions() as db:
                status = db.scalar(select(Run.status).where(Run.id == run_id))
            if status == "running":
                _settle(self.sessions, run_id, "failed", FAILED_WORKER)
            elif status == "queued":
                self.submit(run_id)
            return
        log.error("run %s: its worker raised %s", run_id, exc)
        _settle(self.sessions, run_id, "failed", failure_message(exc))

    # start and stop --------------------------------------------------------------------------
    def recover(self) -> tuple[list[int], list[int]]:
        """What a previous server left: runs ``running`` are failed, runs ``queued`` are
        submitted again. Returns (failed, requeued) ids."""
        with self.sessions() as db:
            running = list(db.scalars(select(Run.id).where(Run.status == "running")))
            if running:
                db.execute(
                    update(Run)
                    .where(Run.id.in_(running), Run.status == "running")
                    .values(status="failed", message=FAILED_RESTART, finished_at=utc_now())
                )
                db.commit()
            queued = list(db.scalars(select(Run.id).where(Run.status == "queued").order_by(Run.id)))
        for run_id in queued:
            self.submit(run_id)
        if running or queued:
            log.warning(
                "runs left by a previous server: %d failed (were running), %d queued again",
                len(running),
                len(queued),
            )
        return running, queued

    def pending(self) -> list[int]:
        with self._lock:
            return sorted(self._futures)

    def shutdown(self, *, wait: bool = False) -> None:
        """Stop: runs not started stay queued (for the next start); running ones are stopped
        with their worker processes and marked failed (their folder never appears)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            running = list(self._futures)
        if pool is None:
            return
        pool.shutdown(wait=wait, cancel_futures=True)
        if not wait:
            processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
            for process in list(processes.values()):
                process.terminate()
            with self.sessions() as db:
                db.execute(
                    update(Run)
                    .where(Run.id.in_(running), Run.status == "running")
                    .values(status="failed", message=FAILED_RESTART, finished_at=utc_now())
                )
                db.commit()


def queue_run(
    db: Session,
    queue: JobQueue,
    *,
    version: ScenarioVersion,
    user: User,
    kind: str,
    parameters: dict[str, Any],
    now: Any,
) -> Run:
    """Record a new run (queued) and hand it to the workers."""
    if kind not in KINDS:
        raise ValueError(f"run kind {kind!r}: one of {', '.join(KINDS)}")
    run = Run(
        scenario_version_id=version.id,
        kind=kind,
        parameters=parameters,
        status="queued",
        progress=0.0,
        message=STAGE_QUEUED,
        user_id=user.id,
        created_at=now,
    )
    db.add(run)
    db.commit()
    try:
        queue.submit(run.id)
    except Exception as exc:  # no worker could be started: the run says so, nothing hangs
        log.exception("run %s: cannot be handed to a worker", run.id)
        _settle(queue.sessions, run.id, "failed", failure_message(exc))
        db.refresh(run)
    return run


# -------------------------------------------------------------------------- app's hooks
_app_lock = threading.Lock()


def job_queue(app: FastAPI) -> JobQueue:
    """The app's queue, started (and what a previous server left settled) at first use when the
    app's startup has not done it."""
    with _app_lock:
        queue: JobQueue | None = getattr(app.state, "jobs", None)
        if queue is None:
            state = app.state.web
            queue = JobQueue(state.settings, state.sessions)
            app.state.jobs = queue
            fresh = True
        else:
            fresh = False
    if fresh:
        queue.recover()
    return queue


def whatif_pool(app: FastAPI) -> ThreadPoolExecutor:
    """The threads the what-ifs are computed on: as many as the workers, so that twenty at once
    queue here rather than thrash two cores."""
    with _app_lock:
        pool: ThreadPoolExecutor | None = getattr(app.state, "whatif_pool", None)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=app.state.web.settings.worker_threads,
                thread_name_prefix="simopt-whatif",
            )
            app.state.whatif_pool = pool
        return pool


def start(app: FastAPI) -> None:
    """The app's startup: settle what a previous server left, submit its queued runs."""
    job_queue(app)


def stop(app: FastAPI, *, wait: bool = False) -> None:
    """The app's shutdown: stop the workers (see :meth:`JobQueue.shutdown`) and the what-if
    threads."""
    with _app_lock:
        queue: JobQueue | None = getattr(app.state, "jobs", None)
        pool: ThreadPoolExecutor | None = getattr(app.state, "whatif_pool", None)
        app.state.jobs = None
        app.state.whatif_pool = None
    if queue is not None:
        queue.shutdown(wait=wait)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
