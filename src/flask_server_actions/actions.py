"""The ``@action`` decorator and the request pipeline every action runs through."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import typing as t
from collections.abc import Mapping

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import flash
from flask import g
from flask import jsonify
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from . import htmx as hx
from .binding import BOUND_FIELD
from .binding import verify_arguments
from .bodycheck import UnreadableBody
from .bodycheck import body_refused
from .bodycheck import repeated_fields
from .boundary import masked_failure
from .cache import CacheUnavailable
from .errors import ActionError
from .errors import CrossOriginRequest
from .errors import ServiceUnavailable
from .errors import UnknownAction
from .errors import describe
from .forms import FORM_FIELD
from .forms import KIND_FIELD
from .forms import PAGE_FIELD
from .forms import Submission
from .forms import default_form_id
from .forms import field_errors
from .forms import form_block_name
from .forms import leaf_fields
from .forms import remember_state
from .forms import status_area
from .forms import submitted_values
from .limits import format_size
from .limits import parse_size
from .origin import check_origin
from .pages import BlockRequest
from .pages import call_page
from .policies import Policy
from .policies import PolicyCheck
from .policies import as_policy
from .policies import current_user
from .ratelimit import limit_action
from .revalidation import bumps_after
from .revalidation import stale
from .signals import action_answered
from .state import ActionState
from .submissions import SubmissionKey
from .urls import local_path

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

    from ._typing import ActionResult
    from ._typing import ResponseMode

logger = logging.getLogger("flask_server_actions")

_MISSING: t.Any = object()
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


class Action:
    """A server action: a POST view that is also a plain Python function.

    Calling the object calls the function. :meth:`call` runs it the way a form
    submission would (validation and authorization included) without HTTP.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        func: t.Callable[..., ActionResult],
        *,
        blueprint: Blueprint,
        name: str,
        rule: str,
        form: type[FlaskForm] | None,
        policy: Policy,
        page: t.Callable[..., t.Any] | None,
        reset: bool,
        bind: tuple[str, ...] = (),
        max_body: int | None = None,
        rate_limit: str | t.Callable[[], str] | None = None,
        once: bool = True,
    ) -> None:
        #: The function the developer wrote.
        self.func = func
        #: The view name inside its blueprint.
        self.name = name
        #: ``blueprint.name`` + ``.`` + ``name``, for ``url_for`` and templates.
        self.endpoint = f"{blueprint.name}.{name}"
        #: The URL rule inside the blueprint.
        self.rule = rule
        #: The flask-wtf form class that validates the input, if any.
        self.form_class = form
        #: Who may call the action.
        self.policy = policy
        #: The page view the action belongs to (its fallback for redirects and re-renders).
        self.page = page
        #: Whether a successful form comes back empty.
        self.reset = reset
        #: Names of the signed arguments the action receives as keyword arguments.
        self.bind = bind
        #: The largest request body accepted, in bytes (``None``: the app's limit).
        self.max_body = max_body
        #: A Flask-Limiter rate such as ``"10/minute"`` (or a callable returning one),
        #: counted per user or client address.
        self.rate_limit = rate_limit
        #: Whether each rendered form's submission key is applied once (see ``submissions``).
        self.once = once
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__module__ = func.__module__

    def __repr__(self) -> str:
        return f"<Action {self.endpoint}>"

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> ActionResult:
        return self.func(*args, **kwargs)

    def url(self, **values: t.Any) -> str:
        return url_for(self.endpoint, **values)

    def call(
        self,
        data: Mapping[str, t.Any] | None = None,
        /,
        *,
        user: t.Any = None,
        **fields: t.Any,
    ) -> ActionState:
        """Run the action as a form submission would, from Python, without HTTP.

        Validation, authorization and the transaction all apply; CSRF and the
        origin check do not (there is no browser). Needs an application context.

        :param data: form fields, as a mapping (or pass them as keyword arguments).
        :param user: act as this user instead of the current one (Flask-Login).
        """
        given = dict(data or {}, **fields)
        bound = {name: given.pop(name) for name in self.bind if name in given}
        with current_app.test_request_context(
            "/", method="POST", data=MultiDict(given)
        ):
            if user is not None:
                g._login_user = user
            state, _ = execute(self, {}, bound=bound)
            return state

    def as_view(self) -> t.Callable[..., Response]:
        def view(**view_args: t.Any) -> Response:
            return handle_request(self, view_args)

        view.__name__ = self.__name__
        view.__module__ = self.__module__
        view.__doc__ = self.__doc__
        view.server_action = self  # type: ignore[attr-defined]
        return view


