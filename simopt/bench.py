"""``make bench``: speed figures, each beside a baseline measured in the same process.

Machines here are shared and noisy, so figures are medians and ratios, printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.optimize import optimize
from simopt.optimize.frontier import Frontier, naive_frontier_point
from simopt.scenario import Scenario, load_scenario
from simopt.simulate import schedule_array, simulate
from simopt.simulate.engines import run_fast, run_simpy
from simopt.simulate.record import Recorder
from simopt.simulate.run import BLOCK


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_optimize(scenario: Scenario, repeats: int) -> None:
    optimize(scenario, continuous=True)  # warm imports and solver
    t = _median_seconds(lambda: optimize(scenario, continuous=True), repeats)
    print(
        f"optimize({scenario.name}, continuous): median {t * 1e3:.1f} ms over {repeats} runs "
        "(goal < 50 ms)"
    )
    whole = _median_seconds(lambda: optimize(scenario), max(3, repeats // 4))
    print(
        f"optimize({scenario.name}, whole people and classes, the default): median "
        f"{whole:.2f} s, {whole / t:.0f}x the continuous solve (goal < 2 s)"
    )


def bench_report(scenario: Scenario, reps: int, repeats: int) -> None:
    """What the hand-on files (workbook, charts, report.html) add to a plan run."""
    from simopt.evidence import gather_evidence
    from simopt.plan import robust_plan
    from simopt.reporting.data import from_robust
    from simopt.reporting.outputs import report_files

    start = time.perf_counter()
    r = robust_plan(scenario, confidence=0.9, reps=reps, seed=0)
    evidence = gather_evidence(scenario, r, seed=0, reps=reps, price_levels=None)
    planning = time.perf_counter() - start
    data = from_robust(r, scenario, evidence)
    report_files(data, "vi")  # warm matplotlib's fonts and openpyxl
    t = _median_seconds(lambda: report_files(from_robust(r, scenario, evidence), "vi"), repeats)
    print(
        f"report files (workbook, 3 charts, report.html; vi): median {t:.2f} s over {repeats} "
        f"runs, {t / planning:.0%} of the plan they report ({planning:.1f} s without the price "
        "ladder; goal: adds < 5 s)"
    )


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


class _RecordingRng:
    """A Generator stand-in that keeps every draw's arguments, to replay them bare."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def binomial(self, n: Any, p: Any) -> Any:
        self.calls.append(("binomial", (np.copy(n), np.copy(p))))
        return self.rng.binomial(n, p)

    def multinomial(self, n: Any, pvals: Any) -> Any:
        self.calls.append(("multinomial", (np.copy(n), np.copy(pvals))))
        return self.rng.multinomial(n, pvals)

    def random(self, shape: Any) -> Any:
        self.calls.append(("random", (shape,)))
        return self.rng.random(shape)


