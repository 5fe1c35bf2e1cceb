"""The optimiser's answer as JSON and as a table a planner reads."""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd

from simopt.format import people, vnd
from simopt.optimize.envelopes import envelope_table
from simopt.optimize.plan import Plan
from simopt.reporting.tables import clean as _clean
from simopt.reporting.tables import records as _records
from simopt.scenario import Scenario


def plan_summary(plan: Plan, scenario: Scenario) -> dict[str, Any]:
    """The contents of summary.json.

    ``schedule_kind`` says what the schedule fields are: "whole_people" or "continuous" (a plan
    meeting every target in expectation), "best_effort" (the targets cannot all be met: the
    schedule coming closest, which is no plan) or "none"."""
    out: dict[str, Any] = {
        "scenario": plan.scenario,
        "status": str(plan.status),
        "message": plan.message,
        "solver": plan.solver,
        "integer": plan.integer,
        "schedule_kind": plan.schedule_kind,
        "ceiling_vnd_per_year": plan.ceiling_vnd,
        "total_cost_vnd": _clean(plan.total_cost_vnd),
    }
    if plan.cause is not None:
        out["cause"] = plan.cause  # what binds first, for scripts: the message says it in words
    if plan.best_effort:
        out["best_effort_cost_vnd"] = _clean(plan.best_effort_cost_vnd)
    if plan.is_ok or plan.best_effort:
        sched = plan.schedule
        out["enrolments_by_year"] = {
            str(r["year"]): r["enrolments"] for r in _records(plan.people_by_year())
        }
        out["enrolments_by_group"] = {
            str(r["group"]): r["enrolments"] for r in _records(plan.enrolments_by("group"))
        }
        out["enrolments_by_course"] = {
            str(r["course"]): r["enrolments"] for r in _records(plan.enrolments_by("course"))
        }
        out["enrolments_by_year_group_course"] = _records(
            plan.enrolments_by("year", "group", "course")
        )
        out["classes"] = _records(plan.classes)
        out["cost_by_year"] = _records(plan.totals_by_year())
        out["cost_by_phase"] = _records(
            plan.totals_by_phase(scenario.horizon.start_year, scenario.horizon.milestones)
        )
        out["cost_by_source"] = _records(plan.totals_by_source())
        envelopes = envelope_table(plan, scenario)
        if not envelopes.empty:
            out["envelopes"] = _records(envelopes)
        out["total_enrolments"] = _number(sched["enrolments"].sum())
    if plan.is_ok:
        if plan.lp_cost_vnd is not None:
            out["lp_cost_vnd"] = plan.lp_cost_vnd
            out["rounding_premium_vnd"] = plan.rounding_premium_vnd
            out["mip_gap"] = _clean(plan.mip_gap)
            out["mip_bound_vnd"] = _clean(plan.mip_bound_vnd)
        sp = plan.shadow_prices
        # unpriced rows (whole people's limits) only mark binding limits, counted below
        priced = sp[sp["value_vnd"].notna()] if "value_vnd" in sp.columns else sp
        out["shadow_prices"] = _records(priced)
        if plan.integer:
            out["shadow_prices_basis"] = (
                "the continuous relaxation: a whole-people plan has no duals; these are the "
                "marginal costs its relaxation puts on each target and ceiling"
            )
        out["binding_limits"] = binding_counts(plan)
        out["expectation_note"] = expectation_note(plan)
    att = plan.attainment if plan.is_ok or plan.best_effort else plan.best_attainment
    if att is not None and not att.empty:
        at_year = att[att["year"] == att["target_year"]]
        out["attainment"] = _records(at_year)
    if not plan.is_ok:
        out["unmet_targets"] = plan.unmet_targets
        out["smallest_feasible_ceiling_vnd_per_year"] = plan.smallest_ceiling_vnd
    return out


