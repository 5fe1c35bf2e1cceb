"""The web app's database: migrations that agree with the models, the records kept for good, the
secret key made once, times in UTC."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from simopt.web.accounts import create_user, get_or_create_province, province_slug
from simopt.web.db import (
    Base,
    DatabaseError,
    alembic_config,
    make_engine,
    open_database,
    stored_secret_key,
)
from simopt.web.models import (
    AppSetting,
    DeleteRefused,
    Run,
    Scenario,
    ScenarioVersion,
    User,
)
from simopt.web.settings import SECRET_KEY_ENV, WebSettings

pytest_plugins = ["web_fixtures"]

TABLES = {
    "app_settings",
    "users",
    "provinces",
    "user_provinces",
    "scenarios",
    "scenario_versions",
    "runs",
    "login_sessions",
}


def _url(tmp_path: Path, name: str = "simopt.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_the_migrations_and_the_models_agree(tmp_path: Path) -> None:
    engine, _ = open_database(_url(tmp_path))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert context.get_current_revision() == head
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert set(Base.metadata.tables) == TABLES
    engine.dispose()


def test_migrations_go_down_and_up_again_and_opening_twice_changes_nothing(
    tmp_path: Path,
) -> None:
    url = _url(tmp_path)
    engine, _ = open_database(url)
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    engine, _ = open_database(url)
    engine.dispose()
    engine, _ = open_database(url)  # at head already: nothing to do
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_sqlite_is_the_default_beside_the_run_folders(tmp_path: Path) -> None:
    settings = WebSettings(results_dir=tmp_path / "results")
    assert settings.database_url == f"sqlite:///{tmp_path / 'results' / 'simopt.db'}"
    assert WebSettings(db_url="postgresql+psycopg://u@h/db").database_url.startswith("postgresql")
    engine, _ = open_database(settings.database_url)
    assert (tmp_path / "results" / "simopt.db").is_file()
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_an_unusable_database_is_one_line(tmp_path: Path) -> None:
    for url in ("nosuchdriver://x", f"sqlite:///{tmp_path}"):  # a folder, not a file
        with pytest.raises(DatabaseError) as err:
            open_database(url)
        assert "\n" not in str(err.value)


def test_the_secret_key_is_made_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    _, sessions = open_database(_url(tmp_path))
    first = stored_secret_key(sessions)
    assert len(first) >= 64
    assert stored_secret_key(sessions) == first
    _, again = open_database(_url(tmp_path))
    assert stored_secret_key(again) == first
    with sessions() as db:
        assert db.scalars(select(AppSetting)).one().value == first
    settings = WebSettings(results_dir=tmp_path)
    assert settings.env_secret_key() is None
    monkeypatch.setenv(SECRET_KEY_ENV, "from-the-environment")
    assert settings.env_secret_key() == "from-the-environment"
    # the key and the password hashes are in the file: its owner's only
    for name in ("simopt.db", "simopt.db-wal", "simopt.db-shm"):
        if (tmp_path / name).exists():
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name


def test_a_saved_scenario_version_is_never_deleted(web_app: FastAPI, make_user) -> None:
    author = make_user("lan", "planner", provinces=["Long An"])
    with web_app.state.web.sessions() as db:
        province = get_or_create_province(db, "Long An")
        scenario = Scenario(province_id=province.id, name="long_an")
        db.add(scenario)
        db.flush()
        for number in (1, 2):
            db.add(
                ScenarioVersion(
                    scenario_id=scenario.id,
                    number=number,
                    yaml_text=f"v{number}",
                    sha256="0" * 64,
                    author_id=author.id,
                    note="",
                )
            )
        db.commit()
        version = db.scalars(select(ScenarioVersion)).first()
        db.delete(version)
        with pytest.raises(DeleteRefused):
            db.flush()
        db.rollback()
        db.delete(db.get(Scenario, scenario.id))
        with pytest.raises(DeleteRefused):
            db.flush()
        db.rollback()
        db.add(
            ScenarioVersion(
                scenario_id=scenario.id, number=2, yaml_text="dup", sha256="1" * 64, author_id=1
            )
        )
        with pytest.raises(IntegrityError):  # a number is given once per scenario
            db.commit()
        db.rollback()
        assert [v.number for v in db.get(Scenario, scenario.id).versions] == [1, 2]  # type: ignore[union-attr]


def test_runs_have_their_status_fields_checked(web_app: FastAPI, make_user) -> None:
    author = make_user("lan", "planner")
    with web_app.state.web.sessions() as db:
        province = get_or_create_province(db, "Long An")
        scenario = Scenario(province_id=province.id, name="long_an")
        db.add(scenario)
        db.flush()
        version = ScenarioVersion(
            scenario_id=scenario.id, number=1, yaml_text="x", sha256="0" * 64, author_id=author.id
        )
        db.add(version)
        db.flush()
        run = Run(
            scenario_version_id=version.id,
            kind="plan",
            parameters={"confidence": 0.9, "reps": 1000},
            user_id=author.id,
        )
        db.add(run)
        db.commit()
        assert (run.status, run.progress, run.message, run.folder) == ("queued", 0.0, "", None)
        assert run.created_at.tzinfo is not None
        run.status, run.progress = "running", 0.5
        db.commit()
        for field, bad in (("status", "lost"), ("progress", 1.5)):
            setattr(run, field, bad)
            with pytest.raises(IntegrityError):
                db.commit()
            db.rollback()
        bad_user = Run(scenario_version_id=version.id, kind="plan", parameters={}, user_id=999)
        db.add(bad_user)
        with pytest.raises(IntegrityError):  # foreign keys are enforced on SQLite too
            db.commit()
        db.rollback()
        again = db.get(Run, run.id)
        assert again is not None and again.parameters == {"confidence": 0.9, "reps": 1000}


def test_times_are_stored_in_utc_and_read_back_aware(tmp_path: Path) -> None:
    engine, sessions = open_database(_url(tmp_path))
    hanoi = dt.timezone(dt.timedelta(hours=7))
    with sessions() as db:
        user = create_user(db, "lan", "a long enough password", "viewer")
        user.created_at = dt.datetime(2026, 1, 1, 7, 0, tzinfo=hanoi)
        db.commit()
    with sessions() as db:
        back = db.scalars(select(User)).one()
        assert back.created_at == dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)
        assert back.created_at.tzinfo == dt.UTC
        back.created_at = dt.datetime(2026, 1, 1)  # naive: refused
        with pytest.raises(StatementError):
            db.commit()
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT created_at FROM users")).scalar()
        assert str(raw).startswith("2026-01-01 00:00:00")
    engine.dispose()


def test_a_role_outside_the_three_is_refused_by_the_database(tmp_path: Path) -> None:
    _, sessions = open_database(_url(tmp_path))
    with sessions() as db:
        db.add(User(username="x1", password_hash="h", role="root", language="vi", active=True))
        with pytest.raises(IntegrityError):
            db.commit()


def test_province_ids_are_the_scenario_names() -> None:
    assert province_slug("Long An") == "long_an"
    assert province_slug("Tây Ninh") == "tay_ninh"
    assert province_slug("Đắk Lắk") == "dak_lak"
    assert province_slug("  Quảng   Trị ") == "quang_tri"


def test_the_engine_makes_the_folder_of_its_sqlite_file(tmp_path: Path) -> None:
    engine = make_engine(_url(tmp_path / "deep" / "er"))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert (tmp_path / "deep" / "er" / "simopt.db").exists()
    engine.dispose()
