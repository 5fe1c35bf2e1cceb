"""Re-planning from a later year: the past as recorded, the years left optimised.

``simopt plan FILE --from-year 2026`` reads the scenario's ``actuals`` and builds a scenario of
the years left (2026 to the end of the horizon) that starts where the record leaves off:

* **The past is fixed.** The years before ``from_year`` enrol the people the record says they
  enrolled (a year without recorded enrolments enrolled nobody, and the notes say so). Their
  expected projection, by the optimiser's own balance equations at the scenario's stated rates,
  gives every pool's people at each level on 1 January of ``from_year`` and the cohorts still in
  training then: those still in their course (by intake year) and completers waiting for a
  retake (by attempts used). These become the new scenario's level tables and ``start`` section
  (:mod:`simopt.start`), so the optimiser and both engines carry them on their own timeline.
* **A survey overrides the projection.** Where the record has a survey at the end of the last
  past year (``certified``, with ``headcount``), that pool's level table is the survey's counts,
  fixed. A pool without one keeps the projected shares and the concentration its level table had,
  so the simulators still draw how far the projection may be off.
* **What is spent is spent.** Past targets leave the re-plan (the variance table judges them);
  yearly ceilings of past years go; a phase envelope or the total ceiling that reaches into the
  past keeps what the past did not spend (recorded spending where recorded, else the projected
  cost of the recorded enrolments).

The variance table sets what the plan (the optimiser's expected plan of the scenario as written)
meant to do in the past years beside what the record says happened.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simopt.dynamics import N_LEVELS, Dynamics, compile_dynamics, whole_people
from simopt.errors import ScenarioError
from simopt.scenario import Scenario, build_scenario
from simopt.yamlio import is_note

PROJECTED = "projected"
SURVEYED = "survey"


@dataclass(frozen=True)
class Replan:
    """A re-plan's scenario of the years left, and what it rests on."""

    scenario: Scenario
    data: dict[str, Any]
    """The new scenario as data, notes and ranges kept (written beside the run)."""
    from_year: int
    past_years: tuple[int, ...]
    notes: tuple[str, ...]
    """One sentence per choice the re-plan made for the planner (what came from where)."""
    start_levels: pd.DataFrame
    """pool, level, people on 1 January of ``from_year``, basis (survey or projected)."""
    carried: pd.DataFrame
    """pool, course, stage, intake_year, attempts_used, people in training on 1 January."""
    variance: pd.DataFrame = field(default_factory=pd.DataFrame)
    past_targets: pd.DataFrame = field(default_factory=pd.DataFrame)


