"""The what-if panel's logic, without HTTP: a scenario version parsed once, a few inputs a
planner moves (pass rates, attrition, tuition, the yearly ceiling, the confidence), and an answer
quick enough to explore.

**The inputs** are applied as typed overrides on the parsed data
(:meth:`simopt.experiments.model.ExperimentModel.scenario_at`, validated by the file's own
rules, no YAML parsed again) that keep each number's uncertainty: a pass rate or a tuition that
is moved takes its range with it (``PATH.value`` and ``PATH.range`` shifted by the same amount,
within what the number may be), the attrition multipliers (all pools, and per group) scale each
pool's rate and its range — so that a what-if answers "what if the rate is about this" rather
than "what if it were known to be exactly this" (which would remove its spread and make a
worse rate look cheaper to plan for). A yearly ceiling is set as typed. An input left at its
saved value changes nothing.

**The answer** (:func:`answer`), on the fast engine with :data:`REPS` replications, in fractions
of people (the linear program, not whole classes — a queued plan gives those):

- the minimum cost of meeting every target in expectation (the optimiser);
- the cost of the plan that holds each target with the asked confidence (the robust loop,
  continuous), and each target's probability with its 95% interval on the loop's fresh sample;
- each target's probability under the what-if for *the plan made for the scenario as saved*
  (simulated in the what-if's world): what the change does to the plan already in hand;
- what changed against the scenario as saved.

Models are cached per version (:func:`model_for`), and so is each version's answer as saved at
each confidence (:meth:`WhatIfModel.baseline`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simopt.experiments.model import ExperimentModel
from simopt.scenario import Scenario, parse_scenario
from simopt.yamlio import is_note, parse_yaml_text

if TYPE_CHECKING:
    import pandas as pd

    from simopt.plan import RobustPlan
    from simopt.simulate import SimulationResult

REPS = 200
"""Replications of a what-if (stated on the page)."""
SEED = 0
CONFIDENCE = 0.9
CONFIDENCE_RANGE = (0.5, 0.95)
"""A what-if's confidence: up to 95%, which :data:`REPS` replications can still show."""
MULTIPLIER_RANGE = (0.25, 4.0)
CEILING_MAX_TY = 1e6
TUITION_MAX_MILLION = 1e4
CACHE_SIZE = 16
TY = 1e9
MILLION = 1e6
Inputs = dict[str, float | None]
"""Field name → value in the field's unit (percent, million VND, tỷ đồng, multiplier)."""


@dataclass(frozen=True)
class Field:
    """One input of the panel."""

    name: str
    """The form field: ``confidence``, ``pass-<course>``, ``tuition-<course>``, ``attrition``,
    ``attrition-<group>``, ``ceiling``."""
    kind: str
    """confidence, pass, tuition, attrition, attrition_group, ceiling."""
    key: str
    """The course or group id ("" for the others)."""
    label: str
    """Catalogue key of its label."""
    label_fields: dict[str, str]
    saved: float | None
    """The value as saved, in the field's unit (None: no ceiling)."""
    low: float
    high: float
    step: float
    unit: str
    """Catalogue key of the unit."""


@dataclass(frozen=True)
class Change:
    field: Field
    saved: float | None
    value: float


@dataclass(frozen=True)
class Probability:
    p: float
    low: float
    high: float


@dataclass(frozen=True)
class TargetAnswer:
    target: str
    label: str
    year: int
    required_share: float | None
    required_count: float | None
    robust: Probability | None
    """The what-if's own robust plan (its fresh sample)."""
    saved_plan: Probability | None
    """The plan for the scenario as saved, simulated in the what-if's world."""
    min_cost_plan: Probability | None
    """The minimum-cost (expected-value) plan."""


@dataclass(frozen=True)
class Answer:
    status: str
    """The robust loop's: met, not_met, infeasible, not_solved."""
    message: str
    """The library's sentence (English), shown as detail."""
    confidence: float
    reps: int
    min_cost_vnd: float | None
    robust_cost_vnd: float | None
    all_robust: Probability | None
    all_saved_plan: Probability | None
    targets: list[TargetAnswer]
    changes: list[Change]
    seconds: float
    schedule: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    """The robust schedule (for the version's baseline: the plan as saved)."""

    @property
    def is_met(self) -> bool:
        return self.status == "met"


