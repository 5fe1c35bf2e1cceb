"""The command line: parse, call one library function, print, exit 0 / 1 / 2.

Start-up is kept light: nothing here imports pandas, scipy, PuLP or SimPy at module level, so
`simopt validate` does not pay for the optimiser; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from simopt.errors import ScenarioError, printable
from simopt.overrides import parse_assignment
from simopt.runs import RunError
from simopt.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from simopt.runs import RunFolder

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

# User errors raised by the heavy modules (simulate, optimize, plan, judge), matched by class
# name within simopt rather than imported: importing them here would load PuLP and SciPy for
# `validate`, and an exception of a module never imported cannot occur. Matching by name also
# survives a class moving between simopt modules.
_USER_ERRORS = frozenset(
    {
        "ScheduleError",
        "JudgeError",
        "SolverError",
        "PlanError",
        "SweepError",
        "SweepFolderError",
        "ExecutorError",
        "CorrelationSplitError",
        "MergeError",
    }
)
# Attributes main() and rerun put on the parsed arguments that are not options of the command.
_NOT_OPTIONS = frozenset({"func", "argv", "recorded", "rerun_of", "run_dir", "manifest_path"})


def _load(args: argparse.Namespace) -> Scenario:
    return _load_all(args, [args.file])[0]


def _load_all(args: argparse.Namespace, files: Sequence[str]) -> list[Scenario]:
    """The scenarios of a run: from their files with --set, or (rerun) as a manifest recorded."""
    recorded = getattr(args, "recorded", None)
    if recorded is not None:
        from simopt.runs import load_recorded

        return [load_recorded(r, args.manifest_path) for r in recorded]
    overrides = dict(parse_assignment(a) for a in (args.set or []))
    return [load_scenario(f, overrides=overrides) for f in files]


def _open_run(args: argparse.Namespace, scenario_name: str) -> RunFolder:
    from simopt.runs import open_run

    return open_run(args.command, scenario_name, out=args.out, replace=args.replace)


def _commit(
    args: argparse.Namespace,
    run: RunFolder,
    scenarios: Sequence[Scenario],
    files: Sequence[str],
    *,
    status: str,
    exit_code: int,
) -> Path:
    """Write the manifest and move the run into place; remember where for rerun."""
    from simopt.runs import build_manifest, record_scenario

    recorded = getattr(args, "recorded", None)
    records = (
        list(recorded)
        if recorded is not None  # a rerun records the scenario it was given, not today's file
        else [record_scenario(f, args.set or [], s) for f, s in zip(files, scenarios, strict=True)]
    )
    options = {k: v for k, v in vars(args).items() if k not in _NOT_OPTIONS}
    manifest = build_manifest(
        command=args.command,
        argv=args.argv,
        options=options,
        scenarios=records,
        status=status,
        exit_code=exit_code,
        run=run,
        rerun_of=getattr(args, "rerun_of", None),
    )
    path = run.commit(manifest)
    args.run_dir = path
    return path


def _show(text: str) -> None:
    """Print a report: scenario text in it (titles, names, sources) may hold control characters
    that would recolour or rewrite the terminal, so every line is made printable."""
    print("\n".join(printable(line) for line in text.split("\n")))


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
        # The JSON stays English (message, computed_from) for its existing readers; the
        # structured fields beside them let a reader render any language.
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        _show(report.format(file=args.file, lang=args.lang))
    return EXIT_FINDINGS if report.findings else EXIT_OK


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a seed must be ≥ 0")
    return n


def _year(text: str) -> int:
    try:
        year = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a year is a whole number, not {text!r}") from None
    if not 1900 <= year <= 2200:
        raise argparse.ArgumentTypeError(f"{year} is not a year between 1900 and 2200")
    return year


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


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability (e.g. 0.9)") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: must lie strictly between 0 and 1")
    return value


def cmd_optimize(args: argparse.Namespace) -> int:
    from simopt.optimize import optimize
    from simopt.optimize.envelopes import with_total_ceiling
    from simopt.reporting.optimize import plan_summary, plan_table

    scenario = with_total_ceiling(_load(args), args.total_ceiling_vnd)
    with _open_run(args, scenario.name) as run:
        plan = optimize(
            scenario,
            ceiling_vnd=args.ceiling_vnd,
            solver=args.solver,
            continuous=args.continuous,
        )
        summary = plan_summary(plan, scenario)
        ok = plan.is_ok
        # An infeasible run's folder holds the diagnosis and, when the solver found it, the
        # best-effort schedule (summary.json says "schedule_kind": "best_effort": not a plan).
        shown = ok or plan.best_effort
        run.write_csv("schedule.csv", plan.schedule if shown else None)
        run.write_csv("costs.csv", plan.costs if shown else None)
        run.write_csv("attainment.csv", plan.attainment if shown else None)
        run.write_csv("classes.csv", plan.classes if shown else None)
        run.write_json("summary.json", summary)
        from simopt.reporting.data import from_optimize

        report = from_optimize(plan, scenario)
        _write_report_files(run, report, args)
        code = EXIT_OK if ok else EXIT_FINDINGS
        out = _commit(args, run, [scenario], [args.file], status=summary["status"], exit_code=code)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _print_answer(args, report, lambda: plan_table(plan, scenario), out)
    return code


def _write_report_files(run: RunFolder, report: Any, args: argparse.Namespace) -> None:
    """The workbook, the report and the charts, in the run's language, beside the tables."""
    from simopt.reporting.outputs import report_files

    for name, blob in report_files(report, _report_lang(args)).items():
        run.write_bytes(name, blob)


