"""Reading scenario YAML: syntax errors with line and column, line numbers for field paths,
and the ``{value: …, source: …}`` notes that let any number carry its provenance."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from simopt.errors import ScenarioError

ASSUMPTION = "assumption"


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``2e10`` and ``1.5E9`` as floats (YAML 1.2 style)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml_text(text: str, *, file: str = "<text>") -> tuple[Any, yaml.Node | None]:
    """Parse YAML text into plain data and its node tree (for line numbers)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        problem = exc.problem or "invalid YAML"
        raise ScenarioError(
            f"YAML syntax error: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML syntax error: {exc}", file=file) from None
    if node is None:
        return None, None
    try:
        data = _Loader(text).get_single_data()
    except yaml.YAMLError as exc:  # e.g. a bad tag: composing passed, constructing did not
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(
            f"YAML error: {getattr(exc, 'problem', None) or exc}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    return data, node


def line_of(node: yaml.Node | None, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the deepest node reachable along ``path``."""
    best: int | None = None
    current = node
    for key in path:
        if current is None:
            break
        best = current.start_mark.line + 1
        nxt: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            for k_node, v_node in current.value:
                if str(k_node.value) == str(key):
                    nxt = v_node
                    best = k_node.start_mark.line + 1
                    break
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(key, int)
            and 0 <= key < len(current.value)
        ):
            nxt = current.value[key]
        current = nxt
    if current is not None:
        best = current.start_mark.line + 1
    return best


@dataclass
class Provenance:
    """Where each number of a scenario comes from, keyed by dotted field path."""

    sources: dict[str, str] = field(default_factory=dict)
    unsourced: list[str] = field(default_factory=list)
    """Paths of bare numbers written without a ``{value, source}`` note (taken as assumptions)."""

    def source_of(self, path: str) -> str:
        return self.sources.get(path, ASSUMPTION)


_NOTE_KEYS = {"value", "source"}


def _is_note(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "value" in obj and set(obj) <= _NOTE_KEYS | {"note"}


def strip_sources(
    obj: Any, provenance: Provenance, path: tuple[str | int, ...] = (), *, file: str = "<scenario>"
) -> Any:
    """Replace every ``{value: x, source: s}`` with ``x``; record ``s`` (or "assumption")."""
    dotted = ".".join(str(p) for p in path)
    if _is_note(obj):
        source = obj.get("source", ASSUMPTION)
        if not isinstance(source, str) or not source.strip():
            raise ScenarioError(
                "a source must be a non-empty text (a citation, or the word 'assumption')",
                file=file,
                path=f"{dotted}.source",
                value=source,
            )
        value = obj["value"]
        if isinstance(value, Mapping | list):
            # A source note on a whole table (e.g. a level distribution) covers every entry.
            inner = strip_sources(value, provenance, path, file=file)
            _cover(inner, provenance, path, source)
            return inner
        provenance.sources[dotted] = source
        return value
    if isinstance(obj, Mapping):
        return {k: strip_sources(v, provenance, (*path, k), file=file) for k, v in obj.items()}
    if isinstance(obj, list):
        return [strip_sources(v, provenance, (*path, i), file=file) for i, v in enumerate(obj)]
    if (
        isinstance(obj, int | float)
        and not isinstance(obj, bool)
        and dotted not in provenance.sources
    ):
        provenance.sources[dotted] = ASSUMPTION
        provenance.unsourced.append(dotted)
    return obj


def _cover(obj: Any, provenance: Provenance, path: tuple[str | int, ...], source: str) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _cover(v, provenance, (*path, k), source)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _cover(v, provenance, (*path, i), source)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        dotted = ".".join(str(p) for p in path)
        if dotted in provenance.unsourced:
            provenance.unsourced.remove(dotted)
            provenance.sources[dotted] = source
