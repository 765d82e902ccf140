from __future__ import annotations

import typing as t

import pytest

from app import create_app
from app.models import db
from flask_server_actions.testing import ActionClient

from .harness import SeedDatabase
from .harness import seeded_database
from .harness import seeded_postgres


@pytest.fixture
def app(request, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    # The toolkit reads its settings once, at start: a test that needs others
    # says so with @pytest.mark.app_config(KEY=value).
    marker = request.node.get_closest_marker("app_config")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "site tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'site.db'}",
            **(marker.kwargs if marker is not None else {}),
        }
    )
    app.test_client_class = ActionClient
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


ADMIN = ("ada@example.com", "analytical-engine")
MEMBER = ("grace@example.com", "compiler-1952")


def sign_in(client, email, password, next_path="/"):
    """Sign in through the real form, as a browser without JavaScript would."""
    return client.submit(
        "auth.sign_in", mode="plain", email=email, password=password, next=next_path
    ).response


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def template_db(request: pytest.FixtureRequest) -> t.Iterator[SeedDatabase]:
    """Every case runs on both databases: PostgreSQL refuses what SQLite stores
    (a NUL character, a string longer than its column, an integer out of range)."""
    if request.param == "sqlite":
        yield seeded_database()
        return
    seeded = seeded_postgres()
    try:
        yield seeded
    finally:
        seeded.drop()
