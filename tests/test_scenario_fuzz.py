"""Property: whatever is done to a valid scenario, loading it gives a Scenario or one ScenarioError.

Never a pydantic ValidationError, KeyError, TypeError, RecursionError, … and never a message of
more than one line. Parsing YAML is the slow part (~25 ms for long_an.yaml), so the tests that go
through text run fewer examples; set SIMOPT_FUZZ_EXAMPLES to run more (e.g. 5000 for a long hunt).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import yaml
from conftest import LONG_AN, long_an_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simopt.errors import ScenarioError
from simopt.overrides import apply_overrides
from simopt.scenario import Scenario, build_scenario, load_scenario, parse_scenario
from simopt.yamlio import is_note

Data = dict[str, Any]
Path_ = tuple[Any, ...]

EXAMPLES = int(os.environ.get("SIMOPT_FUZZ_EXAMPLES", "200"))


def _fuzz(share: float = 1.0) -> settings:
    return settings(
        max_examples=max(10, int(EXAMPLES * share)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Names from the scenario, so that random keys and values sometimes hit something meaningful.
NAMES = [
    "value",
    "source",
    "note",
    "range",
    "distribution",
    "sd",
    "concentration",
    "triangular",
    "correlations",
    "parameters",
    "rank_correlation",
    "courses.*.exam_pass_probability",
    "name",
    "headcount",
    "excluded",
    "level_shares",
    "level_counts",
    "pools",
    "groups",
    "pe_staff",
    "pd_staff",
    "public_employees",
    "state_budget",
    "leader",
    "level3",
    "level4",
    "horizon",
    "year",
    "where",
    "",
    "2021",
    "x.y",
    "assumption",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10, max_value=10),
    st.integers(),
    st.sampled_from([2021, 2025, 2030, 10**18, 10**400, -(10**400), 2**63, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1.5, -0.5, 1e308, -1e308, 5e-324, math.nan, math.inf]),
    st.text(max_size=12),
    st.sampled_from(NAMES),
)
# Numbers of the right kind but maybe the wrong size: these get past the types to the rules
# that span fields (sums, horizons, headcounts).
plausible_numbers = st.one_of(
    st.integers(-2, 8),
    st.integers(1990, 2040),
    st.integers(0, 30_000),
    st.floats(-0.5, 1.5),
    st.sampled_from([0, 1, 0.0, 1.0, 0.999999, 1.000001, 1e-9, 1e9, 1e18, 1e19, math.nan]),
)
sources = st.sampled_from(["assumption", "LA plan", "survey 2024"])
# What a note may say about its uncertainty, sometimes sensible, often not.
uncertainty_keys = {
    "range": st.one_of(st.lists(plausible_numbers, min_size=2, max_size=2), scalars),
    "distribution": st.one_of(
        st.sampled_from(["uniform", "triangular", "pert", "normal"]), scalars
    ),
    "sd": st.one_of(plausible_numbers, scalars),
    "concentration": st.one_of(plausible_numbers, scalars),
}
keys = st.one_of(
    st.sampled_from(NAMES), st.text(max_size=8), st.integers(-3, 8), st.none(), st.booleans()
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        st.fixed_dictionaries(
            {"value": children, "source": sources | scalars}, optional=uncertainty_keys
        ),
    ),
    max_leaves=8,
)


def _ranged(data: st.DataObject) -> Any:
    """Long An with one more range (or concentration) somewhere, valid or not."""
    root = long_an_data()
    notes = [p for p in _paths(root) if p and is_note(_get(root, p))]
    path = data.draw(st.sampled_from(notes))
    note = _get(root, path)
    for key, strategy in uncertainty_keys.items():
        if data.draw(st.booleans()):
            note[key] = data.draw(strategy)
    return root


def _paths(node: Any, here: Path_ = ()) -> list[Path_]:
    """Every path in the data, the root included."""
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def _mutate(data: Data | list[Any], draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """Apply one random mutation; return the (possibly new) root."""
    paths = _paths(data)
    leaves = [p for p in paths if p and not isinstance(_get(data, p), dict | list)]
    if draw(st.integers(0, 9)):  # mostly leave the (many) source texts alone
        leaves = [p for p in leaves if p[-1] != "source"] or leaves
    numbers = [p for p in leaves if isinstance(_get(data, p), int | float)]
    kinds = ["add", "subtree"] + (["delete"] if paths[1:] else [])
    kinds += ["leaf", "leaf"] if leaves else []
    kinds += ["number", "number"] if numbers else []
    kind = draw(st.sampled_from(kinds))
    if kind in ("leaf", "number"):
        path = draw(st.sampled_from(leaves if kind == "leaf" else numbers))
        _get(data, path[:-1])[path[-1]] = draw(scalars if kind == "leaf" else plausible_numbers)
    elif kind == "delete":
        inner = [p for p in paths if p]
        path = draw(st.sampled_from(inner))
        parent = _get(data, path[:-1])
        del parent[path[-1]]
    elif kind == "add":
        containers = [p for p in paths if isinstance(_get(data, p), dict | list)]
        if draw(st.integers(0, 9)):  # mostly leave the (many) {value, source} notes alone
            containers = [p for p in containers if not is_note(_get(data, p))] or containers
        path = draw(st.sampled_from(containers))
        node = _get(data, path)
        if isinstance(node, dict):
            node[draw(keys)] = draw(values)
        else:
            node.append(draw(values))
    else:
        path = draw(st.sampled_from(paths))
        new = draw(values)
        if not path:
            return new
        _get(data, path[:-1])[path[-1]] = new
    return data


def _check(load: Any) -> Scenario | None:
    try:
        result = load()
    except ScenarioError as err:
        message = err.message
        assert message and len(message.splitlines()) == 1, repr(message)
        assert message == message.strip()
        return None
    assert isinstance(result, Scenario)
    _use(result)
    return result


def _use(s: Scenario) -> None:
    """What passes validation must also be usable: the model's own helpers must not fail."""
    assert s.horizon.years[0] == s.horizon.start_year
    for _, pool in s.pools().values():
        levels = pool.start_levels()
        assert all(math.isfinite(n) and n >= 0 for n in levels.values())
        assert math.isclose(sum(levels.values()), pool.eligible, rel_tol=1e-6, abs_tol=1e-6)
    for target in s.targets.values():
        assert s.target_pools(target)
        assert s.eligible_base(target) >= 0
    for course in s.courses.values():
        assert course.capacity_per_year is None or course.capacity_per_year >= 0
    for year in s.horizon.years:
        ceiling = s.budget.ceiling_for(year)
        assert ceiling is None or math.isfinite(ceiling)
    u = s.uncertainties
    for r in u.ranges.values():
        assert math.isfinite(r.low) and math.isfinite(r.high)
        assert r.low <= r.value <= r.high
        assert r.sd is None or (math.isfinite(r.sd) and r.sd > 0)
    for m in u.level_mixes.values():
        assert 0 < m.concentration <= 1e6
        assert math.isclose(sum(m.shares.values()), 1, abs_tol=1e-6)
    for c in u.correlations:
        assert len(c.paths) >= 2 and all(p in u.ranges for p in c.paths)


