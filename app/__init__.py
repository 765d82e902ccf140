"""The reference site: every pattern of the seed documents, built on the toolkit."""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from flask import Flask

from flask_server_actions import ServerActions
from flask_server_actions import taint
from flask_server_actions.sqlalchemy import session_transaction
from flask_server_actions.sqlalchemy import unavailable_errors

from . import deploy
from . import settings
from .models import db

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the site. ``test_config`` overrides the configuration (tests)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("SITE_INSTANCE_PATH", str(ROOT / "instance")),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if test_config is None:
        # Tests bring their own key; any server but Flask's own needs a real one.
        settings.check_secret_key(
            os.environ, flask_command=settings.flask_command_running()
        )
    app.config.from_mapping(
        settings.from_environment(os.environ, app.instance_path),
        SITE_CONTACT_RATE_LIMIT=os.environ.get("CONTACT_RATE_LIMIT", "10/minute"),
        # Password guesses per client address (or account) and minute.
        SITE_SIGN_IN_RATE_LIMIT=os.environ.get("SIGN_IN_RATE_LIMIT", "10/minute"),
        SERVER_ACTIONS_RESUBMIT_TEMPLATE="resubmit.html",
        # confirm= without JavaScript asks on a page in the site's layout.
        SERVER_ACTIONS_CONFIRM_TEMPLATE="confirm.html",
        # /reports computes a month this often (seconds), so the stream is visible.
        SITE_REPORT_SECTION_DELAY=0.25,
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    settings.configure_logging(app.config["LOG_LEVEL"])

    db.init_app(app)
    ServerActions(
        app,
        transaction=session_transaction(db.session),
        unavailable_errors=unavailable_errors(),
    )
    deploy.setup(app)
    # Whatever signs the sessions must never reach a page (too short a key
    # would match ordinary text; a real one is long).
    if len(str(app.config["SECRET_KEY"])) >= 8:
        taint(str(app.config["SECRET_KEY"]), "The app's SECRET_KEY", app=app)

    from . import admin
    from . import auth
    from . import cart
    from . import contact
    from . import errors
    from . import home
    from . import likes
    from . import posts
    from . import products
    from . import profile
    from . import reports
    from . import todos
    from . import username
    from . import users

    errors.register(app)
    auth.login_manager.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(contact.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(username.bp)
    app.register_blueprint(todos.bp)
    app.register_blueprint(likes.bp)
    app.register_blueprint(products.bp)
    app.register_blueprint(cart.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(posts.bp)

    if app.config["SITE_CREATE_SCHEMA"]:
        # Zero-setup SQLite; PostgreSQL and production use `flask db upgrade`
        # and `flask seed`.
        deploy.create_schema(app)
    return app
