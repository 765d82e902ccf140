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
from flask import g
from flask import url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from .binding import BOUND_FIELD
from .binding import verify_arguments
from .bodycheck import repeated_fields
from .boundary import masked_failure
from .errors import ActionError
from .errors import ServiceUnavailable
from .errors import UnknownAction
from .forms import field_errors
from .forms import leaf_fields
from .forms import submitted_values
from .limits import parse_size
from .origin import check_origin
from .outages import retry_after_seconds
from .outages import unavailable_errors
from .outages import unavailable_state
from .policies import Policy
from .policies import PolicyCheck
from .policies import as_policy
from .policies import current_user
from .ratelimit import limit_action
from .responses import respond
from .responses import respond_to_http_error
from .revalidation import bumps_after
from .state import ActionState
from .submissions import SubmissionKey
from .submitted import MESSAGES
from .submitted import bind_form
from .submitted import posted_field
from .submitted import submitted_page_path

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

    from ._typing import ActionResult

logger = logging.getLogger("flask_server_actions")

_MISSING: t.Any = object()


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


def _transaction() -> t.ContextManager[t.Any]:
    ext = current_app.extensions.get("server_actions")
    factory = getattr(ext, "transaction", None)
    return factory() if factory is not None else contextlib.nullcontext()


class _RollBack(Exception):
    """Carries a failed state out of the transaction so its writes are undone."""

    def __init__(self, state: ActionState) -> None:
        self.state = state


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
                    act.endpoint, posted_field(BOUND_FIELD), act.bind
                )
            view_args = {**view_args, **bound}
        form = bind_form(act)
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
        state = unavailable_state(ServiceUnavailable(retry_after_seconds()))
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
    g._server_actions_page_path = submitted_page_path()
    try:
        check_origin()
        key = SubmissionKey.from_request(act.endpoint) if act.once else None
        if key is None:
            state, form = execute(act, view_args)
            return respond(act, state, form)
        (state, form), replayed = key.run_once(
            lambda: execute(act, view_args), lambda first: (first, bind_form(act))
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
    g._server_actions_page_path = submitted_page_path()
    form = bind_form(act)
    state = ActionState(ok=False, status=200).with_values(submitted_values(form))
    return respond(act, state, form)
