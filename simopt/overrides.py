"""What-if edits without touching files: ``--set PATH=VALUE`` applied to parsed scenario data.

The value is read as YAML (so ``2e10``, ``0.55``, ``[3, 9]`` and ``true`` mean what they say), the
path is dotted field names, list indexes and table keys (``…level_shares.0``). A ``{value, source}``
note on the way is looked through, and a number that is set records its source as
``override (--set)``. The edited data then goes through the same validation as a file, so an
unknown field or a bad value gets the loader's own message.

Uncertainty: ``PATH=VALUE`` replaces the whole note, range included — a what-if fixes that number.
``PATH.value=VALUE`` moves the value and keeps the note's range (the value must stay inside it).
``PATH.range=[a, b]``, ``PATH.distribution=pert``, ``PATH.sd=…`` and, on a level table,
``PATH.concentration=…`` change just that key of the note (a bare number or table becomes a note).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping
from typing import Any

from simopt.errors import ScenarioError
from simopt.yamlio import NOTE_KEYS, UNCERTAINTY_KEYS, is_note, parse_yaml_text

OVERRIDE_SOURCE = "override (--set)"

_EXAMPLE = "budget.ceiling_vnd_per_year=2e10"
_INTEGER = re.compile(r"-?[0-9]+")
_INDEX = re.compile(r"[0-9]+")


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``PATH=VALUE``; raise a clear error when it is not of that form."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(
            f"an override must look like PATH=VALUE, e.g. {_EXAMPLE}",
            file="--set",
            path=text.strip() or "''",
            show_value=False,
        )
    return path.strip(), value.strip()


def apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, str], *, file: str = "<scenario>"
) -> dict[str, Any]:
    """A copy of ``data`` with each dotted path set to its YAML-parsed value."""
    out = copy.deepcopy(data)
    for raw_path, raw in overrides.items():
        path = str(raw_path).strip()
        where = f"{file} (--set)"
        parts = path.split(".")
        if not path or any(not p.strip() for p in parts):
            raise ScenarioError(
                f"an override path is dotted field names, e.g. {_EXAMPLE.partition('=')[0]}",
                file=where,
                path=path or "''",
                value=raw,
            )
        parts = [p.strip() for p in parts]
        value = _parse_value(str(raw), path)
        _set(out, parts, value, where, raw)
    return out


def _parse_value(raw: str, path: str) -> Any:
    """The YAML value of one ``--set``; its errors name the override, not a line of it."""
    try:
        value, _ = parse_yaml_text(raw, file=f"--set {path}")
    except ScenarioError as err:
        if "\n" in raw or err.line != 1:
            raise
        # A one-line value has no lines to point at (``--set x:1:1: …`` would only confuse); a
        # place inside it (``[3, 3:00]``) is named by its path below the override's.
        inner = f"{path}.{err.path}" if err.path else ""
        raise ScenarioError(
            err.rule,
            file="--set" if inner else err.file,
            path=inner,
            value=err.value,
            show_value=err.show_value,
        ) from None
    return value


def _set(root: dict[str, Any], parts: list[str], value: Any, where: str, raw: str) -> None:
    node: Any = root
    parent: Any = None
    parent_key: Any = None
    in_uncertainty = False  # inside a note's range (``….range.1=0.8``): plain numbers, no notes
    for i, part in enumerate(parts):
        done = parts[: i + 1]
        last = i == len(parts) - 1
        if last and part in UNCERTAINTY_KEYS and parent is not None and _wrappable(node):
            # ``hires_per_year.range=[30, 60]`` on a bare number: give it a note to hold the range
            node = parent[parent_key] = {"value": node}
        if is_note(node) and part not in NOTE_KEYS:
            if not isinstance(node["value"], dict | list):
                # nothing to look through to: ``….rnage=…`` is a misspelt key of the note
                raise ScenarioError(
                    _note_key_rule(part), file=where, path=".".join(done), value=raw
                )
            node = node["value"]  # look through a {value, source} note
        if isinstance(node, list):
            key: Any = _index(node, part, done, where, raw)
        elif isinstance(node, dict):
            key = _dict_key(node, part)
        else:
            raise ScenarioError(
                f"cannot set a field inside a plain value ({'.'.join(parts[:i])} holds no fields)",
                file=where,
                path=".".join(done),
                value=raw,
            )
        if last:
            if in_uncertainty:
                node[key] = value
            else:
                _assign(node, key, value)
            return
        in_uncertainty = in_uncertainty or (is_note(node) and key in UNCERTAINTY_KEYS)
        if isinstance(node, dict) and key not in node:
            _check_new_entry(parts[:i], key, where, raw, node)
            node[key] = {}
        parent, parent_key = node, key
        node = node[key]


def _note_key_rule(key: str) -> str:
    known = sorted(NOTE_KEYS)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key in a {{value, source}} note; did you mean '{close[0]}'?"
    return f"unknown key in a {{value, source}} note (known keys: {', '.join(known)})"


def _wrappable(node: Any) -> bool:
    """A bare number, or a bare table of numbers (a level table), but not a model's fields."""
    if isinstance(node, bool):
        return False
    if isinstance(node, int | float):
        return True
    return (
        isinstance(node, dict)
        and bool(node)
        and not is_note(node)
        and all(isinstance(k, int) and not isinstance(k, bool) for k in node)
    )


def _assign(container: Any, key: Any, value: Any) -> None:
    if key == "value" and is_note(container):
        # ``…headcount.value=900``: keep the note, the override is now its source
        container["value"] = value
        container["source"] = OVERRIDE_SOURCE
    elif key in UNCERTAINTY_KEYS and is_note(container):
        # ``….range=[0.4, 0.8]``: the value and its source stay; only the uncertainty changes
        container[key] = value
    elif isinstance(value, bool | str) or value is None:
        container[key] = value
    else:  # numbers, lists and tables: the override is their source
        container[key] = {"value": value, "source": OVERRIDE_SOURCE}


def _dict_key(node: dict[Any, Any], key: str) -> Any:
    """YAML keys may be numbers (levels, years); a path segment is always text."""
    if key not in node and _INTEGER.fullmatch(key):
        return int(key)
    return key


def _check_new_entry(
    parents: list[str], key: Any, where: str, raw: str, node: dict[Any, Any]
) -> None:
    """A path may create a missing field of a model (``budget.ceiling_vnd_by_year.2025``) but not
    walk into a missing entry of a table (``courses.levl4.…``): that is a typo."""
    import typing

    from simopt.scenario import did_you_mean, model_at, schema_at, unknown_field_rule

    loc = [*parents, str(key)]
    model = model_at(parents)
    if model is not None:
        if str(key) not in model.model_fields:
            raise ScenarioError(unknown_field_rule(loc), file=where, path=".".join(loc), value=raw)
        return
    if typing.get_origin(schema_at(parents)) is dict:
        table = parents[-1] if parents else "the scenario"
        raise ScenarioError(
            f"{table} has no entry of that name" + did_you_mean(str(key), [str(k) for k in node]),
            file=where,
            path=".".join(loc),
            value=raw,
        )


def _index(node: list[Any], key: str, parts: list[str], where: str, raw: str) -> int:
    if not _INDEX.fullmatch(key) or int(key) >= len(node):
        rule = (
            "the list is empty; set the whole list instead"
            if not node
            else f"list index must be a whole number from 0 to {len(node) - 1}"
        )
        raise ScenarioError(rule, file=where, path=".".join(parts), value=raw)
    return int(key)