_A = t.TypeVar("_A", bound=t.Callable[..., "ActionResult"])


def action(
    bp: Blueprint,
    *,
    allow: Policy | PolicyCheck = _MISSING,
    form: type[FlaskForm] | None = None,
    page: t.Callable[..., t.Any] | None = None,
    rule: str | None = None,
    name: str | None = None,
    reset: bool = True,
    bind: t.Iterable[str] = (),
    max_body: int | str | None = None,
    rate_limit: str | t.Callable[[], str] | None = None,
    once: bool = True,
    **options: t.Any,
) -> t.Callable[[_A], Action]:
    """Register the decorated function as a server action on ``bp``.

    The action answers ``POST`` only, at ``rule`` (default
    ``/actions/<name>``), and returns an :class:`ActionState` (or ``None``).

    :param bp: the blueprint the action belongs to.
    :param allow: who may call it: ``allow.public``, ``allow.signed_in``,
        ``allow.role("admin")`` or any ``callable(user, form) -> bool``. Required.
    :param form: the flask-wtf form class that validates the input; the action
        receives the validated form as its first argument.
    :param page: the page view the form lives on; the fallback for the redirect
        after success and the re-render after failure.
    :param reset: ``False`` keeps the input in the form after success.
    :param bind: names of arguments bound on the server with ``action_button(…,
        bind={…})``; they arrive signed and the action receives them verified.
    :param max_body: the largest request body, e.g. ``"64 KB"`` (default
        ``SERVER_ACTIONS_MAX_BODY``, 1 MB); larger requests answer 413 in the form.
    :param rate_limit: a Flask-Limiter rate such as ``"10/minute"``, counted per
        signed-in user or client address; a breach answers 429 in the form and the
        action does not run.
    :param once: ``False`` for actions where sending the same form again is meant
        to act again (a like button whose clicks are queued): its forms carry no
        submission key, so repeats are not replayed.
    """
    if "methods" in options:
        raise TypeError("Use the 'route' decorator to use the 'methods' argument.")

    def decorator(func: _A) -> Action:
        view_name = name or func.__name__
        if allow is _MISSING:
            raise TypeError(
                f"Action {bp.name}.{view_name} does not say who may call it: pass"
                " allow=allow.public, allow.signed_in, allow.role(...) or a"
                " callable(user, form)."
            )
        act = Action(
            func,
            blueprint=bp,
            name=view_name,
            rule=rule or f"/actions/{view_name.replace('_', '-')}",
            form=form,
            policy=as_policy(allow),
            page=page,
            reset=reset,
            bind=tuple(bind),
            max_body=parse_size(max_body) if max_body is not None else None,
            rate_limit=rate_limit,
            once=once,
        )
        bp.post(act.rule, endpoint=view_name, **options)(act.as_view())
        bp.record_once(lambda state: limit_action(state, act))
        return act

    return decorator


def get_action(endpoint: str) -> Action:
    """The action registered as ``endpoint`` on the current app."""
    view = current_app.view_functions.get(endpoint)
    found = getattr(view, "server_action", None)
    if not isinstance(found, Action):
        raise UnknownAction(endpoint)
    return found


