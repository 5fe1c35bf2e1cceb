"""The web app's settings: where its database and files are, how long a login lasts, limits.

The secret key (it signs the flash-message and pre-login cookies) is not a setting a person
types: it is generated once, at the first start, and kept in the database (table
``app_settings``), so that every process serving one database — several uvicorn workers behind a
reverse proxy, on one machine or several — shares it. ``SIMOPT_SECRET_KEY`` in the environment
overrides it (e.g. to rotate it, which logs nobody out: login sessions are server-side rows).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SECRET_KEY_ENV = "SIMOPT_SECRET_KEY"
DB_FILE = "simopt.db"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_scenarios_dir() -> Path:
    """The bundled scenarios: ``scenarios/`` of the source tree, else of the working folder."""
    here = PACKAGE_ROOT / "scenarios"
    return here if here.is_dir() else Path("scenarios").resolve()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


@dataclass
class WebSettings:
    """Everything ``create_app`` needs; the defaults serve one office from ``results/``."""

    results_dir: Path = field(default_factory=lambda: Path("results").resolve())
    """The run folders (``results/<scenario>/<run-id>/``), and the SQLite file by default."""
    db_url: str | None = None
    """Any SQLAlchemy URL; None: ``sqlite:///<results_dir>/simopt.db``."""
    scenarios_dir: Path = field(default_factory=default_scenarios_dir)
    """The bundled scenarios a planner may start from (``<name>.yaml``)."""
    secret_key: str | None = None
    """None: ``$SIMOPT_SECRET_KEY``, else the key generated once and stored in the database."""
    session_idle: dt.timedelta = dt.timedelta(hours=8)
    """A login session ends after this long without a request."""
    session_max: dt.timedelta = dt.timedelta(hours=24)
    """… and this long after the login, however busy."""
    upload_limit_bytes: int = 2 * 1024 * 1024
    """The largest request body (a scenario upload is a few tens of KiB)."""
    worker_threads: int = 2
    """Threads for background runs (the jobs layer reads it; two cores on the reference
    machine)."""
    default_lang: str = "vi"
    min_password_length: int = 10
    clock: Callable[[], dt.datetime] = utc_now
    """The time, in UTC: tests replace it to move past a session's expiry."""

    def __post_init__(self) -> None:
        self.results_dir = Path(self.results_dir)
        self.scenarios_dir = Path(self.scenarios_dir)
        if self.upload_limit_bytes <= 0:
            raise ValueError("upload_limit_bytes must be positive")
        if self.worker_threads < 1:
            raise ValueError("worker_threads must be at least 1")

    @property
    def database_url(self) -> str:
        return self.db_url or sqlite_url(self.results_dir / DB_FILE)

    def now(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("WebSettings.clock must return an aware datetime (UTC)")
        return now.astimezone(dt.UTC)

    def env_secret_key(self) -> str | None:
        return self.secret_key or os.environ.get(SECRET_KEY_ENV) or None