def _number(x: Any) -> int | float:
    """A count as JSON: whole people as an integer, fractions as they are."""
    v = float(x)
    return int(v) if v.is_integer() else v


_COMMAND = "`simopt plan`"


def binding_counts(plan: Plan) -> dict[str, int] | None:
    """How many availability rows (a level of a pool in a year) and capacity rows (a course in a
    year) the schedule fills to the limit; None when the plan does not say (no such rows read)."""
    sp = plan.shadow_prices
    if "kind" not in sp.columns:
        return None
    return {
        "availability": int((sp["kind"] == "available").sum()),
        "capacity": int((sp["kind"] == "capacity").sum()),
    }


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def expectation_note(plan: Plan) -> str:
    """Why the simulated mean may sit below the attainment shown, and where.

    The LP plans with expected head counts. Where the schedule enrols all E[X] people expected
    free (or takes every seat), the simulation can only enrol min(X, n) of the X actually free,
    and E[min(X, n)] < min(E[X], n): at a limit the expectation shown is optimistic.
    """
    counts = binding_counts(plan)
    robust = f"a plan that must hold with a stated probability is {_COMMAND}"
    if counts is None:
        return (
            "The attainment shown is the expectation of the LP model; where the schedule uses "
            "every available person or every seat, the simulated mean is a little lower; "
            f"{robust}."
        )
    where = []
    if counts["availability"]:
        where.append(f"everyone free at a level in {_n(counts['availability'], 'pool-year')}")
    if counts["capacity"]:
        where.append(f"every seat in {_n(counts['capacity'], 'course-year')}")
    if not where:
        return (
            "The attainment shown is the expectation of the LP model; the schedule takes neither "
            f"everyone available nor every seat anywhere; {robust}."
        )
    return (
        f"The attainment shown is the expectation of the LP model; the schedule takes "
        f"{' and '.join(where)}: there, the simulated mean falls a little below this "
        f"expectation; {robust}."
    )


def _share(x: Any) -> str:
    return "n/a" if x is None else f"{x:.1%}"


BEST_EFFORT_HEAD = (
    "BEST EFFORT — NOT A PLAN MEETING THE TARGETS: under these limits the targets marked SHORT "
    "cannot be met; this schedule comes closest (least shortfall, then least cost)"
)


