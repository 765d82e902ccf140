"""What a submission says about itself: its action, the caller's mode, form and page."""

from __future__ import annotations

import typing as t

from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException

from .bodycheck import body_refused
from .forms import FORM_FIELD
from .forms import PAGE_FIELD
from .forms import default_form_id
from .htmx import htmx
from .urls import local_path

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

    from ._typing import ResponseMode
    from .actions import Action


_MAX_FORM_ID = 200


#: Messages for refusals that happen before the action runs.
MESSAGES: t.Final[dict[int, str]] = {
    401: "Please sign in to do this.",
    403: "You are not allowed to do this.",
    422: "Please correct the errors below.",
    429: "Too many requests. Please wait a moment and try again.",
    500: "Something went wrong on our side, so nothing was saved.",
}


CSRF_MESSAGE: t.Final = (
    "This form had expired, so nothing was saved. Please submit it again."
)


def request_action() -> Action | None:
    """The action the current request is addressed to, if any."""
    if request.method != "POST" or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    from .actions import Action  # actions answers through this module

    found = getattr(view, "server_action", None)
    return found if isinstance(found, Action) else None


def response_mode() -> ResponseMode:
    """htmx, JSON or a plain browser: who is asking, decided per request."""
    if htmx:
        return "plain" if htmx.wants_full_page else "htmx"
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return "json" if best == "application/json" else "plain"


def posted_field(name: str) -> str | None:
    if body_refused():
        return None
    try:
        value = request.form.get(name)
    except HTTPException:  # the body could not be read (too large, malformed)
        return None
    return value


def submitted_page_path() -> str | None:
    return local_path(posted_field(PAGE_FIELD)) or local_path(htmx.current_path)


def submitted_form_id(act: Action) -> str:
    posted = posted_field(FORM_FIELD) or htmx.target_id
    if posted and len(posted) <= _MAX_FORM_ID and default_form_id(posted) == posted:
        return posted
    return default_form_id(act.endpoint)


def bind_form(act: Action) -> FlaskForm | None:
    if act.form_class is None:
        return None
    return act.form_class(meta={"csrf": False})
