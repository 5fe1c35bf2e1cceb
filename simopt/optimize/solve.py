"""Solve the program and read the answer into a :class:`Plan`.

:func:`optimize` asks three questions in turn, each of which always has an answer:

1. How close can the targets come, under every limit? (the weighted shortfall, continuous).
   Enrolling nobody breaks no limit, so this never asks a solver to *prove* infeasibility —
   which HiGHS's dual simplex can fail at, ending in "Solve error", on a badly conditioned
   infeasible model such as one whose per-source ceiling is far too low.
2. If nothing falls short: the cheapest continuous schedule (the same model, shortfall fixed at
   0), whose duals price the targets and ceilings and whose cost bounds any whole-people plan.
3. Unless ``continuous``: the cheapest schedule of whole people and whole classes (a MILP).

When a target cannot be met, the best-effort schedule (least shortfall, then least cost) is
returned with the diagnosis: what it spends and what each target reaches, clearly not a plan.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pandas as pd
import pulp

from simopt.dynamics import Dynamics, engine_dynamics
from simopt.optimize import handover
from simopt.optimize.diagnose import explain_infeasible, not_solved_message
from simopt.optimize.lp import (
    MONEY_UNIT_VND,
    YEARLY,
    CeilingRef,
    LpModel,
    build_lp,
    class_fill_shares,
)
from simopt.optimize.plan import (
    CLASSES_COLUMNS,
    COST_COLUMNS,
    SOURCE_PREFIX,
    Plan,
    Status,
    schedule_columns,
)
from simopt.scenario import Scenario

SOLVERS = ("highs", "cbc")
_EPS = 1e-6

MIP_REL_GAP = 5e-4
"""A whole-people schedule is accepted when its cost is within 0.05% of the solver's bound on
the best one (about 250 million VND, some 15 people, on a plan of 500 billion). HiGHS meets this
at the root node on the shipped scenarios; proving the last 0.01% takes minutes (Quảng Trị:
over 60 s) and buys nothing a planner can see beside the ranges of the assumptions. The gap
reached is reported with the plan."""

MIP_PRESOLVE = "off"
"""HiGHS's presolve on whole-people models. Off: HiGHS reaches the gap at the root two to four
times sooner (Long An 0.45 s against 1.1 s, Quảng Trị 0.37 s against 1.6 s on this project's
two-core machine) for a rounding premium a person or so higher; the continuous solves keep it."""

MIP_MAX_NODES = 500
"""Branch-and-bound nodes a MILP may take before the best schedule found is kept (its gap then
says how good it is). A node limit rather than a time limit, so that a rerun finds the same
schedule whatever the machine's load."""

BEST_EFFORT_NODES = 200
"""Node limit of the best-effort MILPs (least shortfall, then least cost): whole people under a
binding budget are a knapsack whose last few people take long to prove, and a best effort is a
diagnosis, not a plan; what each target reaches is reported as found."""

SHORTFALL_GAP = 3.0
"""How far a whole-people best effort may stay above the least shortfall, in the shortfall
objective's units: 0.03% of one target's requirement (a whole requirement weighs
``SHORTFALL_SCALE`` = 1e4; for Long An's public employees about 5 people of 15,000). Within it the
best effort is the cheapest schedule found; a knife-edge "no more short than the optimum" leaves
the solver no room to find cheaper ones (measured: 110 billion VND more spent)."""

PEOPLE_TOLERANCE = 1e-6
"""Relative tolerance on a target's people below which a shortfall is the solver's rounding."""


class SolverError(RuntimeError):
    """The chosen solver is not installed or failed outright."""


_banner_silenced = False
_banner_lock = threading.Lock()


def silence_highs_banner() -> None:
    """HiGHS prints its banner from C++ on the first Highs() of a process, before any option
    can be set; swallow that one line so a planner's output stays the tool's own. Safe from
    several threads (a sweep's evaluations may call it at once)."""
    global _banner_silenced
    with _banner_lock:
        if _banner_silenced:
            return
        _banner_silenced = True
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)


class _HiGHS(pulp.HiGHS):  # type: ignore[misc]
    """PuLP's HiGHS, knowing one more way a MILP can stop: at the node limit
    (``kSolutionLimit``), which PuLP 3.3 does not map (like a time limit, it keeps the best
    schedule found, if any); and, with ``warm``, starting from the variables' current values."""

    def __init__(self, *, warm: bool = False, **options: Any) -> None:
        super().__init__(**options)
        self.warm = warm

    def callSolver(self, lp: pulp.LpProblem) -> None:
        h = lp.solverModel
        if self.warm:
            columns = lp.variables()
            h.setSolution(
                len(columns),
                np.array([v.index for v in columns], dtype=np.int32),
                np.array([float(v.varValue or 0.0) for v in columns]),
            )
        h.run()

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[int, int]:
        try:
            status, sol_status = super().findSolutionValues(lp)
            return int(status), int(sol_status)
        except KeyError:
            # PuLP assigns the values before it looks the status up, so they are read already
            h = lp.solverModel
            if h.getModelStatus() != highspy.HighsModelStatus.kSolutionLimit:
                raise
            if math.isfinite(h.getInfo().objective_function_value):
                return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
            return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound


