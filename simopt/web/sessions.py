"""Server-side login sessions: a row per login in ``login_sessions``, a random token in the
cookie.

Server-side rather than a signed cookie, so that logout, deactivating a user and expiry end a
session for good (a stolen signed cookie would stay valid until its own expiry). The cookie
(``simopt_session``: HttpOnly, SameSite=Lax, Secure over HTTPS) holds 256 random bits; the row
holds their SHA-256, the user, the session's CSRF token and two times: the login and the last
request. A session ends ``settings.session_idle`` after its last request (8 h) or
``settings.session_max`` after the login (24 h), whichever comes first; expired rows are
deleted when met and at each login.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from simopt.web.models import LoginSession, User
from simopt.web.settings import WebSettings

COOKIE = "simopt_session"
TOUCH_EVERY = dt.timedelta(seconds=60)
"""``last_seen_at`` is written at most once a minute: an idle limit of hours needs no finer
clock, and most requests then only read."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_expired(row: LoginSession, settings: WebSettings, now: dt.datetime) -> bool:
    return (
        now - row.last_seen_at >= settings.session_idle
        or now - row.created_at >= settings.session_max
    )


def start(db: Session, user: User, settings: WebSettings) -> str:
    """A new session for ``user`` (committed); the token for the cookie."""
    now = settings.now()
    purge_expired(db, settings)
    token = secrets.token_urlsafe(32)
    db.add(
        LoginSession(
            id=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    db.commit()
    return token


def lookup(
    db: Session, token: str | None, settings: WebSettings
) -> tuple[LoginSession | None, bool]:
    """The live session of a cookie's token, and whether the token named one that has expired.

    A session of a deactivated user is over too. A live session's ``last_seen_at`` moves on.
    """
    if not token or len(token) > 128:
        return None, False
    row = db.get(LoginSession, token_hash(token))
    if row is None:
        return None, False
    now = settings.now()
    if is_expired(row, settings, now) or not row.user.active:
        db.delete(row)
        db.commit()
        return None, True
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.commit()
    return row, False


def end(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(LoginSession).where(LoginSession.id == token_hash(token)))
        db.commit()


def end_all(db: Session, user_id: int) -> None:
    """Every session of a user (deactivated, or their password changed)."""
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    db.commit()


def purge_expired(db: Session, settings: WebSettings) -> int:
    now = settings.now()
    stale = [row.id for row in db.scalars(select(LoginSession)) if is_expired(row, settings, now)]
    if stale:
        db.execute(delete(LoginSession).where(LoginSession.id.in_(stale)))
    return len(stale)
