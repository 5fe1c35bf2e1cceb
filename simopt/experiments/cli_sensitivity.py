"""``simopt sensitivity``: which uncertainty moves an outcome most (oat, morris or sobol).

The command parses, validates what it can before any run (the outcome, the factors, the
method's settings), runs the analysis through the experiments core, and writes one run folder:
``sensitivity.csv`` (the ranked table), ``sensitivity.json``, ``sensitivity.png`` (the chart)
and the runs themselves (``experiments.csv``, ``outcomes.csv``). Exit 0 when done, 1 when some
run has no value of the outcome (the runs are kept, no indices), 2 on bad input. Nothing heavy is
imported until the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from simopt.cli import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    _commit,
    _confidence,
    _open_run,
    _positive_int,
    _run_parent,
    _scenario_parent,
    _seed,
    _show,
)
from simopt.experiments.cli_sweep import EXECUTOR_CHOICES, chosen_executor

if TYPE_CHECKING:
    from simopt.experiments import ExperimentModel

METHOD_CHOICES = ("oat", "morris", "sobol")


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``sensitivity`` to the subcommands ``sub`` (``build_parser``'s subparsers)."""
    p: argparse.ArgumentParser = sub.add_parser(
        "sensitivity",
        parents=[_scenario_parent(), _run_parent(lang=False)],
        help="global sensitivity of one outcome to the scenario's uncertainties",
        description="Rank the scenario's uncertainties by how much they move one outcome. "
        "oat: each alone at its 5% and 95% quantiles (a tornado; 1 + 2k runs; ignores "
        "correlations); morris: elementary-effects screening, N trajectories (N (k + 1) runs); "
        "sobol: shares of the outcome's variance, alone and with interactions, with 95% "
        "bootstrap intervals, N base samples, a power of 2 (N (k + 2) runs). A correlation "
        "group is one factor. Writes sensitivity.csv, sensitivity.json, sensitivity.png and "
        "the runs (experiments.csv, outcomes.csv).",
    )
    p.add_argument("--method", choices=METHOD_CHOICES, required=True, help="oat, morris or sobol")
    p.add_argument(
        "--outcome",
        required=True,
        metavar="NAME",
        help="the outcome analysed, e.g. minimum_cost_vnd, robust_cost_vnd, "
        "probability_met:<target>, probability_all_met, attainment:<target>",
    )
    p.add_argument(
        "--n",
        type=_positive_int,
        metavar="N",
        help="morris: trajectories (default 20); sobol: base samples, a power of 2 "
        "(default 512); not for oat",
    )
    p.add_argument(
        "--second-order",
        action="store_true",
        help="sobol: also the share of each pair's interaction (N (2k + 2) runs)",
    )
    p.add_argument(
        "--only",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="(after FILE) analyse only these uncertainties: paths, patterns "
        "(courses.*.tuition_vnd_per_trainee) or correlation labels (provider_quality); a "
        "correlation group goes whole (default: every uncertainty with a spread)",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTOR_CHOICES,
        default=None,
        help="where the runs go: here (the default), local processes (the default with "
        "--workers) or Dask (the default with --scheduler); results do not depend on it",
    )
    p.add_argument("--workers", type=_positive_int, metavar="W", help="processes or Dask workers")
    p.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="a running Dask scheduler (with dask)"
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed")
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help="robust outcomes: the probability each target must hold with (default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=400,
        metavar="N",
        help="robust outcomes: replications per round of each run's robust plan (default 400)",
    )
    p.set_defaults(func=cmd_sensitivity)
    return p


def _model(args: argparse.Namespace) -> ExperimentModel:
    """The scenario from its file with --set, or (rerun) as the manifest recorded it."""
    from simopt.experiments import ExperimentModel

    recorded = getattr(args, "recorded", None)
    if recorded is not None:
        import yaml

        from simopt.runs import RunError

        record = recorded[0]
        data = yaml.safe_load(record["resolved_yaml"])
        if not isinstance(data, dict):
            raise RunError(f"{args.manifest_path}: its recorded scenario is not a scenario")
        where = f"{record.get('file')} (as recorded in {args.manifest_path})"
        return ExperimentModel.from_scenario_data(data, file=where)
    from simopt.overrides import parse_assignment

    overrides = dict(parse_assignment(a) for a in (args.set or []))
    return ExperimentModel.from_file(args.file, overrides=overrides or None)


def _check_options(args: argparse.Namespace) -> str | None:
    """Options that do not fit the method, as a one-line message."""
    if args.method == "oat" and args.n is not None:
        return "--n: oat moves each uncertainty to its two ends; the number of runs is 1 + 2k"
    if args.second_order and args.method != "sobol":
        return "--second-order: only sobol has second-order indices"
    return None


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from simopt.errors import ScenarioError, printable
    from simopt.experiments import CorrelationSplitError, ExecutorError, Settings, SweepError
    from simopt.experiments.sensitivity import (
        MissingOutcomeError,
        SensitivityError,
        SweepSettings,
        check_outcome,
        select_factors,
        sensitivity,
    )
    from simopt.experiments.sensitivity_charts import sensitivity_png
    from simopt.iofiles import csv_text

    problem = _check_options(args)
    if problem:
        print(f"simopt: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        model = _model(args)
        # every refusal before the run folder exists: a refusal costs nothing
        outcome = check_outcome(model, args.outcome)
        select_factors(model, args.only)
        with _open_run(args, model.scenario.name) as run:
            try:
                result = sensitivity(
                    model,
                    outcome,
                    args.method,
                    n=args.n,
                    seed=args.seed,
                    only=args.only,
                    second_order=args.second_order,
                    run=SweepSettings(
                        executor=chosen_executor(args),
                        workers=args.workers,
                        scheduler=args.scheduler,
                        progress=sys.stderr.isatty(),
                    ),
                    outcome_settings=Settings(confidence=args.confidence, reps=args.reps),
                )
            except MissingOutcomeError as err:
                if err.sweep is None:
                    raise
                # the runs cost hours: keep them, and say why there are no indices
                run.write_csv("experiments.csv", err.sweep.experiments)
                run.write_csv("outcomes.csv", err.sweep.outcomes)
                run.write_json("sensitivity.json", {"outcome": outcome, "error": str(err)})
                out = _commit(
                    args,
                    run,
                    [model.scenario],
                    [args.file],
                    status="missing_outcomes",
                    exit_code=EXIT_FINDINGS,
                )
                print(f"simopt: {err} (the runs are in {out}/)", file=sys.stderr)
                return EXIT_FINDINGS
            run.write_bytes("sensitivity.csv", csv_text(result.table).encode("utf-8"))
            if result.pairs is not None:
                run.write_csv("sensitivity_pairs.csv", result.pairs)
            summary = result.to_dict()
            run.write_json("sensitivity.json", summary)
            run.write_bytes("sensitivity.png", sensitivity_png(result))
            if result.sweep is not None:
                run.write_csv("experiments.csv", result.sweep.experiments)
                run.write_csv("outcomes.csv", result.sweep.outcomes)
            out = _commit(args, run, [model.scenario], [args.file], status="done", exit_code=0)
    except ScenarioError as err:
        print(f"simopt: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (SensitivityError, SweepError, ExecutorError, CorrelationSplitError) as err:
        print(f"simopt: {printable(str(err))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _show(result.text())
        print(f"\nWritten to {out}/")
    return EXIT_OK
