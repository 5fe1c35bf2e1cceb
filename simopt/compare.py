"""Several scenarios (or named what-ifs of one) side by side: cost, people, attainment,
probability, and what a person certified and a point of each target cost.

What-ifs of one file are **variants**: a name and the ``--set`` assignments that make it, given on
the command line (``--variant NAME --set PATH=V …``) or in a small YAML file mapping each name to
``{path: value, …}`` (:func:`read_variants_file`). Every assignment goes through the loader's own
override rules (:mod:`simopt.overrides`), exactly as ``--set`` does; the unmodified file is always
the first column, :data:`BASE`.

Per-head figures (:func:`comparison_table`):

- **VND per person certified**: the robust plan's cost (the optimiser's, at the stated values:
  the "robust plan: cost_vnd" row) ÷ the people it certifies — the mean number of exam passes
  per replication over the horizon, in the simulation that judged the plan (its fresh sample, or
  the last round where there is none): "robust plan: people certified". A person who passes one
  course and later another is counted once per certificate. Both rows are printed, so the
  division can be redone.
- **VND per target point**: for each target, the robust plan's whole cost ÷ the percentage
  points of attainment (share of the target's people at its level, at its year) that the plan
  adds over doing nothing — the same scenario projected with a schedule of zero enrolments, where
  only attrition, hires and promotions move the share. Both shares are the optimiser's
  projections at the stated values, and both are printed ("expected share", "share doing
  nothing"). The same money serves every target, so these figures do not add up across targets;
  they compare what a point of one target costs between columns. No figure where the plan adds
  no point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from simopt.errors import ScenarioError, printable, yaml_kind
from simopt.format import people, vnd
from simopt.plan import RobustPlan, robust_plan
from simopt.reporting.tables import missing as _missing
from simopt.scenario import Scenario

BASE = "base"
"""The column of the unmodified file when variants are compared."""
MAX_VARIANT_NAME = 40
"""Longest variant name: it heads a column of the printed table."""

PER_PERSON = "robust plan: VND per person certified"
CERTIFIED = "robust plan: people certified"
PER_POINT = "VND per point over doing nothing"
NOTHING = "share doing nothing"


@dataclass(frozen=True)
class Variant:
    """A named what-if: its ``PATH=VALUE`` assignments in the order they apply."""

    name: str
    sets: tuple[str, ...]
    origin: str = "--variant"
    """Where it was defined: ``--variant`` or the variants file's path (for messages)."""
    lines: Mapping[str, int | None] = field(default_factory=dict)
    """Its own paths (not the shared ``--set``) and their lines in the variants file."""
    shared: int = 0
    """How many of ``sets`` come first from the shared ``--set`` (given before any variant)."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sets": list(self.sets)}


def check_variant_name(name: Any, *, where: str, taken: Sequence[str] = ()) -> str:
    """A variant name heads a column: non-empty printable text, unique, not :data:`BASE`."""
    if not isinstance(name, str):
        raise ScenarioError(
            f"a variant name is text, not {yaml_kind(name)} (quote it)",
            file=where,
            path="variant",
            value=name,
        )
    rule = None
    if not name.strip():
        rule = "a variant name must not be empty"
    elif printable(name) != name:
        rule = "a variant name must be printable text (no control characters or line breaks)"
    elif name != name.strip():
        rule = "a variant name must not start or end with a space"
    elif len(name) > MAX_VARIANT_NAME:
        rule = f"a variant name may be at most {MAX_VARIANT_NAME} characters (it heads a column)"
    elif name == BASE:
        rule = f"'{BASE}' names the unmodified file; choose another name"
    elif name in taken:
        rule = "variant names must be unique; this one is given twice"
    if rule is not None:
        raise ScenarioError(rule, file=where, path="variant", value=name)
    return name


def read_variants_file(path: str, *, shared: Sequence[str] = ()) -> list[Variant]:
    """Variants from a YAML mapping ``name: {path: value, …}``; ``shared`` assignments (the
    ``--set`` given before any ``--variant``) come first in each. Errors are one line naming the
    file, the line, the variant, the path and the value."""
    from simopt.limits import MAX_SCENARIO_BYTES
    from simopt.overrides import parse_assignment
    from simopt.scenario import read_limited
    from simopt.yamlio import parse_yaml_text

    raw = read_limited(path, MAX_SCENARIO_BYTES, what="a variants file", file=path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)", file=path
        ) from None
    data, node = parse_yaml_text(text, file=path)
    shape = "a variants file maps each variant's name to {path: value, …}"
    if not isinstance(data, dict) or not data:
        what = "empty" if data is None or data == {} else yaml_kind(data)
        raise ScenarioError(f"{shape}; this one is {what}", file=path)
    lines = _key_lines(node, data)
    out: list[Variant] = []
    for name, body in data.items():
        line = lines.get((name,))
        where = f"{path}:{line}" if line else path
        check_variant_name(name, where=where, taken=[v.name for v in out])
        if not isinstance(body, dict):
            raise ScenarioError(
                f"{shape}; a variant holds a mapping of paths, not {yaml_kind(body)}",
                file=path,
                line=line,
                path=name,
                value=body,
            )
        own: dict[str, int | None] = {}
        sets = list(shared)
        for key, value in body.items():
            at = lines.get((name, key))
            if not isinstance(key, str) or not key.strip():
                raise ScenarioError(
                    f"a path is dotted field names, e.g. courses.level4.exam_pass_probability "
                    f"(variant {name!r})",
                    file=path,
                    line=at,
                    path=str(key) or "''",
                    value=value,
                )
            assignment = f"{key}={_yaml_value(value)}"
            parse_assignment(assignment)  # the same form check as --set
            sets.append(assignment)
            own[key.strip()] = at
        out.append(Variant(name, tuple(sets), origin=path, lines=own, shared=len(shared)))
    return out


def _yaml_value(value: Any) -> str:
    """A value of the variants file as one line of YAML, read back by the override rules."""
    import yaml

    text = yaml.safe_dump(
        value, default_flow_style=True, width=1_000_000, allow_unicode=True, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("...").strip()


def _key_lines(node: Any, data: dict[Any, Any]) -> dict[tuple[Any, ...], int]:
    """Line of each variant (``(name,)``) and of each of its paths (``(name, path)``): the
    mapping's nodes are in the order of its parsed keys (merge keys aside: then no lines)."""
    import yaml

    found: dict[tuple[Any, ...], int] = {}
    if not isinstance(node, yaml.MappingNode) or len(node.value) != len(data):
        return found
    for (key_node, value_node), (name, body) in zip(node.value, data.items(), strict=True):
        found[(name,)] = key_node.start_mark.line + 1
        if (
            isinstance(value_node, yaml.MappingNode)
            and isinstance(body, dict)
            and len(value_node.value) == len(body)
        ):
            for (inner, _), path in zip(value_node.value, body, strict=True):
                found[(name, path)] = inner.start_mark.line + 1
    return found


