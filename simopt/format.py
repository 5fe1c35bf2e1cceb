"""Numbers the Vietnamese way: 175.760.000.000 đ, 10.985 people."""

from __future__ import annotations


def _group(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def vnd(amount: float | None) -> str:
    if amount is None:
        return "none"
    return f"{_group(round(amount))} đ"


def people(count: float) -> str:
    return _group(round(count))