def make_solver(
    name: str,
    *,
    mip: bool = True,
    nodes: int = MIP_MAX_NODES,
    gap_abs: float | None = None,
    warm: bool = False,
    whole: bool = False,
) -> pulp.LpSolver:
    """A solver for one solve. The MILP options (gaps, ``nodes``, ``warm``: start from the
    variables' values, e.g. a schedule the previous pass found) do nothing to an LP; ``whole``
    says the model has integer variables (HiGHS then skips presolve: :data:`MIP_PRESOLVE`)."""
    name = name.lower()
    silence_highs_banner()
    if name == "highs":
        options: dict[str, Any] = {"mip_max_nodes": nodes}
        if whole:
            options["presolve"] = MIP_PRESOLVE
        solver: pulp.LpSolver = _HiGHS(
            msg=False, mip=mip, gapRel=MIP_REL_GAP, gapAbs=gap_abs, warm=warm, **options
        )
    elif name == "cbc":
        solver = pulp.PULP_CBC_CMD(
            msg=False,
            mip=mip,
            gapRel=MIP_REL_GAP,
            gapAbs=gap_abs,
            maxNodes=nodes,
            warmStart=warm,
        )
    else:
        raise SolverError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
    if not solver.available():
        raise SolverError(f"solver {name!r} is not installed")
    return solver


def run(
    model: LpModel,
    solver: str,
    *,
    nodes: int = MIP_MAX_NODES,
    gap_abs: float | None = None,
    warm: bool = False,
) -> Status:
    """Solve ``model.prob`` in place and map the solver's answer to a Status.

    A continuous model goes to HiGHS through :mod:`simopt.optimize.handover` (the same model
    and answer as through PuLP, its matrix converted once for all of the model's solves);
    whole-people models, warm starts and CBC through PuLP."""
    try:
        options = make_solver(solver, nodes=nodes, gap_abs=gap_abs, warm=warm, whole=model.integer)
        if (
            isinstance(options, _HiGHS)
            and not model.integer
            and not warm
            and handover.handed_over(model.prob)
        ):
            code, model.handover = handover.solve(model.prob, options, model.handover)
        else:
            code = model.prob.solve(options)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"{solver} failed: {exc}") from None
    status = _status(model.prob, code)
    if status is Status.OPTIMAL and model.integer:
        _round_integers(model)
    return status


def _status(prob: pulp.LpProblem, code: int) -> Status:
    if code == pulp.LpStatusOptimal and prob.sol_status in (
        pulp.LpSolutionOptimal,
        pulp.LpSolutionIntegerFeasible,
    ):
        return Status.OPTIMAL
    if code == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if code == pulp.LpStatusUnbounded:
        return Status.UNBOUNDED
    return Status.NOT_SOLVED


def _round_integers(model: LpModel) -> None:
    """Whole people are whole: the solver's 11.9999999 (within its integrality tolerance) is 12,
    so that the schedule, its costs and its classes are read as the integers they stand for."""
    for var in [*model.enrol.values(), *model.classes.values()]:
        if var.varValue is not None:
            var.varValue = float(round(var.varValue))


def value(expr: Any) -> float:
    return _or_zero(pulp.value(expr))


def _or_zero(v: float | None) -> float:
    return 0.0 if v is None else float(v)


@dataclass(frozen=True)
class MipInfo:
    """How a MILP ended: HiGHS's relative gap and its dual bound on the objective (VND)."""

    gap: float | None
    bound_vnd: float | None


def mip_info(model: LpModel, solver: str) -> MipInfo:
    """HiGHS's own gap and bound; None for CBC, whose bound PuLP does not read."""
    h = getattr(model.prob, "solverModel", None)
    if solver.lower() != "highs" or h is None:
        return MipInfo(None, None)
    info = h.getInfo()
    gap = float(info.mip_gap)
    bound = float(info.mip_dual_bound)
    return MipInfo(
        gap if math.isfinite(gap) else None,
        bound * MONEY_UNIT_VND if math.isfinite(bound) else None,
    )


def optimize(
    scenario: Scenario | None,
    *,
    ceiling_vnd: float | None = None,
    solver: str = "highs",
    continuous: bool = False,
    dynamics: Dynamics | None = None,
    buffers: dict[str, float] | None = None,
) -> Plan:
    """The minimum-cost enrolment schedule meeting every target, or an explained failure with
    the best-effort schedule.

    By default the schedule is whole people (per pool × course × intake year) in whole classes
    (where a course is paid per class); ``continuous`` asks for the linear relaxation instead
    (fractions of people: faster, and with duals for every limit).

    The LP is built from ``dynamics`` (compiled from ``scenario`` when not given); given both,
    they must agree (:func:`simopt.dynamics.engine_dynamics`), and ``scenario`` may be None.
    """
    d = engine_dynamics(scenario, dynamics)
    model = build_lp(d, ceiling_vnd=ceiling_vnd, mode="min_shortfall", buffers=buffers)
    return plan_from(
        model, ceiling_vnd=ceiling_vnd, solver=solver, continuous=continuous, buffers=buffers
    )


