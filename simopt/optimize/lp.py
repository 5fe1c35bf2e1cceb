"""The linear program, built with PuLP from compiled dynamics. Pure: no solving, no I/O.

Variables: enrolments ``x[p, c, y]`` (pool × course × intake year) and the expected head count
``L[p, l, y]`` of each pool at each level at the end of each year. The level balance, the
availability of people to enrol, capacities, budget ceilings (yearly, per funding source, over
spans of years and in total) and targets are the constraints; the objective is the (optionally
discounted) total cost. With ``integer`` the enrolments are whole people and, where a course has
a per-class cost, the classes ``n[c, y]`` are whole classes paid per class (a MILP); the head
counts stay expectations.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import pulp

from simopt.dynamics import N_LEVELS, Dynamics
from simopt.optimize.handover import Handover

# Among plans of equal cost prefer later spending (money kept is money that can still be
# redirected); small enough never to trade against a real VND. It does move the duals, though
# (delaying 16 million VND by 5 years is worth 8 "VND" to it), so solve.py prices the constraints
# with ``discounted_cost`` alone.
LATENESS_TIE_BREAK = 1e-7

MONEY_UNIT_VND = 1e6
"""The LP counts money in millions of VND: coefficients near 1–100 and ceilings near 1e4–1e5
keep the simplex well scaled (in plain VND they span 1e0–1e11)."""

SHORTFALL_SCALE = 1e4
"""Weight of a target's whole requirement in the shortfall objective: a person short weighs about
1 rather than 1e-5, far above the solvers' optimality tolerances."""


@dataclass(frozen=True)
class CeilingRef:
    """One kind of budget ceiling: ``kind`` "yearly" (public spending in each year: the
    scenario's yearly ceilings or ``ceiling_vnd``), "source" (one funding source in each year,
    ``name`` its id), "envelope" (a span of years, ``name`` the envelope's id) or "total" (public
    spending over every year the plan spends in)."""

    kind: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


YEARLY = CeilingRef("yearly")
TOTAL = CeilingRef("total")


