from __future__ import annotations

import typing as t

from flask import Blueprint
from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from .bodycheck import check_body
from .boundary import DEFAULT_TEMPLATE
from .boundary import restore_after_failure
from .buttons import action_button
from .cache import EXTENSION_KEY
from .cache import CacheUnavailable
from .cache import create_cache
from .cli import actions_command
from .forms import csrf_headers
from .forms import field
from .forms import htmx_extensions
from .forms import static_assets
from .forms import submit
from .limits import apply_body_limit
from .optimistic import optimistic_template
from .ratelimit import create_limiter
from .responses import respond_to_http_error
from .responses import respond_unavailable
from .taint import install as install_taint_checks
from .templating import ServerActionsExtension

#: A factory of context managers; each action runs inside one (all or nothing).
TransactionFactory = t.Callable[[], t.ContextManager[t.Any]]


class ServerActions:
    """The Flask extension: template tags, htmx assets, CSRF and in-form errors.

    ::

        actions = ServerActions(app)
        # or, with an application factory
        actions = ServerActions()
        actions.init_app(app)

    :param app: the application to set up now, if any.
    :param unavailable_errors: exception classes that mean a backend is
        unreachable or locked; an action that meets one answers 503 with
        ``Retry-After`` (``SERVER_ACTIONS_RETRY_AFTER``) and keeps the input,
        and so does any page that raises one.
    :param transaction: a factory of context managers that each action runs
        inside, e.g. :func:`flask_server_actions.sqlalchemy.session_transaction`.
        A failure inside rolls it back.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        transaction: TransactionFactory | None = None,
        unavailable_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        #: Runs each action in one transaction, when given.
        self.transaction = transaction
        #: Exceptions that mean "a backend is down or busy, retry soon" (503),
        #: e.g. :data:`flask_server_actions.sqlalchemy.UNAVAILABLE_ERRORS`.
        self.unavailable_errors = unavailable_errors
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions["server_actions"] = self
        app.config.setdefault("SERVER_ACTIONS_ALLOWED_ORIGINS", [])
        # Empty by default: htmx 4's own defaults already swap 4xx answers,
        # which is what actions rely on to show errors in the form.
        app.config.setdefault("SERVER_ACTIONS_HTMX_CONFIG", "")
        app.config.setdefault("SERVER_ACTIONS_STATIC_URL_PATH", "/_server_actions")
        # Signed bound arguments older than this (seconds) are refused.
        app.config.setdefault("SERVER_ACTIONS_BIND_MAX_AGE", 7 * 24 * 3600)
        app.config.setdefault("SERVER_ACTIONS_RATELIMIT_STORAGE_URI", None)
        # When the rate-limit store is down: "open" lets requests through,
        # "closed" refuses actions with 503 until it is back.
        app.config.setdefault("SERVER_ACTIONS_RATELIMIT_FAIL", "open")
        # Seconds a 503 (backend down or locked) asks the client to wait.
        app.config.setdefault("SERVER_ACTIONS_RETRY_AFTER", 5)
        # The page that offers a failed submission again when the form's own
        # page cannot render (its database is down); None for a built-in one.
        app.config.setdefault("SERVER_ACTIONS_RESUBMIT_TEMPLATE", None)
        # How many proxies in front of the app append to X-Forwarded-For.
        app.config.setdefault("SERVER_ACTIONS_TRUSTED_PROXIES", 0)
        # Next.js caps server action bodies at 1 MB by default; so do we.
        app.config.setdefault("SERVER_ACTIONS_MAX_BODY", "1 MB")
        app.config.setdefault("SERVER_ACTIONS_CACHE", "memory")
        app.config.setdefault("SERVER_ACTIONS_CACHE_DEFAULT_TIMEOUT", 300)
        app.config.setdefault("SERVER_ACTIONS_CACHE_DIR", None)
        app.config.setdefault("SERVER_ACTIONS_REDIS_URL", None)
        app.config.setdefault("SERVER_ACTIONS_CACHE_PREFIX", "sa:")
        # Languages a region with vary=["lang"] picks from Accept-Language.
        app.config.setdefault("SERVER_ACTIONS_LANGUAGES", [])
        # Seconds an applied submission key is remembered (its result replayed).
        app.config.setdefault("SERVER_ACTIONS_SUBMISSION_TTL", 3600)
        # Seconds a repeat waits for the first request with its key to finish.
        app.config.setdefault("SERVER_ACTIONS_SUBMISSION_WAIT", 10)
        # Shown in a form's place when its action fails unexpectedly, unless
        # its blueprint supplies its own (error_template).
        app.config.setdefault("SERVER_ACTIONS_ERROR_TEMPLATE", DEFAULT_TEMPLATE)
        # Kept on the app, not on the extension: one extension object may
        # serve several apps, each with its own backend.
        app.extensions[EXTENSION_KEY] = create_cache(app)

        # First of all hooks: CSRFProtect reads the form, and the body limit
        # must be in place before anyone does.
        app.before_request_funcs.setdefault(None, []).insert(0, apply_body_limit)
        # Second: a body that cannot be read faithfully is refused before CSRF
        # or the action pick a value out of it.
        app.before_request_funcs[None].insert(1, check_body)
        if "csrf" not in app.extensions:
            CSRFProtect(app)

        create_limiter(app)
        # After CSRF and the body limit, before the action's view runs.
        app.before_request(restore_after_failure)

        app.jinja_env.add_extension(ServerActionsExtension)
        install_taint_checks(app)
        app.jinja_env.globals.update(
            action_button=action_button,
            field=field,
            optimistic_template=optimistic_template,
            submit=submit,
            server_actions_assets=static_assets,
            htmx_extensions=htmx_extensions,
            csrf_headers=csrf_headers,
        )
        app.register_blueprint(
            Blueprint(
                "server_actions",
                __name__,
                static_folder="static",
                static_url_path=app.config["SERVER_ACTIONS_STATIC_URL_PATH"],
                template_folder="templates",
            )
        )
        app.register_error_handler(HTTPException, respond_to_http_error)
        unavailable: tuple[type[Exception], ...] = (
            CacheUnavailable,
            *self.unavailable_errors,
        )
        for error in unavailable:
            app.register_error_handler(error, respond_unavailable)
        app.cli.add_command(actions_command)
