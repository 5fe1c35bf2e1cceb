"""Why the optimiser found no plan, in planners' words.

A solver's "infeasible" says only that the constraints cannot all hold. Which one a planner must
change is found by small re-solves of the same dynamics with one kind of limit lifted, in order:
a course that certifies nobody (no budget or seat helps), the seats, the budget ceilings (which
of them: the yearly public ceiling, a funding source's, an envelope over a span of years, the
total — each named with what it would need to be), seats and ceilings together; what is left is
the people available in time. A model the solver could not solve at all is usually badly scaled:
one amount many powers of ten away from the others.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import pulp

from simopt.dynamics import Dynamics
from simopt.format import people, vnd
from simopt.optimize.lp import CeilingRef, LpModel
from simopt.optimize.plan import Status

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

HUGE_VND = 1e15
"""No per-trainee amount comes near this; above it the LP's coefficients (in millions of VND)
pass 1e9 and HiGHS may give up."""

SCALE_SPREAD = 1e9
"""Largest over smallest non-zero per-trainee amount that is still a well-scaled model (real
plans span about 10–1000: exam fees of a few million, tuition of tens of millions)."""

_PEOPLE_EPS = 1e-6


@dataclass(frozen=True)
class Amount:
    """One per-trainee amount the LP's costs are made of."""

    what: str
    """e.g. "tuition", "class cost", "exam fee"."""
    where: str
    """e.g. "for course level3"; empty for the exam fee."""
    vnd: float

    def phrase(self) -> str:
        per = " per trainee" if self.what != "exam fee" else " per sitting"
        return f"{self.what} of {_amount(self.vnd)}{per}" + (f" {self.where}" if self.where else "")


def _amount(x: float) -> str:
    if x >= 1e12:
        mantissa, exponent = f"{x:.1e}".split("e")
        mantissa = mantissa.removesuffix(".0")
        return f"{mantissa}e{int(exponent)} đ"
    return vnd(x)


def _powers_of_ten(ratio: float) -> str:
    return f"10^{round(math.log10(ratio))}"


def cost_amounts(d: Dynamics) -> list[Amount]:
    """The non-zero per-trainee amounts: tuition and class cost per course, the exam fee."""
    out: list[Amount] = []
    for c, cid in enumerate(d.course_ids):
        out.append(Amount("tuition", f"for course {cid}", float(d.tuition_vnd[c])))
        out.append(
            Amount("class cost", f"for course {cid}", float(d.class_cost_vnd_per_trainee[c]))
        )
    out.append(Amount("exam fee", "", float(d.exam_fee_vnd)))
    return [a for a in out if a.vnd > 0]


def scaling_problem(d: Dynamics) -> str | None:
    """A sentence naming the amount that makes the model badly scaled, or None."""
    amounts = sorted(cost_amounts(d), key=lambda a: a.vnd, reverse=True)
    if not amounts:
        return None
    top = amounts[0]
    if len(amounts) > 1:
        ratio = top.vnd / amounts[1].vnd
        if top.vnd > HUGE_VND and ratio > 10:
            return (
                f"it is badly scaled: {top.phrase()} is {_powers_of_ten(ratio)} times the next "
                f"largest, {amounts[1].phrase()}"
            )
        spread = top.vnd / amounts[-1].vnd
        if spread > SCALE_SPREAD:
            return (
                f"it is badly scaled: {top.phrase()} is {_powers_of_ten(spread)} times "
                f"{amounts[-1].phrase()}"
            )
    if top.vnd > HUGE_VND:
        return f"it is badly scaled: {top.phrase()} is more than any budget"
    return None


def solver_status_text(model: LpModel, solver: str) -> str:
    """The solver's own name for how it ended, for the message (not for decisions)."""
    highs = getattr(model.prob, "solverModel", None)
    if solver.lower() == "highs" and highs is not None:
        try:
            return f"HiGHS status: {highs.modelStatusToString(highs.getModelStatus())}"
        except (AttributeError, TypeError):  # another object under that name: say less
            pass
    return f"{solver} status: {pulp.LpStatus.get(model.prob.status, model.prob.status)}"


