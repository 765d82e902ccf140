from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:  # pragma: no cover
    from .state import ActionState

#: What an action function may return: a state, or ``None`` for plain success.
ActionResult: t.TypeAlias = "ActionState | None"

#: How the current request wants its answer.
ResponseMode = t.Literal["htmx", "plain", "json"]

#: htmx swap styles, as htmx 4 names them.
SwapMethod = t.Literal[
    "innerHTML",
    "outerHTML",
    "outerSync",
    "innerMorph",
    "outerMorph",
    "textContent",
    "beforebegin",
    "afterbegin",
    "beforeend",
    "afterend",
    "delete",
    "none",
]