def _print_answer(args: argparse.Namespace, report: Any, english: Any, out: Path) -> None:
    """The answer on the terminal: the detailed English tables, or with --lang the short
    answer from the catalogue in that language."""
    from simopt.reporting.i18n import messages
    from simopt.reporting.text import answer_text

    if args.lang is None:
        _show(english())
        print(f"\nWritten to {out}/")
        return
    _show(answer_text(report, args.lang))
    print("\n" + messages(args.lang)("cli.written", path=printable(str(out))))


def _report_lang(args: argparse.Namespace) -> str:
    """The language of a run's report, workbook and charts: --lang, else Vietnamese (they are
    read by the province's committees)."""
    from simopt.reporting.i18n import DEFAULT_REPORT_LANG

    lang: str | None = getattr(args, "lang", None)
    return lang or DEFAULT_REPORT_LANG


def _frontier_chart(sweep: Any, lang: str) -> bytes | None:
    from simopt.reporting.charts import frontier_figure, png_bytes

    fig = frontier_figure(sweep.chart_frame(), lang, confidence=sweep.confidence)
    return None if fig is None else png_bytes(fig)


def _write_experiment_tables(run: RunFolder, experiments: Any, outcomes: Any) -> None:
    """The experiments layer's two tables, beside the command's own (see
    simopt/experiments/tables.py)."""
    run.write_csv("experiments.csv", experiments)
    run.write_csv("outcomes.csv", outcomes)


def cmd_ceilings(args: argparse.Namespace) -> int:
    from simopt.ceilings import sweep_ceilings
    from simopt.experiments.tables import ceilings_tables

    if args.to_vnd < args.from_vnd:
        raise ScenarioError(
            "--to-vnd must not be below --from-vnd",
            file="command line",
            path="--to-vnd",
            value=args.to_vnd,
        )
    if (args.executor or args.scheduler) and not args.simulate:
        raise ScenarioError(
            "--executor and --scheduler spread the robust plans of --simulate; without "
            "--simulate there are none (the frontier itself is one warm model, solved here)",
            file="command line",
            path="--executor" if args.executor else "--scheduler",
            show_value=False,
        )
    scenario = _load(args)
    with _open_run(args, scenario.name) as run:
        sweep = sweep_ceilings(
            scenario,
            from_vnd=args.from_vnd,
            to_vnd=args.to_vnd,
            steps=args.steps,
            simulate=args.simulate,
            confidence=args.confidence,
            reps=args.reps,
            seed=args.seed,
            engine=args.engine,
            uncertainty=args.uncertainty,
            joint=args.joint,
            progress=_progress_line,
            **_executor_options(args),
        )
        run.write_csv("ceilings.csv", sweep.table)
        run.write_json("ceilings.json", sweep.to_dict())
        _write_experiment_tables(run, *ceilings_tables(sweep.table))
        chart = _frontier_chart(sweep, _report_lang(args))
        if chart is not None:
            run.write_bytes("chart_frontier.png", chart)
        out = _commit(args, run, [scenario], [args.file], status="done", exit_code=EXIT_OK)
    if args.json:
        print(json.dumps(sweep.to_dict(), indent=2, ensure_ascii=False))
    else:
        _show(sweep.text())
        print(f"Written to {out}/")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from simopt.evidence import simulation_drivers
    from simopt.optimize import optimize
    from simopt.reporting.simulation import simulation_summary, simulation_table
    from simopt.simulate import simulate

    scenario = _load(args)
    schedule: Any = None
    if not args.optimize:
        from simopt.schedule_csv import read_schedule_csv

        # read before the run folder is opened: a bad schedule is bad input and leaves nothing;
        # every error names the file, the line and the column
        schedule = read_schedule_csv(args.schedule, scenario)
    with _open_run(args, scenario.name) as run:
        expected = None
        if args.optimize:
            plan = optimize(scenario)
            if not plan.is_ok:
                print(
                    f"simopt: cannot simulate the optimiser's plan: {plan.message}", file=sys.stderr
                )
                return EXIT_FINDINGS
            schedule = plan.schedule
            expected = plan.attainment
        with tqdm(
            total=args.reps, desc="replications", unit="rep", disable=None, leave=False
        ) as bar:

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
        drivers = simulation_drivers(scenario, schedule, result, seed=args.seed)
        run.write_csv("simulation_targets.csv", result.summary)
        run.write_csv("simulation_yearly.csv", result.yearly)
        run.write_csv("simulation_replications.csv", result.replications)
        run.write_csv("simulation_joint.csv", result.joint)
        run.write_csv("simulation_variance.csv", result.variance)
        run.write_csv(
            "simulation_parameters.csv",
            None if result.parameters is None else result.parameters.table(),
        )
        run.write_csv("drivers.csv", drivers)
        summary = simulation_summary(result, expected, drivers)
        run.write_json("simulation.json", summary)
        out = _commit(args, run, [scenario], [args.file], status="done", exit_code=EXIT_OK)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _show(simulation_table(result, scenario, expected, drivers))
        print(f"\nWritten to {out}/")
    return EXIT_OK