@dataclass
class LpModel:
    """A built problem and the handles needed to read or re-solve it."""

    dynamics: Dynamics
    prob: pulp.LpProblem
    enrol: dict[tuple[int, int, int], pulp.LpVariable]
    """(pool, course, year index) → enrolments."""
    level: dict[tuple[int, int, int], pulp.LpAffineExpression | pulp.LpVariable]
    """(pool, level, year index) → expected head count at the end of the year."""
    cost_by_year: dict[int, pulp.LpAffineExpression]
    """Calendar year → public cost falling in it, in MONEY_UNIT_VND."""
    cost_by_year_source: dict[tuple[int, int], pulp.LpAffineExpression]
    total_cost: pulp.LpAffineExpression
    target_rows: dict[str, pulp.LpConstraint] = field(default_factory=dict)
    target_count_rows: dict[str, pulp.LpConstraint] = field(default_factory=dict)
    ceiling_rows: dict[int, pulp.LpConstraint] = field(default_factory=dict)
    """Calendar year → the yearly public ceiling's row (or the ceiling variable's)."""
    source_ceiling_rows: dict[tuple[int, int], pulp.LpConstraint] = field(default_factory=dict)
    envelope_rows: dict[str, pulp.LpConstraint] = field(default_factory=dict)
    """Envelope id → its row: spending over its span ≤ its ceiling."""
    total_row: pulp.LpConstraint | None = None
    integer: bool = False
    """Whole people and whole classes (a MILP)."""
    availability_rows: dict[tuple[int, int, int], pulp.LpConstraint] = field(default_factory=dict)
    """(pool, level, year index) → enrolments from that level ≤ the people free to enrol."""
    capacity_rows: dict[tuple[int, int], pulp.LpConstraint] = field(default_factory=dict)
    """(course, year index) → enrolments ≤ seats."""
    shortfall: dict[str, pulp.LpVariable] = field(default_factory=dict)
    classes: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    """(course, year index) → whole classes, for courses paid per class (``integer`` only)."""
    ceiling_var: pulp.LpVariable | None = None
    """``mode="min_ceiling"``: the ceiling being minimised (see ``build_lp``'s ``minimise``)."""
    weighted_cost: pulp.LpAffineExpression | None = None
    """The cost objective: discounted, with the lateness tie-break."""
    discounted_cost: pulp.LpAffineExpression | None = None
    """The discounted cost alone, without the tie-break: the objective whose duals are priced
    (the tie-break's own marginal value is not a cost anyone pays)."""
    shortfall_objective: pulp.LpAffineExpression | None = None
    handover: Handover | None = None
    """The model's matrix as last handed to HiGHS, kept for its next solve."""
    target_pools: dict[str, list[int]] = field(default_factory=dict, repr=False)
    """Target id → indices of its pools, as first looked up."""

    def attained(self, target_id: str, year_index: int) -> pulp.LpAffineExpression:
        """Expected people at or above the target's level among its pools at a year's end."""
        return pulp.lpSum(self._attained_terms(target_id, year_index))

    def base(self, target_id: str, year_index: int) -> pulp.LpAffineExpression:
        """Expected eligible people among the target's pools at a year's end."""
        return pulp.lpSum(self._base_terms(target_id, year_index))

    def attained_value(self, target_id: str, year_index: int) -> float | None:
        """``pulp.value(self.attained(…))`` of the solved model (None before a solve), without
        building the expression: reading hundreds of targets' attainment every round of the
        robust loop spent more on building sums than the solver on solving."""
        return _value_of_sum(self._attained_terms(target_id, year_index))

    def base_value(self, target_id: str, year_index: int) -> float | None:
        """``pulp.value(self.base(…))``, as :meth:`attained_value`."""
        return _value_of_sum(self._base_terms(target_id, year_index))

    def _attained_terms(self, target_id: str, year_index: int) -> list[Any]:
        t = self.dynamics.scenario.targets[target_id]
        pools = self._pools(target_id)
        return [
            self.level[p, lvl, year_index] for p in pools for lvl in range(t.min_level, N_LEVELS)
        ]

    def _base_terms(self, target_id: str, year_index: int) -> list[Any]:
        pools = self._pools(target_id)
        return [self.level[p, lvl, year_index] for p in pools for lvl in range(N_LEVELS)]

    def _pools(self, target_id: str) -> list[int]:
        if target_id not in self.target_pools:
            self.target_pools[target_id] = _target_pool_indices(self.dynamics, target_id)
        return self.target_pools[target_id]


def _value_of_sum(terms: list[Any]) -> float | None:
    """``pulp.value(pulp.lpSum(terms))``, added up in the same order with the same coefficients
    (a variable met twice counts twice), so the very same float."""
    if not all(isinstance(v, pulp.LpVariable) for v in terms):
        return pulp.value(pulp.lpSum(terms))  # type: ignore[no-any-return]
    counts: dict[pulp.LpVariable, int] = {}
    for v in terms:
        counts[v] = counts.get(v, 0) + 1
    total = 0.0
    for v, n in counts.items():
        if v.varValue is None:
            return None
        total += v.varValue * n
    return total


def _target_pool_indices(d: Dynamics, target_id: str) -> list[int]:
    s = d.scenario
    return [d.pool_index(pid) for pid in s.target_pools(s.targets[target_id])]