def replan(
    data: dict[str, Any],
    scenario: Scenario,
    from_year: int,
    *,
    file: str = "<scenario>",
    as_written: Scenario | None = None,
) -> Replan:
    """The scenario of the years from ``from_year`` on, starting from the record.

    ``data`` is the scenario as parsed (notes kept) and ``scenario`` the same validated.
    ``as_written`` is the scenario whose plan the variance table calls *planned* (by default
    ``scenario``; the command line passes the file as written when ``scenario`` carries the
    rates estimated from the record).
    """
    _check_from_year(scenario, from_year, file)
    d = compile_dynamics(scenario)
    past = tuple(y for y in d.years if y < from_year)
    notes: list[str] = []
    if not scenario.start.empty:
        raise ScenarioError(
            "re-planning a scenario that itself starts with people in training is not "
            "supported: start it from its first year without a start section",
            file=file,
            path="start",
            show_value=False,
        )
    enrol = recorded_schedule(scenario, d, past, notes)
    projection = _project(d, enrol)
    _check_enrolments_possible(scenario, d, enrol, projection, past, file)
    last = len(past) - 1
    levels = projection.levels[last].copy()  # (pools, levels), trainees at their level
    carried = _carried(d, enrol, from_year)
    basis = dict.fromkeys(d.pool_ids, PROJECTED)
    survey_year, survey = _latest_survey(scenario, d, projection, from_year)
    for pid, table in survey.items():
        assert survey_year is not None
        p = d.pool_index(pid)
        if survey_year == from_year - 1:
            levels[p] = table
        else:
            # the survey's difference from the projection persists, thinned by attrition
            keep = (1.0 - float(d.attrition[p])) ** (from_year - 1 - survey_year)
            at_survey = projection.levels[past.index(survey_year), p]
            levels[p] = np.maximum(levels[p] + keep * (table - at_survey), 0.0)
        basis[pid] = SURVEYED
    notes.append(_levels_note(d, survey, survey_year, from_year))
    carried = _fit_carried(d, carried, levels, notes, surveyed=bool(survey))

    new = copy.deepcopy(data)
    _restart_horizon(new, scenario, from_year)
    _restart_pools(new, scenario, d, levels, basis, from_year, survey_year, notes)
    new["start"] = _start_section(d, carried, from_year)
    dropped = _drop_past_targets(new, scenario, from_year)
    if dropped:
        notes.append(
            f"Targets of past years ({', '.join(dropped)}) leave the re-plan: the variance "
            "table judges them."
        )
    spent = past_public_spending(scenario, d, projection, past)
    _restart_budget(new, scenario, d, from_year, spent, notes)
    new.pop("stated_budget", None)
    new.pop("actuals", None)
    title = str(_plain(new.get("title", scenario.name)))
    new["title"] = f"{title} — re-planned from {from_year}"
    try:
        rebuilt = build_scenario(new, file=f"{file} (re-planned from {from_year})")
    except ScenarioError as exc:
        raise ScenarioError(
            f"the record does not leave a valid scenario from {from_year}: {exc.rule}",
            file=file,
            path=exc.path,
            value=exc.value,
            show_value=exc.show_value,
        ) from None
    from simopt.optimize import optimize
    from simopt.variance import past_target_table, variance_table

    written = as_written if as_written is not None else scenario
    d_written = d if written is scenario else compile_dynamics(written)
    planned = optimize(written, dynamics=d_written)
    if planned.status != "optimal":
        notes.append(
            f"The plan as written has no schedule meeting every target (status "
            f"{planned.status}): its planned figures are its best effort."
        )
    return Replan(
        scenario=rebuilt,
        data=new,
        from_year=from_year,
        past_years=past,
        notes=tuple(notes),
        start_levels=_levels_table(d, levels, basis),
        carried=_carried_table(d, carried),
        variance=variance_table(scenario, d_written, past, planned.schedule, planned.costs, enrol),
        past_targets=past_target_table(
            scenario, d, from_year, planned.attainment, projection.levels
        ),
    )


def _levels_note(
    d: Dynamics, survey: dict[str, Any], survey_year: int | None, from_year: int
) -> str:
    if not survey:
        return (
            f"No survey in the record: every pool's levels on 1 January {from_year} are "
            "projected from the recorded enrolments at the scenario's stated rates, with their "
            "level table's uncertainty kept."
        )
    which = "every pool" if len(survey) == d.n_pools else f"{len(survey)} of {d.n_pools} pools"
    if survey_year == from_year - 1:
        told = f"Levels on 1 January {from_year} of {which} are the {survey_year} survey's, fixed"
    else:
        told = (
            f"Levels on 1 January {from_year} of {which} are the {survey_year} survey's carried "
            f"forward: the projection plus the survey's difference from it, thinned by attrition"
        )
    if len(survey) < d.n_pools:
        told += (
            "; the others are projected from the recorded enrolments at the scenario's stated "
            "rates, with their level table's uncertainty kept"
        )
    return told + "."


