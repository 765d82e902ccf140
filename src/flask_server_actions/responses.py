"""Answering an action as the caller wants it, refusals and outages included."""

from __future__ import annotations

import contextlib
import logging
import typing as t

from flask import Response
from flask import current_app
from flask import flash
from flask import g
from flask import jsonify
from flask import make_response
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from .bodycheck import UnreadableBody
from .bodycheck import body_refused
from .errors import ActionError
from .errors import CrossOriginRequest
from .errors import ServiceUnavailable
from .errors import describe
from .forms import KIND_FIELD
from .forms import Submission
from .forms import form_block_name
from .forms import remember_state
from .forms import status_area
from .forms import submitted_values
from .htmx import client_redirect
from .htmx import location
from .htmx import reswap
from .htmx import retarget
from .limits import format_size
from .pages import BlockRequest
from .pages import call_page
from .revalidation import stale
from .signals import action_answered
from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

    from ._typing import ResponseMode
    from .actions import Action

from .outages import retry_after_seconds
from .outages import unavailable_errors
from .resubmit import resubmit_page
from .submitted import CSRF_MESSAGE
from .submitted import MESSAGES
from .submitted import bind_form
from .submitted import posted_field
from .submitted import request_action
from .submitted import response_mode
from .submitted import submitted_form_id
from .submitted import submitted_page_path

logger = logging.getLogger("flask_server_actions")


def _finish(response: BaseResponse) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    response.vary.add("Accept")
    return t.cast(Response, response)


def _endpoint_of(view: t.Callable[..., t.Any]) -> str | None:
    for endpoint, func in current_app.view_functions.items():
        if func is view:
            return endpoint
    return None


def page_url(act: Action) -> str | None:
    """The URL of ``act``'s page, when it has one that takes no URL arguments."""
    if act.page is not None:
        endpoint = _endpoint_of(act.page)
        if endpoint is not None:
            with contextlib.suppress(Exception):
                return url_for(endpoint)
    return None


def _page_path_for(act: Action) -> str | None:
    posted: str | None = g.get("_server_actions_page_path")
    return posted or page_url(act)


def respond(
    act: Action,
    state: ActionState,
    form: FlaskForm | None,
    *,
    keep_dom: bool = False,
) -> Response:
    """Answer ``state`` as the caller wants it: fragment, page, redirect or JSON.

    :param keep_dom: the user's input could not be read back (the body was too
        large or malformed), so htmx callers keep their form as it is and only
        its status area is replaced.
    """
    action_answered.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        action=act,
        state=state,
    )
    mode = response_mode()
    form_id = submitted_form_id(act)
    if mode == "json":
        response = jsonify(state.to_json())
        response.status_code = state.status
        return _finish(response)

    if state.redirect is not None:
        if state.message:
            flash(state.message, "success" if state.ok else "error")
        if mode == "htmx":
            return _finish(location(make_response("", 200), state.redirect))
        return _finish(redirect(state.redirect, 303))

    if mode == "plain" and state.ok:
        if posted_field(KIND_FIELD) == "button":
            # A button often removes its own row; the page reports the outcome.
            if state.message:
                flash(state.message, "success")
        else:
            remember_state(form_id, state)
        return _finish(redirect(_page_path_for(act) or "/", 303))

    if state.status == 401 and (
        mode == "plain" or posted_field(KIND_FIELD) == "button"
    ):
        # Off to sign in, then back to the page (a button has no input to lose;
        # a form with input keeps it and says why in its status area).
        login = _login_redirect()
        if login is not None:
            if state.message:
                flash(state.message, "error")
            if mode == "htmx":
                return _finish(client_redirect(make_response("", 200), login.location))
            return _finish(login)

    g._server_actions_submission = Submission(act.endpoint, form_id, form, state)
    if state.status == 503:
        return _finish(_respond_unavailable(act, state, form_id, mode))
    if mode == "htmx":
        form_html, oob_html = _render_for_htmx(act, form_block_name(form_id), keep_dom)
        if form_html is not None:
            return _finish(make_response(form_html + oob_html, state.status))
        # No form block to swap (or no input to refill it with): report in place.
        response = make_response(
            str(status_area(form_id, state)) + oob_html, state.status
        )
        retarget(response, f"#{form_id}-status")
        reswap(response, "outerHTML")
        return _finish(response)
    return _finish(_render_whole_page(act, state))


def _respond_unavailable(
    act: Action, state: ActionState, form_id: str, mode: ResponseMode
) -> Response:
    """A 503 that keeps the input: the page may need the very backend that is down.

    htmx callers keep their form exactly as typed; only its status area changes.
    A plain browser gets the page again if it renders, else a small page with
    the submitted values in a form that posts them again.
    """
    if mode == "htmx":
        response = make_response(str(status_area(form_id, state)), 503)
        retarget(response, f"#{form_id}-status")
        reswap(response, "outerHTML")
    else:
        try:
            response = _render_whole_page(act, state)
        except unavailable_errors():
            response = make_response(resubmit_page(state), 503)
        response.status_code = 503
    response.headers["Retry-After"] = str(
        state.data.get("retry_after", retry_after_seconds())
    )
    return response