def load_variant(file: str, variant: Variant) -> Scenario:
    """The scenario of ``file`` with the variant's assignments; a bad one is reported with the
    variant's name and, for a variants file, its line there."""
    from simopt.overrides import parse_assignment
    from simopt.scenario import load_scenario

    overrides = dict(parse_assignment(a) for a in variant.sets)
    try:
        return load_scenario(file, overrides=overrides)
    except ScenarioError as err:
        if not err.file.endswith("(--set)"):
            raise  # the file itself: the base column, loaded first, reports it
        own = next((p for p in variant.lines if _overlaps(err.path, p)), None)
        also = [
            a for a in variant.sets[: variant.shared] if _overlaps(err.path, parse_assignment(a)[0])
        ]
        if own is not None and variant.origin != "--variant":
            # a path of the variants file: that file and its line (and a shared --set on the
            # same field, which may be the one at fault)
            where, line = variant.origin, variant.lines[own]
            rule = f"{err.rule} (variant {variant.name!r}" + (
                f"; with --set {also[-1]})" if also else ")"
            )
        else:
            where, line, rule = f"--set (variant {variant.name!r})", None, err.rule
        raise ScenarioError(
            rule,
            file=where,
            line=line,
            path=err.path,
            value=err.value,
            show_value=err.show_value,
        ) from None