def with_rates(data: dict[str, Any], notes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``data`` with each path's note replaced (the rates a record implies, from
    :func:`simopt.estimate.rate_notes`): value, range, distribution and the source that says
    how they were estimated."""
    new = copy.deepcopy(data)
    for path, note in notes.items():
        *parents, last = path.split(".")
        node = new
        for part in parents:
            node = node[part]
        node[last] = dict(note)
    return new


# --------------------------------------------------------------------------- the past


def _check_from_year(s: Scenario, from_year: int, file: str) -> None:
    from simopt.actuals import check_actuals_before

    check_actuals_before(s, from_year, file=file)
    if s.actuals is None or not s.actuals.years:
        raise ScenarioError(
            "a re-plan starts from the record: the scenario has no actuals section",
            file=file,
            path="actuals",
            show_value=False,
        )
    last = max(s.actuals.years)
    if last < from_year - 1:
        raise ScenarioError(
            f"the record ends in {last}: re-plan from {last + 1}, or record "
            f"{last + 1}–{from_year - 1} too (a year missing from the record would be taken as "
            "nobody enrolled)",
            file=file,
            path="--from-year",
            value=from_year,
        )


def recorded_schedule(
    s: Scenario, d: Dynamics, past: tuple[int, ...], notes: list[str]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """(horizon years, pools, courses) the recorded enrolments of the past years, 0 elsewhere."""
    enrol = np.zeros((len(d.years), d.n_pools, d.n_courses))
    assert s.actuals is not None
    missing = []
    for yi, year in enumerate(past):
        rec = s.actuals.years.get(year)
        if rec is None or rec.enrolments is None:
            missing.append(str(year))
            continue
        for pid, by_course in rec.enrolments.items():
            for cid, n in by_course.items():
                enrol[yi, d.pool_index(pid), d.course_ids.index(cid)] = n
    if missing:
        notes.append(
            f"No enrolments recorded for {', '.join(missing)}: taken as nobody enrolled then."
        )
    return enrol


@dataclass(frozen=True)
class _Projection:
    levels: np.ndarray[Any, np.dtype[np.float64]]
    """(years, pools, levels) expected people at each year's end."""
    costs: pd.DataFrame
    """The long cost table of the projected schedule (``read_costs``)."""


def _project(d: Dynamics, enrol: np.ndarray[Any, np.dtype[np.float64]]) -> _Projection:
    from simopt.optimize.lp import build_lp
    from simopt.optimize.plan import Status
    from simopt.optimize.solve import SolverError, read_costs, run

    model = build_lp(d, fixed_enrolments=enrol)
    status = run(model, "highs")
    if status is not Status.OPTIMAL:
        raise SolverError(f"projecting the recorded enrolments ended with status '{status}'")
    levels = np.zeros((len(d.years), d.n_pools, N_LEVELS))
    for (p, lvl, y), var in model.level.items():
        levels[y, p, lvl] = float(var.varValue or 0.0)
    return _Projection(levels=levels, costs=read_costs(model))


@dataclass(frozen=True)
class _Cohort:
    pool: int
    course: int
    people: float
    intake_year: int
    attempts_used: int
    in_course: bool


def _carried(
    d: Dynamics, enrol: np.ndarray[Any, np.dtype[np.float64]], from_year: int
) -> list[_Cohort]:
    """The past intakes' expected people still in training on 1 January of ``from_year``."""
    s = d.scenario
    out = []
    last = from_year - 1 - d.years[0]
    for y0, p, c in zip(*np.nonzero(enrol), strict=True):
        k = last - int(y0)
        prof = d.profiles[p][c]
        if k >= prof.years:
            continue
        people = float(enrol[y0, p, c]) * prof.in_pipeline[k]
        if people <= 1e-9:
            continue
        course = s.courses[d.course_ids[c]]
        year = d.years[int(y0)]
        since_intake = 12 * (from_year - year) - (course.intake_month - 1)
        in_course = course.duration_months > since_intake
        used = sum(1 for sp in d.sittings[c] if sp.months_after_intake <= since_intake)
        out.append(_Cohort(int(p), int(c), people, year, used, in_course))
    return out


def _fit_carried(
    d: Dynamics,
    carried: list[_Cohort],
    levels: np.ndarray[Any, np.dtype[np.float64]],
    notes: list[str],
    *,
    surveyed: bool,
) -> list[_Cohort]:
    """Trainees are counted at the level they hold: where a survey finds fewer people at that
    level than the projection has in training, the trainees are scaled down to fit."""
    need = np.zeros((d.n_pools, N_LEVELS))
    for k in carried:
        need[k.pool, d.entry[k.course]] += k.people
    scale = np.ones((d.n_pools, N_LEVELS))
    over = need > levels + 1e-9
    scale[over] = levels[over] / need[over]
    if over.any():
        pools = sorted({d.pool_ids[p] for p, _ in zip(*np.nonzero(over), strict=True)})
        found = "The survey finds" if surveyed else "The projection has"
        notes.append(
            f"{found} fewer people at a course's entry level than are in training in "
            f"{', '.join(pools)}: those trainees are scaled down to fit."
        )
    return [
        _Cohort(
            k.pool,
            k.course,
            k.people * float(scale[k.pool, d.entry[k.course]]),
            k.intake_year,
            k.attempts_used,
            k.in_course,
        )
        for k in carried
    ]


