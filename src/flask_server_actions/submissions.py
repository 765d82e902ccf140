"""One write per submission: every rendered form carries a key the server applies once.

A double click, a resubmission after the back button, or two concurrent requests
with the same key run the action once; the repeats get the first result back.

The key is claimed with the cache's atomic ``add`` (memory, filesystem and Redis
alike), scoped by the action and by who submits (the signed-in user, else the
browser session), so one user's key can never replay another user's result.

Only an *applied* result is kept under the key: a successful one, whose
transaction committed. Every failure (invalid input, a refusal, an error) wrote
nothing, since a failed action is rolled back, so it releases the key and the
corrected form can be sent again with the same key.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
import typing as t

from flask import current_app
from flask import request
from flask import session
from werkzeug.exceptions import HTTPException

from .cache import current_cache
from .policies import current_user
from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

#: Hidden field: the form's one-time submission key.
KEY_FIELD: t.Final = "_sa_key"
#: What a claimed key holds while its first request is still running.
_PENDING: t.Final = "pending"
#: How long a claim may stay pending (seconds): longer than any request should
#: run, short enough that a worker killed mid-request does not block the key long.
PENDING_TIMEOUT: t.Final = 60
#: How often a repeat looks for the first request's result (seconds).
_POLL_INTERVAL: t.Final = 0.05
#: Longest a posted key may be; longer ones are not keys this toolkit wrote.
_MAX_KEY = 200

IN_PROGRESS_MESSAGE: t.Final = (
    "This form is already being submitted. Please wait a moment, then reload the page."
)

Outcome = tuple[ActionState, "FlaskForm | None"]


def new_key() -> str:
    """A fresh, unguessable submission key for one rendered form."""
    return secrets.token_urlsafe(18)


def posted_key() -> str | None:
    """The submission key the current request posted, if it looks like one."""
    from .bodycheck import body_refused  # bodycheck needs forms, which needs this

    if body_refused():
        return None
    try:
        value = request.form.get(KEY_FIELD)
    except HTTPException:  # an unreadable body: the action answers that itself
        return None
    if not value or len(value) > _MAX_KEY:
        return None
    return value


def _submitter() -> str:
    """Who submits: the signed-in user, else the browser session (its CSRF secret)."""
    user = current_user()
    if getattr(user, "is_authenticated", False):
        return f"user:{user.get_id()}"
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    secret = session.get(field)
    return f"session:{secret}" if secret else "anonymous"


def _stored(state: ActionState) -> dict[str, t.Any]:
    """The state as plain data every cache backend can keep."""
    kept = dataclasses.asdict(state)
    kept["errors"] = {k: list(v) for k, v in state.errors.items()}
    for name in ("values", "data"):
        try:
            json.dumps(kept[name])
        except (TypeError, ValueError):
            kept[name] = {}
    return kept


def _restored(kept: t.Mapping[str, t.Any]) -> ActionState:
    return ActionState(**kept)


class SubmissionKey:
    """A posted submission key, scoped to its action and its submitter."""

    def __init__(self, endpoint: str, key: str) -> None:
        self.cache_key = current_cache().key_for(
            "submission", endpoint, _submitter(), key
        )

    @classmethod
    def from_request(cls, endpoint: str) -> SubmissionKey | None:
        """The current request's key, or ``None`` if it posted none (it runs as usual)."""
        key = posted_key()
        return cls(endpoint, key) if key is not None else None

    def run_once(
        self,
        run: t.Callable[[], Outcome],
        replay: t.Callable[[ActionState], Outcome],
    ) -> tuple[Outcome, bool]:
        """``run()`` if this key was never applied, else ``replay`` its first result.

        ``replay(state)`` answers a state without running the action (it binds
        the posted form, so the form shows what was typed).

        Returns the outcome and whether it was replayed. A repeat that arrives
        while the first request runs waits for its result, at most
        ``SERVER_ACTIONS_SUBMISSION_WAIT`` seconds, then answers 409.
        """
        cache = current_cache()
        config = current_app.config
        ttl = int(config["SERVER_ACTIONS_SUBMISSION_TTL"])
        deadline = time.monotonic() + float(config["SERVER_ACTIONS_SUBMISSION_WAIT"])
        while True:
            if cache.add(self.cache_key, _PENDING, timeout=PENDING_TIMEOUT):
                return self._run_claimed(run, ttl), False
            found = cache.get(self.cache_key)
            if isinstance(found, dict):
                return replay(_restored(found)), True
            # Pending (another request runs it), or released just now: try again.
            if time.monotonic() >= deadline:
                # Shown in the form, which keeps what was typed (``replay`` binds it).
                busy = ActionState.failure(IN_PROGRESS_MESSAGE, status=409)
                return replay(busy), False
            time.sleep(_POLL_INTERVAL)

    def _run_claimed(self, run: t.Callable[[], Outcome], ttl: int) -> Outcome:
        cache = current_cache()
        try:
            state, form = run()
        except BaseException:
            cache.delete(self.cache_key)
            raise
        if state.ok:
            cache.set(self.cache_key, _stored(state), timeout=ttl)
        else:
            # Nothing was written, so the key stays usable for the corrected form.
            cache.delete(self.cache_key)
        return state, form