def plan_from(
    model: LpModel,
    *,
    ceiling_vnd: float | None,
    solver: str,
    continuous: bool,
    buffers: dict[str, float] | None,
) -> Plan:
    """:func:`optimize`'s answer from its least-shortfall model, built (or reset:
    :class:`simopt.optimize.margins.MarginModel`) with ``ceiling_vnd`` and ``buffers`` and not
    yet solved. The model is solved in place: its shortfalls capped and its objective changed."""
    d = model.dynamics
    scenario = d.scenario
    integer = not continuous
    ceiling = ceiling_vnd if ceiling_vnd is not None else scenario.budget.ceiling_vnd_per_year
    common: dict[str, Any] = {
        "scenario": scenario.name,
        "solver": solver,
        "ceiling_vnd": ceiling,
        "integer": integer,
    }

    # 1. how close can the targets come? (continuous; always has an answer)
    status = run(model, solver)
    if status is not Status.OPTIMAL:
        return Plan(
            status=Status.NOT_SOLVED, message=not_solved_message(d, model, solver, status), **common
        )
    if not _reachable(model):
        return _infeasible(d, common, ceiling_vnd, solver, buffers, integer, rounding=False)

    # 2. the cheapest continuous schedule: the same model with nothing short
    for slack in model.shortfall.values():
        slack.upBound = 0.0
    assert model.weighted_cost is not None
    model.prob.setObjective(model.weighted_cost)
    status = run(model, solver)
    if status is Status.INFEASIBLE:
        # nothing was short a moment ago: only the solver's tolerances can say otherwise
        return _infeasible(d, common, ceiling_vnd, solver, buffers, integer, rounding=False)
    if status is not Status.OPTIMAL:
        return Plan(
            status=Status.NOT_SOLVED, message=not_solved_message(d, model, solver, status), **common
        )
    if not integer:
        # Everything about the plan is read now: pricing below re-solves the same model, which
        # overwrites the variables' values.
        parts = _read_plan(model)
        limits = binding_limits(model)
        return Plan(
            status=Status.OPTIMAL,
            message="every target is met in expectation at minimum cost",
            shadow_prices=price_constraints(model, solver, limits),
            **parts,
            **common,
        )

    # 3. whole people and whole classes
    prices = price_constraints(model, solver, [])  # the relaxation's duals: a MILP has none
    lp_objective = value(model.discounted_cost) * MONEY_UNIT_VND
    lp_cost = value(model.total_cost) * MONEY_UNIT_VND
    mip = build_lp(d, ceiling_vnd=ceiling_vnd, integer=True, buffers=buffers)
    # start from the relaxation rounded to the nearest person: where it keeps every limit the
    # solver has a schedule to improve on at once, where it does not the solver repairs it
    for key, var in mip.enrol.items():
        var.varValue = float(round(value(model.enrol[key])))
    for (c, y), n in mip.classes.items():
        size = scenario.courses[d.course_ids[c]].class_size or 1
        seated = sum(
            v.varValue or 0.0 for (_, cc, yy), v in mip.enrol.items() if (cc, yy) == (c, y)
        )
        n.varValue = float(math.ceil(seated / size))
    status = run(mip, solver, warm=True)
    if status is Status.INFEASIBLE:
        return _infeasible(d, common, ceiling_vnd, solver, buffers, integer, rounding=True)
    if status is not Status.OPTIMAL:
        message = not_solved_message(d, mip, solver, status)
        return Plan(
            status=Status.NOT_SOLVED,
            message=f"{message}; the continuous plan (--continuous) exists",
            **common,
        )
    parts = _read_plan(mip)
    limits = binding_limits(mip)
    unpriced = read_shadow_prices(mip, limits, priced=False)
    info = mip_info(mip, solver)
    # The premium is measured in the objective both minimise (the discounted cost; the nominal
    # cost without a discount rate), so that it is ≥ 0 but for the solvers' tolerances.
    premium = value(mip.discounted_cost) * MONEY_UNIT_VND - lp_objective
    if premium < 0 and -premium <= 1e-7 * max(lp_objective, 1.0):
        premium = 0.0
    return Plan(
        status=Status.OPTIMAL,
        message="every target is met in expectation at minimum cost, in whole people",
        shadow_prices=pd.concat([prices, unpriced], ignore_index=True)
        if not unpriced.empty
        else prices,
        lp_cost_vnd=lp_cost,
        rounding_premium_vnd=premium,
        mip_gap=info.gap,
        mip_bound_vnd=info.bound_vnd,
        **parts,
        **common,
    )


def _reachable(model: LpModel) -> bool:
    """Whether the least-shortfall solve left every target met (to the solver's tolerance)."""
    d = model.dynamics
    for tid, slack in model.shortfall.items():
        t = d.scenario.targets[tid]
        need = max(float(t.required(d.scenario.eligible_base(t))), 1.0)
        if value(slack) > PEOPLE_TOLERANCE * need:
            return False
    return True


