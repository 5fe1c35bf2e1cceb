"""Small scenarios for tests: a base as plain data, edited by ``a__b=value`` paths."""

from __future__ import annotations

import copy
from typing import Any


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` where each ``a__b=v`` sets ``data[a][b] = v``."""
    data = copy.deepcopy(base)
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    return data
