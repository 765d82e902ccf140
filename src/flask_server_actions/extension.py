"""The Flask extension: sets the toolkit up on an app."""

from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import Flask
from flask import request_started
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from .actions import install_actions
from .appstate import EXTENSION_NAME
from .appstate import AppState
from .appstate import TransactionFactory
from .assets import csrf_headers
from .assets import flash_messages
from .assets import htmx_extensions
from .assets import static_assets
from .buttons import action_button
from .cache import create_cache
from .cli import actions_command
from .compat import forget_earlier_user
from .errors import CacheUnavailable
from .events import create_event_log
from .live import live_stream
from .markup import field
from .markup import submit
from .messages import Gettext
from .messages import Messages
from .optimistic import optimistic_template
from .pipeline import handle_http_error
from .pipeline import handle_unavailable
from .settings import Settings
from .submissions import create_ledger
from .taint import install as install_taint_checks
from .templating import ServerActionsExtension

if t.TYPE_CHECKING:  # pragma: no cover
    from flask_limiter import Limiter


class ServerActions:
    """The Flask extension: template tags, htmx assets, CSRF and in-form errors.

    ::

        actions = ServerActions(app)
        # or, with an application factory
        actions = ServerActions()
        actions.init_app(app)

    :param app: the application to set up now, if any.
    :param transaction: a factory of context managers that each action runs
        inside, e.g. :func:`flask_server_actions.sqlalchemy.session_transaction`.
        A failure inside rolls it back.
    :param unavailable_errors: exception classes that mean a backend is
        unreachable or locked; an action that meets one answers 503 with
        ``Retry-After`` (``SERVER_ACTIONS_RETRY_AFTER``) and keeps the input,
        and so does any page that raises one.
    :param limiter: the app's own Flask-Limiter instance, to count actions'
        rate limits in; by default the toolkit sets up one of its own (its
        headers off; a breach is answered in the form with ``Retry-After``).
    :param gettext: translates the toolkit's sentences, e.g. Flask-Babel's
        ``gettext`` (see :mod:`flask_server_actions.messages`).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        transaction: TransactionFactory | None = None,
        unavailable_errors: tuple[type[Exception], ...] = (),
        limiter: Limiter | None = None,
        gettext: Gettext | None = None,
    ) -> None:
        #: Runs each action in one transaction, when given.
        self.transaction = transaction
        #: Exceptions that mean "a backend is down or busy, retry soon" (503),
        #: e.g. :func:`flask_server_actions.sqlalchemy.unavailable_errors`.
        self.unavailable_errors = unavailable_errors
        #: The Flask-Limiter to count in, if the app brings its own.
        self.limiter = limiter
        #: Translates the toolkit's sentences.
        self.gettext = gettext
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Set the toolkit up on ``app``; its state is ``app.extensions["server_actions"]``."""
        # The guard asks Flask-WTF's CSRF check itself, after the body limit;
        # action views are exempt from its own hook.
        csrf = app.extensions.get("csrf")
        if not isinstance(csrf, CSRFProtect):
            csrf = CSRFProtect(app)
        settings = Settings.from_app(app)
        cache = create_cache(
            settings.cache,
            default_timeout=settings.cache_default_timeout,
            directory=settings.cache_dir,
            redis_url=settings.redis_url,
            key_prefix=settings.cache_prefix,
            max_entries=settings.cache_max_entries,
        )
        state = AppState(
            extension=self,
            settings=settings,
            messages=Messages(settings.messages, self.gettext),
            cache=cache,
            ledger=create_ledger(settings, cache),
            events=create_event_log(
                settings.cache,
                directory=settings.cache_dir,
                redis_url=settings.redis_url,
                prefix=settings.cache_prefix,
                keep=settings.live_replay,
            ),
            transaction=self.transaction,
            unavailable_errors=(CacheUnavailable, *self.unavailable_errors),
            csrf=csrf,
        )
        app.extensions[EXTENSION_NAME] = state
        # The toolkit's own limiter is made when the first rate-limited action is
        # set up: an app without limits pays nothing for Flask-Limiter's hooks.
        state.limiter = self.limiter
        # Actions of blueprints registered before this call; later ones are
        # set up as their blueprint is registered.
        install_actions(state, app)

        app.jinja_env.add_extension(ServerActionsExtension)
        install_taint_checks(app, state.taints)
        app.jinja_env.globals.update(
            action_button=action_button,
            field=field,
            optimistic_template=optimistic_template,
            submit=submit,
            server_actions_assets=static_assets,
            server_actions_messages=flash_messages,
            htmx_extensions=htmx_extensions,
            csrf_headers=csrf_headers,
        )
        toolkit = Blueprint(
            "server_actions",
            __name__,
            static_folder="static",
            static_url_path=settings.static_url_path,
            template_folder="templates",
        )
        # The live regions' event stream (docs/live-regions.md).
        toolkit.add_url_rule(f"{settings.static_url_path}/live", "live", live_stream)
        app.register_blueprint(toolkit)
        request_started.connect(forget_earlier_user, app)
        app.register_error_handler(HTTPException, handle_http_error)
        for error in state.unavailable_errors:
            app.register_error_handler(error, handle_unavailable)
        app.cli.add_command(actions_command)
