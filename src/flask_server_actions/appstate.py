"""What ``ServerActions`` set up on one app, kept in ``app.extensions["server_actions"]``.

One extension object may serve several apps (an application factory), each with
its own config, cache and limiter, so everything per app lives here, never on the
extension object.
"""

from __future__ import annotations

import dataclasses
import typing as t

from flask import Flask
from flask import current_app

from .cache import ActionCache
from .errors import CacheUnavailable
from .events import EventLog
from .ledger import Ledger
from .messages import DEFAULT_MESSAGES
from .messages import Messages
from .settings import Settings

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_limiter import Limiter
    from flask_wtf.csrf import CSRFProtect

#: The key of :class:`AppState` in ``app.extensions``.
EXTENSION_NAME: t.Final = "server_actions"

#: A factory of context managers; each action runs inside one (all or nothing).
TransactionFactory = t.Callable[[], t.ContextManager[t.Any]]


@dataclasses.dataclass(eq=False)
class AppState:
    """The toolkit's state for one app.

    .. versionadded:: 0.1
    """

    #: The extension object that set this app up.
    extension: t.Any
    #: The checked configuration.
    settings: Settings
    #: The sentences users read, reworded and translated as the app asked.
    messages: Messages
    #: Fragments, data and tag generations.
    cache: ActionCache
    #: Which submission keys are running and which were applied.
    ledger: Ledger
    #: Live region events: which tags and paths have a new generation.
    events: EventLog = dataclasses.field(default_factory=EventLog)
    #: Runs each action in one transaction, when given.
    transaction: TransactionFactory | None = None
    #: Exceptions that mean "a backend is down or busy, retry soon" (503).
    unavailable_errors: tuple[type[Exception], ...] = (CacheUnavailable,)
    #: Flask-WTF's CSRF protection of the app, which the guard asks.
    csrf: CSRFProtect | None = None
    #: The Flask-Limiter instance that counts actions' rate limits.
    limiter: Limiter | None = None
    #: Each rate-limited action's checks, by the action's view endpoint.
    rate_checks: dict[str, list[t.Callable[[], None]]] = dataclasses.field(
        default_factory=dict
    )
    #: ``{blueprint name: template}`` of :func:`error_template`.
    error_templates: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Markup that is the same on every request (the asset tags), by what it
    #: depends on: rendered once.
    rendered: dict[t.Hashable, t.Any] = dataclasses.field(default_factory=dict)
    #: ``{tainted value: why it is secret}`` of :func:`taint`.
    taints: dict[str, str] = dataclasses.field(default_factory=dict)


def app_state(app: Flask | None = None) -> AppState:
    """The toolkit's state for ``app`` (default: the current app)."""
    target = app if app is not None else current_app
    found = target.extensions.get(EXTENSION_NAME)
    if not isinstance(found, AppState):
        raise RuntimeError(
            "Flask Server Actions is not set up on this app; call ServerActions(app)"
            " (or actions.init_app(app)) first."
        )
    return found


def say(name: str, **values: t.Any) -> str:
    """The current app's sentence ``name`` (see :mod:`~flask_server_actions.messages`).

    Without ``ServerActions`` on the app (a validator used on its own), the
    toolkit's own sentence.
    """
    found = current_app.extensions.get(EXTENSION_NAME)
    messages = found.messages if isinstance(found, AppState) else DEFAULT_MESSAGES
    return messages(name, **values)
