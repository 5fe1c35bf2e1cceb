"""The one error a user sees for bad input: file, field path, value and rule on one line."""

from __future__ import annotations

from typing import Any


def describe_value(value: Any) -> str:
    """A short, readable rendering of an offending value."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
        return f"{where}: {what}{self.rule}"

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
