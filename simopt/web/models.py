"""The tables: users and the provinces they see, scenarios and their versions, runs, sessions.

Nothing a planner made is ever deleted: a saved edit of a scenario is a new
:class:`ScenarioVersion`; users are deactivated, not removed (they authored versions and runs).
Deleting a scenario or a version through the ORM is refused (:func:`_refuse_deletes`).

Roles and statuses are strings checked by the database (portable to SQLite and PostgreSQL, no
native enum types to migrate). Every schema change goes with a migration in ``migrations/``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from simopt.web.db import Base, UTCDateTime
from simopt.web.settings import utc_now

ROLES: tuple[str, ...] = ("viewer", "planner", "admin")
"""In increasing rights: a viewer reads and runs what-ifs, a planner also edits their provinces'
scenarios, an administrator also manages users and sees every province."""
LANGS: tuple[str, ...] = ("vi", "en")
RUN_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AppSetting(Base):
    """A value the app keeps for itself (the secret key)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(_in("language", LANGS), name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    """Lower case, letters, digits, ``.``, ``_``, ``-`` (``accounts.check_username``)."""
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)

    provinces: Mapped[list[Province]] = relationship(
        secondary="user_provinces", order_by="Province.name", viewonly=True
    )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"User({self.username!r}, {self.role})"


class Province(Base):
    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    """The id in URLs and run folders: ``long_an`` (``accounts.province_slug``)."""
    name: Mapped[str] = mapped_column(String(128), unique=True)
    """As people write it: ``Long An``, ``Tây Ninh``."""

    scenarios: Mapped[list[Scenario]] = relationship(
        back_populates="province", order_by="Scenario.name"
    )


class UserProvince(Base):
    """Which provinces a (non-admin) user sees."""

    __tablename__ = "user_provinces"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), primary_key=True)


class Scenario(Base):
    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("province_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)

    province: Mapped[Province] = relationship(back_populates="scenarios")
    versions: Mapped[list[ScenarioVersion]] = relationship(
        back_populates="scenario", order_by="ScenarioVersion.number"
    )


class ScenarioVersion(Base):
    """One saved state of a scenario: its YAML as saved, never changed afterwards."""

    __tablename__ = "scenario_versions"
    __table_args__ = (
        UniqueConstraint("scenario_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    """1, 2, 3… within its scenario."""
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    """Of ``yaml_text`` encoded in UTF-8, as a run's manifest records a scenario file's."""
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    note: Mapped[str] = mapped_column(Text, default="")

    scenario: Mapped[Scenario] = relationship(back_populates="versions")
    author: Mapped[User] = relationship()


class Run(Base):
    """A computation on a scenario version; its files are in ``folder`` under the results."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("scenario_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """The command: ``plan``, ``optimize``, ``simulate``, ``ceilings``, ``whatif``…"""
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    """0 to 1, for the progress bar."""
    message: Mapped[str] = mapped_column(Text, default="")
    """The last word on it: a stage while it runs, the reason when it failed."""
    folder: Mapped[str | None] = mapped_column(String(512), default=None)
    """The run folder relative to the results (``long_an/<run-id>``); resolve it through
    ``paths.run_folder``, never by joining it yourself."""
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utc_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    scenario_version: Mapped[ScenarioVersion] = relationship()
    user: Mapped[User] = relationship()


class LoginSession(Base):
    """A login: the cookie holds a random token, this row its SHA-256 (a copy of the database
    opens no session). It ends ``session_idle`` after its last request or ``session_max`` after
    the login, whichever comes first, and at logout."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class DeleteRefused(Exception):
    """A scenario or a version was about to be deleted: nothing a planner saved is lost."""


@event.listens_for(Session, "before_flush")
def _refuse_deletes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Scenario | ScenarioVersion):
            raise DeleteRefused(f"{type(obj).__name__} {obj.id} cannot be deleted")
