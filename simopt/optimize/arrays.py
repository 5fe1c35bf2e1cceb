"""The minimum-cost program as arrays, solved by HiGHS directly: one evaluation of a sweep.

The program of ``build_lp(d, mode="min_cost", integer=False)`` (continuous, in expectation,
every budget ceiling, targets hard, the lateness tie-break and discounting in the objective),
built with numpy and handed to ``highspy`` in one call. An experiment sweep asks thousands of
times for the minimum cost and what each target attains; ``optimize(continuous=True)`` also
builds the PuLP model, reads a whole :class:`Plan` and prices the constraints with more solves,
some 25 times the work (Long An: 2 ms here against 50 ms).

The head counts ``L[p, l, y]`` are not columns here: the level balance fixes them as an affine
function of the enrolments, ``L_y = A L_{y-1} + D_y x + h`` (attrition, promotions of the people
not in a course, certifications, hires), which is substituted into the rows that read them (the
people free to enrol, the targets). That is the same program with its equality rows solved
beforehand, as HiGHS's presolve would do at more than the cost of the solve: Long An is 176 rows
× 150 columns, about 40 simplex iterations without presolve. The substitution runs in blocks of
pools (those promotions link share one), so that a national scenario grows block by block.

Columns are the enrolments ``x[p, c, y]`` of every allowed pool × course × intake year, then one
shortfall per target (held at 0 but in the fallback below). Money is in ``MONEY_UNIT_VND``.

As :func:`simopt.optimize.optimize` does, "infeasible" is never taken from a solver asked to
prove it outright: when the direct solve is not optimal, the least weighted shortfall is solved
(it always has an answer) and the targets are judged reachable as ``optimize`` judges them;
only then is the cheapest schedule with nothing short solved again.

Where the program has several cheapest schedules (a course that costs nothing, two pools alike
in everything a target counts), the cost is the same as ``optimize``'s but what a target attains
beyond its requirement may be another cheapest schedule's.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from simopt.dynamics import N_LEVELS, Dynamics
from simopt.optimize.lp import LATENESS_TIE_BREAK, MONEY_UNIT_VND, SHORTFALL_SCALE
from simopt.optimize.solve import PEOPLE_TOLERANCE, silence_highs_banner

PRESOLVE = "off"
"""HiGHS's presolve. Off: with the head counts substituted there is little left for it to
remove, and it would cost about twice the solve (Long An: 0.5 ms solved against 1.4 ms)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_INF = math.inf


@dataclass(frozen=True)
class MinimumCost:
    """The answer of one evaluation."""

    status: str
    """``"optimal"``, ``"infeasible"`` (no schedule meets every target under the limits) or
    ``"not_solved"`` (the solver gave no answer)."""
    cost_vnd: float | None
    """Total cost in VND, undiscounted, every funding source and every year the plan spends in
    (``Plan.total_cost_vnd``); None unless optimal."""
    attainment: dict[str, float]
    """Target id → the expected share of its eligible people at or above its level at the end of
    its year (for a target with a minimum count only: the expected people); NaN where nobody is
    eligible. Empty unless optimal."""


def minimum_cost(
    d: Dynamics, *, ceiling_vnd: float | None = None, buffers: dict[str, float] | None = None
) -> MinimumCost:
    """The minimum cost of meeting every target in expectation (fractions of people) and what
    each target then attains: ``optimize(scenario, continuous=True)``'s total cost and attainment
    at the targets' years, without its schedule tables and prices.

    ``ceiling_vnd`` overrides the yearly public ceiling of every year; ``buffers`` asks, per
    target id, for that many people above the requirement (as in ``build_lp``).
    """
    program = _build(d, ceiling_vnd=ceiling_vnd, buffers=buffers)
    h = _solver()
    upper = np.full(program.n_cols, _INF)
    upper[program.n_x :] = 0.0  # nothing may fall short
    _pass(h, program, program.weighted_cost, upper)
    status = _run(h)
    if status != "optimal":
        status = _least_shortfall_then_cost(h, program)
    if status != "optimal":
        return MinimumCost(status, None, {})
    x = np.asarray(h.getSolution().col_value)
    cost = (float(program.total_cost @ x) + program.fixed_cost) * MONEY_UNIT_VND
    return MinimumCost("optimal", cost, _attainment(program, x))