def _progress_line(message: str) -> None:
    if sys.stderr.isatty():
        print(f"  {message}", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    from simopt.evidence import gather_evidence
    from simopt.optimize.envelopes import with_total_ceiling
    from simopt.plan import robust_plan
    from simopt.price import LEVELS
    from simopt.reporting.plan import plan_tables, robust_summary, robust_table

    scenario = with_total_ceiling(_load(args), args.total_ceiling_vnd)
    replanned = None
    if args.update_rates and args.from_year is None:
        from simopt.plan import PlanError

        raise PlanError("--update-rates re-plans with the record's rates: give --from-year too")
    if args.from_year is not None:
        replanned, estimates, estimate_lines = _replan(args, scenario)
        original, scenario = scenario, replanned.scenario
    with _open_run(args, scenario.name) as run:
        if replanned is not None:
            _write_replan(run, replanned, estimates)
            from simopt.reporting.replan_text import replan_text

            block = replan_text(
                replanned,
                original,
                args.lang or "en",
                estimate_lines,
                rates_used=args.update_rates,
            )
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
            continuous=args.continuous,
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
            continuous=args.continuous,
        )
        summary = robust_summary(result, scenario, evidence)
        for name, table in plan_tables(result, evidence).items():
            run.write_csv(name, table)
        if replanned is not None:
            summary["replan"] = _replan_summary(replanned)
        run.write_json("plan.json", summary)
        from simopt.reporting.data import from_robust

        report = from_robust(result, scenario, evidence, ceiling_vnd=args.ceiling_vnd)
        if replanned is not None:
            from simopt.reporting.data import with_replan

            illustrative = original.actuals is not None and original.actuals.illustrative
            report = with_replan(report, replanned, illustrative)
        _write_report_files(run, report, args)
        code = EXIT_OK if result.is_met else EXIT_FINDINGS
        out = _commit(args, run, [scenario], [args.file], status=result.status, exit_code=code)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        if replanned is not None:
            _show(block)
        _print_answer(args, report, lambda: robust_table(result, scenario, evidence), out)
    return code


def _scenario_data(args: argparse.Namespace) -> dict[str, Any]:
    """The scenario of a run as data, notes and ranges kept: from its file with --set, or (rerun)
    as recorded."""
    import yaml

    from simopt.runs import resolved_yaml

    recorded = getattr(args, "recorded", None)
    text = (
        recorded[0]["resolved_yaml"]
        if recorded is not None
        else resolved_yaml(args.file, args.set or [])
    )
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _replan(args: argparse.Namespace, scenario: Scenario) -> tuple[Any, Any, list[str]]:
    """The scenario of the years from --from-year on, the rates the record implies and their
    description (with --update-rates the re-plan, past projection included, uses them)."""
    from simopt.estimate import describe_estimates, estimate_rates, rate_notes
    from simopt.replan import replan, with_rates
    from simopt.scenario import build_scenario

    data = _scenario_data(args)
    if scenario.budget.total_ceiling_vnd is not None:  # --total-ceiling-vnd is not in the data
        data.setdefault("budget", {})["total_ceiling_vnd"] = scenario.budget.total_ceiling_vnd
    estimates = estimate_rates(scenario, before_year=args.from_year)
    written = scenario
    if args.update_rates:
        data = with_rates(data, rate_notes(estimates))
        scenario = build_scenario(data, file=f"{args.file} (rates estimated from its record)")
    rp = replan(data, scenario, args.from_year, file=args.file, as_written=written)
    return rp, estimates, describe_estimates(estimates)


def _write_replan(run: RunFolder, rp: Any, estimates: Any) -> None:
    import yaml

    run.write_csv("planned_vs_actual.csv", rp.variance)
    run.write_csv("past_targets.csv", rp.past_targets)
    run.write_csv("start_levels.csv", rp.start_levels)
    run.write_csv("start_training.csv", rp.carried)
    if estimates is not None:
        run.write_csv("estimated_rates.csv", estimates)
    header = (
        f"# The scenario of {rp.from_year}–{rp.scenario.horizon.end_year} this re-plan ran: "
        "built by simopt plan --from-year from the scenario and its record.\n"
    )
    text = yaml.safe_dump(rp.data, sort_keys=False, allow_unicode=True, width=100)
    run.write_bytes("replan_scenario.yaml", (header + text).encode("utf-8"))


