"""``create_app(settings)``: the web app, its database migrated, its page groups registered.

**A new page group** is a module ``routes_<group>.py`` with an ``APIRouter``, listed once in
:data:`PAGE_GROUPS` below with its navigation entries (see ``simopt/web/__init__.py`` for the
rest: templates, permissions, CSRF, words).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from simopt.web import (
    errors,
    jobs,
    routes_admin,
    routes_auth,
    routes_home,
    routes_merge,
    routes_runs,
    routes_scenarios,
    routes_whatif,
)
from simopt.web.csrf import csrf_protect
from simopt.web.db import open_database, stored_secret_key
from simopt.web.middleware import BodyLimit, SecurityHeaders
from simopt.web.paths import ids_in_range
from simopt.web.settings import WebSettings
from simopt.web.state import WebState
from simopt.web.templating import NavItem, make_templates

STATIC_DIR = Path(__file__).with_name("static")


@dataclass(frozen=True)
class PageGroup:
    router: APIRouter
    nav: tuple[NavItem, ...] = ()


PAGE_GROUPS: list[PageGroup] = [
    PageGroup(routes_auth.router),
    PageGroup(routes_home.router, (NavItem("home", "web.nav.home"),)),
    # routes_scenarios, routes_runs…: one line each, here, in the order of the navigation bar
    PageGroup(routes_scenarios.router, (NavItem("scenarios", "web.scenarios.nav"),)),
    PageGroup(routes_merge.router, (NavItem("merge", "web.scenarios.merge.nav", "planner"),)),
    PageGroup(routes_runs.router, (NavItem("runs", "web.runs.nav"),)),
    PageGroup(routes_whatif.router),
    PageGroup(routes_admin.router, (NavItem("admin_users", "web.nav.admin_users", "admin"),)),
]
"""Every page group of the app, in the order of the navigation bar."""


def page_routes(groups: list[PageGroup] | None = None) -> Iterator[APIRoute]:
    """Every route of the page groups (its ``path`` with the router's prefix): the tests visit
    each one (CSRF refusal, no external URL) without knowing them by name."""
    for group in PAGE_GROUPS if groups is None else groups:
        for route in group.router.routes:
            if isinstance(route, APIRoute):
                yield route


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The app for ``settings``: its database opened and migrated to the newest schema."""
    settings = settings or WebSettings()
    engine, sessions = open_database(settings.database_url)
    secret_key = settings.env_secret_key() or stored_secret_key(sessions)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.start(_app)  # the background runs: settle what a previous server left, start
        yield
        jobs.stop(_app)
        engine.dispose()

    app = FastAPI(
        title="simopt",
        # the interactive API docs load their scripts from a CDN: not in an office without
        # internet, and not part of what planners use
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(ids_in_range), Depends(csrf_protect)],
        lifespan=lifespan,
    )
    state = WebState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        secret_key=secret_key,
        templates=make_templates(),
    )
    app.state.web = state
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for group in PAGE_GROUPS:
        app.include_router(group.router)
        state.nav.extend(group.nav)
    errors.install(app)
    app.add_middleware(BodyLimit, limit_bytes=settings.upload_limit_bytes)
    app.add_middleware(SecurityHeaders)
    return app