def not_solved_message(d: Dynamics, model: LpModel, solver: str, status: Status) -> str:
    """A status other than optimal or infeasible, said as what it is, with its likely cause."""
    what = (
        "the solver found the model unbounded"
        if status is Status.UNBOUNDED
        else "the solver could not solve the model"
    )
    head = f"{what} ({solver_status_text(model, solver)})"
    cause = scaling_problem(d)
    if cause is not None:
        return f"{head}; {cause}"
    other = "cbc" if solver.lower() == "highs" else "highs"
    return f"{head}; no badly scaled amount was found: try --solver {other}"


# --------------------------------------------------------------------------- infeasibility


@dataclass(frozen=True)
class Diagnosis:
    cause: str
    """"course", "seats", "ceiling", "source_ceiling", "envelope", "ceilings",
    "seats_and_ceiling", "rounding" or "people" (see :attr:`simopt.optimize.Plan.cause`)."""
    message: str


def dead_courses(d: Dynamics, pools: list[int]) -> list[tuple[int, list[str]]]:
    """Courses open to any of ``pools`` that certify nobody from them, with the scenario fields
    at zero that make it so (empty when it is something else, e.g. all leave first)."""
    out: list[tuple[int, list[str]]] = []
    for c, cid in enumerate(d.course_ids):
        open_to = [p for p in pools if d.allowed[p, c]]
        if not open_to or any(sum(d.profiles[p][c].certified) > 0 for p in open_to):
            continue
        fields = []
        if d.completion[c] <= 0:
            fields.append(f"courses.{cid}.completion_rate")
        if all(s.pass_probability <= 0 for s in d.sittings[c]):
            fields.append(f"courses.{cid}.exam_pass_probability")
        out.append((c, fields))
    return out


def unreachable(d: Dynamics, targets: list[str]) -> list[str]:
    """Per course that certifies nobody and stands on the way of a short target, a sentence;
    a course whose step another live course open to the same pools covers is no obstacle."""
    s = d.scenario
    said: dict[int, str] = {}
    for tid in targets:
        t = s.targets[tid]
        pools = [d.pool_index(p) for p in s.target_pools(t)]
        dead = dead_courses(d, pools)
        dead_ids = {c for c, _ in dead}
        for c, fields in dead:
            if d.entry[c] >= t.min_level or c in said:
                continue
            covered = any(
                o not in dead_ids
                and any(d.allowed[p, o] for p in pools)
                and d.entry[o] <= d.entry[c]
                and d.target[o] >= d.target[c]
                for o in range(d.n_courses)
            )
            if covered:
                continue
            lvl = d.target[c]
            if fields:
                said[c] = f"{' and '.join(fields)} {'are' if len(fields) > 1 else 'is'} 0: "
            else:
                said[c] = f"course {d.course_ids[c]} certifies nobody (all leave first): "
            said[c] += f"nobody can be trained to level {lvl}"
    return [said[c] for c in sorted(said)]


def _short(best: pd.DataFrame) -> list[str]:
    if best.empty:
        return []
    at = best[(best["year"] == best["target_year"]) & ~best["met"].astype(bool)]
    return sorted(at["target"].astype(str).unique().tolist())


def _short_by(best: pd.DataFrame) -> str:
    if best.empty:
        return ""
    at = best[(best["year"] == best["target_year"]) & ~best["met"].astype(bool)]
    return ", ".join(
        f"{r['target']} is {people(max(float(r['shortfall_people']), 1.0))} people short"
        for r in at.sort_values("target").to_dict("records")
    )


def seat_need(d: Dynamics, course: int, model: LpModel) -> str:
    """A course's seats and the most a plan solved without them takes in one year."""
    from simopt.optimize.solve import value

    cap = d.capacity[course]
    assert cap is not None
    by_year = [
        math.fsum(value(v) for (_, c, yy), v in model.enrol.items() if (c, yy) == (course, y))
        for y in range(len(d.years))
    ]
    peak = max(by_year, default=0.0)
    text = f"{d.course_ids[course]} ({people(cap)} a year"
    if peak > cap + max(_PEOPLE_EPS, 1e-6 * cap):
        text += f"; the cheapest plan without that limit takes {people(peak)} in "
        text += str(d.years[by_year.index(peak)])
    return text + ")"