def _latest_survey(
    s: Scenario, d: Dynamics, projection: _Projection, from_year: int
) -> tuple[int | None, dict[str, np.ndarray[Any, np.dtype[np.float64]]]]:
    """The last survey before ``from_year``: pool → people at each level at the end of its
    year. A pool whose head count that year is not recorded has the projection's."""
    assert s.actuals is not None
    years = [y for y, rec in s.actuals.years.items() if y < from_year and rec.certified]
    if not years:
        return None, {}
    year = max(years)
    rec = s.actuals.years[year]
    assert rec.certified is not None
    at = projection.levels[d.years.index(year)]
    out = {}
    for pid, table in rec.certified.items():
        p = d.pool_index(pid)
        total = (rec.headcount or {}).get(pid)
        row = np.zeros(N_LEVELS)
        for lvl, n in table.items():
            row[lvl] = n
        row[0] += (float(at[p].sum()) if total is None else total) - row.sum()
        out[pid] = np.maximum(row, 0.0)
    return year, out


def _check_enrolments_possible(
    s: Scenario,
    d: Dynamics,
    enrol: np.ndarray[Any, np.dtype[np.float64]],
    projection: _Projection,
    past: tuple[int, ...],
    file: str,
) -> None:
    """A record cannot enrol more people from a level than the pool has at that level."""
    for yi, year in enumerate(past):
        have = d.start_levels if yi == 0 else projection.levels[yi - 1]
        for p in range(d.n_pools):
            for lvl in range(N_LEVELS):
                courses = [c for c in range(d.n_courses) if d.entry[c] == lvl]
                n = float(enrol[yi, p, courses].sum()) if courses else 0.0
                if n > float(have[p, lvl]) + 0.5:
                    raise ScenarioError(
                        f"enrols {n:,.0f} people from level {lvl}, but the pool has about "
                        f"{float(have[p, lvl]):,.0f} at that level on 1 January {year} "
                        "(projected from the record)",
                        file=file,
                        path=f"actuals.years.{year}.enrolments.{d.pool_ids[p]}",
                        show_value=False,
                    )


def past_public_spending(
    s: Scenario, d: Dynamics, projection: _Projection, past: tuple[int, ...]
) -> dict[tuple[int, str], float]:
    """(year, source) → VND spent in the past years: recorded where recorded, else the
    projected cost of the recorded enrolments."""
    assert s.actuals is not None
    out: dict[tuple[int, str], float] = {}
    costs = projection.costs
    for year in past:
        rec = s.actuals.years.get(year)
        if rec is not None and rec.spending_vnd is not None:
            for src, vnd in rec.spending_vnd.items():
                out[year, src] = float(vnd)
            continue
        here = costs[costs["year"] == year].groupby("funding_source")["cost_vnd"].sum()
        for source, vnd in here.items():
            out[year, str(source)] = float(vnd)
    return out


# --------------------------------------------------------------------------- the new scenario


def _plain(node: Any) -> Any:
    return node["value"] if is_note(node) else node


def _with_source(value: Any, source: str) -> dict[str, Any]:
    """``value`` with ``source``, keeping no range (the re-plan states what it rests on)."""
    return {"value": value, "source": source}


def _restart_horizon(new: dict[str, Any], s: Scenario, from_year: int) -> None:
    h = new["horizon"]
    source = f"re-planned from {from_year} (simopt plan --from-year {from_year})"
    h["start_year"] = _with_source(from_year, source)
    milestones = [y for y in s.horizon.milestones if y >= from_year] or [s.horizon.end_year]
    note = h["milestones"]
    h["milestones"] = (
        {**note, "value": milestones} if is_note(note) else milestones  # keep its source
    )


