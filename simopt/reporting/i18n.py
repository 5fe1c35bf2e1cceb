"""Every word a planner reads, in Vietnamese or English, from one gettext catalogue.

The catalogue lives in ``locale/<lang>/<domain>.po``: one domain per kind of output (``common``,
``cli``, ``workbook``, ``charts``, ``report``), so that each can grow without touching the others.
A message id is a stable key (``workbook.sheet.summary``), not English text: both languages are
translations of it, and a test checks that every key exists in both, with the same placeholders.
Placeholders are ``str.format`` fields (``{cost}``), filled after the lookup.

Numbers are formatted by Babel with each language's conventions: 175.760.000.000 đ and
175,76 tỷ đồng in Vietnamese, 175,760,000,000 VND and 175.76 bn VND in English.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

LANGS: tuple[str, ...] = ("vi", "en")
Lang = Literal["vi", "en"]
DEFAULT_REPORT_LANG: Lang = "vi"
"""Reports, workbooks and charts are read by the province's committees: Vietnamese first."""
DEFAULT_CLI_LANG: Lang = "en"

LOCALE_DIR = Path(__file__).with_name("locale")
TY = 1e9
"""One tỷ đồng (a billion VND), the unit budgets are discussed in."""


class CatalogueError(LookupError):
    """A message key missing from a language's catalogue: a bug, caught by the tests."""


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: choose one of {', '.join(LANGS)}")
    return cast(Lang, lang)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every key → text of one language, read from all its domains' .po files."""
    from babel.messages.pofile import read_po

    check_lang(lang)
    out: dict[str, str] = {}
    for po in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po.open("rb") as fh:
            cat = read_po(fh, locale=lang, domain=po.stem)
        for message in cat:
            if not message.id:
                continue  # the header
            key = str(message.id)
            if key in out:
                raise CatalogueError(f"{po}: key {key!r} is defined in two domains")
            out[key] = str(message.string)
    return out


def placeholders(text: str) -> frozenset[str]:
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(text) if name not in (None, "")
    )


@dataclass(frozen=True)
class Messages:
    """The texts and number formats of one language: ``m("key", cost=...)``."""

    lang: Lang

    def __call__(self, key: str, /, **fields: Any) -> str:
        try:
            text = catalogue(self.lang)[key]
        except KeyError:
            raise CatalogueError(f"message {key!r} is not in the {self.lang} catalogue") from None
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in catalogue(self.lang)

    # ------------------------------------------------------------------ numbers
    def number(self, x: float | None, digits: int = 0) -> str:
        """A number with the language's separators; — when there is none."""
        from babel.numbers import format_decimal

        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return str(format_decimal(round(float(x), digits), format=pattern, locale=self.lang))

    def vnd(self, amount: float | None) -> str:
        """Money to the đồng, as budgets are written: 175.760.000.000 đ / 175,760,000,000 VND."""
        if amount is None or not math.isfinite(amount):
            return "—"
        return self("common.vnd", amount=self.number(amount))

    def ty(self, amount: float | None, digits: int = 2) -> str:
        """Money in tỷ đồng (billions), for headlines: 175,76 tỷ đồng / 175.76 bn VND."""
        if amount is None or not math.isfinite(amount):
            return "—"
        return self("common.ty", amount=self.number(amount / TY, digits))

    def people(self, n: float | None) -> str:
        return self.number(n, 0)

    def share(self, x: float | None, digits: int = 0) -> str:
        """A share or probability as a percentage: 89,5% / 89.5%."""
        if x is None or (isinstance(x, float) and not math.isfinite(x)):
            return "—"
        return self.number(100.0 * x, digits) + "%"

    def interval(self, low: float | None, high: float | None, digits: int = 0) -> str:
        """A 95% interval of a probability: [87–92%]."""
        if low is None or high is None:
            return ""
        return f"[{self.number(100.0 * low, digits)}–{self.number(100.0 * high, digits)}%]"


@cache
def messages(lang: str = DEFAULT_REPORT_LANG) -> Messages:
    return Messages(check_lang(lang))
