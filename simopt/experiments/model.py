"""A scenario compiled once for experiments: each row of a design becomes a scenario by typed
overrides on the parsed data, validated by the same rules as the file, with no YAML parsed.

A factor fixed by a row loses its range (its value is now known); the uncertainties the row does
not name keep theirs, so a probability computed for the row still counts them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simopt.errors import ScenarioError
from simopt.experiments.factors import FloatArray, Uncertainty, scenario_uncertainties, to_values
from simopt.limits import MAX_SCENARIO_BYTES
from simopt.scenario import Scenario, build_scenario, read_limited
from simopt.uncertain.draws import shifted_mix
from simopt.yamlio import NOTE_KEYS, is_note

EXPERIMENT_SOURCE = "experiment design"

RUN_SETTINGS = ("confidence", "reps")
"""Levers that are not fields of the scenario but settings of the run."""

LEVER_ALIASES = {
    "ceiling_vnd_per_year": "budget.ceiling_vnd_per_year",
    "total_ceiling_vnd": "budget.total_ceiling_vnd",
}
"""Short names for the levers finance asks about most."""


class ExperimentModel:
    """Parsed scenario data, its validated scenario and its uncertain factors."""

    def __init__(self, data: dict[str, Any], file: str, scenario: Scenario | None = None) -> None:
        """``scenario``: the one ``data`` validates to, when the caller has built it already."""
        self.file = file
        self._data = data
        self.scenario: Scenario = (
            scenario if scenario is not None else build_scenario(copy.deepcopy(data), file=file)
        )
        self.uncertainties: list[Uncertainty] = scenario_uncertainties(self.scenario)
        self._by_name = {u.name: u for u in self.uncertainties}

    @classmethod
    def from_file(
        cls, path: str | Path, overrides: Mapping[str, str] | None = None
    ) -> ExperimentModel:
        """Read and validate a scenario file (``overrides`` as ``--set``)."""
        from simopt.overrides import apply_overrides
        from simopt.scenario import load_scenario
        from simopt.yamlio import parse_yaml_text

        file = str(path)
        scenario = load_scenario(path, overrides)  # the file's own errors, with their lines
        text = read_limited(path, MAX_SCENARIO_BYTES, what="a scenario file", file=file)
        data, _ = parse_yaml_text(text.decode("utf-8-sig"), file=file)
        if overrides:
            data = apply_overrides(data, overrides, file=file)
        return cls(data, file, scenario)

    @classmethod
    def from_scenario_data(cls, data: dict[str, Any], file: str = "<scenario>") -> ExperimentModel:
        return cls(copy.deepcopy(data), file)

    @property
    def data(self) -> dict[str, Any]:
        """A copy of the parsed data (notes and sources kept)."""
        return copy.deepcopy(self._data)

    @property
    def names(self) -> list[str]:
        return [u.name for u in self.uncertainties]

    def uncertainty(self, name: str) -> Uncertainty:
        try:
            return self._by_name[name]
        except KeyError:
            from simopt.scenario import did_you_mean

            raise ScenarioError(
                "not an uncertainty of the scenario (a number with a range or a level table "
                "with a concentration)" + did_you_mean(name, list(self._by_name)),
                file=self.file,
                path=name,
                show_value=False,
            ) from None

    def correlated_groups(self) -> dict[str, list[str]]:
        """Correlation label → the uncertainties that move with it."""
        out: dict[str, list[str]] = {}
        for u in self.uncertainties:
            if u.group is not None:
                out.setdefault(u.group, []).append(u.name)
        return out

    def to_values(self, names: Sequence[str], u: FloatArray) -> FloatArray:
        """(n, k) independent unit quantiles → values of ``names`` (copula within groups)."""
        return to_values(self.scenario, [self.uncertainty(n) for n in names], u)

    def stated(self, names: Sequence[str]) -> dict[str, float]:
        return {n: self.uncertainty(n).value for n in names}

    def scenario_at(self, row: Mapping[str, Any], *, where: str = "") -> Scenario:
        """The scenario with each factor of ``row`` fixed (run settings are skipped)."""
        from simopt.overrides import _set

        file = f"{self.file} ({where})" if where else self.file
        data = copy.deepcopy(self._data)
        for name, value in row.items():
            if name in RUN_SETTINGS:
                continue
            path = LEVER_ALIASES.get(name, name)
            if "." not in path:
                _unknown_lever(name, file)
            typed = _typed(value)
            u = self._by_name.get(path)
            if u is not None and u.kind == "mix":
                assert u._mix is not None
                mix = shifted_mix(u._mix.shares, float(typed))
                typed = {lvl: float(s) for lvl, s in enumerate(mix) if s > 0}
            parts = path.split(".")
            _set(data, parts, typed, file, repr(typed))
            _fix(data, parts, u)
        return build_scenario(data, file=file)


def _unknown_lever(name: str, file: str) -> None:
    from simopt.scenario import did_you_mean

    known = [*LEVER_ALIASES, *RUN_SETTINGS]
    raise ScenarioError(
        "not a factor: a lever is a dotted scenario field (e.g. courses.level4.seats_per_year) "
        f"or one of {', '.join(known)}" + did_you_mean(name, known),
        file=file,
        path=name,
        show_value=False,
    )


def _typed(value: Any) -> Any:
    """numpy scalars from a design's table as plain Python values."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fix(data: dict[str, Any], parts: list[str], u: Uncertainty | None) -> None:
    """Record that the value came from the design; a fixed range becomes zero-width (the number
    is known, and a ``correlations:`` entry naming it still finds its range)."""
    node: Any = data
    for part in parts:
        if is_note(node) and part not in NOTE_KEYS:
            node = node["value"]
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part if part in node or not part.isdigit() else int(part)]
    if not is_note(node):
        return
    node["source"] = EXPERIMENT_SOURCE
    if u is not None and u.kind == "range":
        node["range"] = [node["value"], node["value"]]
        for key in ("distribution", "sd"):
            node.pop(key, None)
