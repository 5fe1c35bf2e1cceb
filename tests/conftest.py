"""Shared fixtures: the valid Long An scenario as data, and a way to write variants of it."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Tests name scenarios as a planner types them ("scenarios/long_an.yaml"): run from the repo root
# wherever pytest was started.
os.chdir(ROOT)
LONG_AN = ROOT / "scenarios" / "long_an.yaml"

_LONG_AN_DATA: dict[str, Any] = yaml.safe_load(LONG_AN.read_text(encoding="utf-8"))


def long_an_data() -> dict[str, Any]:
    """A fresh, mutable copy of scenarios/long_an.yaml as plain data (notes included)."""
    return copy.deepcopy(_LONG_AN_DATA)


@pytest.fixture
def long_an() -> dict[str, Any]:
    return long_an_data()


@pytest.fixture
def long_an_path() -> Path:
    return LONG_AN


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[Any], Path]:
    """Dump data to a YAML file under tmp_path and return its path."""
    counter = iter(range(1_000_000))

    def write(data: Any) -> Path:
        path = tmp_path / f"scenario_{next(counter)}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path

    return write
