"""Sizes as people write them (``"64 KB"``) and as people read them."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def parse_size(value: int | str) -> int:
    """``"64 KB"`` → 65536. Integers are bytes."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"A size cannot be negative: {value!r}.")
        return value
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a size like '64 KB' or '1 MB'.")
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "B").upper()])


def format_size(size: int) -> str:
    for unit in ("GB", "MB", "KB"):
        if size >= _UNITS[unit] and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]} {unit}"
    return f"{size} bytes"
