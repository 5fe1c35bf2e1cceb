"""Who is asking, and may they: the dependencies every page declares.

- :func:`current_session` / :func:`current_user_optional`: the login of the request's cookie,
  or None (also put on ``request.state.user`` for the error pages' language);
- :func:`current_user`: the logged-in user, else a redirect to the login page
  (:class:`LoginRequired`);
- :func:`require_role` ``("planner")``: that user, with at least that role
  (viewer < planner < admin), else 403;
- :func:`require_province`: the province of the path parameter ``{province}`` (its slug), when
  the user sees it, else 403 (404 when there is no such province).

An administrator sees every province; anyone else sees the provinces they were given
(``user_provinces``). Logging in and out is in ``routes_auth.py``; sessions in ``sessions.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from simopt.web import sessions
from simopt.web.errors import LoginRequired, PageError
from simopt.web.models import ROLES, LoginSession, Province, User, UserProvince
from simopt.web.state import get_db, web_state


def current_session(
    request: Request,
    db: Session = Depends(get_db),  # noqa: B008
) -> LoginSession | None:
    if hasattr(request.state, "login_session"):
        cached: LoginSession | None = request.state.login_session
        return cached
    row, expired = sessions.lookup(
        db, request.cookies.get(sessions.COOKIE), web_state(request).settings
    )
    request.state.login_session = row
    request.state.user = row.user if row is not None else None
    request.state.session_expired = expired
    return row


def ensure_login_resolved(request: Request) -> None:
    """Resolve the request's login outside the dependencies (for a page rendered where none ran:
    an unknown path, an error before routing); a failure reads as logged out."""
    if hasattr(request.state, "login_session"):
        return
    try:
        with web_state(request).sessions() as db:
            current_session(request, db)
    except Exception:
        request.state.login_session = None
        request.state.user = None


def current_user_optional(
    login: LoginSession | None = Depends(current_session),  # noqa: B008
) -> User | None:
    return login.user if login is not None else None


def current_user(user: User | None = Depends(current_user_optional)) -> User:  # noqa: B008
    if user is None:
        raise LoginRequired()
    return user


def role_rank(role: str) -> int:
    return ROLES.index(role)


def has_role(user: User, minimum: str) -> bool:
    return role_rank(user.role) >= role_rank(minimum)


def require_role(minimum: str) -> Callable[[User], User]:
    """A dependency: the logged-in user when their role is ``minimum`` or above."""
    if minimum not in ROLES:
        raise ValueError(f"role {minimum!r}: choose one of {', '.join(ROLES)}")

    def dependency(user: User = Depends(current_user)) -> User:  # noqa: B008
        if not has_role(user, minimum):
            raise PageError(403, "web.error.forbidden_role")
        return user

    dependency.__name__ = f"require_role_{minimum}"
    return dependency


def visible_provinces(db: Session, user: User) -> list[Province]:
    query = select(Province).order_by(Province.name)
    if not user.is_admin:
        query = query.join(UserProvince, UserProvince.province_id == Province.id).where(
            UserProvince.user_id == user.id
        )
    return list(db.scalars(query))


def can_see(db: Session, user: User, province: Province) -> bool:
    if user.is_admin:
        return True
    link = db.get(UserProvince, (user.id, province.id))
    return link is not None


def require_province(
    province: str,
    db: Session = Depends(get_db),  # noqa: B008
    user: User = Depends(current_user),  # noqa: B008
) -> Province:
    """A dependency for routes with ``{province}`` in their path: that province, if the user
    sees it."""
    row = db.scalar(select(Province).where(Province.slug == province))
    if row is None:
        raise PageError(404, "web.error.no_province")
    if not can_see(db, user, row):
        raise PageError(403, "web.error.forbidden_province")
    return row


def safe_next(value: str | None, default: str = "/") -> str:
    """A place to go back to after a form: a path of this app only (``/…``), never another
    site (``//host``, ``https://…``, backslashes)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x20 for c in value):
        return default
    return value
