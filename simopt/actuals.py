"""What actually happened, year by year: the rules a scenario's ``actuals`` must keep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable

    from simopt.scenario import Actuals, Scenario

    Fail = Callable[[str, Any, str], NoReturn]


def check_actuals(s: Scenario, actuals: Actuals, fail: Fail) -> None:
    """Rules that tie the record to the scenario; the first broken one raises."""
    pools = s.pools()
    for year, rec in actuals.years.items():
        here = f"actuals.years.{year}"
        if year < s.horizon.start_year:
            fail(here, year, f"is before the horizon starts ({s.horizon.start_year})")
        for part in (rec.enrolments, rec.headcount, rec.certified):
            for pid in part or {}:
                if pid not in pools:
                    fail(f"{here}", pid, "names a pool the scenario does not define")