def _replan_summary(rp: Any) -> dict[str, Any]:
    return {
        "from_year": rp.from_year,
        "past_years": list(rp.past_years),
        "notes": list(rp.notes),
        "past_targets": json.loads(rp.past_targets.to_json(orient="records")),
        "variance": json.loads(rp.variance.to_json(orient="records")),
        "people_in_training": float(rp.carried["people"].sum()),
    }


def _compare_definitions(
    args: argparse.Namespace, files: Sequence[str], variants: Sequence[Variant]
) -> list[dict[str, str]]:
    """What each column of a comparison is: its name, its file and the overrides it runs."""
    from simopt.compare import BASE

    if not variants:
        shared = "; ".join(args.set or [])
        return [{"name": "", "file": f, "sets": shared} for f in files]
    # the first column is the file as written: no override, not even a shared one
    rows = [{"name": BASE, "file": files[0], "sets": ""}]
    rows += [{"name": v.name, "file": files[0], "sets": "; ".join(v.sets)} for v in variants]
    return rows


def cmd_compare(args: argparse.Namespace) -> int:
    from simopt.compare import BASE, compare_plans
    from simopt.experiments.tables import compare_tables

    files: list[str] = args.files
    asked = bool(args.variant or args.variants)
    if asked and len(files) != 1:
        raise ScenarioError(
            "--variant and --variants are what-ifs of one file; give one FILE, or several files "
            "without variants",
            file="command line",
            path="FILE",
            value=" ".join(files),
        )
    variants = _compare_variants(args) if asked else []
    if not asked or getattr(args, "recorded", None) is not None:
        scenarios = _load_all(args, files)  # a rerun: every column as the manifest recorded it
    else:
        scenarios = _load_variant_columns(args, files[0], variants)
    names = [BASE, *(v.name for v in variants)] if asked else None
    if names is not None and len(names) != len(scenarios):
        where = getattr(args, "manifest_path", "the manifest")
        raise RunError(f"{where}: the recorded variants do not match the recorded scenarios")
    # several scenarios have no one name: their comparisons live together
    with _open_run(args, "compare") as run:
        comparison = compare_plans(
            scenarios,
            names=names,
            files=files,
            variants=variants,
            confidence=args.confidence,
            reps=args.reps,
            seed=args.seed,
            engine=args.engine,
            uncertainty=args.uncertainty,
            joint=args.joint,
            **_executor_options(args),
        )
        run.write_csv("compare.csv", comparison.table.reset_index())
        run.write_json("compare.json", comparison.to_dict())
        _write_experiment_tables(
            run, *compare_tables(comparison.table, _compare_definitions(args, files, variants))
        )
        column_files = files if not asked else files * len(scenarios)
        out = _commit(args, run, scenarios, column_files, status="done", exit_code=EXIT_OK)
    if args.json:
        print(json.dumps(comparison.records(), indent=2, ensure_ascii=False, default=str))
    else:
        _show(comparison.text())
        print(f"Written to {out}/")
    return EXIT_OK


if TYPE_CHECKING:
    from simopt.compare import Variant


def _compare_variants(args: argparse.Namespace) -> list[Variant]:
    """compare's variants: from the command line and --variants, or (rerun) as recorded. They
    are kept in the options (``resolved_variants``), so the manifest records them whole even when
    they came from a file that may change or go."""
    from simopt.compare import command_line_variants, read_variants_file, recorded_variants

    if getattr(args, "recorded", None) is not None:
        return recorded_variants(args.resolved_variants, where=str(args.manifest_path))
    shared = [a for a, owner in zip(args.set or [], args.set_for or [], strict=True) if not owner]
    from_file = read_variants_file(args.variants, shared=shared) if args.variants else []
    _, from_line = command_line_variants(
        args.variant or [],
        args.set or [],
        args.set_for or [],
        taken=[v.name for v in from_file],
    )
    variants = [*from_file, *from_line]
    args.resolved_variants = [v.to_dict() for v in variants]
    return variants


def _load_variant_columns(
    args: argparse.Namespace, file: str, variants: list[Variant]
) -> list[Scenario]:
    """The unmodified file, then each variant of it; each column is recorded with its own --set
    list (the manifest's one --set list per run cannot say which variant had which)."""
    from simopt.compare import load_variant
    from simopt.runs import record_scenario

    base = load_scenario(file)
    scenarios = [base, *(load_variant(file, v) for v in variants)]
    args.recorded = [
        record_scenario(file, [], base),
        *(
            record_scenario(file, list(v.sets), s)
            for v, s in zip(variants, scenarios[1:], strict=True)
        ),
    ]
    return scenarios


class _VariantName(argparse.Action):
    """``--variant NAME`` of compare: the ``--set`` that follow belong to it."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), str(values)])


class _OwnedSet(argparse.Action):
    """``--set`` of compare: appended to ``set`` as everywhere, and its owner — the variant named
    last, "" before any — to ``set_for``, so that the order on the command line is kept."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        owner = (getattr(namespace, "variant", None) or [""])[-1]
        namespace.set = [*(getattr(namespace, "set", None) or []), str(values)]
        namespace.set_for = [*(getattr(namespace, "set_for", None) or []), owner]