def all_actions() -> list[Action]:
    """Every action registered on the current app, sorted by endpoint.

    Needs an application context. Test suites use it to cover every action
    of an app at once (each :class:`Action` knows its ``page``, ``form_class``,
    ``policy``, ``bind``, ``max_body`` and ``rate_limit``).

    .. versionadded:: 0.1
    """
    found = (
        getattr(v, "server_action", None) for v in current_app.view_functions.values()
    )
    return sorted((a for a in found if isinstance(a, Action)), key=lambda a: a.endpoint)


def request_action() -> Action | None:
    """The action the current request is addressed to, if any."""
    if request.method != "POST" or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    found = getattr(view, "server_action", None)
    return found if isinstance(found, Action) else None


def response_mode() -> ResponseMode:
    """htmx, JSON or a plain browser: who is asking, decided per request."""
    if hx.htmx:
        return "plain" if hx.htmx.wants_full_page else "htmx"
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return "json" if best == "application/json" else "plain"


def _posted_field(name: str) -> str | None:
    if body_refused():
        return None
    try:
        value = request.form.get(name)
    except HTTPException:  # the body could not be read (too large, malformed)
        return None
    return value


def _submitted_page_path() -> str | None:
    return local_path(_posted_field(PAGE_FIELD)) or local_path(hx.htmx.current_path)


def _submitted_form_id(act: Action) -> str:
    posted = _posted_field(FORM_FIELD) or hx.htmx.target_id
    if posted and len(posted) <= _MAX_FORM_ID and default_form_id(posted) == posted:
        return posted
    return default_form_id(act.endpoint)


def _transaction() -> t.ContextManager[t.Any]:
    ext = current_app.extensions.get("server_actions")
    factory = getattr(ext, "transaction", None)
    return factory() if factory is not None else contextlib.nullcontext()


class _RollBack(Exception):
    """Carries a failed state out of the transaction so its writes are undone."""

    def __init__(self, state: ActionState) -> None:
        self.state = state


def _bind_form(act: Action) -> FlaskForm | None:
    if act.form_class is None:
        return None
    return act.form_class(meta={"csrf": False})


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The exception classes that mean "a backend is down or busy" (503)."""
    ext = current_app.extensions.get("server_actions")
    return (CacheUnavailable, *getattr(ext, "unavailable_errors", ()))


def retry_after_seconds() -> int:
    """How long a 503 asks the client to wait (``SERVER_ACTIONS_RETRY_AFTER``)."""
    return int(current_app.config.get("SERVER_ACTIONS_RETRY_AFTER", 5))


def _unavailable_state(exc: ServiceUnavailable) -> ActionState:
    return ActionState.failure(
        describe(exc), status=503, data={"retry_after": exc.seconds}
    )


def _authorize(act: Action, form: FlaskForm | None, *, after_validation: bool) -> None:
    policy = act.policy
    if policy.is_public:
        return
    user = current_user()
    signed_in = bool(getattr(user, "is_authenticated", False))
    if policy.requires_login and not signed_in:
        raise ActionError(MESSAGES[401], status=401)
    if policy.check is None or policy.needs_form != after_validation:
        return
    if not policy.check(user, form):
        status = 403 if signed_in else 401
        raise ActionError(MESSAGES[status], status=status)


def execute(
    act: Action,
    view_args: Mapping[str, t.Any],
    *,
    bound: Mapping[str, t.Any] | None = None,
) -> tuple[ActionState, FlaskForm | None]:
    """Authorize, validate and run ``act`` on the current request's input.

    :param bound: the bound arguments, already trusted (a Python caller); ``None``
        reads and verifies them from the signed form field.
    """
    form: FlaskForm | None = None
    try:
        _authorize(act, None, after_validation=False)
        if act.bind:
            if bound is None:
                bound = verify_arguments(
                    act.endpoint, _posted_field(BOUND_FIELD), act.bind
                )
            view_args = {**view_args, **bound}
        form = _bind_form(act)
        repeated = repeated_fields(form) if form is not None else {}
        if repeated:
            _show_errors_on_fields(form, repeated)
            state = ActionState(
                ok=False, message=MESSAGES[422], errors=repeated, status=422
            )
            return state.with_values(submitted_values(form)), form
        if form is not None and not form.validate():
            state = ActionState(
                ok=False, message=MESSAGES[422], errors=field_errors(form), status=422
            )
            return state.with_values(submitted_values(form)), form
        _authorize(act, form, after_validation=True)
        args = (form,) if form is not None else ()
        try:
            with bumps_after(), _transaction():
                result = act.func(*args, **view_args)
                state = result if result is not None else ActionState.success()
                if not isinstance(state, ActionState):
                    raise TypeError(
                        f"Action {act.endpoint} returned {type(state).__name__};"
                        " return an ActionState or None."
                    )
                if not state.ok:
                    raise _RollBack(state)
        except _RollBack as rolled_back:
            state = rolled_back.state
        # From here on a failure must not claim that nothing was saved.
        g._server_actions_committed = state.ok
        if state.ok and not act.reset:
            state = dataclasses.replace(state, reset=False)
    except ActionError as exc:
        state = ActionState.failure(
            exc.message, status=exc.code or 400, errors=exc.errors
        )
        _show_errors_on_fields(form, exc.errors)
    except HTTPException:
        raise
    except unavailable_errors() as exc:
        logger.warning("Action %s: a backend is unavailable: %s", act.endpoint, exc)
        state = _unavailable_state(ServiceUnavailable(retry_after_seconds()))
    except Exception as exc:  # noqa: BLE001 - masked for the user, logged in full
        state = masked_failure(act, exc)
    if not state.ok:
        state = state.with_values(submitted_values(form))
    return state, form


def _show_errors_on_fields(
    form: FlaskForm | None, errors: Mapping[str, list[str]]
) -> None:
    """Put an action's own field errors beside the fields, like validation errors."""
    if form is None:
        return
    # Nested inputs (``lines-2-quantity``) are found by their full name.
    by_name = {str(f.name): f for f in leaf_fields(form)}
    for name, messages in errors.items():
        if name in by_name:
            found = by_name[name]
            found.errors = [*found.errors, *messages]