def _without_seats(d: Dynamics, courses: set[int]) -> Dynamics:
    return dataclasses.replace(
        d, capacity=tuple(None if c in courses else cap for c, cap in enumerate(d.capacity))
    )


_CAUSE = {"yearly": "ceiling", "source": "source_ceiling", "envelope": "envelope"}


def ceiling_cause(ref: CeilingRef) -> str:
    return _CAUSE.get(ref.kind, "envelope")


def ceiling_phrase(d: Dynamics, ref: CeilingRef, ceiling_vnd: float | None) -> str:
    """A ceiling in planners' words, with its value: "the ceiling on state_budget
    (1.000.000.000 đ a year)"."""
    b = d.scenario.budget
    if ref.kind == "yearly":
        cap = ceiling_vnd if ceiling_vnd is not None else b.ceiling_vnd_per_year
        if cap is not None and not (ceiling_vnd is None and b.ceiling_vnd_by_year):
            return f"the yearly ceiling on public spending ({vnd(cap)})"
        return "the yearly ceilings on public spending (budget.ceiling_vnd_by_year)"
    if ref.kind == "source":
        cap = b.source_ceilings_vnd_per_year[ref.name]
        return f"the ceiling on {ref.name} ({vnd(cap)} a year)"
    if ref.kind == "envelope":
        env = b.envelopes[ref.name]
        who = env.source if env.source is not None else "public spending"
        return (
            f"the budget envelope {ref.name} ({who} {env.first_year}–{env.last_year} at most "
            f"{vnd(env.ceiling_vnd)})"
        )
    years = d.cost_years
    assert b.total_ceiling_vnd is not None
    return (
        f"the total ceiling (public spending {years[0]}–{years[-1]} at most "
        f"{vnd(b.total_ceiling_vnd)})"
    )


def _need_phrase(ref: CeilingRef, need: float | None, every: str) -> str:
    if need is None:
        return "no value of it alone would do"
    per = " a year" if ref.kind in ("yearly", "source") else ""
    return f"it would need to be at least {vnd(need)}{per} to meet {every}"