def _restart_pools(
    new: dict[str, Any],
    s: Scenario,
    d: Dynamics,
    levels: np.ndarray[Any, np.dtype[np.float64]],
    basis: dict[str, str],
    from_year: int,
    survey_year: int | None,
    notes: list[str],
) -> None:
    assert s.actuals is not None
    ranged = []
    for gid, group in new["groups"].items():
        for pid, pool in group["pools"].items():
            p = d.pool_index(pid)
            row = levels[p]
            excluded = s.groups[gid].pools[pid].excluded
            table_note = pool.pop("level_shares", None)
            pool.pop("level_counts", None)
            concentration = (
                float(table_note["concentration"])
                if is_note(table_note) and "concentration" in table_note
                else None
            )
            if basis[pid] == SURVEYED:
                counts = {lvl: round(float(n)) for lvl, n in enumerate(row) if round(float(n)) > 0}
                eligible = sum(counts.values())
                survey_source = s.provenance.sources_under(
                    f"actuals.years.{survey_year}.certified.{pid}"
                )
                src = f"survey at the end of {survey_year} ({survey_source})"
                if survey_year != from_year - 1:
                    src += f", carried forward to 1 January {from_year} along the projection"
                pool["headcount"] = {"value": eligible + excluded, "source": src}
                pool["level_counts"] = {"value": counts, "source": src}
                continue
            eligible = round(float(row.sum()))
            src = (
                f"projected to 1 January {from_year} from the recorded enrolments of "
                f"{s.horizon.start_year}–{from_year - 1} at the scenario's stated rates"
            )
            pool["headcount"] = _projected_headcount(
                pool.get("headcount"), eligible + excluded, src
            )
            if "range" in pool["headcount"]:
                ranged.append(pid)
            shares = _shares(row)
            if concentration is None:
                whole = whole_people(dict(enumerate(row)), eligible)
                pool["level_counts"] = {
                    "value": {lvl: int(n) for lvl, n in enumerate(whole) if n > 0},
                    "source": src,
                }
            else:
                pool["level_shares"] = {
                    "value": shares,
                    "concentration": concentration,
                    "source": f"{src}; drawn with the concentration of the original level "
                    f"table ({concentration:g}): how far the projection may be off is taken "
                    "to be as uncertain as the original assumption",
                }
    if ranged:
        notes.append(
            f"Head counts projected with a range ({', '.join(ranged)}) keep it, scaled to the "
            "projection: the relative uncertainty of the original assumption."
        )


def _projected_headcount(note: Any, value: int, source: str) -> dict[str, Any]:
    """The projected head count, with the original range scaled to it when there was one."""
    out: dict[str, Any] = {"value": value, "source": source}
    if is_note(note) and "range" in note:
        old = float(note["value"])
        if old > 0:
            low, high = (float(x) * value / old for x in note["range"])
            out["range"] = [round(low), round(high)]
            for key in ("distribution", "sd"):
                if key in note:
                    out[key] = note[key] * value / old if key == "sd" else note[key]
            out["source"] = f"{source}; range scaled from the original ({note['range']})"
    return out


def _shares(row: np.ndarray[Any, np.dtype[np.float64]]) -> dict[int, float]:
    """Level shares rounded to 6 decimals that still sum to exactly 1."""
    total = float(row.sum())
    if total <= 0:
        return {0: 1.0}
    shares = {lvl: round(float(n) / total, 6) for lvl, n in enumerate(row) if n / total >= 5e-7}
    top = max(shares, key=lambda lvl: shares[lvl])
    shares[top] = round(shares[top] + 1.0 - math.fsum(shares.values()), 6)
    return shares


