"""Answering an action's outcome as its caller wants it.

=========  =========================================  ========================================
caller     success                                    failure
=========  =========================================  ========================================
htmx       the form's block (fresh) and the stale     the form's block with input and errors
           regions out of band
plain      303 to the page; the state shown once      the whole page with the form's state
JSON       ``{"ok": true, …}``                        ``{"ok": false, "errors": …}``
=========  =========================================  ========================================

What the page must show is decided before it renders (``render_page`` flashes a
message whose form the page lacks), so the page renders once, and for htmx only
its form block and its regions render.
"""

from __future__ import annotations

import contextlib
import logging
import typing as t

from flask import Response
from flask import current_app
from flask import flash
from flask import jsonify
from flask import make_response
from flask import redirect
from flask import url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Response as BaseResponse

from .carried import carry_state
from .exchange import BlockRequest
from .exchange import Exchange
from .exchange import Submission
from .failures import failure_state
from .fields import form_block_name
from .htmx import client_redirect
from .htmx import location
from .htmx import reswap
from .htmx import retarget
from .markup import checked_errors
from .markup import status_area
from .pages import call_page
from .registry import ActionSpec
from .registry import page_endpoint
from .resubmit import confirmation_page
from .resubmit import resubmit_page
from .signals import action_answered
from .state import ActionState

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm
    from wtforms import Field

logger = logging.getLogger("flask_server_actions")


def answer(
    exchange: Exchange, act: ActionSpec, state: ActionState, form: FlaskForm | None
) -> Response:
    """Answer ``state`` as the caller wants it: fragment, page, redirect or JSON."""
    action_answered.send(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        action=act,
        state=state,
    )
    try:
        response = _answer(exchange, act, state, form)
    except exchange.app.unavailable_errors as exc:
        # The page around the answer needs a backend that is down.
        logger.warning("A backend is unavailable: %s", exc)
        if exchange.committed:
            response = _saved_but_not_shown(exchange, act)
        else:
            state = failure_state(exchange, exc)
            response = _unavailable(exchange, act, state, form)
    return _finish(exchange, response)


def answer_check(exchange: Exchange, checked: t.Sequence[Field]) -> Response:
    """The answer to a validation check: each checked field's errors, nothing else.

    Small on purpose (a few hundred bytes): the toolkit's script puts each list
    where the field's errors go, with ``aria-invalid`` and ``aria-describedby``
    as after a submit.
    """
    body = Markup("").join(checked_errors(f) for f in checked)
    response = make_response(body, 200)
    return _finish(exchange, response)


def refuse_check(exchange: Exchange, state: ActionState) -> Response:
    """A validation check that was refused (CSRF, origin, authorization, rate):
    the status alone. The field shows nothing; the submit will say why."""
    response = make_response("", state.status)
    return _finish(exchange, response)


def ask_first(exchange: Exchange, act: ActionSpec, question: str) -> Response:
    """The question of ``confirm=`` on a page of its own: nothing runs before Yes.

    Without JavaScript there is no confirmation dialog, so the first post of a
    form with ``confirm=`` is answered with this page; its form posts the same
    fields again, answered.
    """
    response = make_response(confirmation_page(exchange, act, question), 200)
    return _finish(exchange, response)


def _finish(exchange: Exchange, response: BaseResponse) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    response.vary.add("Accept")
    for name, value in exchange.headers.items():
        response.headers[name] = value
    return t.cast(Response, response)


def _answer(
    exchange: Exchange, act: ActionSpec, state: ActionState, form: FlaskForm | None
) -> BaseResponse:
    mode = exchange.mode
    if mode == "json":
        response = jsonify(state.to_json())
        response.status_code = state.status
        return response

    if state.redirect is not None:
        if state.message:
            flash(state.message, "success" if state.ok else "error")
        if mode == "htmx":
            return location(make_response("", 200), state.redirect)
        return see_other(state.redirect)

    form_id = t.cast(str, exchange.form_id)
    if mode == "plain" and state.ok:
        if exchange.kind == "button":
            # A button often removes its own row; the page reports the outcome.
            if state.message:
                flash(state.message, "success")
        else:
            carry_state(form_id, state)
        return see_other(page_path(exchange, act) or "/")

    if state.status == 401 and (mode == "plain" or exchange.kind == "button"):
        # Off to sign in, then back to the page (a button has no input to lose;
        # a form with input keeps it and says why in its status area).
        login = _login_redirect(exchange)
        if login is not None:
            if state.message:
                flash(state.message, "error")
            if mode == "htmx":
                return client_redirect(make_response("", 200), login)
            return see_other(login)

    exchange.submission = Submission(act.endpoint, form_id, form, state)
    if state.status == 503:
        return _unavailable(exchange, act, state, form)
    if mode == "htmx":
        return _fragment(exchange, act, state)
    return _whole_page(exchange, act, state)


def see_other(url: str) -> Response:
    """A 303 to ``url``, encoded for the header (``/€`` becomes ``/%E2%82%AC``)."""
    return t.cast(Response, redirect(iri_to_uri(url), 303))


