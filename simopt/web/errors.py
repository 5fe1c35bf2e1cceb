"""Errors as pages in the user's language, never a traceback.

Raise :class:`PageError` ``(403, "web.error.forbidden_role")`` from a route or a dependency: the
page says the catalogue's line for that key. Every other error is answered the same way —
unknown paths (404), wrong methods (405), malformed parameters (400), a body over the upload
limit (413), and any exception a route lets escape (500: logged with its traceback on the
server, one line for the user). An htmx request (``HX-Request``) gets the one line as text, for
a fragment; a request for a page while logged out goes to the login page.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

log = logging.getLogger("simopt.web")

STATUS_KEYS = {
    400: "web.error.bad_request",
    401: "web.error.login_required",
    403: "web.error.forbidden",
    404: "web.error.not_found",
    405: "web.error.method",
    413: "web.error.too_large",
    422: "web.error.bad_request",
    500: "web.error.internal",
}


class PageError(StarletteHTTPException):
    """An HTTP error whose message is a catalogue key (with its fields)."""

    def __init__(self, status_code: int, key: str, **fields: Any) -> None:
        super().__init__(status_code, detail=key)
        self.key = key
        self.fields = fields


class LoginRequired(Exception):
    """The page needs a logged-in user and the request has none."""


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_response(
    request: Request,
    status: int,
    key: str | None = None,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    from simopt.web.i18n import request_messages
    from simopt.web.templating import render

    m = request_messages(request)
    key = key or STATUS_KEYS.get(
        status, "web.error.internal" if status >= 500 else "web.error.bad_request"
    )
    if key == "web.error.too_large" and not fields:
        fields = {"limit": _limit_text(request)}
    line = m(key, **fields) if fields else m(key)
    if is_htmx(request) or "text/html" not in request.headers.get("accept", "text/html"):
        return PlainTextResponse(line + "\n", status_code=status, headers=headers)
    return render(
        request,
        "error.html",
        {"status": status, "line": line},
        status_code=status,
        headers=headers,
    )


def _limit_text(request: Request) -> str:
    """The upload limit in MiB, in the user's number format (2 MiB → "2")."""
    from simopt.web.i18n import request_messages
    from simopt.web.state import web_state

    limit = web_state(request).settings.upload_limit_bytes
    return request_messages(request).number(limit / 1024 / 1024, 0 if limit % 1048576 == 0 else 1)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    key = exc.key if isinstance(exc, PageError) else None
    fields = exc.fields if isinstance(exc, PageError) else None
    return error_response(request, exc.status_code, key, fields, dict(exc.headers or {}) or None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    return error_response(request, 400, "web.error.bad_request")


async def _login_required(request: Request, exc: Exception) -> Response:
    from simopt.web.sessions import COOKIE
    from simopt.web.templating import flash, redirect

    expired = bool(getattr(request.state, "session_expired", False))
    if expired:
        flash(request, "web.login.expired", level="warning")
    target = "/login"
    if request.method == "GET":
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(path, safe="")
    if is_htmx(request):
        response: Response = PlainTextResponse("", status_code=401, headers={"HX-Redirect": target})
    elif request.method == "GET":
        response = redirect(request, target)
    else:
        response = error_response(request, 401, "web.error.login_required")
    if expired:
        response.delete_cookie(COOKIE, path="/")
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "web.error.internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Exception, _internal_error)
    from simopt.web.paths import UnsafePath

    app.add_exception_handler(UnsafePath, _unsafe_path)


async def _unsafe_path(request: Request, exc: Exception) -> Response:
    log.warning("refused path in %s %s: %s", request.method, request.url.path, exc)
    return error_response(request, 404, "web.error.not_found")
