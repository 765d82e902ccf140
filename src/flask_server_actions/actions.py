"""The ``@action`` decorator: a function becomes a POST view and stays a function."""

from __future__ import annotations

import inspect
import re
import typing as t
from collections.abc import Mapping

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from werkzeug.datastructures import MultiDict

from .appstate import EXTENSION_NAME
from .appstate import AppState
from .appstate import app_state
from .compat import signed_in_as
from .errors import UnknownAction
from .exchange import current_exchange
from .formdata import body_limit
from .limits import parse_size
from .pipeline import execute
from .pipeline import handle
from .policies import Policy
from .policies import PolicyCheck
from .policies import as_policy
from .ratelimit import check_rate_limit_by
from .ratelimit import install_rate_check
from .registry import VIEW_ATTRIBUTE
from .registry import ActionSpec
from .registry import actions_of
from .registry import find_action

if t.TYPE_CHECKING:  # pragma: no cover
    from flask.sansio.blueprints import BlueprintSetupState
    from flask_wtf import FlaskForm

    from ._typing import ActionResult
    from .state import ActionState

_MISSING: t.Any = object()


class Action(ActionSpec):
    """A server action: a POST view that is also a plain Python function.

    Calling the object calls the function. :meth:`call` runs it the way a form
    submission would (validation and authorization included) without HTTP.

    .. versionadded:: 0.1
    """

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
        :param user: act as this user instead of the current one (Flask-Login's
            ``login_user``, for this call only).
        """
        given = dict(data or {}, **fields)
        bound = {name: given.pop(name) for name in self.bind if name in given}
        with (
            current_app.test_request_context("/", method="POST", data=MultiDict(given)),
            signed_in_as(user),
        ):
            exchange = current_exchange()
            exchange.action = self
            exchange.posted = request.form
            state, _ = execute(exchange, self, {}, bound=bound)
            return state

    def body_limit(self) -> int:
        """The largest request body this action accepts on the current app, in bytes."""
        return body_limit(self, app_state().settings)

    def view(self, **view_args: t.Any) -> Response:
        """The HTTP side of the action (registered as its view)."""
        return handle(self, view_args)


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
    rate_limit_by: t.Iterable[str] = ("user",),
    rate_limit_counts: t.Literal["attempts", "applied"] = "attempts",
    once: bool = True,
    validate_rate_limit: str | None = None,
    offline: bool | None = None,
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
        bind={…})`` or ``{% action_form …, bind={…} %}``; they arrive signed and
        the action receives them verified.
    :param max_body: the largest request body, e.g. ``"64 KB"`` (default
        ``SERVER_ACTIONS_MAX_BODY``, 1 MB); larger requests answer 413 in the form.
    :param rate_limit: a Flask-Limiter rate such as ``"10/minute"``, counted per
        signed-in user or client address; a breach answers 429 in the form and the
        action does not run.
    :param rate_limit_by: what the rate is counted per, each on its own:
        ``"user"`` (the default: the signed-in user, else the client address),
        ``"address"`` (the client address, signed in or not), ``"field:<name>"``
        (a posted field's value, e.g. ``"field:email"`` for the account a
        sign-in tries). ``("address", "field:email")`` allows the rate per
        address and per account.
    :param rate_limit_counts: ``"attempts"`` (the default) counts every request,
        invalid input and refusals too, which is what slows guessing;
        ``"applied"`` counts only submissions the action applied, so a user who
        corrects a form several times is not refused for it.
    :param once: ``False`` for actions where sending the same form again is meant
        to act again (a like button whose clicks are queued): its forms carry no
        submission key, so repeats are not replayed.
    :param validate_rate_limit: the rate of validation checks while users type
        (``field(…, validate="change")``), counted on its own, never against
        ``rate_limit``. Default: ``SERVER_ACTIONS_VALIDATE_RATE_LIMIT``
        (``"120/minute"``) for an action that has a ``rate_limit``; an action
        without one limits neither. Counted by the same ``rate_limit_by`` keys.
    :param offline: ``True`` keeps a submission that cannot reach the server
        (offline, a network error, a 503 with ``Retry-After``) in the browser
        and sends it again, with the same submission key, when it can (default:
        ``SERVER_ACTIONS_OFFLINE``). Needs ``once=True``. Not for actions whose
        meaning depends on when they run (see the guide).
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
        if offline and not once:
            raise TypeError(
                f"Action {bp.name}.{view_name} has offline=True and once=False: a"
                " kept submission is sent again with its key, which once=False"
                " does not keep. Drop one of them."
            )
        action_rule = rule or f"/actions/{view_name.replace('_', '-')}"
        _check_signature(func, f"{bp.name}.{view_name}", form, tuple(bind), action_rule)
        act = Action(
            func,
            blueprint_name=bp.name,
            name=view_name,
            rule=action_rule,
            form=form,
            policy=as_policy(allow),
            page=page,
            reset=reset,
            bind=tuple(bind),
            max_body=parse_size(max_body) if max_body is not None else None,
            rate_limit=rate_limit,
            rate_limit_by=check_rate_limit_by(tuple(rate_limit_by)),
            rate_limit_counts=rate_limit_counts,
            once=once,
            validate_rate_limit=validate_rate_limit,
            offline=offline,
        )
        view = _view_of(act)
        bp.post(act.rule, endpoint=view_name, **options)(view)
        bp.record(lambda setup: _registered(setup, act, view_name))
        return act

    return decorator


_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def _check_signature(
    func: t.Callable[..., t.Any],
    endpoint: str,
    form: type[FlaskForm] | None,
    bind: tuple[str, ...],
    rule: str,
) -> None:
    """Refuse, at import, a function its calls would not fit (a 500 at the first POST)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a callable inspect cannot read: trust it
        return
    parameters = list(signature.parameters.values())
    kinds = {p.kind for p in parameters}
    if form is not None:
        positional = [
            p
            for p in parameters
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if not positional and inspect.Parameter.VAR_POSITIONAL not in kinds:
            raise TypeError(
                f"Action {endpoint} has form={form.__name__} but its function takes"
                f" no argument for it: write def {func.__name__}(form, ...)."
            )
        if positional:  # the form's own; the rest must be given otherwise
            parameters = [p for p in parameters if p is not positional[0]]
    given = set(bind) | set(_RULE_VARIABLE.findall(rule))
    names = {p.name for p in parameters}
    if inspect.Parameter.VAR_KEYWORD not in kinds:
        unknown = sorted(given - names)
        if unknown:
            raise TypeError(
                f"Action {endpoint} receives {', '.join(unknown)} (bind= or its URL"
                f" rule) but {func.__name__}() takes no such argument: add"
                f" {', '.join(unknown)} to its parameters."
            )
    missing = sorted(
        p.name
        for p in parameters
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in given
    )
    if missing:
        raise TypeError(
            f"Action {endpoint}: {func.__name__}() needs {', '.join(missing)}, which"
            " nothing gives it: bind it (bind=(...) and bind={...} on the form or"
            " button), put it in the URL rule, or give it a default."
        )


def _view_of(act: Action) -> t.Callable[..., Response]:
    def view(**view_args: t.Any) -> Response:
        return act.view(**view_args)

    # Flask-WTF exempts views from its own CSRF hook by module and name; the
    # pipeline checks CSRF itself, after the body limit.
    view.__name__ = act.__name__
    view.__module__ = act.__module__
    view.__doc__ = act.__doc__
    setattr(view, VIEW_ATTRIBUTE, act)
    return view


def _registered(setup: BlueprintSetupState, act: ActionSpec, view_name: str) -> None:
    state = setup.app.extensions.get(EXTENSION_NAME)
    if isinstance(state, AppState):
        endpoint = f"{setup.name_prefix}.{setup.name}.{view_name}".lstrip(".")
        install_action(
            t.cast(Flask, setup.app),
            state,
            setup.app.view_functions[endpoint],
            endpoint,
            act,
        )
    # Otherwise ServerActions(app) comes later and installs every action it finds.


def install_action(
    app: Flask,
    state: AppState,
    view: t.Callable[..., t.Any],
    endpoint: str,
    act: ActionSpec,
) -> None:
    """Set up one action's view on ``app``: its CSRF check moves into the pipeline."""
    if state.csrf is not None:
        state.csrf.exempt(view)
    install_rate_check(app, state, endpoint, act)


def install_actions(state: AppState, app: Flask) -> None:
    """Set up every action already registered on ``app``."""
    for endpoint, act in actions_of(app).items():
        install_action(app, state, app.view_functions[endpoint], endpoint, act)


def get_action(endpoint: str) -> Action:
    """The action registered as ``endpoint`` on the current app.

    .. versionadded:: 0.1
    """
    found = find_action(endpoint)
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
    found = {
        act.endpoint: act
        for act in actions_of(current_app).values()
        if isinstance(act, Action)
    }
    return [found[endpoint] for endpoint in sorted(found)]