class WhatIfError(ValueError):
    """An input the panel cannot use: ``errors`` maps field names to (catalogue key, its
    numbers, formatted in the reader's language where the message is made)."""

    def __init__(self, errors: dict[str, tuple[str, dict[str, float]]]) -> None:
        super().__init__(", ".join(sorted(errors)))
        self.errors = errors


class WhatIfModel:
    """A scenario version parsed once, with its fields and its answers as saved."""

    def __init__(self, yaml_text: str, file: str) -> None:
        self.file = file
        self.scenario: Scenario = parse_scenario(yaml_text, file=file)
        data, _ = parse_yaml_text(yaml_text, file=file)
        self.model = ExperimentModel(data, file, self.scenario)
        self._data = data
        self.fields = self._fields()
        self._by_name = {f.name: f for f in self.fields}
        self._baselines: dict[float, Answer] = {}
        self._memo: dict[str, float | None] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------------------- the fields
    def _fields(self) -> list[Field]:
        s = self.scenario
        lo, hi = CONFIDENCE_RANGE
        out = [
            Field(
                "confidence",
                "confidence",
                "",
                "web.runs.whatif.field.confidence",
                {},
                CONFIDENCE * 100,
                lo * 100,
                hi * 100,
                1,
                "web.runs.whatif.unit.percent",
            )
        ]
        for cid, course in s.courses.items():
            name = {"course": course.name or cid, "level": str(course.target_level)}
            out.append(
                Field(
                    f"pass-{cid}",
                    "pass",
                    cid,
                    "web.runs.whatif.field.pass",
                    name,
                    round(course.exam_pass_probability * 100, 6),
                    1,
                    100,
                    1,
                    "web.runs.whatif.unit.percent",
                )
            )
        for cid, course in s.courses.items():
            name = {"course": course.name or cid, "level": str(course.target_level)}
            out.append(
                Field(
                    f"tuition-{cid}",
                    "tuition",
                    cid,
                    "web.runs.whatif.field.tuition",
                    name,
                    course.tuition_vnd_per_trainee / MILLION,
                    0,
                    TUITION_MAX_MILLION,
                    0.1,
                    "web.runs.whatif.unit.million",
                )
            )
        low, high = MULTIPLIER_RANGE
        out.append(
            Field(
                "attrition",
                "attrition",
                "",
                "web.runs.whatif.field.attrition",
                {},
                1.0,
                low,
                high,
                0.05,
                "web.runs.whatif.unit.times",
            )
        )
        for gid, group in s.groups.items():
            out.append(
                Field(
                    f"attrition-{gid}",
                    "attrition_group",
                    gid,
                    "web.runs.whatif.field.attrition_group",
                    {"group": group.name or gid},
                    1.0,
                    low,
                    high,
                    0.05,
                    "web.runs.whatif.unit.times",
                )
            )
        ceiling = s.budget.ceiling_vnd_per_year
        out.append(
            Field(
                "ceiling",
                "ceiling",
                "",
                "web.runs.whatif.field.ceiling",
                {},
                None if ceiling is None else ceiling / TY,
                0,
                CEILING_MAX_TY,
                0.1,
                "web.runs.whatif.unit.ty",
            )
        )
        return out

    def smallest_ceiling_vnd(self) -> float | None:
        """The smallest yearly public ceiling meeting every target in expectation (the
        optimiser's frontier; None when no ceiling does), computed once."""
        with self._lock:
            if "smallest" in self._memo:
                return self._memo["smallest"]
        from simopt.dynamics import compile_dynamics
        from simopt.optimize.frontier import Frontier

        found = Frontier(compile_dynamics(self.scenario)).smallest_ceiling_vnd
        value = None if found is None else float(found)
        with self._lock:
            self._memo["smallest"] = value
        return value

    def field(self, name: str) -> Field:
        return self._by_name[name]

    def saved_inputs(self) -> Inputs:
        return {f.name: f.saved for f in self.fields}

    def parse(self, form: Mapping[str, Any]) -> Inputs:
        """The inputs of a submitted form; an empty field keeps its saved value. Raises
        :class:`WhatIfError` naming each field that is not a number in its range."""
        values: Inputs = {}
        errors: dict[str, tuple[str, dict[str, float]]] = {}
        for f in self.fields:
            raw = form.get(f.name)
            text = raw.strip() if isinstance(raw, str) else ""
            if not text:
                values[f.name] = f.saved
                continue
            try:
                value = float(text.replace(",", ".")) if text.count(",") == 1 else float(text)
            except ValueError:
                errors[f.name] = ("web.runs.whatif.error.number", {})
                continue
            if not math.isfinite(value) or not f.low <= value <= f.high:
                errors[f.name] = ("web.runs.whatif.error.range", {"low": f.low, "high": f.high})
                continue
            values[f.name] = value
        if errors:
            raise WhatIfError(errors)
        return values

    # --------------------------------------------------------------------------- the what-if
    def changes(self, inputs: Inputs) -> list[Change]:
        out = []
        for f in self.fields:
            value = inputs.get(f.name, f.saved)
            if value is None or f.kind == "confidence":
                continue
            if f.saved is not None and math.isclose(value, f.saved, rel_tol=1e-9, abs_tol=1e-12):
                continue
            out.append(Change(f, f.saved, value))
        return out

    def overrides(self, inputs: Inputs) -> dict[str, Any]:
        """The typed overrides of ``inputs`` (dotted paths → values), for ``scenario_at``."""
        row: dict[str, Any] = {}
        overall = 1.0
        by_group: dict[str, float] = {}
        for change in self.changes(inputs):
            f, value = change.field, change.value
            if f.kind == "pass":
                path = f"courses.{f.key}.exam_pass_probability"
                row.update(self._moved(path, value / 100, 0.0, 1.0))
            elif f.kind == "tuition":
                path = f"courses.{f.key}.tuition_vnd_per_trainee"
                row.update(self._moved(path, value * MILLION, 0.0, math.inf))
            elif f.kind == "ceiling":
                row["ceiling_vnd_per_year"] = value * TY
            elif f.kind == "attrition":
                overall = value
            elif f.kind == "attrition_group":
                by_group[f.key] = value
        for gid, group in self.scenario.groups.items():
            factor = overall * by_group.get(gid, 1.0)
            if math.isclose(factor, 1.0):
                continue
            for pid in group.pools:
                row.update(self._attrition_row(gid, pid, factor))
        return row

    def _moved(self, path: str, value: float, low: float, high: float) -> dict[str, Any]:
        """The number at ``path`` moved to ``value``, its range (if any) shifted by as much and
        kept within [low, high]."""
        node = self._node(path)
        if not is_note(node):
            return {path: value}
        row: dict[str, Any] = {f"{path}.value": value}
        old = node.get("range")
        if isinstance(old, list) and len(old) == 2:
            shift = value - float(node["value"])
            a, b = (min(max(float(x) + shift, low), high) for x in old)
            row[f"{path}.range"] = [min(a, value), max(b, value)]
        return row

    def _node(self, path: str) -> Any:
        """The parsed data at a dotted path, looking through notes (None when absent)."""
        node: Any = self._data
        for part in path.split("."):
            if is_note(node):
                node = node["value"]
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _attrition_row(self, gid: str, pid: str, factor: float) -> dict[str, Any]:
        """A pool's attrition scaled by ``factor``: its value and, when it has them, its range
        and sd (the uncertainty stays); a rate is at most 1."""
        path = f"groups.{gid}.pools.{pid}.attrition_rate_per_year"
        node = self._node(path)
        if node is None:
            return {}
        if not is_note(node):
            rate = float(node)
            return {path: min(rate * factor, 1.0)} if rate > 0 else {}
        row: dict[str, Any] = {f"{path}.value": min(float(node["value"]) * factor, 1.0)}
        if isinstance(node.get("range"), list) and len(node["range"]) == 2:
            row[f"{path}.range"] = [min(float(x) * factor, 1.0) for x in node["range"]]
        if isinstance(node.get("sd"), int | float):
            row[f"{path}.sd"] = float(node["sd"]) * factor
        return row

    def scenario_for(self, inputs: Inputs) -> Scenario:
        """The scenario of ``inputs``: the saved one when nothing changes."""
        row = self.overrides(inputs)
        if not row:
            return self.scenario
        return self.model.scenario_at(row, where="what-if")

    def baseline(self, confidence: float) -> Answer:
        """The answer for the scenario as saved at ``confidence`` (computed once)."""
        with self._lock:
            found = self._baselines.get(confidence)
        if found is not None:
            return found
        inputs = self.saved_inputs()
        inputs["confidence"] = confidence * 100
        result = _solve(self, self.scenario, inputs, None)
        with self._lock:
            self._baselines.setdefault(confidence, result)
            return self._baselines[confidence]