def build_lp(
    d: Dynamics,
    *,
    ceiling_vnd: float | None = None,
    integer: bool = False,
    mode: str = "min_cost",
    fixed_enrolments: Any = None,
    buffers: dict[str, float] | None = None,
    ceilings: bool = True,
    lift: Collection[CeilingRef] = (),
    minimise: CeilingRef = YEARLY,
) -> LpModel:
    """Build the problem.

    ``mode``: ``"min_cost"`` (targets are hard), ``"min_shortfall"`` (targets may fall short, the
    weighted relative shortfall is minimised first and cost second) or ``"min_ceiling"`` (the
    ceiling ``minimise`` names is a variable and is minimised: by default one uniform yearly
    public ceiling; the other ceilings stay as they are).
    ``ceiling_vnd`` overrides the scenario's yearly public ceiling for every year.
    ``integer``: whole people, and whole classes where a course is paid per class.
    ``fixed_enrolments`` (years × pools × courses) turns the LP into the expected projection of
    that schedule: enrolments fixed, no targets, ceilings, seats or availability imposed.
    ``buffers`` asks, per target id, for that many people above the requirement (a margin
    learnt from simulation, so that the target holds with a stated probability).
    ``ceilings=False`` leaves every budget ceiling out (to tell whether they are what binds);
    ``lift`` leaves out only the ceilings named (to tell which of them binds).
    """
    projecting = fixed_enrolments is not None
    integer = integer and not projecting
    s = d.scenario
    years = d.years
    n_y = len(years)
    prob = pulp.LpProblem(f"simopt_{s.name}_{mode}", pulp.LpMinimize)
    queued = d.queued_people
    # the cohorts in training on 1 January: constants, by (pool, level, year index)
    carried_out: dict[tuple[int, int, int], float] = {}
    carried_in: dict[tuple[int, int, int], float] = {}
    carried_pipe: dict[tuple[int, int, int], float] = {}
    for cohort in d.carried:
        lo, hi = d.entry[cohort.course], d.target[cohort.course]
        for y in range(n_y):
            got = cohort.people * cohort.profile.certified[y]
            carried_out[cohort.pool, lo, y] = carried_out.get((cohort.pool, lo, y), 0.0) + got
            carried_in[cohort.pool, hi, y] = carried_in.get((cohort.pool, hi, y), 0.0) + got
            pipe_c = cohort.people * cohort.profile.in_pipeline[y]
            carried_pipe[cohort.pool, lo, y] = carried_pipe.get((cohort.pool, lo, y), 0.0) + pipe_c

    enrol: dict[tuple[int, int, int], pulp.LpVariable] = {}
    for p in range(d.n_pools):
        for c in range(d.n_courses):
            if not d.allowed[p, c]:
                continue
            for y in range(n_y):
                name = f"x_{d.pool_ids[p]}_{d.course_ids[c]}_{years[y]}"
                if projecting:
                    fixed = float(fixed_enrolments[y, p, c])
                    enrol[p, c, y] = pulp.LpVariable(name, fixed, fixed)
                else:
                    cat = pulp.LpInteger if integer else pulp.LpContinuous
                    # people queued for a seat are part of the first intake
                    low = float(queued[p, c]) if y == 0 else 0.0
                    if integer:
                        low = math.ceil(low - 1e-9)
                    enrol[p, c, y] = pulp.LpVariable(name, low, cat=cat)

    def cohorts(p: int, y: int, courses: Iterable[int]) -> Iterable[tuple[int, int, int]]:
        """(course, intake year index, offset) of cohorts whose fate falls in year y."""
        for c in courses:
            prof = d.profiles[p][c]
            for k in range(prof.years):
                if y - k >= 0 and (p, c, y - k) in enrol:
                    yield c, y - k, k

    by_entry = {
        lvl: [c for c in range(d.n_courses) if d.entry[c] == lvl] for lvl in range(N_LEVELS)
    }
    by_target = {
        lvl: [c for c in range(d.n_courses) if d.target[c] == lvl] for lvl in range(N_LEVELS)
    }

    level: dict[tuple[int, int, int], pulp.LpAffineExpression | pulp.LpVariable] = {}
    availability_rows: dict[tuple[int, int, int], pulp.LpConstraint] = {}
    pipe: dict[tuple[int, int, int], pulp.LpAffineExpression] = {}
    free: dict[tuple[int, int, int], pulp.LpAffineExpression] = {}
    cells = [(p, lvl) for p in range(d.n_pools) for lvl in range(N_LEVELS)]
    prev_level: dict[tuple[int, int], Any] = {c: float(d.start_levels[c]) for c in cells}
    start_pipe = d.carried_pipeline()
    prev_pipe: dict[tuple[int, int], Any] = {c: float(start_pipe[c]) for c in cells}
    for y in range(n_y):
        after: dict[tuple[int, int], pulp.LpAffineExpression] = {}
        for p in range(d.n_pools):
            keep = 1.0 - float(d.attrition[p])
            for lvl in range(N_LEVELS):
                courses_out = by_entry[lvl]
                # people of this level can enrol only if free (not already in a course)
                intake = [enrol[p, c, y] for c in courses_out if (p, c, y) in enrol]
                if intake and not projecting:
                    first_month = min(d.intake_month[c] for c in courses_out)
                    reach = d.survival(p, first_month - 1)
                    availability_rows[p, lvl, y] = _add(
                        prob,
                        pulp.lpSum(intake) <= reach * (prev_level[p, lvl] - prev_pipe[p, lvl]),
                        f"available_{d.pool_ids[p]}_L{lvl}_{years[y]}",
                    )
                out = pulp.lpSum(
                    d.profiles[p][c].certified[k] * enrol[p, c, y0]
                    for c, y0, k in cohorts(p, y, courses_out)
                )
                into = pulp.lpSum(
                    d.profiles[p][c].certified[k] * enrol[p, c, y0]
                    for c, y0, k in cohorts(p, y, by_target[lvl])
                )
                after[p, lvl] = (
                    keep * prev_level[p, lvl]
                    - out
                    + into
                    - carried_out.get((p, lvl, y), 0.0)
                    + carried_in.get((p, lvl, y), 0.0)
                )
                pipe[p, lvl, y] = pulp.lpSum(
                    d.profiles[p][c].in_pipeline[k] * enrol[p, c, y0]
                    for c, y0, k in cohorts(p, y, courses_out)
                ) + carried_pipe.get((p, lvl, y), 0.0)
                free[p, lvl, y] = after[p, lvl] - pipe[p, lvl, y]
        for p in range(d.n_pools):
            for lvl in range(N_LEVELS):
                expr = after[p, lvl] + float(d.hires[p] * d.hire_mix[p, lvl])
                for src, dst, rate in d.promotions:
                    if src == p:
                        expr = expr - rate * free[p, lvl, y]
                    if dst == p:
                        expr = expr + rate * free[src, lvl, y]
                var = pulp.LpVariable(f"L_{d.pool_ids[p]}_{lvl}_{years[y]}")
                prob += var == expr, f"balance_{d.pool_ids[p]}_L{lvl}_{years[y]}"
                level[p, lvl, y] = var
        prev_level = {key: level[key[0], key[1], y] for key in prev_level}
        prev_pipe = {key: pipe[key[0], key[1], y] for key in prev_pipe}

    # capacity: seats a year per course
    capacity_rows: dict[tuple[int, int], pulp.LpConstraint] = {}
    for c in range(d.n_courses):
        cap = d.capacity[c]
        if cap is None or projecting:
            continue
        for y in range(n_y):
            row = [enrol[p, c, y] for p in range(d.n_pools) if (p, c, y) in enrol]
            if row:
                capacity_rows[c, y] = _add(
                    prob, pulp.lpSum(row) <= cap, f"capacity_{d.course_ids[c]}_{years[y]}"
                )

    # whole classes: at most class_size trainees a class, paid per class. Only courses with a
    # per-class cost need the variable; elsewhere the class count is ceil(trainees / size) and
    # costs nothing, so it is read off the schedule instead of burdening the MILP.
    classes: dict[tuple[int, int], pulp.LpVariable] = {}
    if integer:
        for c, cid in enumerate(d.course_ids):
            size = s.courses[cid].class_size
            if size is None or not s.courses[cid].cost_vnd_per_class:
                continue
            for y in range(n_y):
                row = [enrol[p, c, y] for p in range(d.n_pools) if (p, c, y) in enrol]
                if not row:
                    continue
                n = pulp.LpVariable(f"classes_{cid}_{years[y]}", 0, cat=pulp.LpInteger)
                classes[c, y] = n
                prob += pulp.lpSum(row) <= size * n, f"classes_{cid}_{years[y]}"

    # costs by the calendar year they fall in, and by funding source
    cost_terms: dict[tuple[int, int], dict[pulp.LpVariable, float]] = {}

    def pay(year: int, src: int, var: pulp.LpVariable, vnd: float) -> None:
        terms = cost_terms.setdefault((year, src), {})
        terms[var] = terms.get(var, 0.0) + vnd / MONEY_UNIT_VND

    for (p, c, y0), var in enrol.items():
        for k, _, amount in d.cost_items(p, c, whole_classes=integer):
            for src, share in enumerate(d.funding[p]):
                if share:
                    pay(years[y0] + k, src, var, amount * share)
    for (c, y), n in classes.items():
        # Each trainee's seat (a class's cost over its size) is paid like the rest of the
        # trainee's costs, by the trainee's group's shares; the empty seats of the last class
        # by the mean shares of the pools the course is open to. (Splitting them by who sits in
        # the class would multiply two variables.) Every source's part stays ≥ 0 and the parts
        # add up to the classes paid.
        per_class = s.courses[d.course_ids[c]].cost_vnd_per_class
        size = s.courses[d.course_ids[c]].class_size
        assert size is not None
        seat = per_class / size
        for src, mean in enumerate(class_fill_shares(d, c)):
            if mean:
                pay(years[y], src, n, per_class * mean)
            for p in range(d.n_pools):
                if (p, c, y) in enrol and d.funding[p, src] != mean:
                    pay(years[y], src, enrol[p, c, y], seat * (d.funding[p, src] - mean))
    carried_cost = {key: vnd / MONEY_UNIT_VND for key, vnd in d.carried_costs().items()}
    cost_by_year_source = {
        key: pulp.LpAffineExpression(list(terms.items()), constant=carried_cost.get(key, 0.0))
        for key, terms in cost_terms.items()
    }
    for key, const in carried_cost.items():
        if key not in cost_by_year_source:
            cost_by_year_source[key] = pulp.LpAffineExpression(constant=const)
    cost_years = sorted({yr for yr, _ in cost_by_year_source} | set(years))
    cost_by_year = {
        yr: pulp.lpSum(
            e for (yy, src), e in cost_by_year_source.items() if yy == yr and d.source_public[src]
        )
        for yr in cost_years
    }
    total_cost = pulp.lpSum(cost_by_year_source.values())

    model = LpModel(d, prob, enrol, level, cost_by_year, cost_by_year_source, total_cost)
    model.classes = classes
    model.availability_rows = availability_rows
    model.capacity_rows = capacity_rows
    model.integer = integer
    if ceilings and not projecting:
        _add_ceilings(model, ceiling_vnd, mode, set(lift), minimise)

    # targets: share of the eligible people of that year, and minimum counts
    weights = []
    for tid, t in {} if projecting else s.targets.items():
        y = years.index(t.year)
        attained = model.attained(tid, y)
        margin = float((buffers or {}).get(tid, 0.0))
        slack = None
        if mode == "min_shortfall":
            slack = pulp.LpVariable(f"shortfall_{tid}", 0)
            model.shortfall[tid] = slack
            need = max(float(t.required(d.scenario.eligible_base(t))), 1.0)
            weights.append(slack * (SHORTFALL_SCALE / need))
        if t.share is not None:
            expr = attained - t.share * model.base(tid, y)
            if slack is not None:
                expr = expr + slack
            model.target_rows[tid] = _add(prob, expr >= _share_rhs(margin), f"target_{tid}")
        if t.min_count is not None:
            expr = attained + (slack if slack is not None else 0)
            model.target_count_rows[tid] = _add(
                prob, expr >= _count_rhs(t.min_count, margin), f"target_count_{tid}"
            )

    start = years[0]
    end = years[-1]
    rate = s.budget.discount_rate_per_year
    weighted_cost = pulp.lpSum(
        e * ((1.0 + rate) ** -(yr - start)) * (1.0 + LATENESS_TIE_BREAK * max(end - yr, 0))
        for (yr, _), e in cost_by_year_source.items()
    )
    model.weighted_cost = weighted_cost
    model.discounted_cost = pulp.lpSum(
        e * ((1.0 + rate) ** -(yr - start)) for (yr, _), e in cost_by_year_source.items()
    )
    # The other modes are lexicographic: solve.py minimises their objective first, then fixes
    # it and minimises cost, rather than mixing both in one badly scaled objective.
    if mode == "min_shortfall":
        model.shortfall_objective = pulp.lpSum(weights)
        prob.setObjective(model.shortfall_objective)
    elif mode == "min_ceiling" and model.ceiling_var is not None:
        prob.setObjective(pulp.LpAffineExpression([(model.ceiling_var, 1.0)]))
    else:
        prob.setObjective(weighted_cost)
    return model