def _read_plan(model: LpModel) -> dict[str, Any]:
    """A solved model's schedule and what follows from it, as Plan fields."""
    return {
        "total_cost_vnd": value(model.total_cost) * MONEY_UNIT_VND,
        "schedule": read_schedule(model),
        "costs": read_costs(model),
        "attainment": read_attainment(model),
        "classes": read_classes(model),
    }


def _infeasible(
    d: Dynamics,
    common: dict[str, Any],
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None,
    integer: bool,
    *,
    rounding: bool,
) -> Plan:
    """No plan meets every target: the best-effort schedule, the smallest ceiling that would do
    and why. ``rounding``: the continuous plan exists and only whole people fail.

    The diagnosis re-solves variants with one kind of limit lifted. Where the continuous
    program already falls short, its reason does not depend on rounding and the variants are
    solved continuous (fast); where only whole people fail, they are solved whole.
    """
    best_model = best_effort(
        d, ceiling_vnd=ceiling_vnd, solver=solver, buffers=buffers, integer=integer
    )
    best = read_attainment(best_model) if best_model is not None else pd.DataFrame()
    short = best
    if integer and not rounding:
        # Which targets cannot be met is the continuous program's to say: the whole-people best
        # effort stops within SHORTFALL_GAP and may leave a target a person short that the
        # limits would let it meet.
        short = best_attainment(d, ceiling_vnd=ceiling_vnd, solver=solver, buffers=buffers)
    smallest = smallest_ceiling(d, solver=solver, buffers=buffers, integer=integer)
    probe_integer = integer and rounding
    in_force = ceilings_in_force(d, ceiling_vnd)

    def solve_variant(variant: Dynamics, ceilings: bool) -> LpModel | None:
        return elastic(
            variant,
            ceiling_vnd=ceiling_vnd,
            solver=solver,
            buffers=buffers,
            integer=probe_integer,
            ceilings=ceilings,
        )

    def without(refs: Collection[CeilingRef]) -> bool:
        trial = elastic(
            d,
            ceiling_vnd=ceiling_vnd,
            solver=solver,
            buffers=buffers,
            integer=probe_integer,
            lift=refs,
        )
        return trial is not None

    def need(ref: CeilingRef) -> float | None:
        if ref == YEARLY:
            return smallest
        return smallest_ceiling(
            d,
            solver=solver,
            buffers=buffers,
            integer=integer,
            minimise=ref,
            ceiling_vnd=ceiling_vnd,
        )

    def relaxed_best(variant: Dynamics) -> pd.DataFrame:
        return best_attainment(
            variant,
            ceiling_vnd=None,
            solver=solver,
            buffers=buffers,
            integer=probe_integer,
            ceilings=False,
        )

    why = explain_infeasible(
        d,
        solve=solve_variant,
        best=short,
        ceilings=in_force,
        ceiling_vnd=ceiling_vnd,
        lifted_feasible=without,
        ceiling_need=need,
        smallest_ceiling_vnd=smallest,
        margins=any(v > 0 for v in (buffers or {}).values()),
        relaxed_best=relaxed_best,
        rounding=rounding,
    )
    fields: dict[str, Any] = {}
    if best_model is not None:
        parts = _read_plan(best_model)
        fields = {
            "best_effort": True,
            "best_effort_cost_vnd": parts.pop("total_cost_vnd"),
            **parts,
        }
    return Plan(
        status=Status.INFEASIBLE,
        message=why.message,
        best_attainment=best if best_model is not None else None,
        smallest_ceiling_vnd=smallest,
        cause=why.cause,
        **fields,
        **common,
    )


def ceilings_in_force(d: Dynamics, ceiling_vnd: float | None) -> list[CeilingRef]:
    """Every kind of ceiling that limits spending, in the order a diagnosis names them."""
    b = d.scenario.budget
    out = []
    if ceiling_vnd is not None or b.ceiling_vnd_per_year is not None or b.ceiling_vnd_by_year:
        out.append(YEARLY)
    out += [CeilingRef("source", src) for src in b.source_ceilings_vnd_per_year]
    out += [CeilingRef("envelope", eid) for eid in b.envelopes]
    if b.total_ceiling_vnd is not None:
        out.append(CeilingRef("total"))
    return out


def project(
    scenario: Scenario | None, enrolments: Any, *, dynamics: Dynamics | None = None
) -> pd.DataFrame:
    """The expected attainment of any schedule (years × pools × courses array), by the same
    balance equations the optimiser plans with."""
    d = engine_dynamics(scenario, dynamics)
    model = build_lp(d, fixed_enrolments=enrolments)
    status = run(model, "highs")
    if status is not Status.OPTIMAL:
        raise SolverError(f"projecting a fixed schedule ended with status '{status}'")
    return read_attainment(model)