def _probability(row: Mapping[Any, Any], prefix: str = "") -> Probability:
    return Probability(
        float(row[f"{prefix}probability_met"]),
        float(row[f"{prefix}probability_met_low95"]),
        float(row[f"{prefix}probability_met_high95"]),
    )


def _at_year(result: SimulationResult | None) -> dict[str, Probability]:
    if result is None:
        return {}
    s = result.summary
    at = s[s["year"] == s["target_year"]]
    return {str(r["target"]): _probability(r) for r in at.to_dict("records")}


def _all(result: SimulationResult | None) -> Probability | None:
    if result is None or result.joint is None:
        return None
    every = result.joint[result.joint["scope"] == "all"]
    if every.empty:
        return None
    row = every.iloc[0]
    return Probability(
        float(row["probability_all_met"]),
        float(row["probability_all_met_low95"]),
        float(row["probability_all_met_high95"]),
    )


def _solve(
    model: WhatIfModel, scenario: Scenario, inputs: Inputs, baseline: Answer | None
) -> Answer:
    from simopt.plan import fresh_seed, robust_plan
    from simopt.simulate import simulate

    start = time.perf_counter()
    confidence = float(inputs.get("confidence") or CONFIDENCE * 100) / 100
    r: RobustPlan = robust_plan(
        scenario,
        confidence=confidence,
        reps=REPS,
        seed=SEED,
        engine="fast",
        uncertainty="ranges",
        continuous=True,
    )
    met = r.status == "met" and r.robust is not None and r.robust.is_ok
    judged = r.confirmed if r.confirmed is not None else r.after
    robust = _at_year(judged) if met else {}
    before = _at_year(r.before)
    saved_plan: dict[str, Probability] = {}
    all_saved: Probability | None = None
    if baseline is None:
        saved_plan, all_saved = robust, _all(judged) if met else None
    elif baseline.schedule is not None:
        sim = simulate(
            scenario,
            baseline.schedule,
            reps=REPS,
            seed=fresh_seed(SEED, 0),
            engine="fast",
            uncertainty="ranges",
        )
        saved_plan, all_saved = _at_year(sim), _all(sim)
    targets = []
    for tid, t in scenario.targets.items():
        targets.append(
            TargetAnswer(
                target=tid,
                label=t.label or tid,
                year=int(t.year),
                required_share=t.share,
                required_count=None if t.min_count is None else float(t.min_count),
                robust=robust.get(tid),
                saved_plan=saved_plan.get(tid),
                min_cost_plan=before.get(tid),
            )
        )
    return Answer(
        status=r.status,
        message=r.message,
        confidence=confidence,
        reps=REPS,
        min_cost_vnd=r.expected.total_cost_vnd if r.expected.is_ok else None,
        robust_cost_vnd=r.robust.total_cost_vnd if met and r.robust is not None else None,
        all_robust=_all(judged) if met else None,
        all_saved_plan=all_saved,
        targets=targets,
        changes=model.changes(inputs),
        seconds=time.perf_counter() - start,
        schedule=r.robust.schedule.copy() if met and r.robust is not None else None,
    )