def _saved_but_not_shown(act: Action, seconds: int) -> Response:
    message = (
        "Saved. The page could not be refreshed just now;"
        f" reload it in {seconds} seconds to see the change."
    )
    if response_mode() == "htmx":
        form_id = submitted_form_id(act)
        response = make_response(
            str(status_area(form_id, ActionState.success(message))), 200
        )
        retarget(response, f"#{form_id}-status")
        reswap(response, "outerHTML")
        return _finish(response)
    flash(message, "success")
    return _finish(redirect(_page_path_for(act) or "/", 303))


def respond_unavailable(exc: Exception) -> BaseResponse:
    """Error handler for :attr:`ServerActions.unavailable_errors`: a 503, never a 500.

    An action answers in its form (input kept); any other request gets the
    app's 503 page (``@app.errorhandler(503)``) with ``Retry-After``.
    """
    logger.warning("A backend is unavailable: %s", exc)
    unavailable = ServiceUnavailable(retry_after_seconds())
    act = request_action()
    if act is not None and g.get("_server_actions_committed"):
        # The action's work was saved; only the page around it failed to render.
        return _saved_but_not_shown(act, unavailable.seconds)
    if act is not None:
        result = respond_to_http_error(unavailable)
        if isinstance(result, Response):
            return result
    response = current_app.handle_http_exception(unavailable)
    if isinstance(response, HTTPException):
        return unavailable.get_response()
    response = current_app.make_response(response)
    response.headers["Retry-After"] = str(unavailable.seconds)
    return response


def _render_for_htmx(
    act: Action, form_block: str, keep_dom: bool
) -> tuple[str | None, str]:
    """The submitted form's block (unless ``keep_dom``) and the stale regions, out of band."""
    path = _page_path_for(act)
    if path is None:
        return None, ""
    wanted = BlockRequest(
        blocks=[] if keep_dom else [form_block], oob_regions=bool(stale())
    )
    g._server_actions_blocks = wanted
    try:
        call_page(path)
    except HTTPException:
        # The page refuses this user (an admin page, a member): report in place.
        return None, ""
    finally:
        g._server_actions_blocks = None
    return wanted.results.get(form_block), wanted.oob


def _render_whole_page(act: Action, state: ActionState) -> Response:
    path = _page_path_for(act)
    g._server_actions_state_shown = False
    try:
        rv = call_page(path) if path is not None else None
        if rv is not None and state.message and not g._server_actions_state_shown:
            # The form the request came from is not on the page (its id could not
            # be read back): show the message as a flash on the same page instead.
            _flash_again(state.message, "success" if state.ok else "error")
            rv = call_page(t.cast(str, path))
    except HTTPException:
        rv = None  # the page refuses this user; the message still needs a page
    if rv is None:
        return make_response(resubmit_page(state), state.status)
    response = make_response(rv)
    if response.status_code == 200:
        response.status_code = state.status
    return response


def _flash_again(message: str, category: str) -> None:
    """Flash ``message`` for a second render of the page in this same request.

    The first render already read the flashes (Flask keeps them for the rest of
    the request), so they are put back together with the new one.
    """
    from flask.globals import request_ctx

    shown = request_ctx.flashes or []
    session["_flashes"] = [*shown, (category, message)]
    request_ctx.flashes = None


def _login_redirect() -> Response | None:
    manager = getattr(current_app, "login_manager", None)
    view = getattr(manager, "login_view", None)
    if not view:
        return None
    from flask_login import login_url

    next_path = g.get("_server_actions_page_path") or "/"
    return t.cast(Response, redirect(login_url(view, next_url=next_path), 303))


def respond_to_http_error(exc: HTTPException) -> Response | HTTPException:
    """Render a refusal that happened before or around an action, in its form."""
    act = request_action()
    if act is None:
        return exc
    if g.get("_server_actions_page_path") is None:
        g._server_actions_page_path = submitted_page_path()
    status = exc.code or 400
    if isinstance(exc, ActionError):
        state = ActionState.failure(exc.message, status=status, errors=exc.errors)
    elif isinstance(exc, CSRFError):
        state = ActionState.failure(CSRF_MESSAGE, status=status)
    elif isinstance(exc, CrossOriginRequest):
        state = ActionState.failure(describe(exc), status=status)
    elif status == 413:
        limit = request.max_content_length
        size = f" ({format_size(limit)})" if limit is not None else ""
        state = ActionState.failure(
            f"What you sent is larger than this form accepts{size}, so nothing was saved."
            " Make it smaller and try again.",
            status=status,
        )
    elif isinstance(exc, RateLimitExceeded):
        state = ActionState.failure(describe(exc), status=status)
    elif status in MESSAGES:
        state = ActionState.failure(MESSAGES[status], status=status)
    else:
        state = ActionState.failure(describe(exc), status=status)
    keep_dom = False
    form: FlaskForm | None = None
    try:
        if body_refused() or status == 413:
            # Unreadable or too large: parsing it again would only fail again,
            # after streaming its file parts into temporary files left open.
            raise UnreadableBody()
        request.form  # noqa: B018 - reading it tells whether the body is usable
        form = bind_form(act)
        state = state.with_values(submitted_values(form))
    except HTTPException:
        keep_dom = True
    response = respond(act, state, form, keep_dom=keep_dom)
    for header in ("Retry-After", "Allow", "WWW-Authenticate"):
        value = exc.get_response().headers.get(header)
        if value:
            response.headers[header] = value
    return response
