"""Fixtures for the web app's tests: an app on a temporary SQLite file, users, logged-in clients.

In a test module: ``pytest_plugins = ["web_fixtures"]`` (and import its names only under
``TYPE_CHECKING``: imported first, it could not be loaded as a plugin), then e.g.::

    def test_something(logged_in):
        planner = logged_in("planner", provinces=["Long An"])   # a WebClient, logged in
        page = planner.get("/")
        planner.post_form("/lang", {"lang": "en", "next": "/"})  # the CSRF token added

``clock.advance(hours=8)`` moves the app's time (sessions expire); ``PATH_SAMPLES`` gives the
route-iterating tests a value for each path parameter — a new route with a new parameter needs
one here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from simopt.web.accounts import create_user
from simopt.web.app import create_app
from simopt.web.models import User
from simopt.web.settings import WebSettings

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

PATH_SAMPLES: dict[str, str] = {
    "user_id": "1",
    "province": "long_an",
    "path": "htmx.min.js",
}
"""A value for each path parameter of the app's routes, for the tests that visit them all."""


class Clock:
    """The app's time: starts at a fixed moment, moves only when told."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class WebClient(TestClient):
    """A TestClient that knows its user and fills in the CSRF token."""

    user: User | None = None

    def csrf_token(self) -> str:
        page = self.get("/" if self.user is not None else "/login")
        found = TOKEN.search(page.text)
        assert found, page.text[:500]
        return found.group(1)

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        form = dict(data or {})
        form["csrf_token"] = self.csrf_token()
        return self.post(url, data=form, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        return self.post_form("/login", {"username": username, "password": password})

    def fresh(self, **kwargs: Any) -> WebClient:
        """Another client of the same app, with no cookies."""
        return WebClient(self.app, **kwargs)


@pytest.fixture
def password() -> str:
    """The password of every user the fixtures make."""
    return PASSWORD


@pytest.fixture
def path_samples() -> dict[str, str]:
    return dict(PATH_SAMPLES)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def web_settings(tmp_path: Path, clock: Clock) -> WebSettings:
    return WebSettings(
        results_dir=tmp_path / "results",
        scenarios_dir=Path("scenarios").resolve(),
        clock=clock,
    )


@pytest.fixture
def web_app(web_settings: WebSettings) -> Iterator[FastAPI]:
    app = create_app(web_settings)
    yield app
    app.state.web.engine.dispose()


@pytest.fixture
def make_user(web_app: FastAPI) -> Callable[..., User]:
    """``make_user("ana", "planner", provinces=["Long An"])``: a user with :data:`PASSWORD`."""

    def make(
        username: str,
        role: str = "planner",
        *,
        provinces: Sequence[str] = (),
        language: str = "vi",
        password: str = PASSWORD,
    ) -> User:
        with web_app.state.web.sessions() as db:
            return create_user(db, username, password, role, language=language, provinces=provinces)

    return make


@pytest.fixture
def client(web_app: FastAPI) -> WebClient:
    """A client nobody has logged in with."""
    return WebClient(web_app)


@pytest.fixture
def logged_in(web_app: FastAPI, make_user: Callable[..., User]) -> Callable[..., WebClient]:
    """``logged_in(role, provinces=[…], language="vi")``: a new user of that role, logged in on a
    client of their own (``client.user`` is the user)."""
    counter = itertools.count(1)

    def make(
        role: str = "planner", *, provinces: Sequence[str] = (), language: str = "vi"
    ) -> WebClient:
        user = make_user(f"{role}{next(counter)}", role, provinces=provinces, language=language)
        c = WebClient(web_app)
        response = c.login(user.username)
        assert response.status_code == 200, response.text[:500]
        c.user = user
        return c

    return make