def cmd_judge(args: argparse.Namespace) -> int:
    from simopt.judge import as_written_schedule, judge, stated_people, written_people

    recorded = getattr(args, "recorded", None)
    if recorded is not None:
        loaded = _load_all(args, [args.file])  # a rerun: both scenarios as recorded
        real, written = loaded[0], (loaded[1] if len(loaded) > 1 else None)
        if (written is None) != (args.written is None):
            where = getattr(args, "manifest_path", "the manifest")
            raise RunError(f"{where}: the recorded scenarios do not match the recorded --written")
    else:
        real = _load(args)
        # --set what-ifs the real world; the written world is the plan's own, taken as it is
        written = load_scenario(args.written) if args.written else None
        if written is not None:
            from simopt.runs import record_scenario

            args.recorded = [
                record_scenario(args.file, args.set or [], real),
                record_scenario(args.written, [], written),
            ]
    # mapped before the run folder opens: a plan that cannot be mapped leaves nothing
    plan_people = written_people(written) if written is not None else stated_people(real)
    schedule = as_written_schedule(real, plan_people=plan_people)
    files = [args.file] + ([args.written] if written is not None else [])
    with _open_run(args, real.name) as run:
        judgement = judge(
            real,
            written,
            reps=args.reps,
            seed=args.seed,
            confidence=args.confidence,
            engine=args.engine,
            workers=args.workers,
            uncertainty=args.uncertainty,
            robust=not args.no_robust,
            joint=args.joint,
            plan_people=plan_people,
            schedule=schedule,
            progress=_progress_line,
        )
        for name, table in judgement.tables().items():
            run.write_csv(name, table)
        summary = judgement.to_dict()
        run.write_json("judge.json", summary)
        scenarios = [real] + ([written] if written is not None else [])
        out = _commit(args, run, scenarios, files, status="done", exit_code=EXIT_OK)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        _show(judgement.text())
        print(f"\nWritten to {out}/")
    return EXIT_OK


RERUNNABLE = frozenset(
    {
        "optimize",
        "ceilings",
        "simulate",
        "plan",
        "compare",
        "judge",
        "sensitivity",
        "value-of-information",
        "discover",
    }
)


def cmd_rerun(args: argparse.Namespace) -> int:
    from simopt.runs import compare_runs, read_manifest, source_changed, verify_tables

    # resolved first: `latest` will point at the new run once it exists, and the original must
    # not be compared with itself nor replaced by it
    original = Path(args.run).resolve()
    if args.out is not None and Path(args.out).resolve() == original:
        raise RunError(
            f"{args.run}: a rerun cannot replace the run it redoes; choose another --out"
        )
    manifest = read_manifest(original)
    verify_tables(original, manifest)
    argv = list(manifest["argv"])
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            again = build_parser().parse_args(argv)
    except SystemExit:
        raise RunError(f"{args.run}: this simopt cannot parse the recorded command line") from None
    if again.command not in RERUNNABLE:
        raise RunError(
            f"{args.run}: the manifest records '{again.command}', which writes no run to redo"
        )
    # The recorded options win over today's defaults, so that a changed default cannot change
    # what is redone; where the output goes is the rerun's own choice. A recorded value must be
    # of the kind the option takes today: a manifest is a file anyone can edit.
    options = manifest.get("options", {})
    if not isinstance(options, dict):
        raise RunError(f"{args.run}: the manifest's options are not a mapping")
    for key, value in options.items():
        if key in _NOT_OPTIONS or key in {"out", "replace", "json", "command"}:
            continue
        if not hasattr(again, key):
            continue
        today = getattr(again, key)
        if today is not None and value is not None and not _same_kind(today, value):
            raise RunError(
                f"{args.run}: the recorded option {key} = {value!r} is not "
                f"{type(today).__name__} as the option takes"
            )
        setattr(again, key, value)
    again.out, again.replace, again.json = args.out, args.replace, False
    again.argv = argv
    again.recorded = manifest.get("scenarios")
    if not isinstance(again.recorded, list) or not all(
        isinstance(r, dict) and isinstance(r.get("resolved_yaml"), str) for r in again.recorded
    ):
        raise RunError(f"{args.run}: the manifest records no scenario to rerun")
    again.manifest_path = str(original / "manifest.json")
    again.rerun_of = str(args.run)
    for record in again.recorded:
        why = source_changed(record)
        if why:
            print(f"simopt: warning: {why}; rerunning the scenario as recorded", file=sys.stderr)
    with contextlib.redirect_stdout(io.StringIO()):
        again.func(again)
    new = Path(again.run_dir)
    diff = compare_runs(original, new)
    if args.json:
        print(json.dumps({"run": str(args.run), "rerun": str(new), **diff.__dict__}, indent=2))
    elif diff.ok:
        print(f"{new}: all {len(diff.identical)} tables identical to {args.run}")
    else:
        parts = [f"{n} differs" for n in diff.different]
        parts += [f"{n} missing" for n in diff.missing] + [f"{n} new" for n in diff.extra]
        print(f"{new}: {'; '.join(parts)} (compared with {args.run}) — {diff.why}")
    return EXIT_OK if diff.ok else EXIT_FINDINGS