def best_effort(
    d: Dynamics,
    *,
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer: bool = False,
    ceilings: bool = True,
    lift: Collection[CeilingRef] = (),
    probe: bool = False,
) -> LpModel | None:
    """The schedule minimising the weighted relative shortfall under the constraints, and among
    those the cheapest, solved (None if the solver failed). ``ceilings=False``: with no budget
    ceiling at all; ``lift``: without the ceilings named. In whole people: see
    :func:`_whole_best_effort`.

    ``probe``: only to tell whether every target can be met; then the least-cost pass runs only
    if nothing falls short, with the shortfall fixed at 0 (whole people look for an exact 0).
    """
    if integer and not probe:
        return _whole_best_effort(
            d, ceiling_vnd=ceiling_vnd, solver=solver, buffers=buffers, ceilings=ceilings, lift=lift
        )
    model = build_lp(
        d,
        ceiling_vnd=ceiling_vnd,
        mode="min_shortfall",
        buffers=buffers,
        integer=integer,
        ceilings=ceilings,
        lift=lift,
    )
    if run(model, solver, nodes=BEST_EFFORT_NODES) is not Status.OPTIMAL:
        return None
    assert model.shortfall_objective is not None and model.weighted_cost is not None
    # whole people: the second pass starts from the first pass's schedule, which meets its
    # limits, so that a node limit can only improve on it
    if not probe:
        # second pass: the cheapest schedule with that shortfall
        best = value(model.shortfall_objective)
        return _cheapest_within(model, best + 1e-9 + 1e-7 * abs(best), solver, warm=integer)
    if not _reachable(model):
        return model
    for slack in model.shortfall.values():
        slack.upBound = 0.0
    model.prob.setObjective(model.weighted_cost)
    if run(model, solver, nodes=BEST_EFFORT_NODES, warm=integer) is not Status.OPTIMAL:
        return None
    return model


def _whole_best_effort(
    d: Dynamics,
    *,
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None,
    ceilings: bool,
    lift: Collection[CeilingRef],
) -> LpModel | None:
    """The best effort in whole people: the cheapest schedule found whose shortfall is within
    :data:`SHORTFALL_GAP` of the continuous least shortfall (a bound no schedule beats). Where
    whole people cannot come that close (a small budget buys people in lumps), the least
    shortfall they reach is found first and the cheapest schedule within the gap of it next,
    starting from the first."""
    options: dict[str, Any] = {
        "ceiling_vnd": ceiling_vnd,
        "buffers": buffers,
        "ceilings": ceilings,
        "lift": lift,
    }
    relaxed = best_effort(d, solver=solver, **options)
    if relaxed is None:
        return None
    assert relaxed.shortfall_objective is not None
    bound = value(relaxed.shortfall_objective)
    near = _cheapest_within(
        build_lp(d, mode="min_shortfall", integer=True, **options), bound + SHORTFALL_GAP, solver
    )
    if near is not None:
        return near
    model = build_lp(d, mode="min_shortfall", integer=True, **options)
    assert model.shortfall_objective is not None
    status = run(model, solver, nodes=BEST_EFFORT_NODES, gap_abs=SHORTFALL_GAP)
    if status is not Status.OPTIMAL:
        return None
    found = value(model.shortfall_objective)
    return _cheapest_within(model, found + SHORTFALL_GAP, solver, warm=True)


def _cheapest_within(
    model: LpModel, limit: float, solver: str, *, warm: bool = False
) -> LpModel | None:
    """The cheapest schedule of a shortfall model whose weighted shortfall is at most ``limit``
    (``warm``: start from the schedule the model holds, which meets that limit)."""
    assert model.shortfall_objective is not None and model.weighted_cost is not None
    model.prob += model.shortfall_objective <= limit, "best_shortfall"
    model.prob.setObjective(model.weighted_cost)
    if run(model, solver, nodes=BEST_EFFORT_NODES, warm=warm) is not Status.OPTIMAL:
        return None
    return model


def elastic(
    d: Dynamics,
    *,
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer: bool = False,
    ceilings: bool = True,
    lift: Collection[CeilingRef] = (),
) -> LpModel | None:
    """The cheapest schedule meeting every target under these limits, or None when a target
    falls short: asked as "least shortfall, then least cost", which never needs an infeasibility
    proof from the solver."""
    model = best_effort(
        d,
        ceiling_vnd=ceiling_vnd,
        solver=solver,
        buffers=buffers,
        integer=integer,
        ceilings=ceilings,
        lift=lift,
        probe=True,
    )
    return model if model is not None and _reachable(model) else None


def best_attainment(
    d: Dynamics,
    *,
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer: bool = False,
    ceilings: bool = True,
) -> pd.DataFrame:
    """Attainment of the best-effort schedule (:func:`best_effort`); empty if none was found."""
    model = best_effort(
        d,
        ceiling_vnd=ceiling_vnd,
        solver=solver,
        buffers=buffers,
        integer=integer,
        ceilings=ceilings,
    )
    return read_attainment(model) if model is not None else pd.DataFrame()


