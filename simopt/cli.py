"""The command line: parse, call the library, print, exit 0 / 1 / 2. No logic of its own."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from simopt.errors import ScenarioError
from simopt.overrides import parse_assignment
from simopt.scenario import Scenario, load_scenario

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2


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


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="scenario YAML file, e.g. scenarios/long_an.yaml")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override one field without editing the file, e.g. "
        "--set courses.level4.exam_pass_probability=0.55 (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simopt",
        description="Plan and fund foreign-language training for a province's civil service "
        "(Decision 1659/QĐ-TTg). Exit codes: 0 ok, 1 findings or targets not met, 2 bad input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ScenarioError as err:
        print(f"simopt: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("simopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
