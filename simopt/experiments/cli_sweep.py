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
        help="worker processes for --executor processes or dask (default 2; given alone, "
        "local processes)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="the address of a running Dask scheduler (implies --executor dask)",
    )


def chosen_executor(args: argparse.Namespace) -> str:
    """--executor as given; without it, dask when --scheduler names a cluster, local processes
    when --workers asks for more than one, else sequential."""
    from simopt.experiments.executors import resolve_executor

    if not args.executor and not args.scheduler and (args.workers or 1) > 1:
        return "processes"
    return resolve_executor(args.executor, args.scheduler)


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


NOT_FACTORS = ("experiment", "seed")
"""Columns of a sweep's own experiments.csv that are not factors (it may be fed back)."""


def read_design_csv(path: str) -> list[dict[str, Any]]:
    """A design file's rows, each cell read as YAML (``2e10``, ``0.55``, ``true``) on its own,
    so that one bad cell is named by its row and column rather than turning its column to
    text."""
    import csv

    from simopt.errors import ScenarioError
    from simopt.yamlio import parse_yaml_text

    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            table = list(csv.reader(f))
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text; save the design as UTF-8 CSV", file=path) from None
    except csv.Error as exc:
        raise ScenarioError(f"not a CSV file ({exc})", file=path) from None
    if not table or not any(table[0]):
        raise ScenarioError("the design is empty; its first line names the factors", file=path)
    header = [h.strip() for h in table[0]]
    rows: list[dict[str, Any]] = []
    for line, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ScenarioError(
                f"has {len(cells)} cells where the header names {len(header)} columns",
                file=path,
                line=line,
            )
        row: dict[str, Any] = {}
        for name, cell in zip(header, cells, strict=True):
            if name in NOT_FACTORS or not cell.strip():
                continue
            value, _ = parse_yaml_text(cell, file=f"{path} line {line}, column {name}")
            row[name] = value
        rows.append(row)
    if not rows:
        raise ScenarioError("the design has no rows", file=path)
    return rows


def _check_distinct(names: list[str]) -> None:
    """A factor given twice (an uncertainty also a lever, a lever by its path and its short
    name) would leave which value holds to the order of the columns."""
    from simopt.errors import ScenarioError
    from simopt.experiments import LEVER_ALIASES

    seen: dict[str, str] = {}
    for name in names:
        path = LEVER_ALIASES.get(name, name)
        if path in seen:
            raise ScenarioError(
                f"the factor {path} is given twice (as {seen[path]} and as {name}); give it once",
                file="command line",
                path=name,
                show_value=False,
            )
        seen[path] = name


def build_design(args: argparse.Namespace, model: Any) -> Any:
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
        rows = read_design_csv(args.design)
        _check_distinct(list(dict.fromkeys(k for r in rows for k in r)))
        return list_design(rows)
    levers = dict(_parse_lever(t) for t in args.lever or [])
    sampled = args.uncertainty or (model.names if not levers or args.n else [])
    n = args.n if args.n is not None else DEFAULT_N
    if n < 1:
        raise ScenarioError("must be at least 1", file="--n", path="", value=str(n))
    for name in sampled:
        model.uncertainty(name)
    _check_distinct([*sampled, *levers])
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
