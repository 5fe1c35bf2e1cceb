"""The merge of two provinces (the 2025 reform) in the browser: ``simopt merge`` as a page.

``GET /merge?a=…&b=…`` — choose two scenario versions the user sees (by the version's id);
once both are chosen, the page lists every group of the two for the ``--map`` options (a select
box of the groups, or a new group id typed beside it), the merged scenario's name and title,
``--rule`` lines, and the province it is saved in (one the user may edit; an administrator may
name a new one). ``POST /merge`` runs :func:`simopt.merge.merge` on the two validated versions,
renders the file as ``simopt merge`` writes it (its header the command, each input's SHA-256 and
the report), validates it with the loader and shows the conflicts report; with ``action=save``
it also stores the file as version 1 of a new scenario. Planners and administrators only (a
viewer edits no province).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from simopt.errors import ScenarioError, printable
from simopt.merge import MergeError, MergeOptions, merge, parse_pairs, render
from simopt.merge import Province as MergeInput
from simopt.reporting.i18n import Messages
from simopt.scenario import Scenario as ScenarioModel
from simopt.scenario import parse_scenario
from simopt.web.auth import can_see, require_role, visible_provinces
from simopt.web.errors import PageError
from simopt.web.i18n import request_messages
from simopt.web.models import ScenarioVersion, User
from simopt.web.routes_scenarios import (
    FormProblem,
    add_scenario,
    check_name_free,
    clean_name,
    editable_provinces,
    posted_form,
    target_province,
    version_label,
)
from simopt.web.state import get_db
from simopt.web.templating import render as render_page

router = APIRouter()
planner_role = require_role("planner")

RULE_EXAMPLE = "FIELD=first|max|min, e.g. exam_pass_probability=min"


@dataclass(frozen=True)
class Candidate:
    id: int
    label: str


@dataclass
class MergeForm:
    """The merge form as sent (or empty)."""

    a: int | None = None
    b: int | None = None
    name: str = ""
    title: str = ""
    maps: dict[str, str] = field(default_factory=dict)
    """Old group → the group chosen in its select box."""
    new_ids: dict[str, str] = field(default_factory=dict)
    """Old group → a new group id typed beside it."""
    rules: str = ""
    province: str = ""
    new_province: str = ""


@dataclass
class Input:
    version: ScenarioVersion
    label: str
    model: ScenarioModel


def candidates(db: Session, user: User, m: Messages) -> list[Candidate]:
    """Every version of every scenario the user sees, newest first within a scenario."""
    out: list[Candidate] = []
    for province in visible_provinces(db, user):
        for scenario in province.scenarios:
            latest = scenario.versions[-1].number if scenario.versions else 0
            for version in reversed(scenario.versions):
                key = (
                    "web.scenarios.merge.option_latest"
                    if version.number == latest
                    else "web.scenarios.merge.option"
                )
                out.append(
                    Candidate(
                        version.id,
                        m(
                            key,
                            province=province.name,
                            scenario=scenario.name,
                            number=version.number,
                        ),
                    )
                )
    return out


def _input(db: Session, user: User, version_id: int | None) -> Input | None:
    if version_id is None:
        return None
    version = db.get(ScenarioVersion, version_id)
    if version is None:
        raise PageError(404, "web.scenarios.error.no_version")
    if not can_see(db, user, version.scenario.province):
        raise PageError(403, "web.error.forbidden_province")
    label = version_label(version.scenario, version)
    try:
        model = parse_scenario(version.yaml_text, file=label)
    except ScenarioError as err:
        raise PageError(409, "web.scenarios.error.invalid", error=err.message) from None
    return Input(version, label, model)


def _groups(inputs: list[Input]) -> list[str]:
    seen: dict[str, None] = {}
    for item in inputs:
        for gid in item.model.groups:
            seen.setdefault(gid, None)
    return list(seen)


def _page(
    request: Request,
    db: Session,
    user: User,
    form: MergeForm,
    *,
    error: str = "",
    errors: dict[str, str] | None = None,
    report: list[str] | None = None,
    summary: dict[str, Any] | None = None,
    saved: Any = None,
    status_code: int = 200,
) -> Response:
    m = request_messages(request)
    inputs = [i for i in (_input(db, user, form.a), _input(db, user, form.b)) if i]
    groups = _groups(inputs) if len(inputs) == 2 else []
    return render_page(
        request,
        "merge.html",
        {
            "candidates": candidates(db, user, m),
            "form": form,
            "ready": len(inputs) == 2,
            "groups": groups,
            "editable": editable_provinces(db, user),
            "error": error,
            "errors": errors or {},
            "report": report or [],
            "summary": summary,
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/merge", name="merge")
def merge_page(
    request: Request,
    a: int | None = None,
    b: int | None = None,
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _page(request, db, user, MergeForm(a=a, b=b))


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdecimal() or len(text) > 12:
        raise PageError(400, "web.error.bad_request")
    return int(text)


def _read(form: dict[str, list[str]]) -> MergeForm:
    def one(name: str, limit: int = 400) -> str:
        return (form.get(name) or [""])[-1][:limit]

    out = MergeForm(
        a=_int(one("a")),
        b=_int(one("b")),
        name=one("name").strip(),
        title=" ".join(one("title").split()),
        rules=one("rules", 4000),
        province=one("province"),
        new_province=one("new_province"),
    )
    for key, values in form.items():
        if key.startswith("map.") and values:
            out.maps[key[4:]] = values[-1][:100].strip()
        elif key.startswith("map_new.") and values:
            out.new_ids[key[8:]] = values[-1][:100].strip()
    return out


def _summary(model: ScenarioModel) -> dict[str, Any]:
    pools = model.pools()
    return {
        "groups": len(model.groups),
        "pools": len(pools),
        "eligible": sum(pool.eligible for _, pool in pools.values()),
        "courses": len(model.courses),
        "targets": len(model.targets),
        "first": model.horizon.start_year,
        "last": model.horizon.end_year,
    }


@router.post("/merge", name="merge_run")
def merge_run(
    request: Request,
    form_data: dict[str, list[str]] = Depends(posted_form),  # noqa: B008
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    m = request_messages(request)
    form = _read(form_data)
    action = (form_data.get("action") or ["preview"])[-1]
    first, second = _input(db, user, form.a), _input(db, user, form.b)
    if first is None or second is None:
        return _page(
            request, db, user, form, error=m("web.scenarios.merge.choose_two"), status_code=400
        )
    inputs = [first, second]
    maps: list[tuple[str, str]] = []
    for gid in _groups(inputs):
        new = form.new_ids.get(gid) or form.maps.get(gid) or ""
        if new and new != gid:
            maps.append((gid, new))
    try:
        rules = parse_pairs(
            [line.strip() for line in form.rules.splitlines() if line.strip()],
            "--rule",
            RULE_EXAMPLE,
        )
        options = MergeOptions(name=form.name, title=form.title, maps=tuple(maps), rules=rules)
        result = merge([MergeInput(i.model, i.label) for i in inputs], options)
        argv = ["simopt", "merge", *(i.label for i in inputs), "--name", form.name]
        for old, new in maps:
            argv += ["--map", f"{old}={new}"]
        for rule_field, rule in rules:
            argv += ["--rule", f"{rule_field}={rule}"]
        if form.title:
            argv += ["--title", form.title]
        text = render(
            result,
            command=shlex.join(argv) + "  (simopt web)",
            inputs=[(i.label, i.version.yaml_text.encode("utf-8")) for i in inputs],
        )
        model = parse_scenario(text, file=form.name or "merged")
    except (MergeError, ScenarioError) as err:
        line = err.message if isinstance(err, ScenarioError) else str(err)
        return _page(
            request,
            db,
            user,
            form,
            error=m("web.scenarios.merge.failed", error=printable(line, 600)),
            status_code=400,
        )
    report = list(result.report)
    summary = _summary(model)
    if action != "save":
        return _page(request, db, user, form, report=report, summary=summary)
    try:
        name = clean_name(form.name, form.name)
        province = target_province(db, user, form.province, form.new_province)
        check_name_free(db, province, name)
        note = m("web.scenarios.merge.note", a=first.label, b=second.label)
        scenario = add_scenario(db, province, name, text, user, note)
        db.commit()
    except (FormProblem, IntegrityError) as problem:
        db.rollback()
        if isinstance(problem, FormProblem):
            errors = {problem.field: problem.text(request)}
        else:
            errors = {"name": m("web.scenarios.form.name_taken", name=form.name)}
        return _page(
            request,
            db,
            user,
            form,
            errors=errors,
            report=report,
            summary=summary,
            status_code=400,
        )
    return _page(request, db, user, form, report=report, summary=summary, saved=scenario)
