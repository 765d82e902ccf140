"""Error boundaries: what a form becomes when its action fails unexpectedly.

The seeds' ``error.tsx`` catches what nobody expected, shows an opaque
``digest`` and offers ``reset()``. Here the form's place shows an error
template (the toolkit's, or one its blueprint supplies with
:func:`error_template`) with a short random id that is also logged, and a
"Try again" button that brings the form back with what the user typed.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import typing as t
from collections.abc import Mapping

from flask import Blueprint
from flask import current_app
from flask import g
from flask import render_template
from flask import request
from markupsafe import Markup
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from .state import ActionState
from .submissions import posted_key

if t.TYPE_CHECKING:  # pragma: no cover
    from flask import Response
    from flask.sansio.blueprints import BlueprintSetupState

    from .actions import Action

logger = logging.getLogger("flask_server_actions")

#: Hidden field of the "Try again" form: bring the form back, run nothing.
RETRY_FIELD: t.Final = "_sa_retry"
#: Where the app keeps ``{blueprint name: template}``.
TEMPLATES_KEY: t.Final = "server_actions_error_templates"
#: The toolkit's own error template, used when no blueprint supplies one.
DEFAULT_TEMPLATE: t.Final = "server_actions/error.html"
#: What the user reads when an action failed unexpectedly.
MASKED_MESSAGE: t.Final = "Something went wrong on our side, so nothing was saved."


@dataclasses.dataclass(frozen=True)
class Failure:
    """An unexpected exception an action raised in this request."""

    #: The action's endpoint.
    endpoint: str
    #: The short random id shown to the user and written to the log.
    error_id: str
    #: What was raised (only its text is ever shown, and only in debug mode).
    exception: BaseException


def error_template(bp: Blueprint, template: str) -> None:
    """Show ``template`` in a form's place when one of ``bp``'s actions fails.

    The seeds' ``error.tsx`` boundary, per blueprint::

        bp = Blueprint("posts", __name__)
        error_template(bp, "posts/error.html")

    Nested blueprints without a template of their own use their parent's; the
    app-wide default is ``SERVER_ACTIONS_ERROR_TEMPLATE``. The template gets
    ``error_id``, ``action``, ``form_id``, ``message`` (the exception's text in
    debug mode, else ``None``) and ``try_again`` (the "Try again" button).

    .. versionadded:: 0.1
    """

    def remember(state: BlueprintSetupState) -> None:
        name = f"{state.name_prefix}.{state.name}".lstrip(".")
        state.app.extensions.setdefault(TEMPLATES_KEY, {})[name] = template

    bp.record(remember)


def template_for(endpoint: str) -> str:
    """The error template of the blueprint ``endpoint`` belongs to (or a parent's)."""
    templates: Mapping[str, str] = current_app.extensions.get(TEMPLATES_KEY, {})
    name = endpoint.rpartition(".")[0]
    while name:
        if name in templates:
            return templates[name]
        name = name.rpartition(".")[0]
    return str(current_app.config["SERVER_ACTIONS_ERROR_TEMPLATE"])


def masked_failure(act: Action, exc: BaseException) -> ActionState:
    """Log ``exc`` with a fresh error id and answer with a state that hides it."""
    error_id = secrets.token_hex(4)
    logger.error("Action %s failed (error id %s)", act.endpoint, error_id, exc_info=exc)
    g._server_actions_failure = Failure(act.endpoint, error_id, exc)
    message = f"{MASKED_MESSAGE} Please try again. (Error id {error_id})"
    if current_app.debug:
        message = f"{type(exc).__name__}: {exc} (error id {error_id})"
    return ActionState.failure(message, status=500, data={"error_id": error_id})


def current_failure(endpoint: str) -> Failure | None:
    """The unexpected failure of ``endpoint`` in this request, if any."""
    failure: Failure | None = g.get("_server_actions_failure")
    if failure is None or failure.endpoint != endpoint:
        return None
    return failure


def try_again(act: Action, form_id: str, values: Mapping[str, t.Any]) -> Markup:
    """A "Try again" button that brings the form back with ``values``.

    It is a small form of its own, so it works without JavaScript: it posts
    the values back to the action with :data:`RETRY_FIELD`, and the action
    answers with its form filled in, without running. With htmx it replaces
    the error in place.
    """
    from .forms import hidden_fields  # forms renders boundaries: import it late

    # The failure released its key: the form that comes back carries it on, so
    # the original body sent again once it went through is a replay.
    key = (posted_key() or False) if act.once else False
    url = escape(act.url())
    inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(item)}">'
        for name, value in values.items()
        for item in (value if isinstance(value, list | tuple) else [value])
    )
    return Markup(
        f'<form class="sa-retry" action="{url}" method="post" hx-post="{url}"'
        f' hx-target="#{escape(form_id)}" hx-swap="outerHTML" hx-sync="this:drop"'
        f' hx-disable="find [type=submit]">'
        f"{hidden_fields(form_id, key=key, **{RETRY_FIELD: '1'})}{inputs}"
        '<button type="submit" class="sa-submit sa-retry__button">'
        '<span class="sa-submit__idle">Try again</span></button></form>'
    )


def render_boundary(act: Action, form_id: str, state: ActionState) -> Markup | None:
    """The error template in the place of ``form_id``, if its action just failed.

    The wrapper takes the form's id, so the "Try again" answer (and any later
    swap aimed at the form) lands where the form was.
    """
    failure = current_failure(act.endpoint)
    if failure is None or state.data.get("error_id") != failure.error_id:
        return None
    exc = failure.exception
    context = {
        "action": act,
        "error_id": failure.error_id,
        "form_id": form_id,
        "message": f"{type(exc).__name__}: {exc}" if current_app.debug else None,
        "try_again": try_again(act, form_id, state.values),
    }
    body = render_template(template_for(act.endpoint), **context)
    return Markup(
        f'<div id="{escape(form_id)}" class="sa-boundary" role="group" tabindex="-1"'
        f' autofocus aria-labelledby="{escape(form_id)}-error-title"'
        f' data-sa-action="{escape(act.endpoint)}" data-sa-error-id="{failure.error_id}">'
        f"{Markup(body)}</div>"
    )


def restore_after_failure() -> Response | None:
    """Answer a "Try again" post: the action's form with the values, nothing run.

    A ``before_request`` hook, so it runs after the CSRF check and the body
    limit and before the action's view (and its rate limit).
    """
    from .actions import restore_form
    from .submitted import request_action

    act = request_action()
    if act is None:
        return None
    try:
        asked = request.form.get(RETRY_FIELD) == "1"
    except HTTPException:  # the body is unreadable: the action's view says so
        return None
    return restore_form(act) if asked else None
