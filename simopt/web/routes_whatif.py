"""The what-if panel: a few inputs (pass rates, attrition, tuition, the yearly ceiling, the
confidence) and an answer within the request — viewers too.

=======  =================================  ==========  =====================================
method   path                               least role  what
=======  =================================  ==========  =====================================
GET      /versions/{version_id}/whatif      viewer      the panel, with the answer as saved
POST     /versions/{version_id}/whatif      viewer      the answer (an htmx fragment; a page
                                                        without htmx)
=======  =================================  ==========  =====================================

The answer is computed on the app's what-if threads (``jobs.whatif_pool``: as many as the job
workers), not on the plan queue, so that queued plans never delay it; the request's database
session is closed before the computation, so twenty what-ifs at once hold no connection while
they wait. The logic is in ``whatif.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from simopt.errors import ScenarioError
from simopt.web import jobs
from simopt.web.errors import PageError, is_htmx
from simopt.web.i18n import request_messages
from simopt.web.models import User
from simopt.web.routes_runs import VersionContext, viewer, visible_version
from simopt.web.state import get_db
from simopt.web.templating import render
from simopt.web.whatif import REPS, Answer, WhatIfError, WhatIfModel, answer, model_for

router = APIRouter()

MAX_FIELDS = 200
"""Form fields read from a what-if (a scenario has a few dozen inputs at most)."""


@dataclass(frozen=True)
class Computed:
    model: WhatIfModel | None
    answer: Answer | None
    baseline: Answer | None
    errors: dict[str, tuple[str, dict[str, float]]]
    problem: str | None
    """The version or the what-if cannot be computed: the library's one line."""


@dataclass(frozen=True)
class VersionRef:
    """What a computation needs of a version, read before the database session is closed."""

    id: int
    sha256: str
    yaml_text: str
    label: str


def compute(ref: VersionRef, form: dict[str, str] | None) -> Computed:
    """The what-if of ``form`` (None: the scenario as saved) for a version."""
    try:
        model = model_for(ref.id, ref.sha256, ref.yaml_text, ref.label)
    except ScenarioError as err:
        return Computed(None, None, None, {}, err.message)
    try:
        inputs = model.parse(form) if form is not None else model.saved_inputs()
    except WhatIfError as err:
        return Computed(model, None, None, err.errors, None)
    try:
        found, baseline = answer(model, inputs)
    except ScenarioError as err:
        return Computed(model, None, None, {}, err.message)
    return Computed(model, found, baseline, {}, None)


async def _compute(request: Request, ctx: VersionContext, db: Session, form: Any) -> Computed:
    ref = VersionRef(ctx.version.id, ctx.version.sha256, ctx.version.yaml_text, ctx.label)
    db.close()  # nothing more to read: no connection held while the threads are busy
    future = jobs.whatif_pool(request.app).submit(compute, ref, form)
    return await asyncio.wrap_future(future)


def _context(request: Request, ctx: VersionContext, done: Computed) -> dict[str, Any]:
    m = request_messages(request)
    errors = {
        name: m(key, **{k: m.number(v, 2 if v % 1 else 0) for k, v in fields.items()})
        for name, (key, fields) in done.errors.items()
    }
    return {
        "where": ctx,
        "model": done.model,
        "answer": done.answer,
        "baseline": done.baseline,
        "errors": errors,
        "problem": done.problem,
        "reps": REPS,
    }


@router.get("/versions/{version_id}/whatif", name="whatif_page")
async def whatif_page(
    request: Request,
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    done = await _compute(request, ctx, db, None)
    return render(request, "whatif.html", {**_context(request, ctx, done), "values": {}})


@router.post("/versions/{version_id}/whatif", name="whatif_answer")
async def whatif_answer(
    request: Request,
    ctx: VersionContext = Depends(visible_version),  # noqa: B008
    user: User = Depends(viewer),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    raw = await request.form(max_fields=MAX_FIELDS)
    form = {k: v for k, v in raw.items() if isinstance(v, str) and len(v) <= 64}
    done = await _compute(request, ctx, db, form)
    context = {**_context(request, ctx, done), "values": form}
    if done.model is None and done.problem is not None and not is_htmx(request):
        raise PageError(400, "web.runs.error.scenario", detail=done.problem)
    if is_htmx(request):
        return render(request, "whatif_answer.html", context)
    status = 400 if done.errors else 200
    return render(request, "whatif.html", context, status_code=status)
