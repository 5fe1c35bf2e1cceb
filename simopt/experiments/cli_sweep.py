"""``simopt sweep``: a design of experiments over a scenario's uncertainties and levers.

Only argparse is imported at module level: ``simopt validate`` builds the same parser.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_N = 32
EXECUTOR_CHOICES = ("sequential", "processes", "dask")


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    """--executor, --workers, --scheduler: shared by every command that runs many experiments."""
    p.add_argument(
        "--executor",
        choices=EXECUTOR_CHOICES,
        default=None,
        help="where the experiments run: sequential (this process, the default), processes "
        "(local worker processes) or dask (a Dask LocalCluster; with --scheduler, a cluster "
        "started with `dask scheduler` and `dask worker`). The tables do not depend on it",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="worker processes for --executor processes or dask (default 2)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="the address of a running Dask scheduler (implies --executor dask)",
    )


def chosen_executor(args: argparse.Namespace) -> str:
    """--executor as given; without it, dask when --scheduler names a cluster, else sequential."""
    return str(args.executor or ("dask" if args.scheduler else "sequential"))


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="run a design of experiments: uncertainties sampled, levers on a grid, outcomes "
        "tabulated",
        description="Evaluate the scenario at many settings of its uncertainties (a Latin "
        "hypercube over their ranges) and levers (a grid of values you give), and tabulate "
        "named outcomes: experiments.csv (one row per experiment) and outcomes.csv (long: "
        "experiment, outcome, value, status). The sweep writes as it goes: run the same command "
        "again after an interruption and it resumes where it stopped.",
    )
    p.add_argument("file", help="scenario YAML file, e.g. scenarios/long_an.yaml")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override one field before the sweep (repeatable)",
    )
    p.add_argument(
        "--uncertainty",
        action="append",
        metavar="PATH",
        help="an uncertainty to sample (repeatable; default: every one the scenario declares, "
        "unless only levers are given); a correlated one needs its whole group",
    )
    p.add_argument(
        "--n",
        type=int,
        default=None,
        metavar="N",
        help=f"Latin-hypercube experiments over the uncertainties (default {DEFAULT_N})",
    )
    p.add_argument(
        "--lever",
        action="append",
        metavar="NAME=V1,V2,…",
        help="a lever and its values, e.g. ceiling_vnd_per_year=1e11,2e11 or confidence=0.8,0.9 "
        "(repeatable: every combination, crossed with the uncertainty sample)",
    )
    p.add_argument(
        "--design",
        metavar="CSV",
        help="experiments from a CSV file instead: one column per factor, one row per experiment",
    )
    p.add_argument(
        "--outcome",
        action="append",
        metavar="NAME",
        help="an outcome to tabulate (repeatable; default minimum_cost_vnd): minimum_cost_vnd, "
        "attainment[:TARGET], optimizer_status, robust_cost_vnd, probability_met[:TARGET], "
        "probability_all_met, cost_per_certified_vnd, robust_status",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.9,
        metavar="P",
        help="confidence of the robust plans (robust outcomes; default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=int,
        default=400,
        metavar="N",
        help="replications of each robust plan's simulations (default 400)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    add_executor_arguments(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="the sweep's folder (default results/<scenario>/sweeps/<digest of the sweep>, so "
        "that the same command resumes the same sweep)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)


def _parse_lever(text: str) -> tuple[str, list[Any]]:
    from simopt.errors import ScenarioError
    from simopt.yamlio import parse_yaml_text

    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise ScenarioError(
            "a lever looks like NAME=V1,V2,…, e.g. ceiling_vnd_per_year=1e11,2e11",
            file="--lever",
            path=text,
            show_value=False,
        )
    parsed = [parse_yaml_text(v.strip(), file=f"--lever {name}")[0] for v in values.split(",")]
    return name.strip(), parsed


def build_design(args: argparse.Namespace, model: Any) -> Any:
    import pandas as pd

    from simopt.errors import ScenarioError
    from simopt.experiments import Design, grid_design, lhs_design, list_design

    if args.design:
        if args.uncertainty or args.lever or args.n:
            raise ScenarioError(
                "--design gives every experiment; it does not go with --uncertainty, --lever "
                "or --n",
                file="--design",
                path=args.design,
                show_value=False,
            )
        frame = pd.read_csv(args.design)
        rows = [
            {str(k): v for k, v in r.items() if k != "experiment"} for r in frame.to_dict("records")
        ]
        if not rows:
            raise ScenarioError("the design has no rows", file=args.design, show_value=False)
        return list_design(rows)
    levers = dict(_parse_lever(t) for t in args.lever or [])
    sampled = args.uncertainty or (model.names if not levers or args.n else [])
    n = args.n if args.n is not None else DEFAULT_N
    if n < 1:
        raise ScenarioError("must be at least 1", file="--n", path="", value=str(n))
    for name in sampled:
        model.uncertainty(name)
    parts = []
    if sampled:
        sample = lhs_design(model, n, args.seed, names=sampled)
        parts.append(sample.table.drop(columns="experiment"))
    if levers:
        parts.append(grid_design(levers).table.drop(columns="experiment"))
    table = parts[0] if len(parts) == 1 else parts[0].merge(parts[1], how="cross")
    table.insert(0, "experiment", range(len(table)))
    return Design(table.reset_index(drop=True))


def cmd_sweep(args: argparse.Namespace) -> int:
    from simopt.experiments import ExperimentModel, Settings, expand_outcomes, run_sweep
    from simopt.overrides import parse_assignment

    overrides = dict(parse_assignment(a) for a in (args.set or []))
    model = ExperimentModel.from_file(args.file, overrides)
    design = build_design(args, model)
    outcomes = expand_outcomes(model, args.outcome or ["minimum_cost_vnd"])
    settings = Settings(confidence=args.confidence, reps=args.reps)
    out = Path(args.out) if args.out else _default_folder(model, design, outcomes, args)
    executor = chosen_executor(args)
    result = run_sweep(
        model,
        design,
        outcomes,
        seed=args.seed,
        settings=settings,
        executor=executor,
        workers=args.workers,
        scheduler=args.scheduler,
        out=out,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    summary = summarise(result)
    if args.json:
        print(json.dumps({"folder": str(out), "summary": summary}, indent=2, default=str))
        return 0
    done = len(result.experiments)
    resumed = f" ({result.resumed} found finished and kept)" if result.resumed else ""
    print(f"{done} experiments on {result.executor}{resumed}; tables in {out}")
    print("Across the experiments (5% / median / 95%):")
    for row in summary:
        spread = ""
        if "median" in row:
            spread = " / ".join(_figure(row["outcome"], row[k]) for k in ("p5", "median", "p95"))
        print(f"  {row['outcome']}: {spread or 'no value'} [{row['statuses']}]")
    return 0


def _figure(outcome: str, value: float) -> str:
    """Money to a tenth of a billion (or of a million, below a billion) đồng; shares and
    probabilities to a tenth of a point."""
    if outcome.endswith("_vnd"):
        if abs(value) < 1e9:
            return f"{value / 1e6:,.1f} million VND"
        return f"{value / 1e9:,.1f} bn VND"
    if outcome.startswith(("attainment", "probability")) and abs(value) <= 1:
        return f"{100 * value:.1f}%"
    return f"{value:,.1f}"


def summarise(result: Any) -> list[dict[str, Any]]:
    """Per outcome: how many experiments gave a value, and its spread over them."""
    import numpy as np

    rows: list[dict[str, Any]] = []
    for name in result.outcome_names:
        frame = result.outcomes[result.outcomes["outcome"] == name]
        values = frame["value"].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        statuses = frame["status"].value_counts().sort_index()
        row: dict[str, Any] = {
            "outcome": name,
            "experiments": len(frame),
            "with_value": int(finite.size),
            "statuses": "; ".join(f"{k} {v}" for k, v in statuses.items()),
        }
        if finite.size:
            q = np.quantile(finite, [0.05, 0.5, 0.95])
            row.update(
                {"min": finite.min(), "p5": q[0], "median": q[1], "p95": q[2], "max": finite.max()}
            )
        rows.append(row)
    return rows


def _default_folder(model: Any, design: Any, outcomes: Any, args: argparse.Namespace) -> Path:
    from simopt.iofiles import csv_text

    key = json.dumps(
        [
            model.file,
            model.data,
            csv_text(design.table),
            list(outcomes),
            args.seed,
            args.confidence,
            args.reps,
        ],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path("results") / str(model.scenario.name) / "sweeps" / digest
