"""Reading an enrolment schedule (``schedule.csv``) with one-line errors that name the file, the
line and the column.

A schedule is a CSV table with the columns ``year``, ``pool``, ``course`` and ``enrolments``, in
any order; other columns (``group``, ``cost_vnd``, ``public_cost_vnd`` and one
``cost_vnd:<source>`` per funding source, as ``simopt optimize`` writes them) are allowed and
ignored. Rows with the same year, pool and course are added up (earlier versions of the optimiser
wrote one row per funding source, with a ``funding_source`` column).

The file is read with Python's :mod:`csv` rather than pandas so that every problem is known by
its line: a row with too many or too few fields, an unknown pool or course (with a "did you
mean"), a year outside the horizon or not whole, and enrolments that are empty, not a number,
NaN, negative or above :data:`MAX_ENROLMENTS`. Long values are cut in the message, and the file
itself must be a regular file of at most :data:`~simopt.limits.MAX_SCHEDULE_BYTES`.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from simopt.errors import ScenarioError, error_line
from simopt.limits import MAX_SCHEDULE_BYTES
from simopt.scenario import Scenario, read_limited
from simopt.simulate.run import ScheduleError

REQUIRED = ("year", "pool", "course", "enrolments")
"""The columns a schedule must have (``simopt optimize`` writes these and more)."""

MAX_ENROLMENTS = 1e9
"""More people than any province employs: a larger figure is a typo, not a plan (the same bound
as the simulator's)."""

SHOWN_CHARS = 40
"""Longest cell a message repeats: a 400-digit number is cut, not echoed whole."""

_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
"""A plain decimal number, as spreadsheets and pandas write them (no thousands separators)."""

_LISTED = 10
"""Up to this many known names are listed when no name is close to the one given."""


class ScheduleCsvError(ScheduleError):
    """A schedule file that cannot be used: one line, ``file:line: column = 'value': rule``.

    A :class:`~simopt.simulate.run.ScheduleError` (and so a ValueError), so that whatever already
    reports those reports these.
    """

    def __init__(
        self,
        rule: str,
        *,
        file: str,
        line: int | None = None,
        column: str = "",
        value: Any = None,
        show_value: bool = True,
    ) -> None:
        self.rule = rule
        self.file = file
        self.line = line
        self.column = column
        self.value = value
        self.message = error_line(
            rule,
            file=file,
            line=line,
            path=column,
            value=_cut(value) if isinstance(value, str) else value,
            show_value=show_value,
        )
        super().__init__(self.message)


class _HasScenario(Protocol):
    """Anything that carries its scenario, e.g. :class:`simopt.dynamics.Dynamics`."""

    @property
    def scenario(self) -> Scenario: ...


def read_schedule_csv(path: str | Path, scenario: Scenario | _HasScenario) -> pd.DataFrame:
    """The schedule in ``path`` checked against ``scenario`` (or a Dynamics of it), as a table
    with one row per (year, pool, course) in the order first seen: columns ``year`` (int),
    ``pool``, ``course`` (text) and ``enrolments`` (float, summed over repeated rows).

    Raises :class:`ScheduleCsvError` for any problem with the file or a row of it.
    """
    s = scenario if isinstance(scenario, Scenario) else scenario.scenario
    file = str(path)
    try:
        raw = read_limited(path, MAX_SCHEDULE_BYTES, what="a schedule file", file=file)
    except ScenarioError as err:  # same words as for a scenario file, but a schedule's error
        raise ScheduleCsvError(err.rule, file=file) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScheduleCsvError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); "
            "save the file as UTF-8 CSV",
            file=file,
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from None
    return _Reader(s, file).read(text)


