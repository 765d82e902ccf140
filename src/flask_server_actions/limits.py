"""Request body limits for actions: one for the app, one per action if declared."""

from __future__ import annotations

import re

from flask import current_app
from flask import request

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


def apply_body_limit() -> None:
    """Before anything reads the body, cap it at the action's (or the app's) limit."""
    from .submitted import request_action

    act = request_action()
    if act is None:
        return
    limit = act.max_body
    if limit is None:
        limit = parse_size(current_app.config["SERVER_ACTIONS_MAX_BODY"])
    request.max_content_length = limit
