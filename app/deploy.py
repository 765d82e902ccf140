"""What running behind gunicorn and a proxy needs: proxy headers, security headers, migrations."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_server_actions import security_headers

from .models import db
from .models import seed_database
from .models import seed_posts
from .models import seed_sales

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def setup(app: Flask) -> None:
    proxies = int(app.config["SERVER_ACTIONS_TRUSTED_PROXIES"])
    if proxies:
        # Believe that many proxies for the client address, scheme (HSTS,
        # secure cookies) and host; a client cannot forge more.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    security_headers(app)
    Migrate(app, db, directory=str(MIGRATIONS), compare_type=True)

    @app.cli.command("seed")
    def seed() -> None:
        """Add the example data to an empty database (after `flask db upgrade`)."""
        seed_all()
        click.echo("The database has its example data.")


def seed_all() -> None:
    """The example accounts, sales and posts; each part only into an empty table."""
    seed_database()
    seed_sales()
    seed_posts()