class _Reader:
    def __init__(self, s: Scenario, file: str) -> None:
        self.s = s
        self.file = file
        self.pool_group = {pid: gid for pid, (gid, _) in s.pools().items()}
        self.years = set(s.horizon.years)
        self.header_line = 1

    def fail(
        self, line: int | None, rule: str, column: str = "", value: Any = None
    ) -> ScheduleCsvError:
        return ScheduleCsvError(
            rule, file=self.file, line=line, column=column, value=value, show_value=bool(column)
        )

    def read(self, text: str) -> pd.DataFrame:
        # newline="" hands the csv module the line endings untouched, as it requires, so that a
        # quoted field may hold a line break and \r\n files read the same as \n files.
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header: list[str] | None = None
        index: dict[str, int] = {}
        totals: dict[tuple[int, str, str], float] = {}
        last_line = 0
        try:
            for row in reader:
                line = last_line + 1  # where the record starts (it may span lines)
                last_line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue  # blank lines, as pandas skips them
                if header is None:
                    header = [cell.strip() for cell in row]
                    index = self.columns(header, line)
                    continue
                if len(row) != len(header):
                    raise self.fail(
                        line,
                        f"has {len(row)} field(s) but the header (line {self.header_line}) has "
                        f"{len(header)}; a comma too many or too few?",
                    )
                cells = {name: row[i].strip() for name, i in index.items()}
                key = self.row_key(cells, line)
                total = totals.get(key, 0.0) + self.enrolments(cells["enrolments"], line)
                if total > MAX_ENROLMENTS:
                    raise self.fail(
                        line,
                        f"the enrolments of {key[0]}, {key[1]}, {key[2]} add up to {total:,.0f} "
                        f"over this and earlier rows; at most {MAX_ENROLMENTS:,.0f}",
                    )
                totals[key] = total
        except csv.Error as exc:
            # e.g. a quote never closed, a field over the csv module's size limit, a NUL byte
            raise self.fail(last_line + 1, f"not readable as CSV ({exc})") from None
        if header is None:
            raise self.fail(
                None, f"the file is empty; a schedule starts with the header {','.join(REQUIRED)}"
            )
        return pd.DataFrame(
            {
                "year": pd.Series([k[0] for k in totals], dtype="int64"),
                "pool": pd.Series([k[1] for k in totals], dtype="object"),
                "course": pd.Series([k[2] for k in totals], dtype="object"),
                "enrolments": pd.Series(list(totals.values()), dtype="float64"),
            }
        )

    def columns(self, header: list[str], line: int) -> dict[str, int]:
        self.header_line = line
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            if name in REQUIRED and name in index:
                raise self.fail(line, f"column '{name}' is given twice")
            index.setdefault(name, i)
        missing = [name for name in REQUIRED if name not in index]
        if missing:
            found = _cut(", ".join(header))
            raise self.fail(
                line,
                f"missing column(s) {', '.join(missing)} (found: {found}); a schedule's first "
                f"line is a header with {', '.join(REQUIRED)} (comma-separated, as optimize "
                "writes it)",
            )
        return {name: index[name] for name in REQUIRED}

    def row_key(self, cells: dict[str, str], line: int) -> tuple[int, str, str]:
        year = self.year(cells["year"], line)
        pool, course = cells["pool"], cells["course"]
        if pool not in self.pool_group:
            raise self.fail(
                line,
                f"no pool of that name in scenario '{self.s.name}'"
                + _suggest(pool, list(self.pool_group), "pools"),
                "pool",
                pool,
            )
        if course not in self.s.courses:
            raise self.fail(
                line,
                f"no course of that name in scenario '{self.s.name}'"
                + _suggest(course, list(self.s.courses), "courses"),
                "course",
                course,
            )
        allowed = self.s.courses[course].groups
        group = self.pool_group[pool]
        if allowed is not None and group not in allowed:
            raise self.fail(
                line,
                f"course '{course}' is not open to pool '{pool}' (its group '{group}' is not "
                f"among the course's groups: {', '.join(allowed)})",
                "course",
                course,
            )
        return year, pool, course

    def year(self, cell: str, line: int) -> int:
        h = self.s.horizon
        number = _decimal(cell)
        if number is None:
            raise self.fail(line, "must be a calendar year, e.g. 2026", "year", cell)
        if not number.is_finite() or number != number.to_integral_value():
            raise self.fail(line, "must be a whole calendar year, e.g. 2026", "year", cell)
        # adjusted() is the exponent of the leading digit: a 400-digit year is out of range
        # without turning it into a 400-digit int.
        if number.adjusted() > 4 or int(number) not in self.years:
            raise self.fail(
                line, f"must lie in the horizon {h.start_year}–{h.end_year}", "year", cell
            )
        return int(number)

    def enrolments(self, cell: str, line: int) -> float:
        lowered = cell.lower().lstrip("+-")
        if not cell:
            raise self.fail(line, "is empty; write 0 for no enrolments", "enrolments", cell)
        if lowered in {"nan", "na", "n/a", "null", "none"}:
            raise self.fail(line, "is not a number (NaN); write 0 for none", "enrolments", cell)
        if lowered in {"inf", "infinity"}:
            raise self.fail(line, "must be a finite number", "enrolments", cell)
        if not _NUMBER.fullmatch(cell):
            raise self.fail(
                line,
                "must be a number of people, e.g. 120 or 120.5 (no thousands separators)",
                "enrolments",
                cell,
            )
        value = float(cell)  # overflows to inf for a 400-digit number: caught just below
        if value < 0:
            raise self.fail(line, "must not be negative", "enrolments", cell)
        if not math.isfinite(value) or value > MAX_ENROLMENTS:
            raise self.fail(
                line,
                f"must be at most {MAX_ENROLMENTS:,.0f} (more people than a province employs)",
                "enrolments",
                cell,
            )
        return value


def _decimal(cell: str) -> Decimal | None:
    if not _NUMBER.fullmatch(cell):
        return None
    try:
        return Decimal(cell)
    except InvalidOperation:  # cannot happen for what _NUMBER matches; kept for safety
        return None


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def _suggest(name: str, known: Sequence[str], kind: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    if not known:
        return ""
    if len(known) <= _LISTED:
        return f" (known: {', '.join(known)})"
    return f" (it has {len(known):,} {kind}; 'simopt show' lists them)"
