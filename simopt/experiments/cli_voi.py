"""``simopt value-of-information``: what knowing each uncertainty before committing is worth.

Writes one run folder: ``value_of_information.csv`` (the ranked table),
``value_of_information_strata.csv`` (each valued item's strata: the two options' costs and
probabilities, which was chosen) and ``value_of_information.json``. Only argparse and the
command line's own helpers are imported until the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_REPS = 1000
DEFAULT_STRATA = 4
DEFAULT_TOP = 6
MAX_STRATA = 10


def _strata(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 2 <= n <= MAX_STRATA:
        raise argparse.ArgumentTypeError(
            f"{text!r}: strata must lie between 2 and {MAX_STRATA} (2^K policies are tried)"
        )
    return n


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be ≥ 0")
    return n


def add_parser(sub: Any) -> None:
    """Add ``value-of-information`` to the subcommands ``sub`` (``build_parser``'s)."""
    from simopt.cli import _confidence, _positive_int, _run_parent, _scenario_parent, _seed

    p = sub.add_parser(
        "value-of-information",
        parents=[_scenario_parent(), _run_parent()],
        help="what to measure first: the value of knowing each uncertainty before committing",
        description="For each uncertainty (a correlated group as one study, a level table as "
        "one survey), the expected value of partial perfect information for the robust plan, "
        "in VND: how much its expected cost would fall if the province knew the value first. "
        "The distribution is cut into --strata equal-probability strata; in each the province "
        "keeps the plan made without the information or adopts the robust plan made knowing "
        "it, the cheapest choice that keeps every target's probability. Only the --top "
        "uncertainties by one-at-a-time swing are valued; the rest are listed as screened out. "
        "Writes value_of_information.csv, value_of_information_strata.csv and "
        "value_of_information.json. Exit 1 when the robust plan itself does not hold.",
    )
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help="probability each target must hold with (default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=DEFAULT_REPS,
        metavar="N",
        help=f"replications of every robust plan and every simulation (default {DEFAULT_REPS})",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--strata",
        type=_strata,
        default=DEFAULT_STRATA,
        metavar="K",
        help=f"equal-probability strata per uncertainty, 2–{MAX_STRATA} (default {DEFAULT_STRATA})",
    )
    p.add_argument(
        "--top",
        type=_count,
        default=DEFAULT_TOP,
        metavar="N",
        help=f"uncertainties valued in full, by one-at-a-time swing (default {DEFAULT_TOP})",
    )
    p.set_defaults(func=cmd_value_of_information)


def cmd_value_of_information(args: argparse.Namespace) -> int:
    from simopt.cli import (
        EXIT_BAD_INPUT,
        EXIT_FINDINGS,
        EXIT_OK,
        _commit,
        _load,
        _open_run,
        _progress_line,
        _show,
    )
    from simopt.experiments.voi import value_of_information
    from simopt.plan import min_replications

    need = min_replications(args.confidence)
    if args.reps < need:
        # refused before any run folder exists
        print(
            f"simopt: --reps {args.reps} is too few to show a probability of "
            f"{args.confidence:.0%}: use at least {need}",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    scenario = _load(args)
    with _open_run(args, scenario.name) as run:
        result = value_of_information(
            scenario,
            confidence=args.confidence,
            reps=args.reps,
            seed=args.seed,
            strata=args.strata,
            top=args.top,
            progress=_progress_line,
        )
        summary = result.to_dict()
        run.write_csv("value_of_information.csv", result.table)
        run.write_csv("value_of_information_strata.csv", result.strata_table)
        run.write_json("value_of_information.json", summary)
        code = EXIT_OK if result.status == "done" else EXIT_FINDINGS
        out = _commit(args, run, [scenario], [args.file], status=result.status, exit_code=code)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _show(result.text(args.lang or "en"))
        print(f"\nWritten to {out}/")
    return code