def handle_request(act: Action, view_args: Mapping[str, t.Any]) -> Response:
    """The HTTP side of an action: check, run, answer in the caller's mode."""
    g._server_actions_page_path = _submitted_page_path()
    try:
        check_origin()
        key = SubmissionKey.from_request(act.endpoint) if act.once else None
        if key is None:
            state, form = execute(act, view_args)
            return respond(act, state, form)
        (state, form), replayed = key.run_once(
            lambda: execute(act, view_args), lambda first: (first, _bind_form(act))
        )
    except HTTPException as exc:
        # Answered here, in the form: an app's own handler for the status (a
        # site-wide 403 page) would otherwise take precedence over the toolkit's.
        return t.cast(Response, respond_to_http_error(exc))
    response = respond(act, state, form)
    if replayed:
        response.headers["X-Submission-Replayed"] = "1"
    return response


def restore_form(act: Action) -> Response:
    """Answer with ``act``'s form filled in with the posted values, running nothing.

    What "Try again" after an unexpected error posts: the form comes back as
    the user left it, ready to be sent again.
    """
    g._server_actions_page_path = _submitted_page_path()
    form = _bind_form(act)
    state = ActionState(ok=False, status=200).with_values(submitted_values(form))
    return respond(act, state, form)


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
    form_id = _submitted_form_id(act)
    if mode == "json":
        response = jsonify(state.to_json())
        response.status_code = state.status
        return _finish(response)

    if state.redirect is not None:
        if state.message:
            flash(state.message, "success" if state.ok else "error")
        if mode == "htmx":
            return _finish(hx.location(make_response("", 200), state.redirect))
        return _finish(redirect(state.redirect, 303))

    if mode == "plain" and state.ok:
        if _posted_field(KIND_FIELD) == "button":
            # A button often removes its own row; the page reports the outcome.
            if state.message:
                flash(state.message, "success")
        else:
            remember_state(form_id, state)
        return _finish(redirect(_page_path_for(act) or "/", 303))

    if state.status == 401 and (
        mode == "plain" or _posted_field(KIND_FIELD) == "button"
    ):
        # Off to sign in, then back to the page (a button has no input to lose;
        # a form with input keeps it and says why in its status area).
        login = _login_redirect()
        if login is not None:
            if state.message:
                flash(state.message, "error")
            if mode == "htmx":
                return _finish(
                    hx.client_redirect(make_response("", 200), login.location)
                )
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
        hx.retarget(response, f"#{form_id}-status")
        hx.reswap(response, "outerHTML")
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
        hx.retarget(response, f"#{form_id}-status")
        hx.reswap(response, "outerHTML")
    else:
        try:
            response = _render_whole_page(act, state)
        except unavailable_errors():
            response = make_response(_resubmit_page(state), 503)
        response.status_code = 503
    response.headers["Retry-After"] = str(
        state.data.get("retry_after", retry_after_seconds())
    )
    return response