def _same_kind(today: Any, recorded: Any) -> bool:
    """Whether a recorded option value can stand where today's parser puts ``today``."""
    if isinstance(today, bool) or isinstance(recorded, bool):
        return isinstance(today, bool) and isinstance(recorded, bool)
    if isinstance(today, int | float):
        return isinstance(recorded, int | float)
    if isinstance(today, list):
        return isinstance(recorded, list) and all(isinstance(x, str) for x in recorded)
    return isinstance(recorded, type(today))


def _uncertainty_parent(*, joint: bool) -> _Parser:
    p = _Parser(add_help=False)
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
    return p


def _scenario_parent() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument("file", help="scenario YAML file, e.g. scenarios/long_an.yaml")
    _add_set(
        p,
        "override one field without editing the file, e.g. "
        "--set courses.level4.exam_pass_probability=0.55 (repeatable)",
    )
    return p


def _add_set(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help=help_text)


def _run_parent(*, lang: bool = True) -> _Parser:
    """--out, --replace, --json and (``lang``) --lang: the options of a command that writes a
    run folder."""
    p = _Parser(add_help=False)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="run folder (default results/<scenario>/<run-id>, and results/<scenario>/latest "
        "points to it); refused if DIR holds an earlier run, unless --replace",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="let --out replace an earlier simopt run there (atomically; never other folders)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    if not lang:
        return p
    p.add_argument(
        "--lang",
        choices=("vi", "en"),
        default=None,
        help="language of the run's report, workbook and charts (default vi) and of the "
        "answer printed (default en): vi Vietnamese, en English",
    )
    return p


def _sampling_parent(*, reps: int, reps_help: str) -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--reps",
        type=_positive_int,
        default=reps,
        metavar="N",
        help=f"{reps_help} (default %(default)s)",
    )
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--engine",
        choices=["fast", "simpy"],
        default="fast",
        help="fast: all replications at once as arrays (default); simpy: the discrete-event "
        "model, one replication at a time — the same rules, other random streams",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="W",
        help="worker processes for the simulations (default 1); results do not depend on it",
    )
    return p


def _confidence_parent(*, what: str = "") -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        metavar="P",
        help=f"{what}probability each target (all together with --joint) must hold with "
        "(default 0.9)",
    )
    return p


def _ceiling_parent() -> _Parser:
    p = _Parser(add_help=False)
    p.add_argument(
        "--ceiling-vnd",
        type=_vnd_amount,
        metavar="N",
        help="yearly ceiling on public spending, VND (overrides the scenario's)",
    )
    p.add_argument(
        "--total-ceiling-vnd",
        type=_vnd_amount,
        metavar="N",
        help="ceiling on public spending summed over every year the plan spends in, VND "
        "(sets budget.total_ceiling_vnd; phases: budget.envelopes in the scenario or --set)",
    )
    return p


def _experiments_parent(what: str) -> _Parser:
    """--executor and --scheduler: where the experiments of a command run (its --workers then
    counts the executor's workers, and each experiment simulates in one process)."""
    p = _Parser(add_help=False)
    p.add_argument(
        "--executor",
        choices=["sequential", "processes", "dask"],
        default=None,
        help=f"where {what} run: sequential (this process, the default), processes (--workers "
        "local processes) or dask (a Dask LocalCluster of --workers workers). The results do "
        "not depend on it",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help=f"run {what} on the Dask cluster whose scheduler is there (started with `dask "
        "scheduler` and `dask worker`)",
    )
    return p


def _executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The executor's arguments, and the simulation workers each experiment keeps."""
    spread = bool(args.executor and args.executor != "sequential") or bool(args.scheduler)
    return {
        "executor": args.executor,
        # --workers left at 1 means "not said": the executor's own default (two) then
        "executor_workers": args.workers if spread and args.workers > 1 else None,
        "scheduler": args.scheduler,
        "workers": 1 if spread else args.workers,
    }