def plan_table(plan: Plan, scenario: Scenario) -> str:
    lines = [f"{scenario.title or scenario.name}", f"Status: {plan.status} — {plan.message}"]
    if plan.best_effort:
        lines += ["", BEST_EFFORT_HEAD]
        if plan.best_effort_cost_vnd is not None:
            lines.append(f"Best-effort cost: {vnd(plan.best_effort_cost_vnd)}")
    if plan.is_ok and plan.total_cost_vnd is not None:
        what = "whole people and whole classes" if plan.integer else "continuous (fractions)"
        lines.append(f"Total cost: {vnd(plan.total_cost_vnd)} ({what})")
        if plan.lp_cost_vnd is not None and plan.rounding_premium_vnd is not None:
            gap = "" if plan.mip_gap is None else f"; at most {plan.mip_gap:.3%} above the best"
            lines.append(
                f"  (continuous LP: {vnd(plan.lp_cost_vnd)}; rounding premium of whole people "
                f"and classes: {vnd(plan.rounding_premium_vnd)}{gap})"
            )
    if plan.is_ok or plan.best_effort:
        lines += _schedule_lines(plan, scenario)
    att = plan.attainment if plan.is_ok or plan.best_effort else plan.best_attainment
    if att is not None and not att.empty:
        if plan.is_ok:
            head = "Expected attainment"
        elif plan.best_effort:
            head = "What the best-effort schedule reaches (expected)"
        else:
            head = "Best attainment the constraints allow"
        lines += ["", f"{head} at each target's year:"]
        for r in _records(att[att["year"] == att["target_year"]]):
            need = []
            if r["required_share"] is not None and not pd.isna(r["required_share"]):
                need.append(f"{r['required_share']:.0%}")
            if r["required_count"] is not None and not pd.isna(r["required_count"]):
                need.append(f"≥ {people(r['required_count'])}")
            mark = "met" if r["met"] else f"SHORT by {people(max(r['shortfall_people'], 1.0))}"
            lines.append(
                f"  {r['target']} ({r['year']}): {people(r['attained_people'])} of "
                f"{people(r['base_people'])} = {_share(r['attained_share'])} "
                f"(needs {' and '.join(need)}) — {mark}"
            )
        if plan.is_ok:
            # a no-break space keeps the command whole on one line
            note = expectation_note(plan).replace(_COMMAND, _COMMAND.replace(" ", "\u00a0"))
            wrapped = textwrap.wrap(note, width=100, initial_indent="  ", subsequent_indent="  ")
            lines += [line.replace("\u00a0", " ") for line in wrapped]
    if not plan.is_ok and plan.smallest_ceiling_vnd is not None:
        lines.append(
            f"\nSmallest yearly ceiling meeting every target: {vnd(plan.smallest_ceiling_vnd)}"
        )
    if plan.is_ok and not plan.shadow_prices.empty:
        sp = plan.shadow_prices
        # availability and seat rows are counted in the note above; listed one by one (one per
        # pool, level and year) they would bury the targets' prices, so they stay in the JSON
        sp = sp[~sp["kind"].isin(["available", "capacity"])]
        binding = sp[sp["value_vnd"].abs() > 1.0]
        if not binding.empty:
            basis = " of the continuous relaxation" if plan.integer else ""
            lines += ["", f"What tightens the plan (shadow prices{basis}):"]
            for r in _records(binding):
                lines.append(f"  {r['name']} {r['year']}: {vnd(r['value_vnd'])} — {r['meaning']}")
    return "\n".join(lines)


def _schedule_lines(plan: Plan, scenario: Scenario) -> list[str]:
    """Enrolments by year and course, spending by year and phase, and the envelopes."""
    lines = ["", "Enrolments by intake year and course (people):"]
    if plan.schedule.empty:
        lines.append("  nobody")
    else:
        table = plan.enrolments_by("year", "course").pivot(
            index="year", columns="course", values="enrolments"
        )
        table = table.fillna(0.0)
        table["all"] = table.sum(axis=1)
        lines.append(_fmt_table(table, people))
    years = plan.totals_by_year()
    if not years.empty:
        lines += ["", "Spending by year:"]
        lines.append(_fmt_table(years.set_index("year")[["cost_vnd", "public_cost_vnd"]], vnd))
    lines += ["", "By phase:"]
    phases = plan.totals_by_phase(scenario.horizon.start_year, scenario.horizon.milestones)
    for r in _records(phases):
        lines.append(
            f"  {r['phase']}: {people(r['enrolments'])} enrolments, {vnd(r['cost_vnd'])} "
            f"(public {vnd(r['public_cost_vnd'])})"
        )
    envelopes = envelope_table(plan, scenario)
    if not envelopes.empty:
        lines += ["", "Budget envelopes (spending over the span against its ceiling):"]
        for r in _records(envelopes):
            whose = "public" if r["source"] == "public" else str(r["source"])
            lines.append(
                f"  {r['envelope']} ({whose}, {r['first_year']}–{r['last_year']}): "
                f"{vnd(r['spent_vnd'])} of {vnd(r['ceiling_vnd'])}"
                + ("" if r["within"] else " — OVER")
            )
    return lines


def _fmt_table(frame: pd.DataFrame, fmt: Any) -> str:
    cols = [str(c) for c in frame.columns]
    cells = [
        [str(idx), *(fmt(v) for v in row)]
        for idx, row in zip(frame.index, frame.values, strict=True)
    ]
    header = [str(frame.index.name or ""), *cols]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    out = ["  " + "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)
