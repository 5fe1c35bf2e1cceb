"""The questions that run in the background, and their results: the plan at a chosen confidence,
the budget ceilings frontier, the plan as written judged; each run's page (a progress bar while
it runs, its answer when done), its files, and runs side by side.

**Who may do what.** Everyone sees only the runs and versions of their provinces (an
administrator sees all). Viewers read every result and download its files (and run what-ifs,
``routes_whatif``); queuing a plan, a frontier or a judgement is for planners and
administrators. A run or a version of a province the user is not given is refused with 403
(the ids are sequential numbers, so "it exists" leaks nothing worth hiding); an id that does not
exist is 404.

**Files** are served by the run's id and the file's name, only when that name is one the run's
manifest lists: no path from the request reaches the file system (``paths.run_file`` checks it
again). Charts are shown inline; everything else is downloaded (``Content-Disposition``).

Pages:

=======  =======================================  ==========  ============================
method   path                                     least role  what
=======  =======================================  ==========  ============================
GET      /runs                                    viewer      the questions per version, runs
GET      /runs/compare?run=1&run=2                viewer      plan runs side by side
GET      /runs/{run_id}                           viewer      a run: progress, then answer
GET      /runs/{run_id}/progress                  viewer      the progress bar (htmx, 1 s)
GET      /runs/{run_id}/files/{filename}          viewer      a file the run wrote
GET      /versions/{version_id}/plan              viewer      the plan form and its runs
POST     /versions/{version_id}/plan              planner     queue a plan
GET      /versions/{version_id}/ceilings          viewer      the frontier form and its runs
POST     /versions/{version_id}/ceilings          planner     queue a frontier
GET      /versions/{version_id}/judge             viewer      the judgement form and its runs
POST     /versions/{version_id}/judge             planner     queue a judgement
=======  =======================================  ==========  ============================
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response

from simopt.reporting.i18n import Messages
from simopt.web import jobs, paths
from simopt.web.auth import can_see, has_role, require_role, visible_provinces
from simopt.web.errors import PageError, is_htmx
from simopt.web.i18n import request_messages
from simopt.web.models import Province, Run, Scenario, ScenarioVersion, User
from simopt.web.state import get_db, web_state
from simopt.web.templating import flash, redirect, render

router = APIRouter()
viewer = require_role("viewer")
planner = require_role("planner")

MAX_ACTIVE_PER_USER = 4
"""Runs one user may have queued or running at once."""
MAX_REPS = 5000
MAX_CEILING_REPS = 2000
MAX_STEPS = 8
MAX_COMPARED = 6
VERSIONS_LISTED = 10
RUNS_LISTED = 100
TY = 1e9
INLINE = frozenset({".png"})
MEDIA = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".yaml": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


# ----------------------------------------------------------------------------- who sees what
@dataclass(frozen=True)
class VersionContext:
    version: ScenarioVersion
    scenario: Scenario
    province: Province

    @property
    def label(self) -> str:
        return jobs.version_label(self.province, self.scenario, self.version)


def visible_version(
    version_id: int,
    db: Session = Depends(get_db),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
) -> VersionContext:
    """A dependency: the scenario version of the path, when the user sees its province."""
    row = db.execute(
        select(ScenarioVersion, Scenario, Province)
        .join(Scenario, Scenario.id == ScenarioVersion.scenario_id)
        .join(Province, Province.id == Scenario.province_id)
        .where(ScenarioVersion.id == version_id)
    ).one_or_none()
    if row is None:
        raise PageError(404, "web.runs.error.no_version")
    version, scenario, province = row
    if not can_see(db, user, province):
        raise PageError(403, "web.error.forbidden_province")
    return VersionContext(version, scenario, province)


@dataclass(frozen=True)
class RunContext:
    run: Run
    where: VersionContext


def _run_context(db: Session, user: User, run_id: int) -> RunContext:
    row = db.execute(
        select(Run, ScenarioVersion, Scenario, Province)
        .join(ScenarioVersion, ScenarioVersion.id == Run.scenario_version_id)
        .join(Scenario, Scenario.id == ScenarioVersion.scenario_id)
        .join(Province, Province.id == Scenario.province_id)
        .where(Run.id == run_id)
    ).one_or_none()
    if row is None:
        raise PageError(404, "web.runs.error.no_run")
    run, version, scenario, province = row
    if not can_see(db, user, province):
        raise PageError(403, "web.error.forbidden_province")
    return RunContext(run, VersionContext(version, scenario, province))


def visible_run(
    run_id: int,
    db: Session = Depends(get_db),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
) -> RunContext:
    """A dependency: the run of the path, when the user sees its province."""
    return _run_context(db, user, run_id)


# ------------------------------------------------------------------------------ the hub page
@dataclass(frozen=True)
class VersionEntry:
    scenario: Scenario
    versions: list[ScenarioVersion]


def _hub(db: Session, user: User) -> list[tuple[Province, list[VersionEntry]]]:
    out = []
    for province in visible_provinces(db, user):
        entries = []
        for scenario in province.scenarios:
            newest = list(reversed(scenario.versions))[:VERSIONS_LISTED]
            if newest:
                entries.append(VersionEntry(scenario, newest))
        out.append((province, entries))
    return out


def _runs_query(db: Session, user: User) -> Any:
    query = (
        select(Run)
        .join(ScenarioVersion, ScenarioVersion.id == Run.scenario_version_id)
        .join(Scenario, Scenario.id == ScenarioVersion.scenario_id)
    )
    if not user.is_admin:
        ids = [p.id for p in visible_provinces(db, user)]
        query = query.where(Scenario.province_id.in_(ids))
    return query


@router.get("/runs", name="runs")
def runs_page(
    request: Request,
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    runs = list(db.scalars(_runs_query(db, user).order_by(Run.id.desc()).limit(RUNS_LISTED)))
    return render(
        request,
        "run_list.html",
        {"hub": _hub(db, user), "runs": runs, "can_queue": has_role(user, "planner")},
    )


# -------------------------------------------------------------------------------- the forms
def _number(text: str) -> float | None:
    text = text.strip().replace(" ", "")
    if not text:
        return None
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class FormErrors:
    """Each field's error, in the reader's words."""

    def __init__(self, m: Messages) -> None:
        self.m = m
        self.errors: dict[str, str] = {}

    def add(self, name: str, key: str, **fields: Any) -> None:
        self.errors.setdefault(name, self.m(key, **fields) if fields else self.m(key))

    def number(
        self, form: Mapping[str, str], name: str, low: float, high: float, *, whole: bool = False
    ) -> float:
        value = _number(form.get(name, ""))
        if value is None:
            self.add(name, "web.runs.error.number")
            return math.nan
        if whole and not value.is_integer():
            self.add(name, "web.runs.error.whole")
            return math.nan
        if not low <= value <= high:
            m = self.m
            self.add(
                name,
                "web.runs.error.range",
                low=m.number(low, 2 if low % 1 else 0),
                high=m.number(high, 2 if high % 1 else 0),
            )
            return math.nan
        return value


def _check_reps(errors: FormErrors, reps: float, confidence: float, *, price: bool) -> None:
    from simopt.plan import min_replications
    from simopt.price import LEVELS

    if math.isnan(reps) or math.isnan(confidence):
        return
    needed = min_replications(confidence)
    if price:
        needed = max(needed, *(min_replications(level) for level in LEVELS))
    if reps < needed:
        errors.add("reps", "web.runs.error.reps_few", needed=errors.m.number(needed))


def _active_runs(db: Session, user: User) -> int:
    return int(
        db.scalar(
            select(func.count(Run.id)).where(
                Run.user_id == user.id, Run.status.in_(("queued", "running"))
            )
        )
        or 0
    )


QUESTIONS: dict[str, dict[str, Any]] = {
    "plan": {"template": "plan.html", "page": "plan_page", "queue": "plan_queue"},
    "ceilings": {"template": "ceilings.html", "page": "ceilings_page", "queue": "ceilings_queue"},
    "judge": {"template": "judge.html", "page": "judge_page", "queue": "judge_queue"},
}


def _defaults(kind: str, ctx: VersionContext) -> dict[str, str]:
    if kind == "plan":
        return {"confidence": "90", "reps": "1000", "price": "1", "joint": "", "ceiling": ""}
    if kind == "ceilings":
        smallest = _smallest_ceiling(ctx)
        low = high = ""
        if smallest is not None:
            low = f"{math.floor(smallest * 0.75 / TY * 10) / 10:g}"
            high = f"{math.ceil(smallest * 1.5 / TY * 10) / 10:g}"
        return {"confidence": "90", "reps": "500", "low": low, "high": high, "steps": "4"}
    return {"confidence": "90", "reps": "1000"}


def _model(ctx: VersionContext) -> Any:
    from simopt.web.whatif import model_for

    v = ctx.version
    return model_for(v.id, v.sha256, v.yaml_text, ctx.label)


def _smallest_ceiling(ctx: VersionContext) -> float | None:
    try:
        return _model(ctx).smallest_ceiling_vnd()  # type: ignore[no-any-return]
    except ValueError:  # a version the library cannot read: said on the page
        return None


def _scenario_problem(ctx: VersionContext) -> str | None:
    """Why the version cannot be computed (the library's one line), or None."""
    from simopt.errors import ScenarioError

    try:
        _model(ctx)
    except ScenarioError as err:
        return err.message
    return None


def _question_page(
    request: Request,
    db: Session,
    user: User,
    ctx: VersionContext,
    kind: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    problem = _scenario_problem(ctx)
    runs = list(
        db.scalars(
            select(Run)
            .where(Run.scenario_version_id == ctx.version.id, Run.kind == kind)
            .order_by(Run.id.desc())
            .limit(RUNS_LISTED)
        )
    )
    extra: dict[str, Any] = {}
    if kind == "ceilings" and problem is None:
        extra["smallest_ceiling"] = _smallest_ceiling(ctx)
    if kind == "judge" and problem is None:
        extra["has_stated_budget"] = _model(ctx).scenario.stated_budget is not None
    return render(
        request,
        QUESTIONS[kind]["template"],
        {
            "where": ctx,
            "kind": kind,
            "form": form if form is not None else _defaults(kind, ctx),
            "errors": errors or {},
            "runs": runs,
            "can_queue": has_role(user, "planner") and problem is None,
            "problem": problem,
            "max_active": MAX_ACTIVE_PER_USER,
            **extra,
        },
        status_code=status_code,
    )


def _queue(
    request: Request,
    db: Session,
    user: User,
    ctx: VersionContext,
    kind: str,
    form: dict[str, str],
    parameters: dict[str, Any],
    errors: FormErrors,
) -> Response:
    problem = _scenario_problem(ctx)
    if problem is not None:
        raise PageError(400, "web.runs.error.scenario", detail=problem)
    if errors.errors:
        return _question_page(request, db, user, ctx, kind, form, errors.errors, 400)
    if _active_runs(db, user) >= MAX_ACTIVE_PER_USER:
        errors.add("_", "web.runs.error.too_many", limit=MAX_ACTIVE_PER_USER)
        return _question_page(request, db, user, ctx, kind, form, errors.errors, 429)
    state = web_state(request)
    run = jobs.queue_run(
        db,
        jobs.job_queue(request.app),
        version=ctx.version,
        user=user,
        kind=kind,
        parameters={**parameters, "seed": 0, "lang": user.language},
        now=state.settings.now(),
    )
    flash(request, "web.runs.queued", level="success", id=run.id)
    return redirect(request, str(request.url_for("run_page", run_id=run.id).path))


# ------------------------------------------------------------------------------------- plan
@router.get("/versions/{version_id}/plan", name="plan_page")
def plan_page(
    request: Request,
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _question_page(request, db, user, ctx, "plan")


@router.post("/versions/{version_id}/plan", name="plan_queue")
def plan_queue(
    request: Request,
    confidence: Annotated[str, Form(max_length=20)] = "",
    reps: Annotated[str, Form(max_length=20)] = "",
    price: Annotated[str, Form(max_length=5)] = "",
    joint: Annotated[str, Form(max_length=5)] = "",
    ceiling: Annotated[str, Form(max_length=40)] = "",
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(planner),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    form = {"confidence": confidence, "reps": reps, "price": price, "joint": joint}
    form["ceiling"] = ceiling
    errors = FormErrors(request_messages(request))
    conf = errors.number(form, "confidence", 50, 99) / 100
    n = errors.number(form, "reps", 1, MAX_REPS, whole=True)
    _check_reps(errors, n, conf, price=bool(price))
    ceiling_vnd = None
    if ceiling.strip():
        ceiling_vnd = errors.number(form, "ceiling", 0.001, 1e6) * TY
    parameters = {
        "confidence": conf,
        "reps": int(n) if not math.isnan(n) else 0,
        "price": bool(price),
        "joint": bool(joint),
        "ceiling_vnd": ceiling_vnd,
    }
    return _queue(request, db, user, ctx, "plan", form, parameters, errors)


# --------------------------------------------------------------------------------- ceilings
@router.get("/versions/{version_id}/ceilings", name="ceilings_page")
def ceilings_page(
    request: Request,
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _question_page(request, db, user, ctx, "ceilings")


@router.post("/versions/{version_id}/ceilings", name="ceilings_queue")
def ceilings_queue(
    request: Request,
    confidence: Annotated[str, Form(max_length=20)] = "",
    reps: Annotated[str, Form(max_length=20)] = "",
    low: Annotated[str, Form(max_length=40)] = "",
    high: Annotated[str, Form(max_length=40)] = "",
    steps: Annotated[str, Form(max_length=20)] = "",
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(planner),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    form = {"confidence": confidence, "reps": reps, "low": low, "high": high, "steps": steps}
    errors = FormErrors(request_messages(request))
    conf = errors.number(form, "confidence", 50, 99) / 100
    n = errors.number(form, "reps", 1, MAX_CEILING_REPS, whole=True)
    _check_reps(errors, n, conf, price=False)
    a = errors.number(form, "low", 0, 1e6)
    b = errors.number(form, "high", 0, 1e6)
    k = errors.number(form, "steps", 1, MAX_STEPS, whole=True)
    if not math.isnan(a) and not math.isnan(b) and b < a:
        errors.add("high", "web.runs.error.high_below_low")
    parameters = {
        "confidence": conf,
        "reps": int(n) if not math.isnan(n) else 0,
        "from_vnd": a * TY,
        "to_vnd": b * TY,
        "steps": int(k) if not math.isnan(k) else 0,
    }
    return _queue(request, db, user, ctx, "ceilings", form, parameters, errors)


# ------------------------------------------------------------------------------------ judge
@router.get("/versions/{version_id}/judge", name="judge_page")
def judge_page(
    request: Request,
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _question_page(request, db, user, ctx, "judge")


@router.post("/versions/{version_id}/judge", name="judge_queue")
def judge_queue(
    request: Request,
    confidence: Annotated[str, Form(max_length=20)] = "",
    reps: Annotated[str, Form(max_length=20)] = "",
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(planner),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    form = {"confidence": confidence, "reps": reps}
    errors = FormErrors(request_messages(request))
    conf = errors.number(form, "confidence", 50, 99) / 100
    n = errors.number(form, "reps", 1, MAX_REPS, whole=True)
    _check_reps(errors, n, conf, price=False)
    if _scenario_problem(ctx) is None and _model(ctx).scenario.stated_budget is None:
        errors.add("_", "web.runs.judge.no_stated_budget")
    parameters = {"confidence": conf, "reps": int(n) if not math.isnan(n) else 0}
    return _queue(request, db, user, ctx, "judge", form, parameters, errors)


# ------------------------------------------------------------------------------ run results
class Results:
    """A finished run's files, read back through ``paths`` (names from its manifest only)."""

    def __init__(self, results_dir: Path, run: Run) -> None:
        if run.status != "done" or not run.folder or not run.manifest:
            raise PageError(404, "web.runs.error.no_results")
        self.results_dir = results_dir
        self.scenario_dir, self.run_dir = run.folder.split("/", 1)
        self.manifest: dict[str, Any] = dict(run.manifest)
        self.files: dict[str, str] = dict(self.manifest.get("files", {}))
        scenarios = self.manifest.get("scenarios") or [{}]
        self.resolved: dict[str, Any] = dict(scenarios[0].get("resolved") or {})

    def path(self, name: str) -> Path:
        if name not in self.files:
            raise paths.UnsafePath(f"{name!r} is not a file of this run")
        return paths.run_file(self.results_dir, self.scenario_dir, self.run_dir, name)

    def has(self, name: str) -> bool:
        return name in self.files

    def csv(self, name: str) -> Any:
        import pandas as pd

        return pd.read_csv(self.path(name)) if self.has(name) else None

    def json(self, name: str) -> dict[str, Any]:
        if not self.has(name):
            return {}
        data = json.loads(self.path(name).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}

    def name_of(self, table: str, key: str, field: str = "name") -> str:
        entry = (self.resolved.get(table) or {}).get(key) or {}
        return str(entry.get(field) or key) if isinstance(entry, dict) else key

    def downloads(self) -> list[str]:
        order = {".xlsx": 0, ".html": 1, ".csv": 2, ".png": 3, ".json": 4}
        names = [n for n in self.files if Path(n).suffix in order]
        return sorted(names, key=lambda n: (order[Path(n).suffix], n))


def _float(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _plan_results(res: Results) -> dict[str, Any]:
    summary = res.json("plan.json")
    robust = summary.get("robust_plan") or {}
    expected = summary.get("expected_value_plan") or {}
    schedule = res.csv("schedule.csv")
    classes = res.csv("classes.csv")
    courses: list[str] = []
    rows: list[dict[str, Any]] = []
    class_rows: list[dict[str, Any]] = []
    if schedule is not None and not schedule.empty:
        courses = sorted(schedule["course"].astype(str).unique())
        cells = schedule.groupby(["year", "group", "course"])["enrolments"].sum()
        for (year, group), part in cells.groupby(level=[0, 1]):
            people = {str(c): float(v) for (_, _, c), v in part.items()}
            rows.append(
                {
                    "year": int(year),
                    "group": res.name_of("groups", str(group)),
                    "people": [people.get(c, 0.0) for c in courses],
                    "total": sum(people.values()),
                }
            )
        if classes is not None and not classes.empty:
            per = classes.groupby(["year", "course"])["classes"].sum()
            for year in sorted({int(y) for y, _ in per.index}):
                class_rows.append(
                    {
                        "year": year,
                        "classes": [
                            _float(per.get((year, c))) if (year, c) in per.index else None
                            for c in courses
                        ],
                    }
                )
    budget = _budget(res)
    targets = []
    table = res.csv("targets.csv")
    if table is not None:
        for r in table.to_dict("records"):
            fresh = _float(r.get("probability_met_fresh_seed"))
            targets.append(
                {
                    "label": res.name_of("targets", str(r["target"]), "label"),
                    "year": int(r["year"]),
                    "p": fresh if fresh is not None else _float(r.get("probability_met")),
                    "low": _float(r.get("probability_met_fresh_low95")),
                    "high": _float(r.get("probability_met_fresh_high95")),
                    "expected": _float(r.get("robust_expected_share", r.get("expected_share"))),
                }
            )
    together = []
    joint = res.csv("probability_all_met.csv")
    if joint is not None:
        for r in joint.to_dict("records"):
            together.append(
                {
                    "scope": str(r["scope"]),
                    "p": _float(r["probability_all_met"]),
                    "low": _float(r["probability_all_met_low95"]),
                    "high": _float(r["probability_all_met_high95"]),
                }
            )
    price = []
    ladder = res.csv("price_of_confidence.csv")
    if ladder is not None:
        for r in ladder.to_dict("records"):
            price.append(
                {
                    "confidence": _float(r["confidence"]),
                    "joint": str(r["kind"]) == "joint",
                    "status": str(r["status"]),
                    "cost": _float(r.get("cost_vnd")),
                    "extra": _float(r.get("extra_cost_vnd")),
                    "lowest": _float(r.get("lowest_probability_met")),
                    "all": _float(r.get("probability_all_met")),
                }
            )
    return {
        "status": str(summary.get("status", "")),
        "message": str(summary.get("message", "")),
        "confidence": _float(summary.get("confidence")),
        "joint": bool(summary.get("joint")),
        "replications": summary.get("replications"),
        "robust_cost": _float(robust.get("total_cost_vnd")) if robust else None,
        "expected_cost": _float(expected.get("total_cost_vnd")),
        "extra_cost": _float(summary.get("extra_cost_vnd")),
        "extra_people": _float(summary.get("extra_people")),
        "courses": [res.name_of("courses", c) for c in courses],
        "schedule": rows,
        "classes": class_rows,
        "budget": budget,
        "targets": targets,
        "together": together,
        "price": price,
        "chart": "chart_attainment.png" if res.has("chart_attainment.png") else None,
    }


def _budget(res: Results) -> dict[str, Any]:
    costs = res.csv("costs.csv")
    if costs is None or costs.empty:
        return {"sources": [], "rows": [], "totals": [], "total": None}
    wide = costs.pivot_table(
        index="year", columns="funding_source", values="cost_vnd", aggfunc="sum", fill_value=0.0
    )
    sources = [str(s) for s in wide.columns]
    rows = [
        {
            "year": int(year),
            "amounts": [float(v) for v in values],
            "total": float(sum(values)),
        }
        for year, values in zip(wide.index, wide.to_numpy(), strict=True)
    ]
    return {
        "sources": [res.name_of("funding_sources", s) for s in sources],
        "rows": rows,
        "totals": [float(wide[s].sum()) for s in wide.columns],
        "total": float(wide.to_numpy().sum()),
    }


def _ceilings_results(res: Results) -> dict[str, Any]:
    data = res.json("ceilings.json")
    table = res.csv("ceilings.csv")
    rows = []
    if table is not None:
        for r in table.to_dict("records"):
            rows.append(
                {
                    "ceiling": _float(r["ceiling_vnd"]),
                    "search": str(r.get("found_by")) == "search",
                    "smallest": bool(r.get("smallest_at_confidence")),
                    "status": str(r.get("robust_status", "")),
                    "cost": _float(r.get("robust_cost_vnd")),
                    "min_cost": _float(r.get("min_cost_vnd")),
                    "lowest": _float(r.get("robust_min_probability_met")),
                    "all": _float(r.get("robust_probability_all_met")),
                    "within": _float(r.get("robust_probability_within_ceiling")),
                }
            )
    return {
        "confidence": _float(data.get("confidence")),
        "smallest_expected": _float(data.get("smallest_feasible_ceiling_vnd_per_year")),
        "smallest_confident": _float(data.get("smallest_ceiling_vnd_per_year_at_confidence")),
        "rows": rows,
        "chart": "chart_frontier.png" if res.has("chart_frontier.png") else None,
    }


def _judge_results(res: Results) -> dict[str, Any]:
    data = res.json("judge.json")
    written = data.get("written_plan") or {}
    robust = data.get("robust_plan") or {}
    targets = []
    for r in data.get("targets") or []:
        targets.append(
            {
                "label": res.name_of("targets", str(r.get("target")), "label"),
                "year": r.get("year"),
                "written": _float(r.get("written_probability_met")),
                "written_low": _float(r.get("written_probability_met_low95")),
                "written_high": _float(r.get("written_probability_met_high95")),
                "written_share": _float(r.get("written_mean_share")),
                "required_share": _float(r.get("required_share")),
                "robust": _float(r.get("robust_probability_met")),
                "robust_low": _float(r.get("robust_probability_met_low95")),
                "robust_high": _float(r.get("robust_probability_met_high95")),
            }
        )
    people = []
    table = res.csv("written_people.csv")
    if table is not None:
        for r in table.to_dict("records"):
            people.append(
                {
                    "group": res.name_of("groups", str(r.get("group"))),
                    "first": r.get("first_year"),
                    "last": r.get("last_year"),
                    "people": _float(r.get("people")),
                }
            )
    together = written.get("all_targets_together") or {}
    robust_together = robust.get("all_targets_together") or {}
    return {
        "people_planned": _float(written.get("people")),
        "enrolled": _float(written.get("enrolled_simulated_mean")),
        "certified": _float(written.get("certified_simulated_mean")),
        "cost": _float(written.get("cost_vnd_simulated_mean")),
        "stated": _float(written.get("stated_vnd")),
        "together": together,
        "robust_status": robust.get("status"),
        "robust_cost": _float(robust.get("cost_vnd_planned")),
        "robust_together": robust_together,
        "confidence": _float(robust.get("confidence")),
        "targets": targets,
        "people": people,
    }


RESULTS: dict[str, Callable[[Results], dict[str, Any]]] = {
    "plan": _plan_results,
    "ceilings": _ceilings_results,
    "judge": _judge_results,
}


def _results(request: Request, run: Run) -> tuple[Results | None, dict[str, Any]]:
    if run.status != "done" or run.kind not in RESULTS:
        return None, {}
    res = Results(web_state(request).settings.results_dir, run)
    try:
        return res, RESULTS[run.kind](res)
    except (OSError, paths.UnsafePath, ValueError, KeyError) as exc:
        # a folder moved or deleted since: said on the page, never a traceback
        import logging

        logging.getLogger("simopt.web").warning("run %s: results unreadable: %s", run.id, exc)
        raise PageError(404, "web.runs.error.no_results") from None


# --------------------------------------------------------------------------- the run pages
@router.get("/runs/compare", name="runs_compare")
def runs_compare(
    request: Request,
    run: Annotated[list[int] | None, Query()] = None,
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    ids = list(dict.fromkeys(run or []))[:MAX_COMPARED]
    contexts = [_run_context(db, user, i) for i in ids]
    columns: list[dict[str, Any]] = []
    for c in contexts:
        if c.run.kind != "plan" or c.run.status != "done":
            continue
        res, data = _results(request, c.run)
        assert res is not None
        schedule = res.csv("schedule.csv")
        by_course: dict[str, float] = {}
        total = None
        if schedule is not None and not schedule.empty:
            total = float(schedule["enrolments"].sum())
            for course, v in schedule.groupby("course")["enrolments"].sum().items():
                by_course[res.name_of("courses", str(course))] = float(v)
        classes = res.csv("classes.csv")
        columns.append(
            {
                "context": c,
                "data": data,
                "total_people": total,
                "by_course": by_course,
                "classes": float(classes["classes"].sum())
                if classes is not None and not classes.empty
                else None,
                "targets": {(t["label"], t["year"]): t for t in data["targets"]},
            }
        )
    target_keys: list[tuple[str, int]] = []
    courses: list[str] = []
    for col in columns:
        for key in col["targets"]:
            if key not in target_keys:
                target_keys.append(key)
        for course in col["by_course"]:
            if course not in courses:
                courses.append(course)
    return render(
        request,
        "run_compare.html",
        {
            "columns": columns,
            "target_keys": target_keys,
            "courses": courses,
            "skipped": len(contexts) - len(columns),
            "enough": len(columns) >= 2,
        },
    )


@router.get("/runs/{run_id}", name="run_page")
def run_page(
    request: Request,
    ctx: RunContext = Depends(visible_run),  # noqa: B008
) -> Response:
    res, data = _results(request, ctx.run)
    return render(
        request,
        "run_detail.html",
        {
            "run": ctx.run,
            "where": ctx.where,
            "results": data,
            "downloads": res.downloads() if res is not None else [],
            "active": ctx.run.status in ("queued", "running"),
            "stage": jobs.describe(request_messages(request), ctx.run.message),
        },
    )


@router.get("/runs/{run_id}/progress", name="run_progress")
def run_progress(
    request: Request,
    ctx: RunContext = Depends(visible_run),  # noqa: B008
) -> Response:
    active = ctx.run.status in ("queued", "running")
    headers = {"HX-Refresh": "true"} if is_htmx(request) and not active else None
    return render(
        request,
        "run_progress.html",
        {
            "run": ctx.run,
            "active": active,
            "stage": jobs.describe(request_messages(request), ctx.run.message),
        },
        headers=headers,
    )


@router.get("/runs/{run_id}/files/{filename}", name="run_file")
def run_file(
    request: Request,
    filename: str,
    ctx: RunContext = Depends(visible_run),  # noqa: B008
) -> Response:
    res = Results(web_state(request).settings.results_dir, ctx.run)
    path = res.path(paths.checked(filename, paths.RUN_FILE, "file"))
    suffix = path.suffix.lower()
    download = f"run{ctx.run.id}-{path.name}"
    disposition = "inline" if suffix in INLINE else "attachment"
    return FileResponse(
        path,
        media_type=MEDIA.get(suffix, "application/octet-stream"),
        filename=download,
        content_disposition_type=disposition,
        headers={"Cache-Control": "private, no-store"},
    )
