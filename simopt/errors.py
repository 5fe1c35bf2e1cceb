"""The one error a user sees for bad input: file, field path, value and rule on one line."""

from __future__ import annotations

import datetime
import math
import unicodedata
from typing import Any

import yaml

_MAX_VALUE_CHARS = 60
"""Longest value (or path segment) an error message quotes; the rest becomes "…"."""

ELLIPSIS = "…"

# Bidirectional controls: shown raw they reorder the text around them on the terminal, so that
# a message (or a title in ``simopt show``) can read differently from what the file says.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _needs_escape(char: str) -> bool:
    # Cc = C0 controls, DEL and C1 controls (ESC starts terminal commands, CR rewrites the line);
    # Zl/Zp = the Unicode line and paragraph separators, which break a one-line message.
    return char in _BIDI or unicodedata.category(char) in {"Cc", "Zl", "Zp"}


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str, limit: int | None = None) -> str:
    """``text`` safe to print on a terminal, on one line: control characters (C0, DEL, C1), line
    and paragraph separators and bidirectional overrides are written as escapes (``\\x1b``,
    ``\\u202e``). With ``limit``, text longer than that many characters is cut and ends in "…"
    (an escape is never cut in two).

    Every message built from a user's text goes through here: a scenario's title, a key or a
    file name may hold anything, and a raw ESC would let it recolour or rewrite the terminal.
    """
    pieces = [_escape(char) if _needs_escape(char) else char for char in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    out: list[str] = []
    room = limit - len(ELLIPSIS)
    for piece in pieces:
        if len(piece) > room:
            break
        out.append(piece)
        room -= len(piece)
    return "".join(out) + ELLIPSIS


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
    return printable(one_line(text), _MAX_VALUE_CHARS)


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


def short_path(path: str) -> str:
    """A dotted path fit for a message: each part escaped and cut to a readable length (an unknown
    key may be a whole paragraph pasted in the wrong place)."""
    return ".".join(printable(part, _MAX_VALUE_CHARS) for part in path.split("."))


def error_line(
    rule: str,
    *,
    file: str,
    line: int | None = None,
    column: int | None = None,
    path: str = "",
    value: Any = None,
    show_value: bool = True,
) -> str:
    """``file:line:column: path = value: rule`` on one line, every part escaped (:func:`printable`).

    Shared by :class:`ScenarioError` and the schedule reader, so that all bad input reads alike.
    """
    where = printable(file)
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    what = ""
    if path:
        what = short_path(path)
        if show_value:
            what += f" = {describe_value(value)}"
        what += ": "
    # The rule is ours, but it may quote the user (a key, a name, PyYAML's problem text): fold
    # any line breaks of our own wording first, then escape whatever else is left.
    return f"{where}: {what}{printable(one_line(rule))}"


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
        return error_line(
            self.rule,
            file=self.file,
            line=self.line,
            column=self.column,
            path=self.path,
            value=self.value,
            show_value=self.show_value,
        )

    def located(self, *, file: str | None = None, line: int | None = None) -> ScenarioError:
        """The same error (of the same class) with its file and line filled in."""
        return type(self)(
            self.rule,
            file=file if file is not None else self.file,
            path=self.path,
            value=self.value,
            line=line if line is not None else self.line,
            column=self.column,
            show_value=self.show_value,
        )