def smallest_ceiling(
    d: Dynamics,
    *,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer: bool = False,
    minimise: CeilingRef = YEARLY,
    ceiling_vnd: float | None = None,
) -> float | None:
    """The smallest value of one ceiling with which every target can be met, the others as they
    are: by default the smallest uniform yearly public ceiling. ``integer``: with whole people
    (the ceiling a whole-people plan needs, a little above the continuous one)."""
    if integer and (
        smallest_ceiling(
            d, solver=solver, buffers=buffers, minimise=minimise, ceiling_vnd=ceiling_vnd
        )
        is None
    ):
        return None  # no value does in fractions of people, so none does in whole people
    model = build_lp(
        d,
        mode="min_ceiling",
        buffers=buffers,
        integer=integer,
        minimise=minimise,
        ceiling_vnd=ceiling_vnd,
    )
    # a minimax of whole people proves its last đồng slowly: the best ceiling found within the
    # best effort's node limit is one that does (within the gap of the bound)
    if run(model, solver, nodes=BEST_EFFORT_NODES) is not Status.OPTIMAL:
        return None
    assert model.ceiling_var is not None
    return value(model.ceiling_var) * MONEY_UNIT_VND


# --------------------------------------------------------------------------- reading


def _class_parts(model: LpModel) -> dict[tuple[int, int, int], list[float]]:
    """Whole classes' cost per (pool, course, year index) and funding source, VND: each trainee's
    seat by the trainee's funding shares, the empty seats of the course-year by the mean shares
    of the pools the course is open to, spread over its trainees (as build_lp pays them)."""
    d = model.dynamics
    out: dict[tuple[int, int, int], list[float]] = {}
    for (c, y), var in model.classes.items():
        course = d.scenario.courses[d.course_ids[c]]
        assert course.class_size is not None
        seat = course.cost_vnd_per_class / course.class_size
        pools = {p: value(v) for (p, cc, yy), v in model.enrol.items() if (cc, yy) == (c, y)}
        trainees = math.fsum(pools.values())
        if trainees <= _EPS:
            continue
        empty = max(value(var) * course.class_size - trainees, 0.0)
        fill = class_fill_shares(d, c)
        for p, n in pools.items():
            if n <= _EPS:
                continue
            out[p, c, y] = [
                n * seat * float(d.funding[p, src]) + empty * seat * fill[src] * n / trainees
                for src in range(len(d.source_ids))
            ]
    return out


def _enrolled(model: LpModel) -> list[tuple[int, int, int, float]]:
    """(pool, course, year index, people) of every cell someone enrols in."""
    return [(p, c, y, value(var)) for (p, c, y), var in model.enrol.items() if value(var) > _EPS]


def _cost_items(model: LpModel) -> Callable[[int, int], list[tuple[int, str, float]]]:
    """``Dynamics.cost_items`` for the model's classes, each pool and course's worked out once
    (a schedule enrols them in several years)."""
    d = model.dynamics
    memo: dict[tuple[int, int], list[tuple[int, str, float]]] = {}

    def items(p: int, c: int) -> list[tuple[int, str, float]]:
        if (p, c) not in memo:
            memo[p, c] = d.cost_items(p, c, whole_classes=model.integer)
        return memo[p, c]

    return items


def read_schedule(model: LpModel) -> pd.DataFrame:
    """One row per intake year × pool × course with enrolments (see :class:`Plan`)."""
    d = model.dynamics
    cost_items = _cost_items(model)
    whole = _class_parts(model)
    n_src = len(d.source_ids)
    rows: list[list[Any]] = []
    for p, c, y, n in _enrolled(model):
        money = [0.0] * n_src
        for _, _, amount in cost_items(p, c):
            for src in range(n_src):
                money[src] += n * amount * float(d.funding[p, src])
        for src, vnd in enumerate(whole.get((p, c, y), [])):
            money[src] += vnd
        public = math.fsum(m for m, pub in zip(money, d.source_public, strict=True) if pub)
        people: float = float(round(n)) if model.integer else n
        rows.append(
            [
                d.years[y],
                d.pool_group[p],
                d.pool_ids[p],
                d.course_ids[c],
                people,
                math.fsum(money),
                public,
                *money,
            ]
        )
    columns = schedule_columns(d.source_ids)
    frame = pd.DataFrame(rows, columns=columns)
    if model.integer:
        frame["enrolments"] = frame["enrolments"].astype("int64")
    return frame.sort_values(["year", "group", "pool", "course"]).reset_index(drop=True)


def read_costs(model: LpModel) -> pd.DataFrame:
    """Spending by the year it falls in, per pool, course, item and funding source."""
    d = model.dynamics
    cost_items = _cost_items(model)
    whole = _class_parts(model)
    rows: list[dict[str, Any]] = []

    def put(year: int, p: int, c: int, item: str, src: int, vnd: float) -> None:
        rows.append(
            {
                "year": year,
                "group": d.pool_group[p],
                "pool": d.pool_ids[p],
                "course": d.course_ids[c],
                "item": item,
                "funding_source": d.source_ids[src],
                "public": d.source_public[src],
                "cost_vnd": vnd,
            }
        )

    for p, c, y0, n in _enrolled(model):
        for k, item, amount in cost_items(p, c):
            for src, share in enumerate(d.funding[p]):
                if share > 0:
                    put(d.years[y0] + k, p, c, item, src, n * float(share) * amount)
        for src, vnd in enumerate(whole.get((p, c, y0), [])):
            if vnd > 0:
                put(d.years[y0], p, c, "classes", src, vnd)
    # the sittings of those in training on 1 January are the plan's to pay, as in build_lp
    for cohort in d.carried:
        for yi, n in enumerate(cohort.profile.sittings):
            for src, share in enumerate(d.funding[cohort.pool]):
                if n and share > 0:
                    vnd = cohort.people * n * d.exam_fee_vnd * float(share)
                    put(d.years[0] + yi, cohort.pool, cohort.course, "exam_fees", src, vnd)
    return pd.DataFrame(rows, columns=COST_COLUMNS)