def _least_shortfall_then_cost(h: highspy.Highs, program: _Program) -> str:
    """``optimize``'s own way to an answer when the direct solve gave none: the least weighted
    shortfall first (never infeasible); if nothing is short, the cheapest schedule again."""
    short = np.arange(program.n_x, program.n_cols, dtype=np.int32)
    n_short = len(short)
    everything = np.arange(program.n_cols, dtype=np.int32)
    weights = np.zeros(program.n_cols)
    weights[short] = SHORTFALL_SCALE / program.need
    h.clearSolver()
    h.changeColsCost(program.n_cols, everything, weights)
    h.changeColsBounds(n_short, short, np.zeros(n_short), np.full(n_short, _INF))
    if _run(h) != "optimal":
        return "not_solved"
    x = np.asarray(h.getSolution().col_value)
    if np.any(x[short] > PEOPLE_TOLERANCE * program.need):
        return "infeasible"
    h.changeColsBounds(n_short, short, np.zeros(n_short), np.zeros(n_short))
    h.changeColsCost(program.n_cols, everything, program.weighted_cost)
    status = _run(h)
    return status if status in ("optimal", "infeasible") else "not_solved"


def _attainment(program: _Program, x: FloatArray) -> dict[str, float]:
    out: dict[str, float] = {}
    for tid, attained_of in program.attained.items():
        attained = attained_of.at(x)
        if tid in program.counts_only:
            out[tid] = attained
            continue
        base = program.base[tid].at(x)
        out[tid] = attained / base if base > 0 else math.nan
    return out


# --------------------------------------------------------------------------- the program


@dataclass(frozen=True)
class _People:
    """Expected people as an affine function of the enrolments: ``vals · x[cols] + const``."""

    cols: IntArray
    vals: FloatArray
    const: float

    def at(self, x: FloatArray) -> float:
        return float(self.vals @ x[self.cols]) + self.const


@dataclass
class _Rows:
    """Rows appended block by block, as (row, column, value) triplets and bounds."""

    rows: list[IntArray] = field(default_factory=list)
    cols: list[IntArray] = field(default_factory=list)
    vals: list[FloatArray] = field(default_factory=list)
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    n: int = 0

    def dense(self, block: FloatArray, cols: IntArray, lower: FloatArray, upper: FloatArray) -> int:
        """Rows given as a dense (rows × len(cols)) block over the columns ``cols``; the index
        of the first."""
        r, c = np.nonzero(block)
        first = self.n
        self.put(first + r, cols[c], block[r, c])
        self.lower.append(lower)
        self.upper.append(upper)
        self.n += len(lower)
        return first

    def put(self, rows: IntArray, cols: IntArray, vals: FloatArray) -> None:
        """More entries in rows already added (summed with any there)."""
        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(vals)

    def one(self, cols: IntArray, vals: FloatArray, lower: float, upper: float) -> None:
        self.dense(vals[None, :], cols, np.array([lower]), np.array([upper]))

    def matrix(self, n_cols: int) -> sp.csc_matrix:
        m = sp.csc_matrix(
            (np.concatenate(self.vals), (np.concatenate(self.rows), np.concatenate(self.cols))),
            shape=(self.n, n_cols),
        )
        m.sum_duplicates()
        m.eliminate_zeros()
        return m