def _share_rhs(margin: float) -> float:
    """A share row's right-hand side: people above ``share`` × eligible."""
    return margin


def _count_rhs(min_count: float, margin: float) -> float:
    return min_count + margin


def set_margins(model: LpModel, buffers: dict[str, float] | None) -> None:
    """Give a built model's target rows other margins (``buffers``, as in :func:`build_lp`),
    leaving everything else as built: the rows then hold exactly what a model built with these
    margins would (the same right-hand side, computed the same way)."""
    s = model.dynamics.scenario
    for tid, row in model.target_rows.items():
        _set_rhs(row, _share_rhs(float((buffers or {}).get(tid, 0.0))))
    for tid, row in model.target_count_rows.items():
        min_count = s.targets[tid].min_count
        assert min_count is not None
        _set_rhs(row, _count_rhs(min_count, float((buffers or {}).get(tid, 0.0))))


def _set_rhs(row: pulp.LpConstraint, rhs: float) -> None:
    # as pulp.LpConstraint.__init__ computes it from ``expr >= rhs``
    row.constant = row.expr.constant
    row.constant -= rhs


def class_fill_shares(d: Dynamics, course: int) -> list[float]:
    """Per funding source, its share of a course's empty class seats: the mean funding share of
    the pools the course is open to."""
    open_to = d.allowed[:, course]
    if not open_to.any():
        return [0.0] * len(d.source_ids)
    return [float(d.funding[open_to, src].mean()) for src in range(len(d.source_ids))]