def read_classes(model: LpModel) -> pd.DataFrame:
    """Per intake year and course with trainees: the classes they fill. Whole classes in a
    whole-people plan (the solver's where a course is paid per class, else the fewest that seat
    everyone); in a continuous plan the fraction of a class its cost pays for. No class size:
    classes empty."""
    d = model.dynamics
    trainees: dict[tuple[int, int], float] = {}
    for _, c, y, n in _enrolled(model):
        trainees[y, c] = trainees.get((y, c), 0.0) + n
    rows = []
    for (y, c), n in sorted(trainees.items()):
        size = d.scenario.courses[d.course_ids[c]].class_size
        classes: float | None = None
        if size is not None:
            if (c, y) in model.classes:
                classes = value(model.classes[c, y])
            elif model.integer:
                classes = float(math.ceil(n / size - 1e-9))
            else:
                classes = n / size
        rows.append(
            {
                "year": d.years[y],
                "course": d.course_ids[c],
                "trainees": float(round(n)) if model.integer else n,
                "class_size": size,
                "classes": classes,
            }
        )
    frame = pd.DataFrame(rows, columns=CLASSES_COLUMNS)
    frame["class_size"] = frame["class_size"].astype("Int64")
    if model.integer:
        frame["trainees"] = frame["trainees"].astype("int64")
        frame["classes"] = pd.array(
            [None if v is None or pd.isna(v) else int(v) for v in frame["classes"]], dtype="Int64"
        )
    else:
        frame["classes"] = frame["classes"].astype("float64")
    return frame


def read_attainment(model: LpModel) -> pd.DataFrame:
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    for tid, t in d.scenario.targets.items():
        for y, year in enumerate(d.years):
            attained = _or_zero(model.attained_value(tid, y))
            base = _or_zero(model.base_value(tid, y))
            required = float(t.required(base))
            rows.append(
                {
                    "target": tid,
                    "target_year": t.year,
                    "year": year,
                    "min_level": t.min_level,
                    "attained_people": attained,
                    "base_people": base,
                    "attained_share": attained / base if base > 0 else float("nan"),
                    "required_share": t.share,
                    "required_count": t.min_count,
                    "shortfall_people": max(required - attained, 0.0),
                    "met": attained >= required - 1e-6 * max(1.0, required),
                }
            )
    return pd.DataFrame(rows)


def schedule_enrolments(d: Dynamics, schedule: pd.DataFrame) -> Any:
    """A plan's schedule as the (years, pools, courses) array ``build_lp`` projects."""
    out = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for r in schedule.to_dict("records"):
        y, p, c = (
            d.years.index(int(r["year"])),
            d.pool_index(r["pool"]),
            d.course_ids.index(r["course"]),
        )
        out[y, p, c] += float(r["enrolments"])
    return out


SHADOW_PRICE_COLUMNS = ["kind", "name", "year", "value_vnd", "meaning"]

_LIMIT_MEANING = {
    "available": "VND saved overall for one more person of this level free to enrol here",
    "capacity": "VND saved overall for one more seat in this course this year",
}


@dataclass(frozen=True)
class BindingLimit:
    """An availability or capacity row the plan fills to the brim."""

    kind: str
    """``"available"`` (every free person of a level in a pool-year enrolled) or ``"capacity"``
    (every seat of a course-year taken)."""
    name: str
    year: int
    row: pulp.LpConstraint


def binding_limits(model: LpModel) -> list[BindingLimit]:
    """The availability and capacity rows the solved schedule meets with equality (a whole-people
    schedule: that leave no room for one more person).

    Only rows through which someone is enrolled count: a level with nobody free and nobody
    enrolled is binding on paper, but there is no min(X, n) there to bias the expectation.
    """
    d = model.dynamics
    room = 1.0 - _EPS if model.integer else None
    # every enrolment once, by the rows it passes through (fsum: exact in any order)
    by_level: dict[tuple[int, int, int], list[float]] = {}
    by_course: dict[tuple[int, int], list[float]] = {}
    for (p, c, y), var in model.enrol.items():
        x = value(var)
        by_level.setdefault((p, int(d.entry[c]), y), []).append(x)
        by_course.setdefault((c, y), []).append(x)
    out: list[BindingLimit] = []
    for (p, lvl, y), row in model.availability_rows.items():
        intake = math.fsum(by_level.get((p, lvl, y), []))
        if _at_limit(row, intake, room):
            out.append(BindingLimit("available", f"{d.pool_ids[p]} L{lvl}", d.years[y], row))
    for (c, y), row in model.capacity_rows.items():
        intake = math.fsum(by_course.get((c, y), []))
        if _at_limit(row, intake, room):
            out.append(BindingLimit("capacity", d.course_ids[c], d.years[y], row))
    return out