@dataclass(frozen=True)
class _Program:
    matrix: sp.csc_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    n_x: int
    """Enrolment columns; the shortfalls follow."""
    weighted_cost: FloatArray
    """Objective per column: the discounted cost with the lateness tie-break."""
    total_cost: FloatArray
    """Undiscounted cost per column, every source."""
    need: FloatArray
    """People each target asks for at the start (at least 1): the scale of its shortfall."""
    attained: dict[str, _People]
    """Target id → people at or above its level, among its pools, at the end of its year."""
    base: dict[str, _People]
    """Target id → its eligible people at the end of its year."""
    counts_only: frozenset[str]
    lower: FloatArray
    """Lower bound per column: the people queued for a first intake, else 0."""
    fixed_cost: float = 0.0
    """Undiscounted cost of the sittings of those in training on 1 January (MONEY_UNIT_VND)."""

    @property
    def n_cols(self) -> int:
        return int(self.matrix.shape[1])


def _build(d: Dynamics, *, ceiling_vnd: float | None, buffers: dict[str, float] | None) -> _Program:
    s = d.scenario
    n_y = len(d.years)
    pairs = [(p, c) for p in range(d.n_pools) for c in range(d.n_courses) if d.allowed[p, c]]
    n_x = len(pairs) * n_y
    rows = _Rows()
    reach = _reach(d)
    blocks = [_HeadCounts(d, pools, pairs, reach, rows) for pools in _blocks(d, pairs)]

    for c in range(d.n_courses):
        cap = d.capacity[c]
        js = np.array([j for j, (_, cc) in enumerate(pairs) if cc == c], dtype=np.int64)
        if cap is None or not len(js):
            continue
        years = np.arange(n_y)
        seats = np.zeros((n_y, len(js) * n_y))
        seats[np.tile(years, len(js)), np.arange(seats.shape[1])] = 1.0
        cols = (js[:, None] * n_y + years[None, :]).ravel()
        rows.dense(seats, cols, np.full(n_y, -_INF), np.full(n_y, float(cap)))

    cost, paid = _costs(d, pairs)
    fixed = _carried_costs(d)
    if fixed.shape[0] > cost.shape[0]:  # a carried sitting after every enrolment's last cost
        extra = fixed.shape[0] - cost.shape[0]
        cost = np.concatenate([cost, np.zeros((extra, *cost.shape[1:]))])
        paid = np.concatenate([paid, np.zeros((extra, paid.shape[1]), dtype=bool)])
    fixed = np.concatenate([fixed, np.zeros((cost.shape[0] - fixed.shape[0], fixed.shape[1]))])
    paid |= fixed != 0
    _ceilings(d, rows, cost, paid, ceiling_vnd, fixed)

    # targets: per target the people at or above its level, the eligible, and the share row's
    # left-hand side (attained − share × eligible), all at the end of its year
    queries: list[tuple[list[int], int, FloatArray]] = []
    for t in s.targets.values():
        pools = [d.pool_index(pid) for pid in s.target_pools(t)]
        y = d.years.index(t.year)
        high = np.arange(N_LEVELS) >= t.min_level
        queries.append((pools, y, high.astype(float)))
        queries.append((pools, y, np.ones(N_LEVELS)))
        queries.append((pools, y, np.where(high, 1.0 - (t.share or 0.0), -(t.share or 0.0))))
    people = _people(blocks, queries)
    n_targets = len(s.targets)
    need = np.ones(n_targets)
    for i, (tid, t) in enumerate(s.targets.items()):
        attained, share = people[3 * i], people[3 * i + 2]
        margin = float((buffers or {}).get(tid, 0.0))
        need[i] = max(float(t.required(s.eligible_base(t))), 1.0)
        short = np.array([n_x + i], dtype=np.int64)
        if t.share is not None:
            cols = np.concatenate([share.cols, short])
            rows.one(cols, np.append(share.vals, 1.0), margin - share.const, _INF)
        if t.min_count is not None:
            cols = np.concatenate([attained.cols, short])
            lower = t.min_count + margin - attained.const
            rows.one(cols, np.append(attained.vals, 1.0), lower, _INF)

    start, end = d.years[0], d.years[-1]
    rate = s.budget.discount_rate_per_year
    weight = np.array(
        [
            ((1.0 + rate) ** -(yi)) * (1.0 + LATENESS_TIE_BREAK * max(end - (start + yi), 0))
            for yi in range(cost.shape[0])
        ]
    )
    n_cols = n_x + n_targets
    column_lower = np.zeros(n_cols)
    queued = d.queued_people
    for j, (p, c) in enumerate(pairs):
        column_lower[j * n_y] = queued[p, c]  # column j * n_y + 0: the first intake
    weighted = np.zeros(n_cols)
    weighted[:n_x] = np.einsum("y,ysx->x", weight, cost)
    total = np.zeros(n_cols)
    total[:n_x] = cost.sum(axis=(0, 1))
    return _Program(
        matrix=rows.matrix(n_cols),
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        n_x=n_x,
        weighted_cost=weighted,
        total_cost=total,
        need=need,
        attained={tid: people[3 * i] for i, tid in enumerate(s.targets)},
        base={tid: people[3 * i + 1] for i, tid in enumerate(s.targets)},
        counts_only=frozenset(tid for tid, t in s.targets.items() if t.share is None),
        lower=column_lower,
        fixed_cost=float(fixed.sum()),
    )