def explain_infeasible(
    d: Dynamics,
    *,
    solve: Callable[[Dynamics, bool], LpModel | None],
    best: pd.DataFrame,
    ceilings: list[CeilingRef],
    ceiling_vnd: float | None,
    lifted_feasible: Callable[[Collection[CeilingRef]], bool],
    ceiling_need: Callable[[CeilingRef], float | None],
    smallest_ceiling_vnd: float | None,
    margins: bool,
    relaxed_best: Callable[[Dynamics], pd.DataFrame],
    rounding: bool = False,
) -> Diagnosis:
    """The first cause, in the order a planner can act on it.

    ``solve(dynamics, ceilings)`` gives the cheapest schedule meeting every target with the
    caller's ceiling, margins and integrality (ceilings left out when False), or None when a
    target falls short. ``best`` is the best attainment under every limit; ``relaxed_best``
    gives it for other dynamics with no ceiling. ``ceilings`` are the ceilings in force;
    ``lifted_feasible(refs)`` tells whether every target could be met without those;
    ``ceiling_need(ref)`` is the smallest value of one ceiling that would do, the others as
    they are. ``rounding``: the continuous plan exists, only whole people fail.
    """
    every = "every target with its margin" if margins else "every target"
    short = _short(best) or list(d.scenario.targets)
    blocked = unreachable(d, short)
    if blocked:
        return Diagnosis(
            "course",
            "; ".join(blocked) + f", so no budget or seats can meet {', '.join(short)}",
        )
    capped = [c for c, cap in enumerate(d.capacity) if cap is not None]
    no_seats = _without_seats(d, set(capped))
    if capped and solve(no_seats, True) is not None:
        # name the courses whose seats alone stand in the way; if none does alone, all together
        alone = {c: solve(_without_seats(d, {c}), True) for c in capped}
        named = [(c, m) for c, m in alone.items() if m is not None]
        if named:
            needs = [seat_need(d, c, m) for c, m in named]
            more = "more seats in " + " or ".join(d.course_ids[c] for c, _ in named)
        else:
            free = solve(no_seats, True)
            assert free is not None
            needs = [seat_need(d, c, free) for c in capped]
            more = f"more seats in {' and '.join(d.course_ids[c] for c in capped)} together"
        return Diagnosis(
            "seats", f"the course seats bind: {'; '.join(needs)}; {more} would meet {every}"
        )
    if ceilings and solve(d, False) is not None:
        return _ceiling_diagnosis(
            d,
            short,
            every,
            ceilings,
            ceiling_vnd,
            lifted_feasible,
            ceiling_need,
            smallest_ceiling_vnd,
        )
    if capped and ceilings and solve(no_seats, False) is not None:
        names = ", ".join(d.course_ids[c] for c in capped)
        return Diagnosis(
            "seats_and_ceiling",
            f"the course seats ({names}) and the budget ceiling bind together: neither alone, "
            f"but more of both would meet {every}",
        )
    if rounding:
        return Diagnosis(
            "rounding",
            f"{', '.join(short)} can be met in expectation with fractions of people, but not "
            "with whole people and whole classes under these limits; --continuous gives the "
            "fractional plan",
        )
    shortfalls = _short_by(relaxed_best(no_seats)) or ", ".join(f"{t} falls short" for t in short)
    asked = " (with their margins)" if margins else ""
    return Diagnosis(
        "people",
        "the people available in time limit the targets, whatever the seats or budget: at best "
        f"{shortfalls}{asked}",
    )


def _ceiling_diagnosis(
    d: Dynamics,
    short: list[str],
    every: str,
    ceilings: list[CeilingRef],
    ceiling_vnd: float | None,
    lifted_feasible: Callable[[Collection[CeilingRef]], bool],
    ceiling_need: Callable[[CeilingRef], float | None],
    smallest_ceiling_vnd: float | None,
) -> Diagnosis:
    """The ceilings bind (with all of them lifted every target can be met): which ones, and
    what each would need to be."""
    names = ", ".join(short)
    if ceilings == [CeilingRef("yearly")] and smallest_ceiling_vnd is not None:
        return Diagnosis(
            "ceiling",
            f"the budget ceiling is too low: {names} cannot be met; the smallest yearly "
            f"ceiling meeting {every} is {vnd(smallest_ceiling_vnd)}",
        )
    alone = ceilings if len(ceilings) == 1 else [r for r in ceilings if lifted_feasible([r])]
    if not alone:
        listed = "; ".join(ceiling_phrase(d, r, ceiling_vnd) for r in ceilings)
        return Diagnosis(
            "ceilings",
            f"the budget ceilings bind together: {names} cannot be met; raising any one of them "
            f"alone would not meet {every}, raising them together would — {listed}",
        )
    parts = []
    for ref in alone:
        need = smallest_ceiling_vnd if ref.kind == "yearly" else ceiling_need(ref)
        if ref.kind == "yearly" and need is not None:
            parts.append(
                f"{ceiling_phrase(d, ref, ceiling_vnd)}: the smallest yearly ceiling meeting "
                f"{every} is {vnd(need)}"
            )
            continue
        parts.append(f"{ceiling_phrase(d, ref, ceiling_vnd)}: {_need_phrase(ref, need, every)}")
    causes = {ceiling_cause(r) for r in alone}
    cause = causes.pop() if len(causes) == 1 else "ceilings"
    if len(alone) == 1:
        return Diagnosis(cause, f"the budget is too low: {names} cannot be met; {parts[0]}")
    return Diagnosis(
        cause,
        f"the budget is too low: {names} cannot be met; raising any one of these would do — "
        + "; ".join(parts),
    )
