"""The home page: the provinces the user sees and their scenarios; and ``/healthz`` for a
process manager or a reverse proxy."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse, Response

from simopt.web.auth import current_user, visible_provinces
from simopt.web.models import Province, Scenario, ScenarioVersion, User
from simopt.web.state import get_db
from simopt.web.templating import render

router = APIRouter()


@dataclass(frozen=True)
class ScenarioEntry:
    scenario: Scenario
    latest: ScenarioVersion | None
    versions: int


@dataclass(frozen=True)
class ProvinceEntry:
    province: Province
    scenarios: list[ScenarioEntry]


def province_entries(db: Session, user: User) -> list[ProvinceEntry]:
    """Each province the user sees, with its scenarios and each one's newest version."""
    provinces = visible_provinces(db, user)
    ids = [p.id for p in provinces]
    newest = (
        select(ScenarioVersion.scenario_id, func.max(ScenarioVersion.number).label("n"))
        .group_by(ScenarioVersion.scenario_id)
        .subquery()
    )
    rows = db.execute(
        select(Scenario, ScenarioVersion, newest.c.n)
        .outerjoin(newest, newest.c.scenario_id == Scenario.id)
        .outerjoin(
            ScenarioVersion,
            (ScenarioVersion.scenario_id == Scenario.id) & (ScenarioVersion.number == newest.c.n),
        )
        .where(Scenario.province_id.in_(ids))
        .order_by(Scenario.name)
    ).all()
    by_province: dict[int, list[ScenarioEntry]] = {i: [] for i in ids}
    for scenario, version, count in rows:
        by_province[scenario.province_id].append(ScenarioEntry(scenario, version, int(count or 0)))
    return [ProvinceEntry(p, by_province[p.id]) for p in provinces]


@router.get("/", name="home")
def home(
    request: Request,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return render(request, "home.html", {"entries": province_entries(db, user)})


@router.get("/healthz", name="health")
def health(db: Session = Depends(get_db)) -> Response:  # noqa: B008
    db.execute(text("SELECT 1"))
    return PlainTextResponse("ok\n")