def _resubmit_page(state: ActionState) -> str:
    """A page with the message and the user's input, ready to be sent again.

    ``SERVER_ACTIONS_RESUBMIT_TEMPLATE`` names the app's own template for it; it
    gets ``title``, ``message``, ``action`` (the URL to post to) and ``fields``
    (``name``, ``value``, ``hidden``) and must not need the database.
    """
    fields: list[dict[str, t.Any]] = []
    try:
        posted = list(request.form.items(multi=True))
    except HTTPException:  # the body could not be read (too large, malformed)
        posted = []
    for name, value in posted:
        # The toolkit's fields and the token go back as they came; the user's
        # own fields only if the state kept them (never passwords or files).
        hidden = name.startswith("_") or name == "csrf_token"
        if hidden or name in state.values:
            fields.append({"name": name, "value": value, "hidden": hidden})
    context = {
        "title": "Not saved yet",
        "message": state.message or "",
        "action": request.path,
        "fields": fields,
    }
    template = current_app.config.get("SERVER_ACTIONS_RESUBMIT_TEMPLATE")
    if template:
        return render_template(template, **context)
    css = url_for("server_actions.static", filename="server-actions.css")
    controls = []
    for n, f in enumerate(fields):
        name, value = escape(f["name"]), escape(f["value"])
        if f["hidden"]:
            controls.append(f'<input type="hidden" name="{name}" value="{value}">')
            continue
        control = (
            f'<textarea id="sa-resubmit-{n}" name="{name}" rows="5">{value}</textarea>'
            if "\n" in f["value"] or len(f["value"]) > 80
            else f'<input id="sa-resubmit-{n}" name="{name}" value="{value}">'
        )
        controls.append(f'<p><label for="sa-resubmit-{n}">{name}</label> {control}</p>')
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{css}"><title>Not saved yet</title>'
        "<main><h1>Not saved yet</h1>"
        f'<p role="alert">{escape(state.message or "")}</p>'
        f'<form method="post" action="{escape(request.path)}">{"".join(controls)}'
        '<button type="submit">Try again</button></form></main></html>'
    )


def _saved_but_not_shown(act: Action, seconds: int) -> Response:
    message = (
        "Saved. The page could not be refreshed just now;"
        f" reload it in {seconds} seconds to see the change."
    )
    if response_mode() == "htmx":
        form_id = _submitted_form_id(act)
        response = make_response(
            str(status_area(form_id, ActionState.success(message))), 200
        )
        hx.retarget(response, f"#{form_id}-status")
        hx.reswap(response, "outerHTML")
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
        return make_response(_resubmit_page(state), state.status)
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
        g._server_actions_page_path = _submitted_page_path()
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
        form = _bind_form(act)
        state = state.with_values(submitted_values(form))
    except HTTPException:
        keep_dom = True
    response = respond(act, state, form, keep_dom=keep_dom)
    for header in ("Retry-After", "Allow", "WWW-Authenticate"):
        value = exc.get_response().headers.get(header)
        if value:
            response.headers[header] = value
    return response
