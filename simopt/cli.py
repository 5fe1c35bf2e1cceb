"""The command line: parse, call the library, print, exit 0 / 1 / 2. No logic of its own."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from simopt.errors import ScenarioError
from simopt.evidence import AT_RISK
from simopt.judge import JudgeError
from simopt.optimize.solve import SolverError
from simopt.overrides import parse_assignment
from simopt.plan import PlanError
from simopt.scenario import Scenario, load_scenario
from simopt.simulate.run import ScheduleError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


def _load(args: argparse.Namespace) -> Scenario:
    overrides = dict(parse_assignment(a) for a in (args.set or []))
    return load_scenario(args.file, overrides=overrides)


def cmd_validate(args: argparse.Namespace) -> int:
    scenario = _load(args)
    print(
        f"{args.file}: valid scenario '{scenario.name}' "
        f"({len(scenario.groups)} groups, {len(scenario.pools())} pools, "
        f"{len(scenario.courses)} courses, {len(scenario.targets)} targets)"
    )
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    from simopt.show import summary

    print(summary(_load(args)))
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from simopt.audit import audit

    scenario = _load(args)
    report = audit(scenario)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report.format(file=args.file))
    return EXIT_FINDINGS if report.findings else EXIT_OK


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a seed must be ≥ 0")
    return n


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be ≥ 1")
    return n


def _vnd_amount(text: str) -> float:
    """A VND amount on the command line: 2e10, 20000000000 or 20_000_000_000."""
    try:
        amount = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of VND (e.g. 2e10)") from None
    if not amount >= 0 or amount == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: an amount of VND must be ≥ 0 and finite")
    return amount


def _write_tables(out: Path, tables: dict[str, Any]) -> None:
    """Write each table; remove a table left by an earlier run when this run has none, so that a
    folder never mixes a failed run's summary with a successful run's schedule."""
    from simopt.iofiles import write_csv_atomic

    for name, frame in tables.items():
        if frame is None:
            (out / name).unlink(missing_ok=True)
        else:
            write_csv_atomic(out / name, frame)


def _out_dir(args: argparse.Namespace, scenario: Scenario) -> Path:
    return Path(args.out) if args.out else Path("results") / scenario.name


def cmd_optimize(args: argparse.Namespace) -> int:
    from simopt.iofiles import write_json_atomic
    from simopt.optimize import optimize
    from simopt.optimize.report import plan_summary, plan_table

    scenario = _load(args)
    plan = optimize(
        scenario,
        ceiling_vnd=args.ceiling_vnd,
        solver=args.solver,
        integer_classes=args.integer_classes,
    )
    summary = plan_summary(plan, scenario)
    out = _out_dir(args, scenario)
    ok = plan.is_ok
    _write_tables(
        out,
        {
            "schedule.csv": plan.schedule if ok else None,
            "costs.csv": plan.costs if ok else None,
            "attainment.csv": plan.attainment if ok else None,
        },
    )
    write_json_atomic(out / "summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(plan_table(plan, scenario))
        print(f"\nWritten to {out}/")
    return EXIT_OK if plan.is_ok else EXIT_FINDINGS


def cmd_ceilings(args: argparse.Namespace) -> int:
    import numpy as np

    from simopt.dynamics import compile_dynamics
    from simopt.format import people, vnd
    from simopt.iofiles import write_csv_atomic
    from simopt.optimize.frontier import Frontier

    if args.to_vnd < args.from_vnd:
        raise ScenarioError(
            "--to-vnd must not be below --from-vnd",
            file="command line",
            path="--to-vnd",
            value=args.to_vnd,
        )
    if args.steps < 1:
        raise ScenarioError("must be ≥ 1", file="command line", path="--steps", value=args.steps)
    scenario = _load(args)
    d = compile_dynamics(scenario)
    frontier = Frontier(d)
    rows = []
    for ceiling in np.linspace(args.from_vnd, args.to_vnd, args.steps):
        row = frontier.solve_at(ceiling)
        if args.simulate and row.get("status") != "not_solved":
            # the best schedule this ceiling allows, met or not, judged by simulation
            from simopt.simulate import schedule_frame, simulate

            sim = simulate(
                scenario,
                schedule_frame(d, frontier.last_schedule()),
                reps=args.reps,
                seed=args.seed,
                engine="fast",
                dynamics=d,
                uncertainty=args.uncertainty,
            )
            at = sim.summary[sim.summary["year"] == sim.summary["target_year"]]
            for rec in at.to_dict("records"):
                row[f"probability_met:{rec['target']}"] = rec["probability_met"]
            row["min_probability_met"] = float(at["probability_met"].min())
            assert sim.joint is not None
            overall = sim.joint[sim.joint["scope"] == "all"].iloc[0]
            row["probability_all_met"] = float(overall["probability_all_met"])
            within = sim.ceiling_table(float(ceiling))
            row["probability_within_ceiling"] = float(within["probability_within"].iloc[-1])
        rows.append(row)
    robust = None
    if args.simulate:
        from simopt.plan import robust_ceiling

        robust = robust_ceiling(
            scenario,
            confidence=args.confidence,
            reps=args.reps,
            seed=args.seed,
            uncertainty=args.uncertainty,
            joint=args.joint,
        )
    import pandas as pd

    table = pd.DataFrame(rows)
    out = _out_dir(args, scenario)
    write_csv_atomic(out / "ceilings.csv", table)
    smallest = frontier.smallest_ceiling_vnd
    robust_part: dict[str, Any] = {}
    if robust is not None:
        robust_part = {
            "confidence": args.confidence,
            "smallest_ceiling_vnd_per_year_at_confidence": robust.ceiling_vnd,
            "at_confidence_message": robust.message,
        }
    if args.json:
        records = [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in table.to_dict(orient="records")
        ]
        print(
            json.dumps(
                {
                    "scenario": scenario.name,
                    "smallest_feasible_ceiling_vnd_per_year": smallest,
                    **robust_part,
                    "ceilings": records,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    print(f"{scenario.title or scenario.name}: public budget ceiling per year → outcome")
    for r in rows:
        if r.get("status") == "not_solved":
            print(f"  {vnd(r['ceiling_vnd'])}: the solver did not finish")
        elif r["feasible"] and "min_probability_met" in r:
            cost = vnd(r["min_cost_vnd"])
            print(
                f"  {vnd(r['ceiling_vnd'])}: every target met in expectation, minimum cost {cost};"
                f" lowest probability of a target being met {r['min_probability_met']:.0%}, "
                f"all together {r['probability_all_met']:.0%}; spending within the ceiling "
                f"every year {r['probability_within_ceiling']:.0%}"
            )
        elif r["feasible"]:
            cost = vnd(r["min_cost_vnd"])
            print(f"  {vnd(r['ceiling_vnd'])}: every target met, minimum cost {cost}")
        else:
            short = [
                k.split(":", 1)[1]
                for k, v in r.items()
                if k.startswith("shortfall_people:") and v > 0
            ]
            print(
                f"  {vnd(r['ceiling_vnd'])}: NOT feasible — short {people(r['shortfall_people'])}"
                f" people ({', '.join(short)})"
            )
    if smallest is None:
        print("No ceiling meets every target: seats, time or people available limit them.")
    else:
        print(f"Smallest yearly ceiling meeting every target in expectation: {vnd(smallest)}")
    if robust is not None:
        if robust.ceiling_vnd is None:
            print(f"At {args.confidence:.0%} confidence: {robust.message}")
        else:
            print(
                f"Smallest yearly ceiling meeting every target with probability ≥ "
                f"{args.confidence:.0%}: {vnd(robust.ceiling_vnd)}"
            )
    print(f"Written to {out}/ceilings.csv")
    return EXIT_OK


def _read_schedule(path: str) -> Any:
    import pandas as pd

    from simopt.simulate import ScheduleError

    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise ScheduleError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError) as exc:
        raise ScheduleError(f"{path}: cannot be read ({exc.strerror})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScheduleError(f"{path}: not a readable CSV schedule ({exc})") from None


def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simopt.iofiles import write_json_atomic
    from simopt.optimize import optimize
    from simopt.simulate import simulate
    from simopt.simulate.report import simulation_summary, simulation_table

    scenario = _load(args)
    expected = None
    if args.optimize:
        plan = optimize(scenario)
        if not plan.is_ok:
            print(f"simopt: cannot simulate the optimiser's plan: {plan.message}", file=sys.stderr)
            return EXIT_FINDINGS
        schedule = plan.schedule
        expected = plan.attainment
    else:
        schedule = _read_schedule(args.schedule)
        need = {"year", "pool", "course", "enrolments"} - set(schedule.columns)
        if need:
            raise ScheduleError(
                f"{args.schedule}: missing column(s) {', '.join(sorted(need))}; a schedule has "
                "year, pool, course, enrolments (comma-separated, as optimize writes it)"
            )
    with tqdm(total=args.reps, desc="replications", unit="rep", disable=None, leave=False) as bar:

        def tick(n: int) -> None:
            bar.update(n)

        result = simulate(
            scenario,
            schedule,
            reps=args.reps,
            seed=args.seed,
            workers=args.workers,
            engine=args.engine,
            keep_replications=args.keep_replications,
            progress=tick,
            uncertainty=args.uncertainty,
            split_variance=True,
        )
    drivers = None
    if result.parameters is not None:
        from simopt.uncertain.drivers import oat_drivers

        at = result.summary[result.summary["year"] == result.summary["target_year"]]
        at_risk = at.loc[at["probability_met"] < AT_RISK, "target"].astype(str).tolist()
        if at_risk:
            drivers = oat_drivers(scenario, schedule, targets=at_risk, seed=args.seed)
    out = _out_dir(args, scenario)
    _write_tables(
        out,
        {
            "simulation_targets.csv": result.summary,
            "simulation_yearly.csv": result.yearly,
            "simulation_replications.csv": result.replications,
            "simulation_joint.csv": result.joint,
            "simulation_variance.csv": result.variance,
            "simulation_parameters.csv": (
                None if result.parameters is None else result.parameters.table()
            ),
            "drivers.csv": drivers,
        },
    )
    summary = simulation_summary(result, expected, drivers)
    write_json_atomic(out / "simulation.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(simulation_table(result, scenario, expected, drivers))
        print(f"\nWritten to {out}/")
    return EXIT_OK


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability (e.g. 0.9)") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: must lie strictly between 0 and 1")
    return value


def _progress_line(message: str) -> None:
    if sys.stderr.isatty():
        print(f"  {message}", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    from simopt.evidence import gather_evidence
    from simopt.iofiles import write_json_atomic
    from simopt.plan import robust_plan
    from simopt.plan_report import robust_summary, robust_table
    from simopt.price import LEVELS

    scenario = _load(args)
    result = robust_plan(
        scenario,
        confidence=args.confidence,
        reps=args.reps,
        seed=args.seed,
        ceiling_vnd=args.ceiling_vnd,
        engine=args.engine,
        workers=args.workers,
        progress=_progress_line,
        uncertainty=args.uncertainty,
        joint=args.joint,
    )
    evidence = gather_evidence(
        scenario,
        result,
        seed=args.seed,
        reps=args.reps,
        price_levels=None if args.no_price else LEVELS,
        ceiling_vnd=args.ceiling_vnd,
        uncertainty=args.uncertainty,
        workers=args.workers,
        progress=_progress_line,
    )
    out = _out_dir(args, scenario)
    summary = robust_summary(result, scenario, evidence)
    held = result.is_met and result.robust is not None
    comparison = result.comparison()
    judged = result.confirmed or result.after
    _write_tables(
        out,
        {
            "schedule.csv": result.robust.schedule if held and result.robust else None,
            "costs.csv": result.robust.costs if held and result.robust else None,
            "schedule_expected_value.csv": (
                result.expected.schedule if result.expected.is_ok else None
            ),
            "targets.csv": None if comparison.empty else comparison,
            "probability_all_met.csv": judged.joint if judged is not None else None,
            "price_of_confidence.csv": evidence.price,
            "drivers.csv": None if evidence.drivers.empty else evidence.drivers,
            "variance.csv": evidence.variance,
            "within_ceiling.csv": evidence.ceiling,
            # what every replication of the judging sample drew: enough to redo its sums
            "parameters.csv": (
                judged.parameters.table()
                if judged is not None and judged.parameters is not None
                else None
            ),
        },
    )
    write_json_atomic(out / "plan.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(robust_table(result, scenario, evidence))
        print(f"\nWritten to {out}/")
    return EXIT_OK if result.is_met else EXIT_FINDINGS


def cmd_compare(args: argparse.Namespace) -> int:
    from simopt.compare import comparison_table
    from simopt.format import people, vnd
    from simopt.iofiles import write_csv_atomic
    from simopt.plan import robust_plan

    overrides = dict(parse_assignment(a) for a in (args.set or []))
    scenarios = [load_scenario(f, overrides=overrides) for f in args.files]
    names = [s.name for s in scenarios]
    if len(set(names)) < len(names):
        names = [f"{s.name} ({f})" for s, f in zip(scenarios, args.files, strict=True)]
    results = {
        name: robust_plan(
            s,
            confidence=args.confidence,
            reps=args.reps,
            seed=args.seed,
            uncertainty=args.uncertainty,
            joint=args.joint,
        )
        for name, s in zip(names, scenarios, strict=True)
    }
    table = comparison_table(results)
    if args.out:
        write_csv_atomic(Path(args.out) / "compare.csv", table.reset_index())
    if args.json:
        records = {
            str(m): {k: (None if v != v else v) for k, v in row.items()}
            for m, row in table.to_dict("index").items()
        }
        print(json.dumps(records, indent=2, ensure_ascii=False, default=str))
        return EXIT_OK

    def cell(measure: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        if measure.endswith("cost_vnd"):
            return vnd(value)
        if measure.endswith("enrolments"):
            return people(value)
        if measure.endswith(("share", "probability met")):
            return f"{value:.1%}"
        return str(value)

    header = ["measure", *table.columns]
    rows = [
        [str(m), *(cell(str(m), v) for v in row)]
        for m, row in zip(table.index, table.itertuples(index=False), strict=True)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    what = "all targets together" if args.joint else "each target"
    print(
        f"Compared at {args.confidence:.0%} confidence ({what}), {args.reps} replications, "
        f"seed {args.seed}, uncertainty {args.uncertainty}"
    )
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return EXIT_OK


def _add_uncertainty_args(p: argparse.ArgumentParser, *, joint: bool = True) -> None:
    p.add_argument(
        "--uncertainty",
        choices=["ranges", "none"],
        default="ranges",
        help="ranges: every replication draws the scenario's uncertain assumptions from their "
        "ranges before the events (default; the same as none when the scenario declares no "
        "range); none: assumptions at their stated values, only individuals' luck varies",
    )
    if joint:
        p.add_argument(
            "--joint",
            action="store_true",
            help="ask the confidence of all targets together rather than of each target",
        )


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="scenario YAML file, e.g. scenarios/long_an.yaml")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override one field without editing the file, e.g. "
        "--set courses.level4.exam_pass_probability=0.55 (repeatable)",
    )


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the tool."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simopt",
        description="Plan and fund foreign-language training for a province's civil service "
        "(Decision 1659/QĐ-TTg). Exit codes: 0 ok, 1 findings or targets not met, 2 bad input.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("validate", help="check a scenario file and report the first problem")
    _add_scenario_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "show", help="summarise a scenario: groups, pools, eligible base, people needed per target"
    )
    _add_scenario_args(p)
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "audit",
        help="recompute every stated total of the plan from its parts and list disagreements",
        description="Recompute the plan's stated totals (people × unit cost, group sums, phase "
        "sums, yearly averages, minimum counts against shares and headcounts). Exit 1 when "
        "there are findings, 0 when the arithmetic is clean, 2 on invalid input.",
    )
    _add_scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "optimize",
        help="minimum-cost enrolment schedule meeting every target (LP)",
        description="Find how many people of each pool enter which course in which year so that "
        "every target is met in expectation at minimum cost. Writes schedule.csv, costs.csv, "
        "attainment.csv and summary.json. Exit 1 when the targets cannot all be met.",
    )
    _add_scenario_args(p)
    p.add_argument(
        "--ceiling-vnd",
        type=_vnd_amount,
        metavar="N",
        help="yearly ceiling on public spending, VND (overrides the scenario's)",
    )
    p.add_argument(
        "--solver", choices=["highs", "cbc"], default="highs", help="LP solver (default: highs)"
    )
    p.add_argument(
        "--integer-classes",
        action="store_true",
        help="whole classes of class_size, paid per class (a MILP)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default results/<scenario>)")
    p.add_argument("--json", action="store_true", help="print summary.json instead of tables")
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser(
        "ceilings",
        help="the finance frontier: feasibility, cost and attainment for a range of ceilings",
        description="For each yearly public-budget ceiling from --from-vnd to --to-vnd: can every "
        "target be met, at what minimum cost, and if not, the best attainment and shortfall. "
        "Also the smallest ceiling that meets every target.",
    )
    _add_scenario_args(p)
    p.add_argument("--from-vnd", type=_vnd_amount, required=True, metavar="A")
    p.add_argument("--to-vnd", type=_vnd_amount, required=True, metavar="B")
    p.add_argument(
        "--steps", type=int, default=10, metavar="K", help="ceilings to test (default 10)"
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default results/<scenario>)")
    p.add_argument("--json", action="store_true", help="print the frontier as JSON")
    p.add_argument(
        "--simulate",
        action="store_true",
        help="judge each ceiling's best schedule by simulation, and find the smallest "
        "ceiling meeting every target with --confidence",
    )
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help="with --simulate: probability each target (all together with --joint) must hold "
        "with (default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=500,
        metavar="N",
        help="with --simulate: replications per ceiling (default 500)",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S")
    _add_uncertainty_args(p)
    p.set_defaults(func=cmd_ceilings)

    p = sub.add_parser(
        "simulate",
        help="Monte Carlo simulation of an enrolment schedule: probability each target is met",
        description="Simulate cohorts through courses and exams, with pass and fail, drop-out, "
        "attrition, hires and promotions, many times over. Reports per target and year the mean "
        "attainment, its 95% interval and the probability the target is met.",
    )
    _add_scenario_args(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--schedule",
        metavar="CSV",
        help="schedule.csv (year, pool, course, enrolments), e.g. from optimize",
    )
    source.add_argument(
        "--optimize", action="store_true", help="simulate the optimiser's minimum-cost schedule"
    )
    p.add_argument(
        "--reps", type=_positive_int, default=1000, metavar="N", help="replications (default 1000)"
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="W",
        help="worker processes (default 1); results do not depend on it",
    )
    p.add_argument(
        "--engine",
        choices=["simpy", "fast"],
        default="simpy",
        help="simpy: discrete-event model (default); fast: vectorised arrays",
    )
    p.add_argument(
        "--keep-replications",
        action="store_true",
        help="also write every replication's yearly table (large)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default results/<scenario>)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_uncertainty_args(p, joint=False)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "plan",
        help="the main job: a schedule meeting every target with a stated probability",
        description="Optimise, simulate the schedule, and re-optimise with margins learnt from "
        "the simulation until every target holds with the asked probability, or say why it "
        "cannot. Reports the robust plan beside the expected-value plan. Exit 1 if the "
        "confidence cannot be reached.",
    )
    _add_scenario_args(p)
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help="probability each target (all together with --joint) must hold with (default 0.9)",
    )
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="replications per round (default 1000)",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--ceiling-vnd",
        type=_vnd_amount,
        metavar="N",
        help="yearly ceiling on public spending, VND (overrides the scenario's)",
    )
    p.add_argument(
        "--engine",
        choices=["fast", "simpy"],
        default="fast",
        help="simulation engine for the rounds (default fast)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="W",
        help="worker processes for the simulations (default 1); results do not depend on it",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default results/<scenario>)")
    p.add_argument("--json", action="store_true", help="print plan.json instead of tables")
    _add_uncertainty_args(p)
    p.add_argument(
        "--no-price",
        action="store_true",
        help="skip the price of confidence (robust plans at 50, 75, 90 and 95%%)",
    )
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "compare",
        help="run the plan on several scenarios and print them side by side",
        description="Run `simopt plan` on each file (with the same --set overrides) and print "
        "one table: cost, people, expected attainment and probability per target and milestone.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a field in every scenario (repeatable)",
    )
    p.add_argument("--confidence", type=_confidence, default=0.9, metavar="P")
    p.add_argument("--reps", type=_positive_int, default=1000, metavar="N")
    p.add_argument("--seed", type=_seed, default=0, metavar="S")
    p.add_argument("--out", metavar="DIR", help="also write compare.csv there")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    _add_uncertainty_args(p)
    p.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ScenarioError as err:
        print(f"simopt: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ScheduleError, JudgeError, SolverError, PlanError) as err:
        print(f"simopt: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("simopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(
            f"simopt: {exc.filename or ''}: cannot read or write ({exc.strerror})", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug: still one line, with a distinct exit code
        print(
            f"simopt: internal error: {type(exc).__name__}: {exc} (please report)", file=sys.stderr
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
