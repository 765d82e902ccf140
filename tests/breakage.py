"""Test-only: make a real action fail unexpectedly, after it has done its writes.

Nothing in the site can reach this; tests swap the action's function for the
time of a ``with`` block, so the real form, pipeline and transaction run.
"""

from __future__ import annotations

import contextlib
import typing as t

from flask_server_actions import Action

#: The exception text; tests check that users never see it outside debug mode.
OUTAGE: t.Final = "Simulated outage: db-password=hunter2"


@contextlib.contextmanager
def broken(act: Action, message: str = OUTAGE) -> t.Iterator[None]:
    original = act.func

    def write_then_fail(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        original(*args, **kwargs)  # its real writes, which must be rolled back
        raise RuntimeError(message)

    act.func = write_then_fail
    try:
        yield
    finally:
        act.func = original
