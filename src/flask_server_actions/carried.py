"""States carried over a redirect: what a plain browser sees once on the next page.

Without JavaScript a successful action answers ``303`` to its page (Post/Redirect/
Get); the form's message travels in the session and is shown by that form once.
"""

from __future__ import annotations

import json
import typing as t

from flask import session

from .state import ActionState

#: Session key of the states a plain browser sees once after its redirect.
SESSION_KEY: t.Final = "_server_actions_states"


def carry_state(form_id: str, state: ActionState) -> None:
    """Keep ``state`` for the form ``form_id`` on the page a plain browser goes to next."""
    states = dict(session.get(SESSION_KEY, {}))
    kept: dict[str, t.Any] = {"ok": state.ok, "message": state.message}
    try:
        # Only data the session can carry survives the redirect.
        json.dumps(dict(state.data))
        kept["data"] = dict(state.data)
    except (TypeError, ValueError):
        pass
    states[form_id] = kept
    session[SESSION_KEY] = states


def take_state(form_id: str) -> ActionState | None:
    """The state carried for ``form_id``, if any; it is shown once."""
    if SESSION_KEY not in session:
        return None
    states = dict(session[SESSION_KEY])
    raw = states.pop(form_id, None)
    if raw is None:
        return None
    if states:
        session[SESSION_KEY] = states
    else:
        session.pop(SESSION_KEY)
    return ActionState(
        ok=bool(raw.get("ok")), message=raw.get("message"), data=raw.get("data") or {}
    )
