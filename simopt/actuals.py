"""What actually happened, year by year: the rules a scenario's ``actuals`` must keep, and the
questions a re-plan asks of the record.

A scenario's ``actuals:`` section (:class:`simopt.scenario.Actuals`) records, per calendar year,
who entered which course, the exam sittings and passes, the courses that ended and how many
completed them, the money spent per funding source, and a survey (head count and people holding
each level) at the end of the year. Every part of a year is optional: a province records what it
has.

The rules (:func:`check_actuals`, run by the loader with every other cross-field rule) refuse a
record that cannot be true of the scenario it sits in: a year outside the horizon, a pool, course
or funding source the scenario does not define, an enrolment in a course closed to the pool's
group or beyond the course's seats, more passes than sittings, more completions than trainees
who finished, more people certified than the pool employs. A re-plan adds one more
(:func:`check_actuals_before`): nothing may be recorded for the re-plan year or after it.

The helpers :func:`recorded_enrolments`, :func:`latest_survey` and :func:`spending` read the
record for the re-plan (:mod:`simopt.replan`); :func:`record_sources` says where a part of it
comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from simopt.dynamics import DEFAULT_SOURCE
from simopt.errors import ScenarioError

if TYPE_CHECKING:
    from simopt.scenario import Actuals, ActualYear, Scenario

    Fail = Callable[[str, Any, str], NoReturn]

# --------------------------------------------------------------------------- rules


def check_actuals(s: Scenario, actuals: Actuals, fail: Fail) -> None:
    """Rules that tie the record to the scenario; the first broken one raises (in year order,
    then in the order of the parts of a year)."""
    for year in sorted(actuals.years):
        rec = actuals.years[year]
        here = f"actuals.years.{year}"
        _check_year(s, year, here, fail)
        _check_enrolments(s, rec, here, fail)
        _check_exams(s, rec, here, fail)
        _check_completions(s, rec, here, fail)
        _check_spending(s, rec, here, fail)
        _check_survey(s, rec, here, fail)


def check_actuals_before(s: Scenario, from_year: int, *, file: str = "<scenario>") -> None:
    """A re-plan from ``from_year`` (1 January) starts from a record of the years before it.

    Refuse a ``from_year`` that leaves no year of the horizon before it or none to plan
    (it must lie in (start_year, end_year]), and any recorded year at or after it: a record can
    only hold years that have happened, and the re-plan would otherwise plan a year it says is
    over. Raises :class:`ScenarioError` naming ``file``.
    """
    h = s.horizon
    if not h.start_year < from_year <= h.end_year:
        raise ScenarioError(
            f"must lie in {h.start_year + 1}–{h.end_year}: after the horizon's first year "
            f"({h.start_year}), so that some year is recorded before it, and not after its last",
            file=file,
            path="--from-year",
            value=from_year,
        )
    if s.actuals is None:
        return
    late = [year for year in sorted(s.actuals.years) if year >= from_year]
    if late:
        years = str(late[0]) if len(late) == 1 else f"{late[0]}–{late[-1]}"
        later = f"re-plan from {late[-1] + 1} or " if late[-1] < h.end_year else ""
        raise ScenarioError(
            f"is not before the re-plan year {from_year}: a record holds only years that have "
            f"happened; {later}leave {years} out of the record",
            file=file,
            path=f"actuals.years.{late[0]}",
            show_value=False,
        )


def _no_such(kind: str, name: str, known: list[str]) -> str:
    from simopt.scenario import did_you_mean

    return f"no {kind} of that name" + did_you_mean(name, known)


def _check_year(s: Scenario, year: int, here: str, fail: Fail) -> None:
    h = s.horizon
    if year < h.start_year:
        fail(here, year, f"is before the horizon {h.start_year}–{h.end_year} starts")
    if year > h.end_year:
        fail(here, year, f"is after the horizon {h.start_year}–{h.end_year} ends")


def _check_enrolments(s: Scenario, rec: ActualYear, here: str, fail: Fail) -> None:
    if rec.enrolments is None:
        return
    pools = s.pools()
    by_course: dict[str, int] = {}
    for pid, courses in rec.enrolments.items():
        at = f"{here}.enrolments.{pid}"
        if pid not in pools:
            fail(at, pid, _no_such("pool", pid, list(pools)))
        group = pools[pid][0]
        for cid, people in courses.items():
            if cid not in s.courses:
                fail(f"{at}.{cid}", cid, _no_such("course", cid, list(s.courses)))
            open_to = s.courses[cid].groups
            if people and open_to is not None and group not in open_to:
                fail(
                    f"{at}.{cid}",
                    people,
                    f"course {cid!r} is not open to pool {pid!r}: its group {group!r} is not in "
                    f"courses.{cid}.groups ({', '.join(open_to)})",
                )
            by_course[cid] = by_course.get(cid, 0) + people
    for cid, total in by_course.items():
        seats = s.courses[cid].capacity_per_year
        if seats is not None and total > seats:
            # the scenario's seats are a limit the record shows was not one: one of them is wrong
            fail(
                f"{here}.enrolments",
                total,
                f"enrolments in course {cid!r} add up to {total:,} people, more than its "
                f"{seats:,.0f} seats a year (courses.{cid}): the record contradicts the "
                "scenario's seats; raise them if that many were seated",
            )


def _check_exams(s: Scenario, rec: ActualYear, here: str, fail: Fail) -> None:
    for cid, result in (rec.exams or {}).items():
        at = f"{here}.exams.{cid}"
        if cid not in s.courses:
            fail(at, cid, _no_such("course", cid, list(s.courses)))
        if result.passed > result.sat:
            fail(f"{at}.passed", result.passed, f"must not exceed sat ({result.sat:,})")


def _check_completions(s: Scenario, rec: ActualYear, here: str, fail: Fail) -> None:
    for cid, result in (rec.completions or {}).items():
        at = f"{here}.completions.{cid}"
        if cid not in s.courses:
            fail(at, cid, _no_such("course", cid, list(s.courses)))
        if result.completed > result.finished:
            fail(
                f"{at}.completed",
                result.completed,
                f"must not exceed finished ({result.finished:,})",
            )


def _check_spending(s: Scenario, rec: ActualYear, here: str, fail: Fail) -> None:
    known = list(s.funding_sources) or [DEFAULT_SOURCE]
    for src in rec.spending_vnd or {}:
        if src not in known:
            fail(f"{here}.spending_vnd.{src}", src, _no_such("funding source", src, known))


def _check_survey(s: Scenario, rec: ActualYear, here: str, fail: Fail) -> None:
    pools = s.pools()
    headcount = rec.headcount or {}
    for pid in headcount:
        if pid not in pools:
            fail(f"{here}.headcount.{pid}", pid, _no_such("pool", pid, list(pools)))
    for pid, levels in (rec.certified or {}).items():
        at = f"{here}.certified.{pid}"
        if pid not in pools:
            fail(at, pid, _no_such("pool", pid, list(pools)))
        # level 0 (no level that counts) may be given; every level counts towards the total
        total = sum(levels.values())
        if pid in headcount:
            if total > headcount[pid]:
                fail(
                    at,
                    dict(levels),
                    f"the levels add up to {total:,} people, more than the {headcount[pid]:,} "
                    f"recorded at {here}.headcount.{pid}",
                )
            continue
        gid, pool = pools[pid]
        if total > pool.eligible:
            fail(
                at,
                dict(levels),
                f"the levels add up to {total:,} people, more than the pool's eligible head count "
                f"in the scenario ({pool.eligible:,}: groups.{gid}.pools.{pid}, headcount less "
                f"excluded); no headcount is recorded for it that year — record one if the pool "
                "has grown",
            )


# --------------------------------------------------------------------------- reading the record


class Survey(NamedTuple):
    """A survey at the end of ``year``: pool → eligible people employed, and pool → level →
    people holding that level (the rest of the pool holds no level that counts)."""

    year: int
    headcount: dict[str, int]
    """Only the pools whose head count was recorded that year (may be empty)."""
    certified: dict[str, dict[int, int]]


def recorded_years(s: Scenario, before_year: int | None = None) -> tuple[int, ...]:
    """The years the record holds (before ``before_year`` when given), in order."""
    if s.actuals is None:
        return ()
    return tuple(y for y in sorted(s.actuals.years) if before_year is None or y < before_year)


def _year(s: Scenario, year: int) -> ActualYear | None:
    return None if s.actuals is None else s.actuals.years.get(year)


def recorded_enrolments(s: Scenario, year: int) -> dict[tuple[str, str], int] | None:
    """(pool, course) → people who entered the course in ``year``, as recorded.

    None when the year records no enrolments at all (the re-plan then falls back on what was
    planned); a recorded year lists every (pool, course) that enrolled anyone, and any pair it
    leaves out enrolled nobody that year.
    """
    rec = _year(s, year)
    if rec is None or rec.enrolments is None:
        return None
    return {
        (pid, cid): people
        for pid, courses in rec.enrolments.items()
        for cid, people in courses.items()
        if people
    }


def latest_survey(s: Scenario, before_year: int) -> Survey | None:
    """The last survey of levels (``certified``) at the end of a year before ``before_year``,
    with that year's recorded head counts; None when no year before it records one.

    A pool the survey leaves out was not surveyed (not: nobody certified). A pool with levels but
    no recorded head count keeps its head count from the projection.
    """
    for year in reversed(recorded_years(s, before_year)):
        rec = _year(s, year)
        if rec is not None and rec.certified is not None:
            return Survey(
                year,
                dict(rec.headcount or {}),
                {pid: dict(levels) for pid, levels in rec.certified.items()},
            )
    return None


def spending(s: Scenario, year: int) -> dict[str, float] | None:
    """Funding source → VND recorded as spent on the programme in ``year`` (None when the year
    records no spending). A source left out spent nothing."""
    rec = _year(s, year)
    if rec is None or rec.spending_vnd is None:
        return None
    return dict(rec.spending_vnd)


def record_sources(s: Scenario, path: str) -> tuple[str, ...]:
    """The distinct sources of the recorded numbers at or under ``path`` (e.g.
    ``actuals.years.2023.exams``), in file order.

    The provenance map keys each *number* by its full dotted path
    (``actuals.years.2023.exams.level4.sat``); a ``{value, source}`` note on a whole table gives
    its source to every number inside it, so a table's source is read from its numbers.
    """
    found: dict[str, None] = {}
    prefix = path + "."
    for where, source in s.provenance.sources.items():
        if where == path or where.startswith(prefix):
            found.setdefault(source, None)
    return tuple(found)


def counts_by_year(
    s: Scenario, part: str, course: str, fields: tuple[str, str], before_year: int | None = None
) -> dict[int, tuple[int, int]]:
    """Year → (trials, successes) of one course in the record's ``exams`` (fields
    ``("sat", "passed")``) or ``completions`` (``("finished", "completed")``)."""
    out: dict[int, tuple[int, int]] = {}
    for year in recorded_years(s, before_year):
        rec = _year(s, year)
        table: Mapping[str, Any] | None = getattr(rec, part, None)
        if table and course in table:
            result = table[course]
            out[year] = (getattr(result, fields[0]), getattr(result, fields[1]))
    return out