def answer(model: WhatIfModel, inputs: Inputs) -> tuple[Answer, Answer]:
    """The what-if's answer and the answer as saved (at the same confidence), to compare."""
    confidence = float(inputs.get("confidence") or CONFIDENCE * 100) / 100
    baseline = model.baseline(confidence)
    scenario = model.scenario_for(inputs)
    if scenario is model.scenario:
        return baseline, baseline
    return _solve(model, scenario, inputs, baseline), baseline


# ---------------------------------------------------------------------------------- the cache
class ModelCache:
    """Parsed versions by (id, SHA-256), the most recently used kept."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._models: OrderedDict[tuple[int, str], WhatIfModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int, sha256: str, yaml_text: str, file: str) -> WhatIfModel:
        key = (version_id, sha256)
        with self._lock:
            found = self._models.get(key)
            if found is not None:
                self._models.move_to_end(key)
                return found
        made = WhatIfModel(yaml_text, file)  # outside the lock: a parse takes tens of ms
        with self._lock:
            found = self._models.setdefault(key, made)
            self._models.move_to_end(key)
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return found

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


MODELS = ModelCache()


def model_for(version_id: int, sha256: str, yaml_text: str, file: str) -> WhatIfModel:
    """The version's model, parsed at its first what-if."""
    return MODELS.get(version_id, sha256, yaml_text, file)