def bench_simulation(scenario: Scenario, reps_simpy: int, reps_parallel: int) -> None:
    d = compile_dynamics(scenario)
    plan = optimize(scenario)
    schedule = plan.schedule
    enrol = schedule_array(d, schedule)
    simulate(scenario, schedule, reps=3, seed=0, uncertainty="none")  # warm up

    per_rep = []
    rec = Recorder(d, reps_simpy, keep_replications=False)
    children = np.random.SeedSequence(0).spawn(reps_simpy)
    for i in range(reps_simpy):
        rng = np.random.default_rng(children[i])
        start = time.perf_counter()
        run_simpy(d, enrol, rng, rec, i)
        per_rep.append(time.perf_counter() - start)
    print(
        f"SimPy engine ({scenario.name}): median {statistics.median(per_rep) * 1e3:.2f} ms a "
        f"replication over {reps_simpy} (goal < 5 ms)"
    )

    timings = {}
    for workers in (1, 2):
        start = time.perf_counter()
        simulate(
            scenario,
            schedule,
            reps=reps_parallel,
            seed=1,
            workers=workers,
            dynamics=d,
            uncertainty="none",
        )
        timings[workers] = time.perf_counter() - start
    print(
        f"  {reps_parallel} replications: {timings[1]:.2f} s on 1 worker, {timings[2]:.2f} s "
        f"on 2 (speed-up {timings[1] / timings[2]:.2f}x; goal < 10 s)"
    )

    reps_fast = 2000
    start = time.perf_counter()
    simulate(
        scenario, schedule, reps=reps_fast, seed=2, engine="fast", dynamics=d, uncertainty="none"
    )
    fast = time.perf_counter() - start
    # the same draws, made bare: what numpy alone needs for this model's randomness
    recorder = _RecordingRng(np.random.default_rng(3))
    rec = Recorder(d, BLOCK, keep_replications=False)
    run_fast(d, enrol, recorder, rec, slice(0, BLOCK))  # type: ignore[arg-type]
    bare = np.random.default_rng(4)
    start = time.perf_counter()
    for _ in range(reps_fast // BLOCK):
        for name, call_args in recorder.calls:
            getattr(bare, name)(*call_args)
    draws = time.perf_counter() - start
    print(
        f"fast engine: {fast / reps_fast * 1e3:.3f} ms a replication ({reps_fast} reps); numpy "
        f"alone for the same draws: {draws / reps_fast * 1e3:.3f} ms; ratio "
        f"{fast / draws:.2f}x (goal ≤ 3x)"
    )


def bench_uncertainty(scenario: Scenario, reps: int, repeats: int) -> None:
    """The fast engine with each replication drawing its parameters against the same engine at
    the stated values, alternated in one process so that both see the same machine load."""
    d = compile_dynamics(scenario)
    schedule = optimize(scenario, dynamics=d).schedule
    u = scenario.uncertainties
    times: dict[str, list[float]] = {"none": [], "ranges": []}
    for _ in range(repeats):
        for mode in ("none", "ranges"):
            start = time.perf_counter()
            simulate(
                scenario, schedule, reps=reps, seed=5, engine="fast", dynamics=d, uncertainty=mode
            )
            times[mode].append(time.perf_counter() - start)
    none = statistics.median(times["none"]) / reps
    ranges = statistics.median(times["ranges"]) / reps
    print(
        f"parameter draws ({len(u.ranges)} ranges, {len(u.level_mixes)} level tables, "
        f"{len(u.correlations)} correlations), fast engine, {reps} reps, median of {repeats}: "
        f"{ranges * 1e3:.3f} ms a replication with draws, {none * 1e3:.3f} ms without; ratio "
        f"{ranges / none:.2f}x (goal ≤ 1.5x)"
    )


def bench_national(scenario_path: str, provinces: int, reps: int, workers: int) -> None:
    """The planning loop at a ministry's scale: a generated scenario of many provinces; one
    round of it beside its baselines (the model rebuilt, PuLP's hand-over, dense tallies)."""
    import tempfile
    from pathlib import Path
    from unittest import mock

    from simopt.national import write_national
    from simopt.optimize import handover
    from simopt.optimize.lp import build_lp
    from simopt.optimize.margins import MarginModel
    from simopt.optimize.solve import make_solver, run
    from simopt.plan import robust_plan

    with tempfile.TemporaryDirectory() as tmp:
        path = write_national(scenario_path, provinces, Path(tmp) / "national.yaml")
        scenario = load_scenario(path)
    d = compile_dynamics(scenario)
    margins = dict.fromkeys(scenario.targets, 20.0)

    kept = MarginModel(scenario, dynamics=d)
    start = time.perf_counter()
    kept.optimize({}, continuous=True)  # the first ask builds the model
    first = time.perf_counter() - start
    in_place = _median_seconds(lambda: kept.optimize(margins, continuous=True), 3)
    # the baseline: every round built the model afresh and PuLP handed it to HiGHS
    with mock.patch.object(handover, "handed_over", lambda _prob: False):
        rebuilt = _median_seconds(
            lambda: optimize(scenario, dynamics=d, buffers=margins, continuous=True), 1
        )
    model = build_lp(d, mode="min_shortfall", buffers=margins)
    n_rows, n_cols = len(model.prob.constraints), len(model.prob.variables())
    run(model, "highs")  # converts the matrix once
    ours = _median_seconds(lambda: run(model, "highs"), 3)
    pulps = _median_seconds(lambda: model.prob.solve(make_solver("highs")), 1)
    print(
        f"national scenario: {provinces} provinces, {len(scenario.pools())} pools, "
        f"{len(scenario.targets)} targets; its LP {n_rows:,} rows × {n_cols:,} columns"
    )
    print(
        f"  one round of the robust loop (optimise with new margins, continuous): model kept "
        f"{in_place:.2f} s, rebuilt and handed over by PuLP {rebuilt:.2f} s (ratio "
        f"{rebuilt / in_place:.1f}x); the first, which builds the model, {first:.2f} s"
    )
    print(
        f"  one solve handed to HiGHS as arrays {ours:.2f} s, through PuLP's hand-over "
        f"{pulps:.2f} s (ratio {pulps / ours:.1f}x)"
    )
    bench_tallies(d)

    start = time.perf_counter()
    # continuous: whole people at 34 provinces is a MILP of some 10^4 integers (see README)
    r = robust_plan(scenario, confidence=0.9, reps=reps, seed=0, continuous=True, workers=workers)
    took = time.perf_counter() - start
    fresh = r.confirmed or r.after
    low = ""
    if fresh is not None and fresh.joint is not None:
        row = fresh.joint[fresh.joint["scope"] == "all"].iloc[0]
        low = f"; weakest target on the fresh sample {row['lowest_probability_met']:.1%}"
    print(
        f"  robust plan (continuous, ranges on, {workers} worker(s)): {r.status} after "
        f"{r.rounds} round(s), {fresh.reps if fresh else reps} replications, {took:.0f} s "
        f"(goal < 60 s){low}"
    )


def bench_tallies(d: Dynamics) -> None:
    """Each simulated year's per-target tallies of a block of replications: the recorder's
    sparse target masks against the dense (targets × pools × levels) ones it multiplied by."""
    from simopt.dynamics import N_LEVELS

    rec = Recorder(d, BLOCK, keep_replications=False)
    levels = np.random.default_rng(1).integers(0, 2000, size=(BLOCK, d.n_pools, N_LEVELS))
    base = np.zeros((len(d.scenario.targets), d.n_pools, N_LEVELS))
    attained = np.zeros_like(base)
    for i, t in enumerate(d.scenario.targets.values()):
        pools = [d.pool_index(p) for p in d.scenario.target_pools(t)]
        base[i, pools, :] = 1.0
        attained[i, pools, t.min_level :] = 1.0

    def sparse() -> object:
        cells = np.ascontiguousarray(levels.reshape(BLOCK, -1).T, dtype=np.float64)
        return rec.attained_mask @ cells, rec.base_mask @ cells

    def dense() -> object:
        axes = ([1, 2], [1, 2])
        return np.tensordot(levels, attained, axes), np.tensordot(levels, base, axes)

    fast = _median_seconds(sparse, 11)
    slow = _median_seconds(dense, 5)
    print(
        f"  a year's target tallies of {BLOCK} replications: sparse masks {fast * 1e3:.1f} ms, "
        f"dense masks {slow * 1e3:.1f} ms (ratio {slow / fast:.0f}x)"
    )


def bench_memory(scenario_path: str, reps: int) -> None:
    """Peak memory of a large run, measured in a fresh process."""
    code = (
        "import resource\n"
        "from simopt.scenario import load_scenario\n"
        "from simopt.optimize import optimize\n"
        "from simopt.simulate import simulate\n"
        f"s = load_scenario({scenario_path!r})\n"
        "p = optimize(s)\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"simulate(s, p.schedule, reps={reps}, seed=0, engine='fast')\n"
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = (int(x) for x in out.stdout.split()[-2:])
    print(
        f"memory: {reps} replications (fast engine): peak RSS {after / 1024:.0f} MiB "
        f"({before / 1024:.0f} MiB before simulating; goal < 1 GB)"
    )


def bench_plan(scenario_path: str, reps: int) -> None:
    """The main job as a planner runs it: ``simopt plan`` in a fresh process."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "simopt",
                "plan",
                scenario_path,
                "--reps",
                str(reps),
                "--out",
                out,
            ],
            check=False,
            capture_output=True,
        )
        took = time.perf_counter() - start
    print(
        f"simopt plan {scenario_path} --reps {reps} (ranges on, price of confidence included): "
        f"{took:.1f} s end to end (goal < 60 s)"
    )


def bench_web_whatif(scenario_path: str, requests: int = 20) -> None:
    """The what-if panel through HTTP — the app served by uvicorn in a thread on a free local
    port, a logged-in client posting the htmx form — beside the same what-ifs called as a
    library function (``simopt.web.whatif.answer`` on a model parsed once), the baseline. Both
    are warm (the version parsed, its answer as saved made); then twenty at once through HTTP,
    each on its own connection, on this machine's cores."""
    import hashlib
    import re
    import socket
    import tempfile
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import httpx
    import uvicorn

    from simopt.web.accounts import create_user, get_or_create_province
    from simopt.web.app import create_app
    from simopt.web.models import Scenario as ScenarioRow
    from simopt.web.models import ScenarioVersion
    from simopt.web.settings import WebSettings
    from simopt.web.whatif import REPS, WhatIfModel, answer

    text = Path(scenario_path).read_text(encoding="utf-8")
    forms = [
        {"pass-level4": str(45 + i % 15), "attrition": f"{1 + (i % 4) / 10:.1f}"}
        for i in range(requests)
    ]
    password = "bench password, long enough"

    def p90(times: list[float]) -> float:
        return float(np.percentile(times, 90))

    with tempfile.TemporaryDirectory(prefix="simopt-bench-web-") as tmp:
        app = create_app(WebSettings(results_dir=Path(tmp) / "results"))
        with app.state.web.sessions() as db:
            user = create_user(db, "bench", password, "viewer", provinces=["Long An"])
            province = get_or_create_province(db, "Long An")
            row = ScenarioRow(province_id=province.id, name="long_an")
            db.add(row)
            db.flush()
            version = ScenarioVersion(
                scenario_id=row.id,
                number=1,
                yaml_text=text,
                sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                author_id=user.id,
            )
            db.add(version)
            db.commit()
            version_id = version.id
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        token = re.compile(r'name="csrf_token" value="([^"]+)"')
        try:
            while not server.started:
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=120) as c:
                found = token.search(c.get("/login").text)
                assert found is not None
                c.post(
                    "/login",
                    data={"username": "bench", "password": password, "csrf_token": found[1]},
                    follow_redirects=True,
                )
                page = c.get(f"/versions/{version_id}/whatif")  # parses, answers as saved
                found = token.search(page.text)
                assert page.status_code == 200 and found is not None
                headers = {"HX-Request": "true", "X-CSRF-Token": found[1]}
                url = f"/versions/{version_id}/whatif"
                c.post(url, data=forms[0], headers=headers)  # warm

                def ask(form: dict[str, str], client: httpx.Client = c) -> float:
                    start = time.perf_counter()
                    answer_ = client.post(url, data=form, headers=headers)
                    took = time.perf_counter() - start
                    if answer_.status_code != 200 or "whatif-result" not in answer_.text:
                        raise RuntimeError(f"what-if answered {answer_.status_code}")
                    return took

                http = [ask(form) for form in forms]

                def ask_alone(form: dict[str, str]) -> float:
                    with httpx.Client(base_url=base, timeout=120, cookies=c.cookies) as own:
                        return ask(form, own)

                with ThreadPoolExecutor(max_workers=requests) as pool:
                    together = list(pool.map(ask_alone, forms))
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            app.state.web.engine.dispose()

    model = WhatIfModel(text, scenario_path)
    answer(model, model.parse(forms[0]))  # warm: the answer as saved, the solver
    library = []
    for form in forms:
        start = time.perf_counter()
        answer(model, model.parse(form))
        library.append(time.perf_counter() - start)
    lib_median = statistics.median(library)
    print(
        f"what-if through HTTP ({scenario_path}, uvicorn in a thread, {requests} requests one "
        f"after another, {REPS} replications each): median {statistics.median(http):.2f} s, "
        f"90th percentile {p90(http):.2f} s (goal: median < 2 s)"
    )
    print(
        f"  the same what-ifs as a library call (whatif.answer, model parsed once): median "
        f"{lib_median:.2f} s, 90th percentile {p90(library):.2f} s; HTTP adds "
        f"{(statistics.median(http) - lib_median) * 1e3:.0f} ms at the median"
    )
    print(
        f"  {requests} at once through HTTP, each on its own connection: median "
        f"{statistics.median(together):.2f} s, 90th percentile {p90(together):.2f} s, slowest "
        f"{max(together):.2f} s (every one answered)"
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
    parser.add_argument("--sim-reps", type=int, default=51)
    parser.add_argument("--parallel-reps", type=int, default=1000)
    parser.add_argument("--memory-reps", type=int, default=10000)
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes for the national plan's simulations (default: 2, or 1 core)",
    )
    parser.add_argument(
        "--provinces",
        type=int,
        default=34,
        help="provinces in the generated national scenario (default 34; 0 skips it)",
    )
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    bench_optimize(scenario, args.repeats)
    bench_report(scenario, 1000, 3)
    bench_frontier(scenario, args.ceilings, args.naive_sample)
    bench_simulation(scenario, args.sim_reps, args.parallel_reps)
    bench_uncertainty(scenario, 1000, 7)
    bench_memory(args.scenario, args.memory_reps)
    bench_plan(args.scenario, 1000)
    if args.provinces:
        bench_national(args.scenario, args.provinces, 1000, args.workers)
    # the experiments layer: typed overrides, Sobol, Dask throughput, a national sweep on Dask
    from simopt.experiments import bench as experiments

    bench_web_whatif(args.scenario)
    experiments.bench_overrides(args.scenario)
    experiments.bench_sobol(args.scenario)
    experiments.bench_dask_throughput(args.scenario)
    if args.provinces:
        experiments.bench_national_dask(args.scenario, args.provinces)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
