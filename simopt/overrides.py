"""What-if edits without touching files: ``--set PATH=VALUE`` applied to parsed scenario data.

The value is read as YAML (so ``2e10``, ``0.55``, ``[3, 9]`` and ``true`` mean what they say), the
path is dotted field names. The edited data then goes through the same validation as a file, so
an unknown field or a bad value gets the loader's own message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from simopt.errors import ScenarioError
from simopt.yamlio import parse_yaml_text


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``PATH=VALUE``; raise a clear error when it is not of that form."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise ScenarioError(
            "an override must look like PATH=VALUE, e.g. budget.ceiling_vnd_per_year=2e10",
            file="--set",
            path=text,
            show_value=False,
        )
    return path.strip(), value.strip()


def apply_overrides(
    data: dict[str, Any], overrides: Mapping[str, str], *, file: str = "<scenario>"
) -> dict[str, Any]:
    """A copy of ``data`` with each dotted path set to its YAML-parsed value."""
    out = copy.deepcopy(data)
    for path, raw in overrides.items():
        value, _ = parse_yaml_text(raw, file=f"--set {path}")
        parts = path.split(".")
        if any(not p for p in parts):
            raise ScenarioError(
                "empty segment in path", file=f"{file} (--set)", path=path, value=raw
            )
        node: Any = out
        for i, key in enumerate(parts[:-1]):
            node = _step(node, key, parts[: i + 1], file, raw)
        last = parts[-1]
        if isinstance(node, list):
            index = _index(node, last, parts, file, raw)
            _assign(node, index, value)
        elif isinstance(node, dict):
            _assign(node, _dict_key(node, last), value)
        else:
            raise ScenarioError(
                "cannot set a field inside a plain value",
                file=f"{file} (--set)",
                path=path,
                value=raw,
            )
    return out


def _assign(container: Any, key: Any, value: Any) -> None:
    current = container[key] if _has(container, key) else None
    if isinstance(current, dict) and "value" in current and "source" in current:
        # keep the note, replace the number: the override is now the source
        container[key] = {"value": value, "source": "override (--set)"}
    else:
        container[key] = value


def _dict_key(node: dict[Any, Any], key: str) -> Any:
    """YAML keys may be numbers (levels, years); a path segment is always text."""
    if key not in node and key.lstrip("-").isdigit() and int(key) in node:
        return int(key)
    return key


def _has(container: Any, key: Any) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(key, int) and 0 <= key < len(container)


def _step(node: Any, key: str, done: list[str], file: str, raw: str) -> Any:
    if isinstance(node, dict) and "value" in node and "source" in node and key != "value":
        node = node["value"]
    if isinstance(node, dict):
        key_ = _dict_key(node, key)
        if key_ not in node:
            node[key_] = {}
        return node[key_]
    if isinstance(node, list):
        return node[_index(node, key, done, file, raw)]
    raise ScenarioError(
        "cannot set a field inside a plain value",
        file=f"{file} (--set)",
        path=".".join(done),
        value=raw,
    )


def _index(node: list[Any], key: str, parts: list[str], file: str, raw: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ScenarioError(
            f"list index must be 0–{len(node) - 1}",
            file=f"{file} (--set)",
            path=".".join(parts),
            value=raw,
        )
    return int(key)