def envelope_years(d: Dynamics, first_year: int, last_year: int) -> list[int]:
    """The years the plan spends in that an envelope's span covers."""
    return [yr for yr in d.cost_years if first_year <= yr <= last_year]


def _add_ceilings(
    model: LpModel,
    ceiling_vnd: float | None,
    mode: str,
    lift: set[CeilingRef],
    minimise: CeilingRef,
) -> None:
    """Every budget ceiling the scenario (or ``ceiling_vnd``) sets, but those in ``lift``; in
    ``min_ceiling`` mode the one ``minimise`` names is a variable. Yearly, envelope and total
    ceilings count public sources only: trainees' contributions are not the province's money. A
    source ceiling counts that source, public or not."""
    d, prob = model.dynamics, model.prob
    b = d.scenario.budget
    free = None
    if mode == "min_ceiling":
        free = pulp.LpVariable(f"ceiling_{minimise.kind}_{minimise.name}".rstrip("_"), 0)
        model.ceiling_var = free

    def cap(ref: CeilingRef, vnd: float | None) -> Any:
        if ref == minimise and free is not None:
            return free
        return None if vnd is None or ref in lift else vnd / MONEY_UNIT_VND

    for yr in sorted(model.cost_by_year):
        limit = cap(YEARLY, ceiling_vnd if ceiling_vnd is not None else b.ceiling_for(yr))
        if limit is not None:
            model.ceiling_rows[yr] = _add(prob, model.cost_by_year[yr] <= limit, f"ceiling_{yr}")
        for src_id in d.source_ids:
            src = d.source_ids.index(src_id)
            limit = cap(CeilingRef("source", src_id), b.source_ceilings_vnd_per_year.get(src_id))
            if limit is not None and (yr, src) in model.cost_by_year_source:
                model.source_ceiling_rows[yr, src] = _add(
                    prob,
                    model.cost_by_year_source[yr, src] <= limit,
                    f"ceiling_{src_id}_{yr}",
                )
    for eid, env in b.envelopes.items():
        limit = cap(CeilingRef("envelope", eid), env.ceiling_vnd)
        if limit is None:
            continue
        span = envelope_years(d, env.first_year, env.last_year)
        if env.source is None:
            spent = pulp.lpSum(model.cost_by_year[yr] for yr in span if yr in model.cost_by_year)
        else:
            src = d.source_ids.index(env.source)
            spent = pulp.lpSum(
                model.cost_by_year_source[yr, src]
                for yr in span
                if (yr, src) in model.cost_by_year_source
            )
        model.envelope_rows[eid] = _add(prob, spent <= limit, f"envelope_{eid}")
    limit = cap(TOTAL, b.total_ceiling_vnd)
    if limit is not None:
        model.total_row = _add(
            prob, pulp.lpSum(model.cost_by_year.values()) <= limit, "ceiling_total"
        )


def _add(prob: pulp.LpProblem, constraint: pulp.LpConstraint, name: str) -> pulp.LpConstraint:
    prob += constraint, name
    return prob.constraints[name]
