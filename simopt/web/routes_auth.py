"""Logging in and out, and the language switch (pages: ``/login``; forms: ``/logout``,
``/lang``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from simopt.reporting.i18n import LANGS
from simopt.web import csrf, sessions
from simopt.web.accounts import set_language
from simopt.web.auth import current_user_optional, safe_next
from simopt.web.errors import PageError
from simopt.web.i18n import LANG_COOKIE
from simopt.web.models import User
from simopt.web.passwords import hash_password, needs_rehash, verify_nobody, verify_password
from simopt.web.state import get_db, web_state
from simopt.web.templating import flash, redirect, render, set_cookie

router = APIRouter()

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


@router.get("/login", name="login")
def login_page(
    request: Request,
    next: str | None = None,
    user: User | None = Depends(current_user_optional),  # noqa: B008
) -> Response:
    if user is not None:
        return redirect(request, safe_next(next))
    return render(request, "login.html", {"next": safe_next(next), "username": "", "failed": False})


@router.post("/login", name="login_submit")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    settings = web_state(request).settings
    name = username.strip().lower()
    user = db.scalar(select(User).where(func.lower(User.username) == name)) if name else None
    if user is None or not user.active:
        verify_nobody(password)
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if user is None or not ok:
        flash(request, "web.login.failed", level="error")
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "username": username.strip(), "failed": True},
            status_code=401,
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.commit()
    sessions.end(db, request.cookies.get(sessions.COOKIE))  # never keep a session across a login
    token = sessions.start(db, user, settings)
    response = redirect(request, safe_next(next))
    set_cookie(
        request,
        response,
        sessions.COOKIE,
        token,
        max_age=int(settings.session_max.total_seconds()),
    )
    set_cookie(request, response, LANG_COOKIE, user.language, max_age=LANG_COOKIE_MAX_AGE)
    response.delete_cookie(csrf.ANON_COOKIE, path="/")
    return response


@router.post("/logout", name="logout")
def logout(
    request: Request,
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    sessions.end(db, request.cookies.get(sessions.COOKIE))
    request.state.login_session = None
    request.state.user = None
    flash(request, "web.logout.done", level="success")
    response = redirect(request, "/login")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.post("/lang", name="set_language")
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
    db: Session = Depends(get_db),  # noqa: B008
    user: User | None = Depends(current_user_optional),  # noqa: B008
) -> Response:
    """The page's language: the user's profile when logged in, else a cookie."""
    if lang not in LANGS:
        raise PageError(400, "web.account.language_invalid")
    if user is not None:
        set_language(db, user, lang)
    response = redirect(request, safe_next(next))
    set_cookie(request, response, LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE)
    return response
