"""What one running app holds (settings, database, templates), and the per-request database
session, reached from a request through ``request.app.state.web``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from simopt.web.settings import WebSettings

if TYPE_CHECKING:
    from starlette.templating import Jinja2Templates

    from simopt.web.templating import NavItem


@dataclass
class WebState:
    settings: WebSettings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_key: str
    templates: Jinja2Templates
    nav: list[NavItem] = field(default_factory=list)


def web_state(request: Request) -> WebState:
    return cast(WebState, request.app.state.web)


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request (a FastAPI dependency; shared by every dependency of
    the request). Handlers commit what they change; anything uncommitted is rolled back."""
    with web_state(request).sessions() as db:
        yield db
