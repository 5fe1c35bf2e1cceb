"""The web's words, from the reports' catalogue (``simopt/reporting/i18n.py``): the domain
``web.po`` in ``simopt/reporting/locale/{vi,en}/``, keys ``web.…``.

A page speaks its user's language (their profile's, switchable on every page); before login,
the language of the ``simopt_lang`` cookie, else Vietnamese. Templates get ``m``, the
:class:`~simopt.reporting.i18n.Messages` of that language: ``{{ m("web.nav.home") }}``, and its
number formats ``{{ m.vnd(x) }}`` (175.760.000.000 đ), ``{{ m.ty(x) }}`` (175,76 tỷ đồng),
``{{ m.share(p, 1) }}`` (89,5%), ``{{ m.people(n) }}``; ``{{ when(t) }}`` writes a time in
Vietnam's time zone.
"""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from simopt.reporting.i18n import LANGS, Lang, Messages, check_lang, messages

LANG_COOKIE = "simopt_lang"
DEFAULT_LANG: Lang = "vi"
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
"""Indochina Time, UTC+7 all year (no summer time)."""


def request_lang(request: Request) -> Lang:
    user = getattr(request.state, "user", None)
    if user is not None and user.language in LANGS:
        return check_lang(user.language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return check_lang(cookie)
    state = getattr(request.app.state, "web", None)
    default = state.settings.default_lang if state is not None else DEFAULT_LANG
    return check_lang(default)


def request_messages(request: Request) -> Messages:
    return messages(request_lang(request))


def when(moment: dt.datetime | None, lang: str) -> str:
    """A time as people in Vietnam read it: 24/11/2026 14:52 (vi), 2026-11-24 14:52 (en)."""
    if moment is None:
        return "—"
    local = moment.astimezone(VIETNAM)
    return f"{local:%d/%m/%Y %H:%M}" if lang == "vi" else f"{local:%Y-%m-%d %H:%M}"