def _at_limit(row: pulp.LpConstraint, intake: float, room: float | None) -> bool:
    # Rows are ``intake - limit <= 0`` in people. A vertex meets its binding rows to within the
    # solver's feasibility tolerance (about 1e-7), far below a fraction of a person; a schedule
    # of whole people is at its limit when not one more person fits (``room``).
    slack = -value(row)
    if intake <= _EPS:
        return False
    return slack < room if room is not None else slack <= _EPS * max(1.0, intake)


def price_constraints(model: LpModel, solver: str, limits: list[BindingLimit]) -> pd.DataFrame:
    """Shadow prices of the true cost: re-solve with the discounted cost alone and read its duals.

    The plan keeps the tie-broken schedule (the caller has read it already). The tie-break's
    duals are not costs: in a plan where a 2025 count is met by people the 2030 count needs
    anyway, one more person by 2025 only moves 16 million VND five years earlier, which the
    tie-break values at 8 VND while the cost does not change at all. The tie-broken schedule is
    a pure-cost optimum too (it could give up at most the tie-break's weight, 1e-7 a year of
    the horizon relative; on the shipped scenarios both solves cost the same to the đồng), so
    the pure-cost duals are valid prices at the plan: by complementary slackness they pair with
    any optimal schedule. Where the LP is degenerate they are one valid choice among several,
    each between the left and right marginal costs.
    """
    assert model.discounted_cost is not None
    model.prob.setObjective(model.discounted_cost)
    if run(model, solver) is not Status.OPTIMAL:
        # cannot happen for a model just solved with a nearly equal objective; should it, the
        # plan stands and only its prices are left out
        return read_shadow_prices(model, limits, priced=False)
    return read_shadow_prices(model, limits)


def read_shadow_prices(
    model: LpModel, limits: list[BindingLimit] | None = None, *, priced: bool = True
) -> pd.DataFrame:
    """Duals in planners' words (in the objective's VND: discounted if a rate is set).

    ``limits`` adds one row per binding availability or capacity row. Unpriced (a MIP, or a
    failed re-solve), only those rows are given, with a NaN value: they still say where the
    expected plan is at a limit.
    """
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    if priced:
        for tid, row in model.target_rows.items():
            t = d.scenario.targets[tid]
            base = _or_zero(model.base_value(tid, d.years.index(t.year)))
            pi = float(row.pi or 0.0)
            rows.append(
                {
                    "kind": "target_share",
                    "name": tid,
                    "year": t.year,
                    "value_vnd": pi * MONEY_UNIT_VND * base / 100.0,
                    "meaning": "VND more for one more percentage point of this target",
                }
            )
        for tid, row in model.target_count_rows.items():
            t = d.scenario.targets[tid]
            rows.append(
                {
                    "kind": "target_count",
                    "name": tid,
                    "year": t.year,
                    "value_vnd": float(row.pi or 0.0) * MONEY_UNIT_VND,
                    "meaning": "VND more for one more person in this target's minimum count",
                }
            )
        for year, row in model.ceiling_rows.items():
            rows.append(
                {
                    "kind": "ceiling",
                    "name": "public_ceiling",
                    "year": year,
                    "value_vnd": -float(row.pi or 0.0),
                    "meaning": "VND saved overall per extra VND of this year's ceiling",
                }
            )
        for (year, src), row in model.source_ceiling_rows.items():
            rows.append(
                {
                    "kind": "source_ceiling",
                    "name": d.source_ids[src],
                    "year": year,
                    "value_vnd": -float(row.pi or 0.0),
                    "meaning": "VND saved overall per extra VND this source may spend this year",
                }
            )
        b = d.scenario.budget
        for eid, row in model.envelope_rows.items():
            rows.append(
                {
                    "kind": "envelope",
                    "name": eid,
                    "year": b.envelopes[eid].last_year,
                    "value_vnd": -float(row.pi or 0.0),
                    "meaning": "VND saved overall per extra VND of this envelope",
                }
            )
        if model.total_row is not None:
            rows.append(
                {
                    "kind": "total_ceiling",
                    "name": "total_ceiling",
                    "year": max(model.cost_by_year),
                    "value_vnd": -float(model.total_row.pi or 0.0),
                    "meaning": "VND saved overall per extra VND of the total ceiling",
                }
            )
    for limit in limits or []:
        rows.append(
            {
                "kind": limit.kind,
                "name": limit.name,
                "year": limit.year,
                # a ``<=`` row of a minimisation has pi <= 0: minus it is the saving
                "value_vnd": -float(limit.row.pi or 0.0) * MONEY_UNIT_VND
                if priced
                else float("nan"),
                "meaning": _LIMIT_MEANING[limit.kind],
            }
        )
    return pd.DataFrame(rows, columns=SHADOW_PRICE_COLUMNS)


__all__ = [
    "SOLVERS",
    "SOURCE_PREFIX",
    "SolverError",
    "best_attainment",
    "best_effort",
    "optimize",
    "plan_from",
    "project",
    "smallest_ceiling",
]
