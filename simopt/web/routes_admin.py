"""The administrator's pages: users — add one with a role, a language and provinces; deactivate
or reactivate one. Only ``admin`` reaches them."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from simopt.web.accounts import AccountError, create_user, list_users, set_active
from simopt.web.auth import require_role
from simopt.web.errors import PageError
from simopt.web.i18n import request_messages
from simopt.web.models import LANGS, ROLES, Province, User
from simopt.web.state import get_db, web_state
from simopt.web.templating import flash, redirect, render

router = APIRouter(prefix="/admin")
admin_only = require_role("admin")

EMPTY_FORM: dict[str, Any] = {
    "username": "",
    "role": "planner",
    "language": "vi",
    "provinces": [],
    "new_provinces": "",
}


def _page(
    request: Request,
    db: Session,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin_users.html",
        {
            "users": list_users(db),
            "all_provinces": list(db.scalars(select(Province).order_by(Province.name))),
            "roles": ROLES,
            "langs": LANGS,
            "form": form or EMPTY_FORM,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/users", name="admin_users")
def users_page(
    request: Request,
    admin: User = Depends(admin_only),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _page(request, db)


@router.post("/users", name="admin_add_user")
def add_user(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    language: Annotated[str, Form(max_length=8)] = "vi",
    provinces: Annotated[list[str] | None, Form()] = None,
    new_provinces: Annotated[str, Form(max_length=2000)] = "",
    admin: User = Depends(admin_only),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    chosen = [p for p in provinces or [] if p]
    typed = [p.strip() for p in re.split(r"[,;\n]", new_provinces) if p.strip()]
    form = {
        "username": username,
        "role": role,
        "language": language,
        "provinces": chosen,
        "new_provinces": new_provinces,
    }
    try:
        if password != password_again:
            raise AccountError("web.account.password_mismatch", "password_again")
        known = {p.slug for p in db.scalars(select(Province))}
        unknown = [p for p in chosen if p not in known]
        if unknown:
            raise AccountError("web.account.province_invalid", "provinces", name=unknown[0][:40])
        user = create_user(
            db,
            username,
            password,
            role,
            language=language,
            provinces=chosen + typed,
            min_password_length=web_state(request).settings.min_password_length,
        )
    except AccountError as err:
        db.rollback()
        m = request_messages(request)
        message = m(err.key, **err.fields) if err.fields else m(err.key)
        return _page(request, db, form, {err.field: message}, status_code=400)
    flash(request, "web.admin.user_added", level="success", username=user.username)
    return redirect(request, str(request.url_for("admin_users").path))


@router.post("/users/{user_id}/active", name="admin_set_active")
def set_user_active(
    request: Request,
    user_id: int,
    active: Annotated[str, Form(max_length=1)] = "0",
    admin: User = Depends(admin_only),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    user = db.get(User, user_id)
    if user is None:
        raise PageError(404, "web.error.not_found")
    back = str(request.url_for("admin_users").path)
    if active != "1" and user.id == admin.id:
        flash(request, "web.admin.cannot_deactivate_self", level="error")
        return redirect(request, back)
    set_active(db, user, active == "1")
    key = "web.admin.user_reactivated" if active == "1" else "web.admin.user_deactivated"
    flash(request, key, level="success", username=user.username)
    return redirect(request, back)
