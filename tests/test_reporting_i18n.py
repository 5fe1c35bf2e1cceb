"""The message catalogue: every key in both languages, with the same placeholders, and every key
the code asks for present."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from simopt.reporting.i18n import (
    LANGS,
    LOCALE_DIR,
    CatalogueError,
    catalogue,
    messages,
    placeholders,
)

PACKAGE = Path(__file__).resolve().parents[1] / "simopt"
KEY = re.compile(r"^(common|cli|workbook|charts|report|audit)\.[a-z0-9_.]+[a-z0-9_]$")
FILE_NAME = re.compile(r"\.(html|xlsx|png|json|csv|po|py)$")
"""report.html and workbook.xlsx look like keys but are file names."""


def _keys_in_code() -> dict[str, str]:
    """Every string literal in simopt that has the shape of a catalogue key → where it is."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and KEY.match(node.value)
                and not FILE_NAME.search(node.value)
            ):
                found.setdefault(node.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_both_languages_have_the_same_domains() -> None:
    domains = {lang: sorted(p.name for p in (LOCALE_DIR / lang).glob("*.po")) for lang in LANGS}
    assert domains["vi"] == domains["en"]
    assert "common.po" in domains["vi"]


def test_every_key_exists_in_both_languages_with_the_same_placeholders() -> None:
    vi, en = catalogue("vi"), catalogue("en")
    assert set(vi) == set(en), set(vi) ^ set(en)
    for key in vi:
        assert vi[key].strip(), f"{key}: empty in vi"
        assert en[key].strip(), f"{key}: empty in en"
        assert placeholders(vi[key]) == placeholders(en[key]), key


def test_every_key_the_code_asks_for_is_in_the_catalogue() -> None:
    used = _keys_in_code()
    known = set(catalogue("vi"))
    absent = {k: where for k, where in used.items() if k not in known}
    # keys built at run time (a prefix + a status word) are checked where they are built
    absent = {k: w for k, w in absent.items() if not k.endswith(".")}
    assert not absent, absent


def test_vietnamese_numbers_and_money() -> None:
    vi, en = messages("vi"), messages("en")
    assert vi.vnd(175_760_000_000) == "175.760.000.000 đ"
    assert vi.ty(175_760_000_000) == "175,76 tỷ đồng"
    assert en.vnd(175_760_000_000) == "175,760,000,000 VND"
    assert en.ty(175_760_000_000) == "175.76 bn VND"
    assert vi.share(0.895, 1) == "89,5%"
    assert vi.people(10_985.4) == "10.985"
    assert vi.vnd(float("nan")) == "—"


def test_a_missing_key_is_an_error_not_a_blank() -> None:
    with pytest.raises(CatalogueError, match=r"no\.such\.key"):
        messages("vi")("no.such.key")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="choose one of vi, en"):
        messages("fr")