def page_url(act: ActionSpec) -> str | None:
    """The URL of ``act``'s page, when it has one that takes no URL arguments."""
    endpoint = page_endpoint(act)
    if endpoint is not None:
        with contextlib.suppress(Exception):
            return url_for(endpoint)
    return None


def page_path(exchange: Exchange, act: ActionSpec) -> str | None:
    """The page the answer is about: the one posted from, else the action's page."""
    return exchange.posted_page or page_url(act)


def _in_place(exchange: Exchange, state: ActionState, extra: str = "") -> Response:
    """Only the form's status area, swapped where it is: the form stays as typed."""
    form_id = t.cast(str, exchange.form_id)
    response = make_response(str(status_area(form_id, state)) + extra, state.status)
    retarget(response, f"#{form_id}-status")
    reswap(response, "outerHTML")
    return response


def _fragment(exchange: Exchange, act: ActionSpec, state: ActionState) -> Response:
    """The submitted form's block and the stale regions out of band, from its page."""
    form_block = form_block_name(t.cast(str, exchange.form_id))
    path = page_path(exchange, act)
    form_html: str | None = None
    oob = ""
    if path is not None:
        # An unreadable body cannot refill the form: the browser keeps it as typed.
        wanted = BlockRequest(
            blocks=[] if exchange.body_refused else [form_block],
            oob_regions=bool(exchange.stale),
        )
        exchange.blocks = wanted
        try:
            page = call_page(path)
            form_html, oob = wanted.results.get(form_block), wanted.oob
        except HTTPException:
            pass  # the page refuses this user (an admin page, a member): report in place
        else:
            if not wanted.rendered and _is_a_page(page):
                _render_page_missing(path)
        finally:
            exchange.blocks = None
    if form_html is not None:
        return make_response(form_html + oob, state.status)
    # No form block to swap (or no input to refill it with): report in place.
    return _in_place(exchange, state, oob)


def _is_a_page(rv: t.Any) -> bool:
    """Whether a view's return value is a page it rendered (not a redirect, a 403)."""
    if isinstance(rv, tuple):
        rv = rv[0]
    if isinstance(rv, BaseResponse):
        return rv.status_code == 200 and rv.mimetype == "text/html"
    return isinstance(rv, str)


def _render_page_missing(path: str) -> None:
    """A page view that answers without ``render_page`` cannot give its blocks.

    The htmx answer then has no form and no regions (the user sees the message
    only), which is easy to miss: a test or the debug server says so loudly.
    """
    message = (
        f"The page view of {path} rendered its page without render_page(), so"
        " the action's answer cannot re-render its form and regions: return"
        " render_page(template, **context) from the view instead of"
        " render_template()."
    )
    if current_app.debug or current_app.testing:
        raise RuntimeError(message)
    logger.error(message)


def _whole_page(exchange: Exchange, act: ActionSpec, state: ActionState) -> Response:
    path = page_path(exchange, act)
    try:
        rv = call_page(path) if path is not None else None
    except HTTPException:
        rv = None  # the page refuses this user; the message still needs a page
    if rv is None:
        return make_response(resubmit_page(exchange, state), state.status)
    response = make_response(rv)
    if response.status_code == 200:
        response.status_code = state.status
    submitted = exchange.submission
    if (
        submitted is not None
        and state.message
        and not (submitted.shown or submitted.message_flashed)
    ):
        # The page did not render the form after all (its view does not use
        # render_page, or the form's block is inside a condition): the message
        # is shown by the next page instead of being lost.
        flash(state.message, "success" if state.ok else "error")
    return response


def _unavailable(
    exchange: Exchange, act: ActionSpec, state: ActionState, form: FlaskForm | None
) -> Response:
    """A 503 that keeps the input: the page may need the very backend that is down.

    htmx callers keep their form exactly as typed; only its status area changes.
    A plain browser gets the page again if it renders, else a small page with
    the submitted values in a form that posts them again.
    """
    exchange.headers.setdefault(
        "Retry-After",
        str(state.data.get("retry_after", exchange.settings.retry_after)),
    )
    if exchange.mode == "htmx":
        return _in_place(exchange, state)
    exchange.submission = Submission(
        act.endpoint, t.cast(str, exchange.form_id), form, state
    )
    try:
        response = _whole_page(exchange, act, state)
    except exchange.app.unavailable_errors:
        response = make_response(resubmit_page(exchange, state), 503)
    response.status_code = 503
    return response


def _saved_but_not_shown(exchange: Exchange, act: ActionSpec) -> Response:
    """The action's work was saved; only the page around it failed to render."""
    message = exchange.app.messages(
        "saved_not_shown", seconds=exchange.settings.retry_after
    )
    if exchange.mode == "htmx":
        return _in_place(exchange, ActionState.success(message))
    flash(message, "success")
    return see_other(page_path(exchange, act) or "/")


def _login_redirect(exchange: Exchange) -> str | None:
    manager = getattr(current_app, "login_manager", None)
    view = getattr(manager, "login_view", None)
    if not view:
        return None
    from flask_login import login_url  # the app set up Flask-Login (it has a manager)

    return str(login_url(view, next_url=exchange.posted_page or "/"))
