"""Stated limits on the size of what simopt reads and computes, each with its reason.

Without them a mistyped path (``/dev/zero``), a generated file gone wrong or a slip of the finger
(``--reps 100000000``) ends in minutes of work, gigabytes of memory and a MemoryError; with them it
is one line and exit 2 before any of that starts. Each limit is far above any real plan, so that
none is ever met by a planner's scenario: the numbers in the reasons say how far.
"""

from __future__ import annotations

import os

from simopt.errors import ScenarioError

# --------------------------------------------------------------------------- files

MAX_SCENARIO_BYTES = 5 * 2**20
"""5 MiB. A province's scenario is 10–40 kB and the generated national one (34 provinces) is under
1 MB; PyYAML reads about 2 MB a second, so this also bounds the time to read a file to seconds."""

MAX_SCHEDULE_BYTES = 64 * 2**20
"""64 MiB. An enrolment schedule has a row per year, pool, course and funding source: the national
scenario's is some tens of thousands of rows (a few MB); 64 MiB is a million rows with room."""

# --------------------------------------------------------------------------- scenario contents

MAX_POOLS = 2_000
"""Pools in all groups. The generated national scenario (34 provinces) has 238; the 63 provinces
before the 2025 merger at ~15 pools each would be ~950. Optimising 3,000 pools took 212 s and
2.2 GB, so the limit also keeps the LP to minutes."""

MAX_COURSES = 50
"""Courses. A province offers a handful (one per level step and a few variants)."""

MAX_HORIZON_YEARS = 50
"""Years from start_year to end_year inclusive. Plans run 5–15 years; 50 is two generations of
civil servants, past which the dynamics (constant rates) mean nothing."""

MAX_TARGETS = 5_000
"""Targets. A province states ~10 (groups × milestones); 500 provinces' worth still fits."""

MAX_PROMOTIONS = 20_000
"""Promotion flows between pools: ~10 a pool at the pool limit."""

MAX_SCHEDULE_CELLS = 2_000_000
"""Pools × courses × years: the enrolment variables of the LP and the cells of every schedule
array. The national scenario has ~24,000 (238 × 10 × 10); a million cells is already an LP of
minutes, so the three limits above may not all be met at once."""

# --------------------------------------------------------------------------- simulation memory

MAX_SIMULATION_BYTES = 4 * 2**30
"""4 GiB: the most a simulation may hold, whatever the machine (see :func:`simulation_budget`)."""

SIMULATION_MEMORY_SHARE = 0.5
"""Of the physical memory, the share a simulation may take: the rest is the system's and the
result tables'. Used when it is below :data:`MAX_SIMULATION_BYTES`."""

FAST_ENGINE_BLOCK = 250
"""Replications the fast engine draws as one block (``simopt.simulate.run.BLOCK``): each worker
holds one block's state arrays at a time."""

_STATE_ARRAYS = 4
"""(pools, levels) int64 arrays a replication's state holds at once in the fast engine (levels,
free people, moves, cohorts in training): an upper estimate."""


class LimitError(ScenarioError):
    """Input beyond a stated limit of this module. A :class:`ScenarioError`, so anything that
    already reports those (the CLI: one line, exit 2) reports these too."""


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the system does not say (e.g. Windows)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:
        return None
    return int(pages) * int(page_size)


def simulation_budget() -> int:
    """Bytes a simulation may use: :data:`MAX_SIMULATION_BYTES`, or less on a small machine."""
    memory = physical_memory()
    if memory is None:
        return MAX_SIMULATION_BYTES
    return min(MAX_SIMULATION_BYTES, int(memory * SIMULATION_MEMORY_SHARE))


def simulation_bytes(
    reps: int,
    n_pools: int,
    n_levels: int,
    n_years: int,
    n_targets: int,
    *,
    keep_replications: bool = False,
    n_courses: int = 0,
    n_counters: int = 6,
    workers: int = 1,
) -> int:
    """Estimated peak bytes of a simulation, from the arrays it allocates.

    The recorder keeps (reps, targets, years) float64 twice (attained and base), (reps, cost
    years) float64 twice (all and public spending; cost years ≤ years + 1 here, a sitting can fall
    after the horizon) and (reps, years) float64 (enrolled). Keeping replications adds (reps,
    years, pools, levels) int32, ``n_counters`` (reps, years, pools) int32 and (reps, years,
    pools) float64. Each worker of the fast engine holds a block of 250 replications of
    (pools, levels) and (pools, courses) int64 state.
    """
    reps, workers = max(reps, 0), max(workers, 1)
    cost_years = n_years + 1
    per_rep = 8 * (2 * n_targets * n_years + 2 * cost_years + n_years)
    if keep_replications:
        per_rep += n_years * n_pools * (4 * n_levels + 4 * n_counters + 8)
    block = min(reps, FAST_ENGINE_BLOCK)
    per_worker = 8 * block * (_STATE_ARRAYS * n_pools * n_levels + n_pools * n_courses)
    per_worker += 8 * block * n_counters * n_pools
    return reps * per_rep + workers * per_worker


def check_replications(
    reps: int,
    n_pools: int,
    n_levels: int,
    n_years: int,
    n_targets: int,
    *,
    keep_replications: bool = False,
    n_courses: int = 0,
    workers: int = 1,
) -> None:
    """Raise :class:`LimitError` when a simulation of ``reps`` replications would need more
    memory than :func:`simulation_budget`, before any of it is allocated.

    ``--reps 100000000`` on Long An would otherwise ask numpy for 74.5 GiB for its first array.
    The message says how many replications fit.
    """
    need = simulation_bytes(
        reps,
        n_pools,
        n_levels,
        n_years,
        n_targets,
        keep_replications=keep_replications,
        n_courses=n_courses,
        workers=workers,
    )
    budget = simulation_budget()
    if need <= budget:
        return
    fits = _most_reps(
        budget, n_pools, n_levels, n_years, n_targets, keep_replications, n_courses, workers
    )
    kept = " with --keep-replications" if keep_replications else ""
    advice = f"at most {fits:,} fit" if fits > 0 else "not even one fits; the scenario is too large"
    raise LimitError(
        f"{reps:,} replications{kept} would need about {_gib(need)} of memory, more than the "
        f"{_gib(budget)} a simulation may use ({advice})",
        file="command line",
        path="--reps",
        show_value=False,
    )


def _most_reps(
    budget: int,
    n_pools: int,
    n_levels: int,
    n_years: int,
    n_targets: int,
    keep: bool,
    n_courses: int,
    workers: int,
) -> int:
    """The largest number of replications within ``budget`` (bisection: the cost is monotone)."""

    def size(r: int) -> int:
        return simulation_bytes(
            r,
            n_pools,
            n_levels,
            n_years,
            n_targets,
            keep_replications=keep,
            n_courses=n_courses,
            workers=workers,
        )

    lo, hi = 0, 1
    while size(hi) <= budget:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def _gib(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.0f} MiB"


def count_rule(what: str, count: int, limit: int, reason: str) -> str:
    """The one rule every count limit states: the count, the limit and why."""
    return f"{count:,} {what}; a scenario may have at most {limit:,} ({reason}; simopt.limits)"