def _overlaps(error_path: str, path: str) -> bool:
    a, b = error_path.split("."), path.removesuffix(".value").split(".")
    n = min(len(a), len(b))
    return a[:n] == b[:n]


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame
    """One row per measure, one column per scenario or variant."""
    confidence: float
    reps: int
    seed: int
    uncertainty: str
    joint: bool
    variants: tuple[Variant, ...] = ()

    def records(self) -> dict[str, dict[str, Any]]:
        """measure → column → value, JSON-ready (NaN becomes None)."""
        return {
            str(m): {str(k): (None if _missing(v) else v) for k, v in row.items()}
            for m, row in self.table.to_dict("index").items()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence": self.confidence,
            "joint": self.joint,
            "replications": self.reps,
            "seed": self.seed,
            "uncertainty": self.uncertainty,
            "variants": [v.to_dict() for v in self.variants],
            "measures": self.records(),
        }

    def text(self) -> str:
        """The table as a planner reads it, with what the per-head figures mean."""
        table = self.table
        header = ["measure", *(str(c) for c in table.columns)]
        rows = [
            [str(m), *(_cell(str(m), v) for v in row)]
            for m, row in zip(table.index, table.itertuples(index=False), strict=True)
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        what = "all targets together" if self.joint else "each target"
        lines = [
            f"Compared at {self.confidence:.0%} confidence ({what}), {self.reps} replications, "
            f"seed {self.seed}, uncertainty {self.uncertainty}",
        ]
        if self.variants:
            lines.append(f"  {BASE}: the file as written")
        for v in self.variants:
            lines.append(f"  variant {v.name}: " + (", ".join(v.sets) or "as the file is"))
        lines += [
            "  VND per person certified = robust plan cost ÷ people certified (simulated mean "
            "exam passes, one per certificate).",
            "  VND per point = robust plan cost ÷ percentage points of the target's share the "
            "plan adds over doing nothing (no enrolments), both projected at the stated values; "
            "the same money serves every target, so these do not add up.",
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(line.rstrip() for line in lines)


def _cell(measure: str, value: Any) -> str:
    if _missing(value):
        return "—"
    if measure.endswith("cost_vnd") or measure == PER_PERSON or measure.endswith(PER_POINT):
        return vnd(value)
    if measure.endswith(("enrolments", "people certified")):
        return people(value)
    if measure.endswith(("share", "probability met", NOTHING)):
        return f"{value:.1%}"
    return str(value)


def compare_plans(
    scenarios: Sequence[Scenario],
    *,
    names: Sequence[str] | None = None,
    files: Sequence[str] | None = None,
    variants: Sequence[Variant] = (),
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    joint: bool = False,
    executor: str | None = None,
    executor_workers: int | None = None,
    scheduler: str | None = None,
) -> Comparison:
    """The robust plan of each scenario, side by side (:func:`comparison_table`). Columns are
    ``names`` when given (variants: ``base`` then each variant), else the scenarios' names, or
    ``name (file)`` when two scenarios share a name. Each column is one experiment, run on
    ``executor`` (:func:`simopt.experiments.executors.map_tasks`); the table does not depend on
    where."""
    if names is None:
        names = [s.name for s in scenarios]
        if len(set(names)) < len(names):
            labels = files if files is not None else [str(i) for i in range(len(scenarios))]
            names = [f"{s.name} ({f})" for s, f in zip(scenarios, labels, strict=True)]
    if len(names) != len(scenarios) or len(set(names)) < len(names):
        raise ValueError(f"need one distinct name per scenario, got {list(names)}")
    from simopt.experiments.executors import map_tasks

    settings = {
        "confidence": confidence,
        "reps": reps,
        "seed": seed,
        "engine": engine,
        "workers": workers,
        "uncertainty": uncertainty,
        "joint": joint,
    }
    plans = map_tasks(
        _robust_column,
        [(s, settings) for s in scenarios],
        executor=executor,
        workers=executor_workers,
        scheduler=scheduler,
    )
    results = dict(zip(names, plans, strict=True))
    by_name = dict(zip(names, scenarios, strict=True))
    return Comparison(
        comparison_table(results, by_name),
        confidence=confidence,
        reps=reps,
        seed=seed,
        uncertainty=uncertainty,
        joint=joint,
        variants=tuple(variants),
    )


def _robust_column(task: tuple[Scenario, dict[str, Any]]) -> RobustPlan:
    """One experiment of a comparison: a column's robust plan."""
    scenario, settings = task
    return robust_plan(scenario, **settings)


def nothing_shares(scenario: Scenario) -> dict[str, float]:
    """Per target at its year: the share attained if nobody enrols in anything (the optimiser's
    projection of an empty schedule at the stated values)."""
    import numpy as np

    from simopt.dynamics import compile_dynamics
    from simopt.optimize.solve import project

    d = compile_dynamics(scenario)
    at = project(None, np.zeros((len(d.years), d.n_pools, d.n_courses)), dynamics=d)
    at = at[at["year"] == at["target_year"]]
    return {str(r["target"]): float(r["attained_share"]) for r in at.to_dict("records")}


def people_certified(r: RobustPlan) -> float | None:
    """Mean exam passes per replication over the horizon, in the simulation that judged the
    robust plan (its fresh sample, else its last round)."""
    judged = r.confirmed if r.confirmed is not None else r.after
    if judged is None or r.robust is None:
        return None
    return float(judged.yearly["passed"].sum())


def comparison_table(
    results: dict[str, RobustPlan], scenarios: Mapping[str, Scenario] | None = None
) -> pd.DataFrame:
    """One row per measure, one column per scenario; with ``scenarios`` (by column) the per-head
    figures of the module docstring too."""
    measures: dict[str, dict[str, Any]] = {}

    def put(measure: str, name: str, value: Any) -> None:
        measures.setdefault(measure, {})[name] = value

    for name, r in results.items():
        put("status", name, r.status)
        put("uncertainty", name, r.uncertainty)
        put("expected-value plan: cost_vnd", name, r.expected.total_cost_vnd)
        if r.expected.is_ok:
            put("expected-value plan: enrolments", name, r.expected.schedule["enrolments"].sum())
        cost = None
        if r.robust is not None and r.robust.is_ok:
            cost = r.robust.total_cost_vnd
            put("robust plan: cost_vnd", name, cost)
            put("robust plan: enrolments", name, r.robust.schedule["enrolments"].sum())
            certified = people_certified(r)
            if certified is not None:
                put(CERTIFIED, name, certified)
                if cost is not None and certified > 0:
                    put(PER_PERSON, name, cost / certified)
        nothing = nothing_shares(scenarios[name]) if scenarios is not None else {}
        for row in r.comparison().to_dict("records"):
            key = f"{row['target']} ({row['year']})"
            share = row.get("robust_expected_share", row["expected_share"])
            put(f"{key}: expected share", name, share)
            # judged on the fresh sample where there is one, as the all-together row below
            put(
                f"{key}: probability met",
                name,
                row.get(
                    "probability_met_fresh_seed",
                    row.get("probability_met", row["probability_met_before"]),
                ),
            )
            base = nothing.get(str(row["target"]))
            if base is None:
                continue
            put(f"{key}: {NOTHING}", name, base)
            points = 100.0 * (float(share) - base)
            # a plan that adds (almost) nothing to a target has no price per point of it
            if cost is not None and "robust_expected_share" in row and points > 0.05:
                put(f"{key}: {PER_POINT}", name, cost / points)
        judged = r.confirmed or r.after
        if judged is not None and judged.joint is not None:
            for row in judged.joint.to_dict("records"):
                scope = "all targets" if row["scope"] == "all" else f"targets of {row['scope']}"
                put(f"{scope} together: probability met", name, row["probability_all_met"])
    table = pd.DataFrame.from_dict(measures, orient="index")
    table = table.reindex(columns=list(results))
    table.index.name = "measure"
    return table


def command_line_variants(
    names: Sequence[str],
    sets: Sequence[str],
    owners: Sequence[str],
    *,
    taken: Sequence[str] = (),
) -> tuple[list[str], list[Variant]]:
    """The shared assignments (a ``--set`` before any ``--variant``, ``owners`` "") and each
    ``--variant NAME`` with the shared ones then its own, in command-line order."""
    from simopt.overrides import parse_assignment

    if len(sets) != len(owners):
        raise ValueError("every --set needs its owner ('' for the shared ones)")
    for a in sets:
        parse_assignment(a)  # a malformed one is named before anything is loaded
    shared = [a for a, owner in zip(sets, owners, strict=True) if owner == ""]
    seen = list(taken)
    variants = []
    for name in names:
        check_variant_name(name, where="--variant", taken=seen)
        seen.append(name)
        own = [a for a, owner in zip(sets, owners, strict=True) if owner == name]
        lines = {parse_assignment(a)[0]: None for a in own}
        variants.append(
            Variant(name, (*shared, *own), origin="--variant", lines=lines, shared=len(shared))
        )
    return shared, variants


def recorded_variants(data: Any, *, where: str) -> list[Variant]:
    """Variants as a run's manifest recorded them (``[{name, sets}, …]``); a manifest is a file
    anyone can edit, so its shape is checked."""
    from simopt.runs import RunError

    if not isinstance(data, list):
        raise RunError(f"{where}: the recorded variants are not a list")
    out: list[Variant] = []
    for item in data:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("sets"), list)
            or not all(isinstance(a, str) for a in item["sets"])
        ):
            raise RunError(f"{where}: a recorded variant is not {{name, sets}}")
        try:
            name = check_variant_name(item.get("name"), where=where, taken=[v.name for v in out])
        except ScenarioError as err:
            raise RunError(err.message) from None
        out.append(Variant(name, tuple(item["sets"]), origin=where))
    return out
