"""The one place where a value from a request may become a file-system path.

A request names things by id — a scenario name (``long_an``), a run id
(``20261123T235959.123456Z-plan-ab12cd``), a file of a run (``schedule.csv``) — never by path.
Each id is checked against its pattern (no ``/``, ``\\``, ``..``, NUL, leading dot), joined to
its root, resolved (symlinks followed) and refused unless the result is still inside the root.
Anything else raises :class:`UnsafePath`, which the app answers with 404 (and a line in the
server's log). Routes must go through these functions.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import HTTPException, Request

SCENARIO_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
"""A scenario's ``name`` (the scenario file's identifier rule) and its folder under results."""
RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[a-z][a-z0-9-]{0,40}-[0-9a-f]{6}")
"""``runs.new_run_id``: start time, command, random tail."""
RUN_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\.(csv|json|xlsx|html|png|yaml|txt)")
"""A file a run wrote (tables, workbook, report, charts, manifest), at the top of its folder."""


class UnsafePath(ValueError):
    """A value from a request that does not name a file the app may serve."""


def checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise UnsafePath(f"{what} {value[:80]!r} is not a valid id")
    return value


def inside(root: Path, *parts: str) -> Path:
    """``root / parts…`` resolved, refused unless it stays inside ``root`` (after symlinks)."""
    base = root.resolve()
    for part in parts:
        if (
            not part
            or part in (".", "..")
            or part.startswith(".")
            or any(c in part for c in "/\\\0")
        ):
            raise UnsafePath(f"path part {part[:80]!r} refused")
    target = base.joinpath(*parts).resolve()
    if not target.is_relative_to(base):
        raise UnsafePath(f"{'/'.join(parts)[:120]!r} leads outside {base}")
    return target


def run_folder(results_dir: Path, scenario: str, run_id: str) -> Path:
    """The folder of a run, ``results/<scenario>/<run-id>/``; it must exist."""
    path = inside(
        results_dir,
        checked(scenario, SCENARIO_NAME, "scenario"),
        checked(run_id, RUN_ID, "run"),
    )
    if not path.is_dir():
        raise UnsafePath(f"no run folder {scenario}/{run_id}")
    return path


def latest_run(results_dir: Path, scenario: str) -> Path | None:
    """The run ``results/<scenario>/latest`` names, when it names one inside the results."""
    link = inside(results_dir, checked(scenario, SCENARIO_NAME, "scenario")) / "latest"
    if not link.is_symlink():
        return None
    target = link.resolve()
    if not RUN_ID.fullmatch(target.name):
        return None
    return run_folder(results_dir, scenario, target.name) if target.parent == link.parent else None


def run_folder_of(results_dir: Path, relative: str) -> Path:
    """The folder a :class:`~simopt.web.models.Run` records (``long_an/<run-id>``)."""
    parts = relative.split("/")
    if len(parts) != 2:
        raise UnsafePath(f"run folder {relative[:120]!r} is not <scenario>/<run-id>")
    return run_folder(results_dir, parts[0], parts[1])


def run_file(results_dir: Path, scenario: str, run_id: str, filename: str) -> Path:
    """One file at the top of a run folder; it must exist and be a regular file."""
    folder = run_folder(results_dir, scenario, run_id)
    path = inside(folder, checked(filename, RUN_FILE, "file"))
    if not path.is_file():
        raise UnsafePath(f"no file {filename!r} in {scenario}/{run_id}")
    return path


def bundled_scenarios(scenarios_dir: Path) -> list[str]:
    """The names of the scenarios a planner may start from (``<name>.yaml``)."""
    if not scenarios_dir.is_dir():
        return []
    return sorted(
        p.stem
        for p in scenarios_dir.glob("*.yaml")
        if SCENARIO_NAME.fullmatch(p.stem) and p.is_file()
    )


def bundled_scenario(scenarios_dir: Path, name: str) -> Path:
    """The file of a bundled scenario by its name; it must be one of :func:`bundled_scenarios`."""
    path = inside(scenarios_dir, checked(name, SCENARIO_NAME, "scenario") + ".yaml")
    if not path.is_file():
        raise UnsafePath(f"no bundled scenario {name!r}")
    return path


DATABASE_INT_LIMIT = 2**63
"""Integers a database column holds (SQLite and PostgreSQL BIGINT): a larger id names nothing."""


def ids_in_range(request: Request) -> None:
    """An app-wide dependency: a whole-number path parameter too large for the database is a
    page that does not exist (404), not an error deep in the database driver."""
    for value in request.path_params.values():
        # the router hands path parameters over as text; FastAPI converts them afterwards
        text = str(value)
        if text.lstrip("-").isdigit() and not -DATABASE_INT_LIMIT <= int(text) < DATABASE_INT_LIMIT:
            raise HTTPException(status_code=404)