def _mutated(data: st.DataObject) -> Any:
    root: Any = long_an_data()
    for _ in range(data.draw(st.integers(1, 3))):
        if not isinstance(root, dict | list):
            break
        root = _mutate(root, data.draw)
    return root


@_fuzz()
@given(st.data())
def test_mutated_data_gives_scenario_or_scenario_error(data: st.DataObject) -> None:
    root = _mutated(data)
    _check(lambda: build_scenario(root, file="fuzz.yaml"))


@_fuzz()
@given(st.data())
def test_random_uncertainty_gives_scenario_or_scenario_error(data: st.DataObject) -> None:
    root = _ranged(data)
    _check(lambda: build_scenario(root, file="fuzz.yaml"))


@_fuzz(0.3)
@given(st.data())
def test_mutated_yaml_gives_scenario_or_scenario_error(data: st.DataObject) -> None:
    """The same through YAML text, so that looking up line numbers is exercised too."""
    root = _mutated(data)
    try:
        text = yaml.safe_dump(root, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:  # keys YAML cannot write; the data test above covers them
        return
    _check(lambda: parse_scenario(text, file="fuzz.yaml"))


paths_in_long_an = [".".join(str(k) for k in p) for p in _paths(long_an_data()) if p]
override_paths = st.one_of(
    st.sampled_from(paths_in_long_an),
    st.builds(
        lambda p, extra: f"{p}.{extra}", st.sampled_from(paths_in_long_an), st.sampled_from(NAMES)
    ),
    st.text(max_size=20),
)
override_values = st.one_of(
    st.text(max_size=20),
    values.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip()),
)


@_fuzz()
@given(st.dictionaries(override_paths, override_values, min_size=1, max_size=3))
def test_random_overrides_give_scenario_or_scenario_error(overrides: dict[str, str]) -> None:
    _check(lambda: build_scenario(apply_overrides(long_an_data(), overrides), file="fuzz.yaml"))


@_fuzz(0.1)
@given(st.dictionaries(override_paths, override_values, min_size=1, max_size=3))
def test_random_overrides_on_the_file(overrides: dict[str, str]) -> None:
    _check(lambda: load_scenario(LONG_AN, overrides=overrides))


@_fuzz(0.3)
@given(st.data())
def test_mangled_text_gives_scenario_or_scenario_error(data: st.DataObject) -> None:
    text = LONG_AN.read_text(encoding="utf-8")
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 40)))
        insert = data.draw(
            st.one_of(st.text(max_size=10), st.sampled_from(list(":-[]{}&*!|>'\"#\t\n")))
        )
        text = text[:start] + insert + text[end:]
    _check(lambda: parse_scenario(text, file="fuzz.yaml"))
