"""``simopt discover``: when does the plan fail? PRIM boxes of the futures where targets are missed.

The plan analysed is the robust plan at --confidence (or, with --schedule, any schedule). Writes
one run folder: ``discovery_boxes.csv`` (one row per box and restricted parameter),
``discovery.json`` and ``schedule.csv`` (the schedule analysed). Only argparse is imported until
the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_REPS = 2000
DEFAULT_PLAN_REPS = 1000


def _density(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share (e.g. 0.5)") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: a density must lie in (0, 1]")
    return value


def add_parser(sub: Any) -> None:
    """Add ``discover`` to the subcommands ``sub`` (``build_parser``'s)."""
    from simopt.cli import _confidence, _positive_int, _run_parent, _scenario_parent, _seed

    p = sub.add_parser(
        "discover",
        parents=[_scenario_parent(), _run_parent()],
        help="when does the plan fail? the regions of the uncertainties where targets are missed",
        description="Simulate the robust plan at --confidence (or --schedule) over --reps "
        "futures, each drawing every uncertain parameter, and describe for each target (and "
        "for 'at least one target') the few ranges of a few parameters where it is missed "
        "most (PRIM boxes), with their coverage (share of the misses inside), density (share "
        "missed inside) and mass (share of the futures). Writes discovery_boxes.csv, "
        "discovery.json and schedule.csv.",
    )
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help="the robust plan analysed holds each target with this probability (default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=DEFAULT_REPS,
        metavar="N",
        help=f"futures simulated for the discovery (default {DEFAULT_REPS})",
    )
    p.add_argument(
        "--plan-reps",
        type=_positive_int,
        default=DEFAULT_PLAN_REPS,
        metavar="N",
        help=f"replications per round of the robust plan (default {DEFAULT_PLAN_REPS})",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--schedule",
        metavar="CSV",
        help="analyse this schedule.csv (year, pool, course, enrolments) instead of the robust "
        "plan",
    )
    p.add_argument(
        "--threshold",
        type=_density,
        default=0.5,
        metavar="D",
        help="least density of a box reported (default 0.5: missed at least half the time)",
    )
    p.add_argument(
        "--max-boxes",
        type=_positive_int,
        default=3,
        metavar="K",
        help="most boxes per target (default 3)",
    )
    p.set_defaults(func=cmd_discover)


def cmd_discover(args: argparse.Namespace) -> int:
    from simopt.cli import EXIT_FINDINGS, EXIT_OK, _commit, _load, _open_run, _show
    from simopt.experiments.discovery import discover

    scenario = _load(args)
    plan: dict[str, Any] = {}
    if args.schedule:
        from simopt.schedule_csv import read_schedule_csv

        # read before the run folder is opened: a bad schedule leaves nothing behind
        schedule = read_schedule_csv(args.schedule, scenario)
        kind = "schedule"
    else:
        from simopt.plan import robust_plan

        robust = robust_plan(
            scenario, confidence=args.confidence, reps=args.plan_reps, seed=args.seed
        )
        if robust.robust is None:
            print(f"simopt: no plan to analyse: {robust.message}", file=sys.stderr)
            return EXIT_FINDINGS
        schedule = robust.robust.schedule
        kind = "robust"
        plan = {"status": robust.status, "message": robust.message}
    with _open_run(args, scenario.name) as run:
        result = discover(
            scenario,
            schedule,
            reps=args.reps,
            seed=args.seed,
            threshold=args.threshold,
            max_boxes=args.max_boxes,
            schedule_kind=kind,
        )
        summary = {**result.to_dict(), "plan": plan, "confidence": args.confidence}
        run.write_csv("discovery_boxes.csv", result.boxes)
        run.write_csv("schedule.csv", schedule)
        run.write_json("discovery.json", summary)
        out = _commit(args, run, [scenario], [args.file], status="done", exit_code=EXIT_OK)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        if plan and plan["status"] != "met":
            print(f"Note: the robust plan is {plan['status']}: {plan['message']}")
        _show(result.text(args.lang or "en"))
        print(f"\nWritten to {out}/")
    return EXIT_OK
