"""Cross-site request forgery: every POST, PUT, PATCH and DELETE must carry the session's token.

The token travels in the form field ``csrf_token`` (``{{ csrf_field() }}`` in a template) or the
header ``X-CSRF-Token`` (set for every htmx request by ``hx-headers`` on ``<body>``). A logged-in
user's token is their session's (``login_sessions.csrf_token``); before login — the login form,
the language switch — it is a random nonce whose signed copy is in the cookie ``simopt_anon``
(a signed double-submit: another site can neither read the nonce nor forge the signature).

:func:`csrf_protect` is a dependency of the whole app (``FastAPI(dependencies=…)``), so every
route, including those of routers added later, is checked before its own dependencies run; a
request without the right token gets 403 and one line.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Depends, Request
from itsdangerous import BadSignature, TimestampSigner

from simopt.web.auth import current_session
from simopt.web.errors import PageError
from simopt.web.models import LoginSession
from simopt.web.state import web_state

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
ANON_COOKIE = "simopt_anon"
ANON_MAX_AGE = 24 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _signer(request: Request) -> TimestampSigner:
    return TimestampSigner(web_state(request).secret_key, salt="simopt.csrf.anon")


def _anon_nonce(request: Request) -> str | None:
    cookie = request.cookies.get(ANON_COOKIE)
    if not cookie:
        return None
    try:
        return _signer(request).unsign(cookie, max_age=ANON_MAX_AGE).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def token_for(request: Request) -> str:
    """The token a page's forms must send back: the session's, or (before login) the nonce of
    the ``simopt_anon`` cookie, made now when there is none (``render`` then sets the cookie)."""
    login: LoginSession | None = getattr(request.state, "login_session", None)
    if login is not None:
        return login.csrf_token
    nonce = _anon_nonce(request) or getattr(request.state, "new_anon_nonce", None)
    if nonce is None:
        nonce = secrets.token_urlsafe(32)
        request.state.new_anon_nonce = nonce
    return nonce


def new_anon_cookie(request: Request) -> str | None:
    """The ``simopt_anon`` cookie to set, when this request made a new nonce."""
    nonce: str | None = getattr(request.state, "new_anon_nonce", None)
    if nonce is None:
        return None
    return _signer(request).sign(nonce).decode("ascii")


async def csrf_protect(
    request: Request,
    login: LoginSession | None = Depends(current_session),  # noqa: B008
) -> None:
    """The app-wide dependency: a POST/PUT/PATCH/DELETE without the right token is refused."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            sent = value if isinstance(value, str) else None
    expected = login.csrf_token if login is not None else _anon_nonce(request)
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PageError(403, "web.error.csrf")
