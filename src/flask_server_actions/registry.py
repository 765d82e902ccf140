"""What an action is (its declaration), and finding the actions of an app.

:class:`ActionSpec` holds what ``@action`` declared. The pipeline's
:class:`~flask_server_actions.Action` adds running it; everything below the
pipeline (markup, regions, the body check) only needs the declaration.
"""

from __future__ import annotations

import typing as t

from flask import Flask
from flask import current_app
from flask import url_for

from .errors import UnknownAction

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_wtf import FlaskForm

    from ._typing import ActionResult
    from .policies import Policy

#: The attribute of a view function that holds its action.
VIEW_ATTRIBUTE: t.Final = "server_action"


class ActionSpec:
    """A server action as declared with ``@action``: a POST view that is also a function.

    Calling the object calls the function.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        func: t.Callable[..., ActionResult],
        *,
        blueprint_name: str,
        name: str,
        rule: str,
        form: type[FlaskForm] | None,
        policy: Policy,
        page: t.Callable[..., t.Any] | None,
        reset: bool,
        bind: tuple[str, ...] = (),
        max_body: int | None = None,
        rate_limit: str | t.Callable[[], str] | None = None,
        rate_limit_by: tuple[str, ...] = ("user",),
        rate_limit_counts: t.Literal["attempts", "applied"] = "attempts",
        once: bool = True,
        validate_rate_limit: str | None = None,
        offline: bool | None = None,
    ) -> None:
        #: The function the developer wrote.
        self.func = func
        #: The view name inside its blueprint.
        self.name = name
        #: ``blueprint.name`` + ``.`` + ``name``, for ``url_for`` and templates.
        self.endpoint = f"{blueprint_name}.{name}"
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
        #: What the rate limit is counted per, each separately: ``"user"`` (the
        #: signed-in user, else the client address), ``"address"`` (the client
        #: address, signed in or not) or ``"field:<name>"`` (a posted field's value).
        self.rate_limit_by = rate_limit_by
        #: ``"attempts"``: every request counts, invalid ones too; ``"applied"``:
        #: only submissions the action applied (a 2xx or 3xx answer, not a replay).
        self.rate_limit_counts = rate_limit_counts
        #: Whether each rendered form's submission key is applied once (see ``submissions``).
        self.once = once
        #: The rate of validation checks (``validate="change"``), counted apart
        #: from ``rate_limit``; ``None``: ``SERVER_ACTIONS_VALIDATE_RATE_LIMIT``
        #: for actions that have a ``rate_limit``, else none.
        self.validate_rate_limit = validate_rate_limit
        #: Whether a submission that cannot reach the server is kept in the
        #: browser and sent again (same key) when it can; ``None``:
        #: ``SERVER_ACTIONS_OFFLINE``.
        self.offline = offline
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__module__ = func.__module__

    def __repr__(self) -> str:
        return f"<Action {self.endpoint}>"

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> ActionResult:
        return self.func(*args, **kwargs)

    def url(self, **values: t.Any) -> str:
        """The action's URL (``url_for`` of its endpoint)."""
        return url_for(self.endpoint, **values)


def action_of(view: t.Callable[..., t.Any] | None) -> ActionSpec | None:
    """The action a view function serves, if it is an action's view."""
    found = getattr(view, VIEW_ATTRIBUTE, None)
    return found if isinstance(found, ActionSpec) else None


def find_action(endpoint: str, app: Flask | None = None) -> ActionSpec:
    """The action registered as ``endpoint`` on ``app`` (default: the current app)."""
    found = action_of((app or current_app).view_functions.get(endpoint))
    if found is None:
        raise UnknownAction(endpoint)
    return found


def actions_of(app: Flask) -> dict[str, ActionSpec]:
    """Every action of ``app``, by the endpoint it is registered under."""
    found = {}
    for endpoint, view in app.view_functions.items():
        act = action_of(view)
        if act is not None:
            found[endpoint] = act
    return found


def page_endpoint(act: ActionSpec, app: Flask | None = None) -> str | None:
    """The endpoint of ``act``'s page view, if it has one."""
    if act.page is None:
        return None
    for endpoint, view in (app or current_app).view_functions.items():
        if view is act.page:
            return endpoint
    return None