def _start_section(d: Dynamics, carried: list[_Cohort], from_year: int) -> dict[str, Any]:
    source = (
        f"expected people still in training on 1 January {from_year}: the recorded enrolments "
        "projected at the scenario's stated rates (simopt plan --from-year)"
    )

    def entry(k: _Cohort) -> dict[str, Any]:
        out: dict[str, Any] = {"pool": d.pool_ids[k.pool], "course": d.course_ids[k.course]}
        if k.in_course:
            out["intake_year"] = {"value": k.intake_year, "source": source}
        else:
            out["attempts_used"] = {"value": k.attempts_used, "source": source}
        out["people"] = {"value": round(k.people, 6), "source": source}
        return out

    return {
        "in_course": [entry(k) for k in carried if k.in_course],
        "waiting": [entry(k) for k in carried if not k.in_course and k.people > 0],
        "queued": [],
    }


def _drop_past_targets(new: dict[str, Any], s: Scenario, from_year: int) -> list[str]:
    dropped = [tid for tid, t in s.targets.items() if t.year < from_year]
    for tid in dropped:
        del new["targets"][tid]
    return dropped


def _restart_budget(
    new: dict[str, Any],
    s: Scenario,
    d: Dynamics,
    from_year: int,
    spent: dict[tuple[int, str], float],
    notes: list[str],
) -> None:
    budget = new.get("budget")
    if not isinstance(budget, dict):
        return
    public = {src for src, pub in zip(d.source_ids, d.source_public, strict=True) if pub}

    def spent_in(first: int, last: int, source: str | None) -> float:
        return math.fsum(
            vnd
            for (year, src), vnd in spent.items()
            if first <= year <= last and (src == source if source else src in public)
        )

    by_year = budget.get("ceiling_vnd_by_year")
    if isinstance(by_year, dict):
        for year in [y for y in by_year if int(y) < from_year]:
            del by_year[year]
    envelopes = budget.get("envelopes")
    if isinstance(envelopes, dict):
        for name, env in list(envelopes.items()):
            e = s.budget.envelopes[name]
            if e.last_year < from_year:
                del envelopes[name]
                notes.append(f"Envelope {name} ({e.first_year}–{e.last_year}) is past.")
            elif e.first_year < from_year:
                used = spent_in(e.first_year, from_year - 1, e.source)
                left = max(e.ceiling_vnd - used, 0.0)
                env["first_year"] = from_year
                env["ceiling_vnd"] = {
                    "value": left,
                    "source": f"{e.ceiling_vnd:,.0f} VND for {e.first_year}–{e.last_year} less "
                    f"{used:,.0f} VND spent in {e.first_year}–{from_year - 1}",
                }
                notes.append(
                    f"Envelope {name}: {left:,.0f} VND left for {from_year}–{e.last_year} "
                    f"after {used:,.0f} VND spent."
                )
    total = s.budget.total_ceiling_vnd
    if total is not None:
        used = spent_in(s.horizon.start_year, from_year - 1, None)
        left = max(total - used, 0.0)
        budget["total_ceiling_vnd"] = {
            "value": left,
            "source": f"{total:,.0f} VND over the horizon less {used:,.0f} VND spent before "
            f"{from_year}",
        }
        notes.append(f"Total ceiling: {left:,.0f} VND left after {used:,.0f} VND spent.")


def _levels_table(
    d: Dynamics, levels: np.ndarray[Any, np.dtype[np.float64]], basis: dict[str, str]
) -> pd.DataFrame:
    rows = [
        {"pool": pid, "level": lvl, "people": float(levels[p, lvl]), "basis": basis[pid]}
        for p, pid in enumerate(d.pool_ids)
        for lvl in range(N_LEVELS)
        if levels[p, lvl] > 0
    ]
    return pd.DataFrame(rows, columns=["pool", "level", "people", "basis"])


def _carried_table(d: Dynamics, carried: list[_Cohort]) -> pd.DataFrame:
    rows = [
        {
            "pool": d.pool_ids[k.pool],
            "course": d.course_ids[k.course],
            "stage": "in_course" if k.in_course else "waiting",
            "intake_year": k.intake_year,
            "attempts_used": k.attempts_used,
            "people": k.people,
        }
        for k in carried
    ]
    columns = ["pool", "course", "stage", "intake_year", "attempts_used", "people"]
    return pd.DataFrame(rows, columns=columns)