def _reach(d: Dynamics) -> FloatArray:
    """(pools, levels): the share of a level's people on 1 January still employed at the year's
    first intake from that level; NaN where the pool takes no course from it (no row limits
    enrolments from it)."""
    reach = np.full((d.n_pools, N_LEVELS), math.nan)
    for lvl in range(N_LEVELS):
        courses_out = [c for c in range(d.n_courses) if d.entry[c] == lvl]
        if not courses_out:
            continue
        first_month = min(d.intake_month[c] for c in courses_out)
        for p in range(d.n_pools):
            if d.allowed[p, courses_out].any():
                reach[p, lvl] = d.survival(p, first_month - 1)
    return reach


BLOCK_ENTRIES = 10_000
"""Largest (cells × enrolment columns) of one dense block of head counts; pools that
promotions link always share a block. Its arrays grow with the square of the pools in it, its
Python overhead with the number of blocks: Long An (49 cells × 140 columns) is one block, a
national scenario a block per province."""


def _blocks(d: Dynamics, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Pools in blocks: those that promotions link together, and as many more as fit."""
    root = list(range(d.n_pools))

    def find(p: int) -> int:
        while root[p] != p:
            p = root[p]
        return p

    for src, dst, _ in d.promotions:
        a, b = find(src), find(dst)
        root[max(a, b)] = min(a, b)
    linked: dict[int, list[int]] = {}
    for p in range(d.n_pools):
        linked.setdefault(find(p), []).append(p)
    courses = np.bincount(np.array([p for p, _ in pairs], dtype=np.int64), minlength=d.n_pools)
    n_y = len(d.years)
    blocks: list[list[int]] = []
    for pools in linked.values():
        if blocks:
            merged = blocks[-1] + pools
            if len(merged) * N_LEVELS * int(courses[merged].sum()) * n_y <= BLOCK_ENTRIES:
                blocks[-1] = merged
                continue
        blocks.append(pools)
    return blocks


class _HeadCounts:
    """The head counts of a block of pools as affine functions of their enrolments, and the rows
    that limit enrolments to the people free to enrol.

    Cell ``i * N_LEVELS + l`` is the block's ``i``-th pool at level ``l``. ``H[y]`` is
    (cells × enrolment columns + 1): ``H[y, :, :-1] @ x[cols] + H[y, :, -1]`` are the cells'
    expected people at the end of year ``y`` (build_lp's ``L``).
    """

    def __init__(
        self,
        d: Dynamics,
        pools: list[int],
        pairs: list[tuple[int, int]],
        reach: FloatArray,
        rows: _Rows,
    ) -> None:
        n_y = len(d.years)
        years = np.arange(n_y)
        self.pools = pools
        local = {p: i for i, p in enumerate(pools)}
        mine = [j for j, (p, _) in enumerate(pairs) if p in local]
        n_pairs = len(mine)
        n_cells = len(pools) * N_LEVELS
        n_cols = n_pairs * n_y
        self.cols = (np.array(mine, dtype=np.int64)[:, None] * n_y + years[None, :]).ravel()
        self.cell = {p: slice(i * N_LEVELS, (i + 1) * N_LEVELS) for i, p in enumerate(pools)}

        # what a person enrolled in (pair, intake year) does in each later year of the horizon
        owner = np.array([local[pairs[j][0]] for j in mine], dtype=np.int64)
        course = [pairs[j][1] for j in mine]
        entry = owner * N_LEVELS + np.array([d.entry[c] for c in course], dtype=np.int64)
        target = owner * N_LEVELS + np.array([d.target[c] for c in course], dtype=np.int64)
        certified = np.zeros((n_pairs, n_y))
        in_course = np.zeros((n_pairs, n_y))
        for jl, j in enumerate(mine):
            prof = d.profiles[pairs[j][0]][pairs[j][1]]
            n = min(prof.years, n_y)
            certified[jl, :n] = prof.certified[:n]
            in_course[jl, :n] = prof.in_pipeline[:n]
        jj, y0, k = (
            a.ravel() for a in np.meshgrid(np.arange(n_pairs), years, years, indexing="ij")
        )
        cohort = y0 + k < n_y
        jj, y0, k = jj[cohort], y0[cohort], k[cohort]
        col, year = jj * n_y + y0, y0 + k
        # one more column: the constant (the people there without any enrolment)
        step = np.zeros((n_y, n_cells, n_cols + 1))  # into − out, then hires
        step[year, entry[jj], col] = -certified[jj, k]
        step[year, target[jj], col] = certified[jj, k]  # a course never ends where it starts
        pipe = np.zeros((n_y, n_cells, n_cols + 1))
        pipe[year, entry[jj], col] = in_course[jj, k]

        # L_y = (I + moves)(keep·L_{y-1} + into − out) − moves·pipe + hires, where the moves are
        # the promotions of the people not in a course, level kept
        moves = [(local[a], local[b], rate) for a, b, rate in d.promotions if a in local]
        # the cohorts in training on 1 January: constants
        for carried in d.carried:
            if carried.pool not in local:
                continue
            lo = local[carried.pool] * N_LEVELS + d.entry[carried.course]
            hi = local[carried.pool] * N_LEVELS + d.target[carried.course]
            got = carried.people * np.asarray(carried.profile.certified[:n_y])
            step[:, lo, -1] -= got
            step[:, hi, -1] += got
            pipe[:, lo, -1] += carried.people * np.asarray(carried.profile.in_pipeline[:n_y])
        if moves:
            step += _moved(step - pipe, moves)
        step[:, :, -1] += (d.hires[pools, None] * d.hire_mix[pools]).reshape(-1)
        keep = np.repeat(1.0 - d.attrition[pools], N_LEVELS)[:, None]
        start = np.zeros((n_cells, n_cols + 1))
        start[:, -1] = d.start_levels[pools].reshape(-1)
        start_pipe = np.zeros((n_cells, n_cols + 1))
        start_pipe[:, -1] = d.carried_pipeline()[pools].reshape(-1)
        self.H = np.empty((n_y, n_cells, n_cols + 1))
        before = start
        for y in range(n_y):
            stay = keep * before
            if moves:
                stay += _moved(stay, moves)
            self.H[y] = stay + step[y]
            before = self.H[y]

        # enrolments from a level ≤ reach × (people at that level − those still in a course), as
        # at the end of the previous year (the start in the first year)
        free = np.concatenate([(start - start_pipe)[None], self.H[:-1] - pipe[:-1]])
        by = reach[pools].reshape(-1)
        at = np.nonzero(~np.isnan(by))[0]
        if not len(at):
            return
        block = -by[at, None, None] * free[:, at, :].transpose(1, 0, 2)  # (cell, year, column)
        first = rows.dense(
            block[:, :, :-1].reshape(-1, n_cols),
            self.cols,
            np.full(len(at) * n_y, -_INF),
            -block[:, :, -1].ravel(),
        )
        row_of_cell = np.full(n_cells, -1, dtype=np.int64)
        row_of_cell[at] = first + np.arange(len(at)) * n_y
        rows.put(
            row_of_cell[entry].repeat(n_y) + np.tile(years, n_pairs), self.cols, np.ones(n_cols)
        )


def _moved(people: FloatArray, moves: list[tuple[int, int, float]]) -> FloatArray:
    """What promotions do to people by cell (axis -2), each counted before any moves: ``moves``
    is (from, to, rate) by local pool index."""
    out = np.zeros_like(people)
    for src, dst, rate in moves:
        a = slice(src * N_LEVELS, (src + 1) * N_LEVELS)
        b = slice(dst * N_LEVELS, (dst + 1) * N_LEVELS)
        leaving = rate * people[..., a, :]
        out[..., a, :] -= leaving
        out[..., b, :] += leaving
    return out


def _people(
    blocks: list[_HeadCounts], queries: list[tuple[list[int], int, FloatArray]]
) -> list[_People]:
    """For each query (pools, year index, weight per level): Σ over the pools and levels of the
    weight × L[p, l, y], in the enrolments."""
    cols: list[list[IntArray]] = [[] for _ in queries]
    vals: list[list[FloatArray]] = [[] for _ in queries]
    const = np.zeros(len(queries))
    for block in blocks:
        weights = np.zeros((len(queries), block.H.shape[1]))
        for q, (pools, _, per_level) in enumerate(queries):
            for p in pools:
                if p in block.cell:
                    weights[q, block.cell[p]] += per_level
        asked = [int(q) for q in np.nonzero(weights.any(axis=1))[0]]
        for y in {queries[q][1] for q in asked}:
            at_y = [q for q in asked if queries[q][1] == y]
            # einsum, not @: a threaded BLAS takes milliseconds over a product this small on
            # a busy machine (measured 30 ms against 0.4 for 60 × 112 × 321)
            values = np.einsum("qc,cx->qx", weights[at_y], block.H[y])
            for q, row in zip(at_y, values, strict=True):
                cols[q].append(block.cols)
                vals[q].append(row[:-1])
                const[q] += row[-1]
    out = []
    for q in range(len(queries)):
        if not cols[q]:  # weights of nothing but zeros
            out.append(_People(np.zeros(0, dtype=np.int64), np.zeros(0), 0.0))
            continue
        all_cols, all_vals = np.concatenate(cols[q]), np.concatenate(vals[q])
        nz = all_vals != 0.0
        out.append(_People(all_cols[nz], all_vals[nz], float(const[q])))
    return out


def _costs(d: Dynamics, pairs: list[tuple[int, int]]) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Cost per person enrolled by (cost year index, source, enrolment column), in MONEY_UNIT_VND,
    and which (cost year, source) are paid at all (build_lp's ``cost_by_year_source`` keys)."""
    n_y = len(d.years)
    items = [d.cost_items(p, c) for p, c in pairs]
    tail = max((k for its in items for k, _, _ in its), default=0)
    per_year = np.zeros((len(pairs), tail + 1))  # VND per person by year after intake
    for j, its in enumerate(items):
        for offset, _, amount in its:
            per_year[j, offset] += amount
    years = np.arange(n_y)
    jj, y0, k = (
        a.ravel()
        for a in np.meshgrid(np.arange(len(pairs)), years, np.arange(tail + 1), indexing="ij")
    )
    shares = d.funding[[p for p, _ in pairs]][jj]  # (entries, sources)
    cost = np.zeros((n_y + tail, len(d.source_ids), len(pairs) * n_y))
    cost[y0 + k, :, jj * n_y + y0] = per_year[jj, k, None] * shares / MONEY_UNIT_VND
    paid = np.zeros((n_y + tail, len(d.source_ids)), dtype=bool)
    np.logical_or.at(paid, y0 + k, (per_year[jj, k, None] != 0) & (shares != 0))
    return cost, paid


def _carried_costs(d: Dynamics) -> FloatArray:
    """(cost year index, source) the carried cohorts' sittings cost, in MONEY_UNIT_VND."""
    items = d.carried_costs()
    n_years = max((year - d.years[0] + 1 for year, _ in items), default=0)
    fixed = np.zeros((n_years, len(d.source_ids)))
    for (year, src), vnd in items.items():
        fixed[year - d.years[0], src] += vnd / MONEY_UNIT_VND
    return fixed


def _ceilings(
    d: Dynamics,
    rows: _Rows,
    cost: FloatArray,
    paid: npt.NDArray[np.bool_],
    ceiling_vnd: float | None,
    fixed: FloatArray,
) -> None:
    """Every budget ceiling, as build_lp's ``_add_ceilings`` with nothing lifted: yearly,
    envelope and total ceilings count the public sources, a source ceiling its source."""
    b = d.scenario.budget
    n_y = len(d.years)
    start = d.years[0]
    n_cost_years = cost.shape[0]
    enrol = np.arange(cost.shape[2], dtype=np.int64)
    is_public = np.array(d.source_public, dtype=bool)
    public = cost[:, is_public, :].sum(axis=1)
    fixed_public = fixed[:, is_public].sum(axis=1)
    # the years build_lp keeps a public cost for: the horizon and any later year paid in
    years = [yi for yi in range(n_cost_years) if yi < n_y or paid[yi].any()]

    def limit(coefs: FloatArray, vnd: float, spent: float) -> None:
        rows.one(enrol, coefs, -_INF, vnd / MONEY_UNIT_VND - spent)

    for yi in years:
        yearly = ceiling_vnd if ceiling_vnd is not None else b.ceiling_for(start + yi)
        if yearly is not None:
            limit(public[yi], yearly, fixed_public[yi])
        for src, src_id in enumerate(d.source_ids):
            vnd = b.source_ceilings_vnd_per_year.get(src_id)
            if vnd is not None and paid[yi, src]:
                limit(cost[yi, src], vnd, fixed[yi, src])
    for env in b.envelopes.values():
        span = [
            yr - start
            for yr in d.cost_years
            if env.first_year <= yr <= env.last_year and yr - start < n_cost_years
        ]
        if env.source is None:
            limit(public[span].sum(axis=0), env.ceiling_vnd, fixed_public[span].sum())
        else:
            src = d.source_ids.index(env.source)
            limit(cost[span, src].sum(axis=0), env.ceiling_vnd, fixed[span, src].sum())
    if b.total_ceiling_vnd is not None:
        limit(public[years].sum(axis=0), b.total_ceiling_vnd, fixed_public[years].sum())


# --------------------------------------------------------------------------- solving

_local = threading.local()

_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
}


def _solver() -> highspy.Highs:
    """This thread's HiGHS, made once (making one costs more than a small solve). Each model is
    passed whole, so nothing of the previous solve carries over: the same question gets the
    same answer, whatever was asked before."""
    h: highspy.Highs | None = getattr(_local, "highs", None)
    if h is None or _local.pid != os.getpid():  # a forked worker makes its own
        silence_highs_banner()
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", PRESOLVE)
        _local.highs, _local.pid = h, os.getpid()
    return h


def _pass(h: highspy.Highs, program: _Program, cost: FloatArray, upper: FloatArray) -> None:
    m = program.matrix
    status = h.passModel(
        program.n_cols,
        m.shape[0],
        m.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        program.lower,
        upper,
        program.row_lower,
        program.row_upper,
        m.indptr.astype(np.int32),
        m.indices.astype(np.int32),
        m.data,
        # continuous; an array is needed all the same (this overload reads it whatever its size)
        np.zeros(program.n_cols, dtype=np.int32),
    )
    if status == highspy.HighsStatus.kError:
        # nothing of a model HiGHS refused may be solved, nor the previous one in its place
        h.clearModel()


def _run(h: highspy.Highs) -> str:
    h.run()
    return _STATUS.get(h.getModelStatus(), "not_solved")


__all__ = ["MinimumCost", "minimum_cost"]
