"""Alembic's environment: run by ``db.upgrade`` with the app's connection (or its engine)."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

import simopt.web.models  # noqa: F401  (registers every table on the metadata)
from simopt.web.db import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, obj: Any, _autogen_context: Any) -> str | Literal[False]:
    """A migration stays independent of the app's types: UTCDateTime is a DATETIME column."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = config.attributes.get("engine")
    if engine is None:
        from simopt.web.db import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
