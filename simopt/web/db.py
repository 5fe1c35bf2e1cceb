"""The database: one SQLAlchemy engine per app, the schema kept by Alembic migrations.

SQLite by default (a file beside the run folders), any SQLAlchemy URL otherwise
(``postgresql+psycopg://user@host/simopt``). A new SQLite file is made with mode 0600: it holds
the password hashes and the secret key. ``open_database`` creates the engine and applies
every migration (``upgrade head``), so a new release upgrades the schema at its first start.

**Changing the schema**: edit ``models.py``, then write the migration with Alembic's
autogenerate against a database at the current head and review it::

    .venv/bin/python -m simopt.web.db revision "add run.priority"

Migrations on SQLite run in Alembic's batch mode (SQLite cannot alter most columns in place).
``tests/test_web_db.py`` checks that the migrations and the models agree.

Times are stored as UTC without a zone (SQLite has none) and read back as aware UTC datetimes:
:class:`UTCDateTime`.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SECRET_KEY_NAME = "secret_key"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names are deterministic, so that a later migration can name what it drops."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime, stored as naive UTC, read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored: give it a time zone (UTC)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class DatabaseError(Exception):
    """The database named cannot be opened or upgraded (a user error: one line)."""


def _create_private(path: Path) -> None:
    """The SQLite file, made readable by its owner only (0600) when new: it holds the password
    hashes and the secret key. SQLite gives its -wal and -shm files the same mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise DatabaseError(f"database file {path}: cannot create it ({exc.strerror})") from exc


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, its folder is created, foreign keys are enforced and
    the journal is WAL (readers do not wait for the writer)."""
    is_sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = {"pool_pre_ping": not is_sqlite}
    if is_sqlite:
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:":
            _create_private(Path(path))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # a malformed URL, a driver not installed
        raise DatabaseError(f"database {url!r}: {exc}") from exc
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def alembic_config(engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied (``alembic upgrade head``)."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """The engine for ``url`` with its schema at the newest migration, and its sessions."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except DatabaseError:
        raise
    except Exception as exc:
        engine.dispose()
        raise DatabaseError(
            f"database {engine.url.render_as_string(hide_password=True)}: "
            f"cannot open or upgrade it ({type(exc).__name__}: {exc})"
        ) from exc
    return engine, sessionmaker(engine, expire_on_commit=False)


def stored_secret_key(sessions: sessionmaker[Session]) -> str:
    """The app's secret key, generated at the first start and kept in ``app_settings``."""
    from simopt.web.models import AppSetting

    with sessions() as db:
        row = db.scalar(select(AppSetting).where(AppSetting.key == SECRET_KEY_NAME))
        if row is not None:
            return row.value
        db.add(AppSetting(key=SECRET_KEY_NAME, value=secrets.token_urlsafe(48)))
        try:
            db.commit()
        except IntegrityError:  # another process made it first: use theirs
            db.rollback()
        row = db.scalar(select(AppSetting).where(AppSetting.key == SECRET_KEY_NAME))
        assert row is not None
        return row.value


def revision(message: str, url: str | None = None) -> None:
    """Write a new migration from the difference between the models and the head schema (of
    ``url``, or of a scratch SQLite file brought to the head)."""
    import tempfile

    from alembic import command

    import simopt.web.models  # noqa: F401  (the tables must be known to the metadata)

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(url or f"sqlite:///{scratch}/scratch.db")
        upgrade(engine)
        with engine.begin() as conn:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":  # python -m simopt.web.db revision "message" [URL]
    if len(sys.argv) < 3 or sys.argv[1] != "revision":
        print('usage: python -m simopt.web.db revision "message" [URL]', file=sys.stderr)
        raise SystemExit(2)
    revision(sys.argv[2], *sys.argv[3:4])