def _whole_people_parent(*, legacy: bool = False) -> _Parser:
    """--continuous; with ``legacy`` also --integer-classes, the old name of the default (kept
    so that recorded command lines still parse and rerun)."""
    p = _Parser(add_help=False)
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--continuous",
        action="store_true",
        help="plan in fractions of people (the linear relaxation: faster, with a price on every "
        "limit); the default is whole people in whole classes (a MILP)",
    )
    if legacy:
        group.add_argument(
            "--integer-classes",
            action="store_true",
            help="whole people in whole classes of class_size, paid per class (the default)",
        )
    return p


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the tool."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simopt",
        description="Plan and fund foreign-language training for a province's civil service "
        "(Decision 1659/QĐ-TTg). Exit codes: 0 ok, 1 findings or targets not met, 2 bad input, "
        "3 internal error, 130 interrupted. "
        "Every command that computes writes one run folder with a manifest.json.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    scenario = _scenario_parent()
    run = _run_parent()
    ceiling = _ceiling_parent()

    p = sub.add_parser(
        "validate",
        parents=[scenario],
        help="check a scenario file and report the first problem",
    )
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "show",
        parents=[scenario],
        help="summarise a scenario: groups, pools, eligible base, people needed per target",
    )
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "audit",
        parents=[scenario],
        help="recompute every stated total of the plan from its parts and list disagreements",
        description="Recompute the plan's stated totals (people × unit cost, group sums, phase "
        "sums, yearly averages, minimum counts against shares and headcounts). Exit 1 when "
        "there are findings, 0 when the arithmetic is clean, 2 on invalid input.",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument(
        "--lang",
        choices=("vi", "en"),
        default="en",
        help="language of the text report: vi (Vietnamese) or en (default en; --json is "
        "always English, with the structured fields to render either)",
    )
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser(
        "optimize",
        parents=[scenario, ceiling, run, _whole_people_parent(legacy=True)],
        help="minimum-cost enrolment schedule meeting every target (whole people, a MILP)",
        description="Find how many people of each pool enter which course in which year so that "
        "every target is met in expectation at minimum cost, in whole people and whole classes. "
        "Writes schedule.csv, costs.csv, attainment.csv, classes.csv and summary.json. Exit 1 "
        "when the targets cannot all be met; the folder then holds the diagnosis and the "
        "best-effort schedule (the closest the limits allow, marked as such).",
    )
    p.add_argument(
        "--solver", choices=["highs", "cbc"], default="highs", help="LP solver (default: highs)"
    )
    p.set_defaults(func=cmd_optimize)

    p = sub.add_parser(
        "ceilings",
        parents=[
            scenario,
            run,
            # fewer replications than elsewhere: they are spent at every one of --steps ceilings
            _sampling_parent(reps=500, reps_help="with --simulate: replications per ceiling"),
            _confidence_parent(what="with --simulate: "),
            _uncertainty_parent(joint=True),
            _experiments_parent("with --simulate, the ceilings' robust plans"),
        ],
        help="the finance frontier: feasibility, cost and attainment for a range of ceilings",
        description="For each yearly public-budget ceiling from --from-vnd to --to-vnd: can every "
        "target be met, at what minimum cost, and if not, the best attainment and shortfall. "
        "Also the smallest ceiling that meets every target; with --simulate, what each ceiling "
        "buys with --confidence. Progress goes to stderr on a terminal.",
    )
    p.add_argument(
        "--from-vnd",
        type=_vnd_amount,
        required=True,
        metavar="A",
        help="lowest yearly public ceiling to test, VND (e.g. 4e10)",
    )
    p.add_argument(
        "--to-vnd",
        type=_vnd_amount,
        required=True,
        metavar="B",
        help="highest yearly public ceiling to test, VND (≥ --from-vnd)",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=10,
        metavar="K",
        help="ceilings to test (default 10)",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="per ceiling, the robust plan under it (met with --confidence or why not, its "
        "cost, per-target probabilities on its fresh sample, spending within the ceiling) beside "
        "the expected-value plan simulated; the smallest ceiling found at --confidence is a "
        "row of its own, and every row above it is met",
    )
    p.set_defaults(func=cmd_ceilings)

    p = sub.add_parser(
        "simulate",
        parents=[
            scenario,
            run,
            _sampling_parent(reps=1000, reps_help="replications"),
            _uncertainty_parent(joint=False),
        ],
        help="Monte Carlo simulation of an enrolment schedule: probability each target is met",
        description="Simulate cohorts through courses and exams, with pass and fail, drop-out, "
        "attrition, hires and promotions, many times over. Reports per target and year the mean "
        "attainment, its 95% interval and the probability the target is met.",
    )
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
        "--keep-replications",
        action="store_true",
        help="also write every replication's yearly table (large)",
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser(
        "plan",
        parents=[
            scenario,
            ceiling,
            run,
            _whole_people_parent(),
            _sampling_parent(reps=1000, reps_help="replications per round"),
            _confidence_parent(),
            _uncertainty_parent(joint=True),
        ],
        help="the main job: a schedule meeting every target with a stated probability",
        description="Optimise, simulate the schedule, and re-optimise with margins learnt from "
        "the simulation until every target holds with the asked probability, or say why it "
        "cannot. Reports the robust plan beside the expected-value plan. Exit 1 if the "
        "confidence cannot be reached.",
    )
    p.add_argument(
        "--no-price",
        action="store_true",
        help="skip the price of confidence (robust plans at 50, 75, 90 and 95%%)",
    )
    p.add_argument(
        "--from-year",
        type=_year,
        metavar="YEAR",
        help="re-plan from 1 January of YEAR: the years before it as the scenario's actuals "
        "record them (a survey's levels where there is one, else projected), people still in "
        "training carried on; prints planned against actual for the past years",
    )
    p.add_argument(
        "--update-rates",
        action="store_true",
        help="with --from-year: plan with the pass and completion rates the record implies "
        "(estimated_rates.csv says how) instead of the scenario's",
    )
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser(
        "compare",
        parents=[
            run,
            _sampling_parent(reps=1000, reps_help="replications per round"),
            _confidence_parent(),
            _uncertainty_parent(joint=True),
            _experiments_parent("the columns' robust plans"),
        ],
        help="the plan for several scenarios, or named what-ifs of one, side by side",
        description="Run `simopt plan` on each file (with the same --set overrides), or on "
        "named variants of one file (--variant NAME --set PATH=V …, or --variants FILE), and "
        "print one table: cost, people, VND per person certified, expected attainment, VND per "
        "point of each target over doing nothing, and probability per target and milestone. "
        "With variants the first column, 'base', is the file as written. "
        "The run folder is results/compare/<run-id> unless --out.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files")
    p.add_argument(
        "--set",
        action=_OwnedSet,
        metavar="PATH=VALUE",
        help="override a field (repeatable): with several files, in every one; with variants, "
        "before any --variant in every variant (not 'base'), after --variant NAME in that one",
    )
    p.add_argument(
        "--variant",
        action=_VariantName,
        metavar="NAME",
        help="start a named what-if of FILE: the --set that follow make it (repeatable; names "
        "unique, printable, not 'base')",
    )
    p.add_argument(
        "--variants",
        metavar="VARIANTS.yaml",
        help="named what-ifs from a YAML mapping name: {path: value, …} (same rules as --set); "
        "they come before any --variant",
    )
    # what the variants were, whatever their source: kept in the manifest for rerun
    p.set_defaults(func=cmd_compare, set_for=None, resolved_variants=None)

    p = sub.add_parser(
        "judge",
        parents=[
            scenario,
            run,
            _sampling_parent(reps=1000, reps_help="replications"),
            _confidence_parent(what="the robust plan beside it: "),
            _uncertainty_parent(joint=True),
        ],
        help="the plan as written (its stated people per group and phase), simulated",
        description="Map the people the plan states per group and phase (its stated_budget "
        "lines, or with --written the written-world scenario's optimum) onto the scenario's "
        "pools by a stated rule, which is printed, and simulate them: per target the expected "
        "share and the probability met with its interval, all targets together and the cost, "
        "beside the robust plan at --confidence. Writes schedule.csv (the written plan in the "
        "scenario's pools), the simulation tables and judge.json.",
    )
    p.add_argument(
        "--written",
        metavar="WRITTEN.yaml",
        help="take the written plan's people from this written-world scenario's minimum-cost "
        "schedule (e.g. scenarios/long_an_as_written.yaml) instead of FILE's stated budget; "
        "--set does not apply to it",
    )
    p.add_argument(
        "--no-robust",
        action="store_true",
        help="skip the robust plan beside the written one",
    )
    p.set_defaults(func=cmd_judge)

    p = sub.add_parser(
        "rerun",
        help="redo a run from its manifest and check every table comes out byte-identical",
        description="Re-parse the recorded command line, reload the scenario as recorded (not "
        "from its file, which may have changed: a warning says so) and write a new run folder. "
        "Exit 0 when every table (manifest and timings aside) is identical, 1 when some differ.",
    )
    p.add_argument("run", metavar="DIR", help="a run folder (with manifest.json)")
    p.add_argument("--out", metavar="NEW", help="the new run folder (default: a new run id)")
    p.add_argument("--replace", action="store_true", help="let --out replace an earlier run")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=cmd_rerun)

    from simopt.experiments import cli_discovery, cli_sensitivity, cli_sweep, cli_voi

    cli_sweep.add_parser(sub)
    cli_sensitivity.add_parser(sub)
    cli_voi.add_parser(sub)
    cli_discovery.add_parser(sub)
    from simopt import merge_cli
    from simopt.web import cli as web_cli

    merge_cli.add_parser(sub)
    web_cli.add_parsers(sub)
    return parser


def _user_error(exc: BaseException) -> bool:
    return any(
        c.__name__ in _USER_ERRORS and c.__module__.startswith("simopt.") for c in type(exc).__mro__
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        code: int = args.func(args)
        return code
    except ScenarioError as err:
        print(f"simopt: {err.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunError as err:
        print(f"simopt: {printable(str(err))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("simopt: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        where = printable(str(exc.filename)) if exc.filename else "a file"
        print(f"simopt: {where}: cannot read or write ({exc.strerror})", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if _user_error(exc):
            print(f"simopt: {printable(str(exc))}", file=sys.stderr)
            return EXIT_BAD_INPUT
        # a bug: still one line, with a distinct exit code
        print(
            f"simopt: internal error: {type(exc).__name__}: {printable(str(exc), 300)} "
            "(please report)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
