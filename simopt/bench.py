"""``make bench``: speed figures, each beside a baseline measured in the same process.

Machines here are shared and noisy, so figures are medians and ratios, printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from simopt.dynamics import compile_dynamics
from simopt.optimize import optimize
from simopt.optimize.frontier import Frontier, naive_frontier_point
from simopt.scenario import Scenario, load_scenario


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_optimize(scenario: Scenario, repeats: int) -> None:
    optimize(scenario)  # warm imports and solver
    t = _median_seconds(lambda: optimize(scenario), repeats)
    print(f"optimize({scenario.name}): median {t * 1e3:.1f} ms over {repeats} runs (goal < 50 ms)")


def bench_frontier(scenario: Scenario, n_ceilings: int, naive_sample: int) -> None:
    d = compile_dynamics(scenario)
    probe = Frontier(d)
    smallest = probe.smallest_ceiling_vnd or 1e11
    ceilings = np.linspace(0.25 * smallest, 2.0 * smallest, n_ceilings)

    start = time.perf_counter()
    frontier = Frontier(d)
    rows = [frontier.solve_at(c) for c in ceilings]
    fast_total = time.perf_counter() - start
    fast_per = fast_total / n_ceilings
    n_feasible = sum(bool(r["feasible"]) for r in rows)

    sample = ceilings[:: max(1, n_ceilings // naive_sample)][:naive_sample]
    start = time.perf_counter()
    naive_feasible = [naive_frontier_point(scenario, c, solver="cbc") for c in sample]
    naive_per = (time.perf_counter() - start) / len(sample)
    fast_sample = [bool(frontier.solve_at(c)["feasible"]) for c in sample]
    agree = naive_feasible == fast_sample

    print(
        f"ceiling frontier ({scenario.name}, {n_ceilings} ceilings from "
        f"{ceilings[0]:.3g} to {ceilings[-1]:.3g} VND, {n_feasible} feasible):"
    )
    print(
        f"  built once, HiGHS warm re-solves: {fast_total * 1e3:.0f} ms in all, "
        f"{fast_per * 1e3:.2f} ms a ceiling (model build included)"
    )
    print(
        f"  naive (rebuild PuLP model, solve with CBC), {len(sample)} of the ceilings: "
        f"{naive_per * 1e3:.1f} ms a ceiling"
    )
    print(
        f"  ratio naive / fast: {naive_per / fast_per:.0f}x (goal ≥ 20x); "
        f"feasibility agrees on the sample: {agree}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simopt.bench", description=__doc__)
    parser.add_argument("--scenario", default="scenarios/long_an.yaml")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--ceilings", type=int, default=200)
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=20,
        help="ceilings solved the naive way for the baseline (default 20)",
    )
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    bench_optimize(scenario, args.repeats)
    bench_frontier(scenario, args.ceilings, args.naive_sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
