"""The one error a user sees for bad input: file, field path, value and rule on one line."""

from __future__ import annotations

import datetime
import math
from typing import Any

import yaml

_MAX_VALUE_CHARS = 60


def yaml_kind(value: Any) -> str:
    """What a YAML value is, in words a planner knows: 'a number', 'text', 'a list', …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.datetime):
        return "a date and time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, set | frozenset):
        return "a set"
    if isinstance(value, bytes):
        return "binary data"
    return f"a {type(value).__name__}"


def describe_value(value: Any) -> str:
    """A short, one-line, YAML-flavoured rendering of an offending value."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    elif isinstance(value, dict | list | tuple):
        text = _flow(value)
    else:
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ must not hide the real problem
            text = f"<{type(value).__name__}>"
    text = one_line(text)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _flow(value: Any) -> str:
    """A list or mapping as the planner would write it in YAML flow style: {0: 0.5, 3: 0.3}."""
    try:
        return yaml.safe_dump(
            value, default_flow_style=True, width=1_000_000, allow_unicode=True, sort_keys=False
        ).strip()
    except Exception:  # anything YAML cannot write (e.g. an object from Python callers)
        try:
            return repr(value)
        except Exception:
            return f"<{type(value).__name__}>"


def one_line(text: str) -> str:
    """``text`` with every line break (of any kind) folded into a single space."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip()) or text.strip()


class ScenarioError(ValueError):
    """A scenario (or an override of one) breaks a rule.

    Always carries enough to be shown as one line: ``file:line: path = value: rule``.
    """

    def __init__(
        self,
        rule: str,
        *,
        file: str = "<scenario>",
        path: str = "",
        value: Any = None,
        line: int | None = None,
        column: int | None = None,
        show_value: bool = True,
    ) -> None:
        self.rule = rule
        self.file = file
        self.path = path
        self.value = value
        self.line = line
        self.column = column
        self.show_value = show_value
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The whole error on one line, e.g.
        ``long_an.yaml:77: groups.g.pools.p.excluded = 30000: must not exceed headcount (25423)``.
        """
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        what = ""
        if self.path:
            what = self.path
            if self.show_value:
                what += f" = {describe_value(self.value)}"
            what += ": "
        return one_line(f"{where}: {what}{self.rule}")

    def located(self, *, file: str | None = None, line: int | None = None) -> ScenarioError:
        """The same error with its file and line filled in."""
        return ScenarioError(
            self.rule,
            file=file if file is not None else self.file,
            path=self.path,
            value=self.value,
            line=line if line is not None else self.line,
            column=self.column,
            show_value=self.show_value,
        )
