"""Error boundaries: what a form becomes when its action fails unexpectedly.

The seeds' ``error.tsx`` catches what nobody expected, shows an opaque
``digest`` and offers ``reset()``. Here the form's place shows an error
template (the toolkit's, or one its blueprint supplies with
:func:`error_template`) with a short random id that is also logged, and a
"Try again" button that brings the form back with what the user typed.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import render_template
from markupsafe import Markup

from .appstate import AppState
from .appstate import app_state
from .exchange import Exchange
from .fields import RETRY_FIELD
from .markup import HtmlTemplate
from .markup import hidden_fields
from .markup import hidden_input

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.sansio.blueprints import BlueprintSetupState

    from .registry import ActionSpec
    from .state import ActionState

_RETRY = HtmlTemplate(
    '<form class="sa-retry" action="%(url)s" method="post" hx-post="%(url)s"'
    ' hx-target="#%(form_id)s" hx-swap="outerHTML" hx-sync="this:drop"'
    ' hx-disable="find [type=submit]">%(hidden)s%(inputs)s'
    '<button type="submit" class="sa-submit sa-retry__button">'
    '<span class="sa-submit__idle">%(label)s</span></button></form>'
)
_BOUNDARY = HtmlTemplate(
    '<div id="%(form_id)s" class="sa-boundary" role="group" tabindex="-1"'
    ' autofocus aria-labelledby="%(form_id)s-error-title"'
    ' data-sa-action="%(endpoint)s" data-sa-error-id="%(error_id)s">%(body)s</div>'
)


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

    def remember(setup: BlueprintSetupState) -> None:
        name = f"{setup.name_prefix}.{setup.name}".lstrip(".")
        app_state(t.cast(Flask, setup.app)).error_templates[name] = template

    bp.record(remember)


def template_for(state: AppState, endpoint: str) -> str:
    """The error template of the blueprint ``endpoint`` belongs to (or a parent's)."""
    templates = state.error_templates
    name = endpoint.rpartition(".")[0]
    while name:
        if name in templates:
            return templates[name]
        name = name.rpartition(".")[0]
    return state.settings.error_template


def try_again(
    exchange: Exchange, act: ActionSpec, form_id: str, values: Mapping[str, t.Any]
) -> Markup:
    """A "Try again" button that brings the form back with ``values``.

    It is a small form of its own, so it works without JavaScript: it posts
    the values back to the action with :data:`RETRY_FIELD`, and the action
    answers with its form filled in, without running. With htmx it replaces
    the error in place.
    """
    url = exchange.request.path
    # The failure released its key: the form that comes back carries it on, so
    # the original body sent again once it went through is a replay.
    key = (exchange.key or False) if act.once else False
    inputs = Markup("").join(
        hidden_input(name, item)
        for name, value in values.items()
        for item in (value if isinstance(value, list | tuple) else [value])
    )
    return _RETRY % {
        "url": url,
        "form_id": form_id,
        "hidden": hidden_fields(exchange, form_id, key=key, **{RETRY_FIELD: "1"}),
        "inputs": inputs,
        "label": exchange.app.messages("try_again"),
    }


def render_boundary(
    exchange: Exchange, act: ActionSpec, form_id: str, state: ActionState
) -> Markup | None:
    """The error template in the place of ``form_id``, if its action just failed.

    The wrapper takes the form's id, so the "Try again" answer (and any later
    swap aimed at the form) lands where the form was.
    """
    failure = exchange.failure
    if (
        failure is None
        or failure.endpoint != act.endpoint
        or state.data.get("error_id") != failure.error_id
    ):
        return None
    exc = failure.exception
    context = {
        "action": act,
        "error_id": failure.error_id,
        "form_id": form_id,
        "message": f"{type(exc).__name__}: {exc}" if current_app.debug else None,
        "try_again": try_again(exchange, act, form_id, state.values),
    }
    endpoint = exchange.request.endpoint or act.endpoint
    body = render_template(template_for(exchange.app, endpoint), **context)
    return _BOUNDARY % {
        "form_id": form_id,
        "endpoint": act.endpoint,
        "error_id": failure.error_id,
        "body": Markup(body),
    }
