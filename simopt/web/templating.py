"""Pages: ``render`` a template with what every page needs, ``flash`` a message to the next page,
``redirect`` after a form (303, the flashes with it).

Every template extends ``base.html`` and receives ``request``, ``m`` (the user's
:class:`~simopt.reporting.i18n.Messages`), ``lang``, ``user`` (or None), ``csrf_token``,
``flashes``, ``nav`` and the globals ``url(name, **params)`` (a path of this app, never an
absolute URL), ``static(file)``, ``csrf_field()`` (the hidden form field) and ``when(time)``.
Autoescaping is on: text from users is escaped wherever it is printed.

Flash messages are catalogue keys with their fields, kept until the next page in the cookie
``simopt_flash`` (signed with the app's secret key), and rendered in the reader's language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup, escape
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from simopt.web import csrf
from simopt.web.i18n import request_lang, request_messages, when
from simopt.web.state import web_state

TEMPLATES_DIR = Path(__file__).with_name("templates")
FLASH_COOKIE = "simopt_flash"
FLASH_LEVELS = ("info", "success", "warning", "error")


@dataclass(frozen=True)
class NavItem:
    """An entry of the navigation bar: a route's name, its catalogue key and the least role that
    sees it. Each page group lists its own in ``app.PAGE_GROUPS``."""

    route: str
    key: str
    minimum_role: str = "viewer"


@dataclass(frozen=True)
class Flash:
    level: str
    key: str
    fields: dict[str, Any]


def make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(url=_url, static=_static, csrf_field=_csrf_field, when=_when)
    return Jinja2Templates(env=env)


@jinja2.pass_context
def _url(ctx: Any, name: str, /, **params: Any) -> str:
    request: Request = ctx["request"]
    return str(request.url_for(name, **params).path)


@jinja2.pass_context
def _static(ctx: Any, file: str) -> str:
    return str(_url(ctx, "static", path=file))


@jinja2.pass_context
def _csrf_field(ctx: Any) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        csrf.FIELD, escape(ctx["csrf_token"])
    )


@jinja2.pass_context
def _when(ctx: Any, moment: dt.datetime | None) -> str:
    return when(moment, ctx["lang"])


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(web_state(request).secret_key, salt="simopt.flash")


def flash(request: Request, key: str, /, level: str = "info", **fields: Any) -> None:
    """A message for the next page this user sees (or this one, when it is rendered)."""
    if level not in FLASH_LEVELS:
        raise ValueError(f"flash level {level!r}: one of {FLASH_LEVELS}")
    pending: list[Flash] = getattr(request.state, "flashes", [])
    pending.append(Flash(level, key, {k: str(v) for k, v in fields.items()}))
    request.state.flashes = pending


def _incoming_flashes(request: Request) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        data = _serializer(request).loads(raw)
        return [
            Flash(str(level), str(key), {str(k): str(v) for k, v in dict(fields).items()})
            for level, key, fields in data
            if level in FLASH_LEVELS and str(key).startswith("web.")
        ]
    except (BadSignature, TypeError, ValueError):
        return []


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    httponly: bool = True,
) -> None:
    """A cookie of this app: path /, SameSite=Lax, HttpOnly, Secure when served over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=httponly,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def redirect(request: Request, url: str, status_code: int = 303) -> RedirectResponse:
    """Go to ``url`` (a path of this app) after a form, carrying this request's flashes."""
    response = RedirectResponse(url, status_code=status_code)
    pending: list[Flash] = getattr(request.state, "flashes", [])
    if pending:
        data = [[f.level, f.key, f.fields] for f in pending]
        set_cookie(request, response, FLASH_COOKIE, _serializer(request).dumps(data))
    _set_anon_cookie(request, response)
    return response


def _set_anon_cookie(request: Request, response: Response) -> None:
    cookie = csrf.new_anon_cookie(request)
    if cookie is not None:
        set_cookie(request, response, csrf.ANON_COOKIE, cookie, max_age=csrf.ANON_MAX_AGE)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page: ``template`` with ``context`` and what every page needs."""
    from simopt.web.auth import ensure_login_resolved, has_role

    ensure_login_resolved(request)
    state = web_state(request)
    user = getattr(request.state, "user", None)
    m = request_messages(request)
    incoming = _incoming_flashes(request)
    flashes = incoming + list(getattr(request.state, "flashes", []))
    nav = [item for item in state.nav if user is not None and has_role(user, item.minimum_role)]
    ctx: dict[str, Any] = {
        "m": m,
        "lang": request_lang(request),
        "user": user,
        "csrf_token": csrf.token_for(request),
        "flashes": [(f.level, m(f.key, **f.fields) if f.fields else m(f.key)) for f in flashes],
        "nav": nav,
        "current_path": request.url.path,
        "page_status": status_code,
    }
    ctx.update(context or {})
    response = state.templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )
    response.headers["Cache-Control"] = "no-store"
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    _set_anon_cookie(request, response)
    return response
