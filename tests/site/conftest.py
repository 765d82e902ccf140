from __future__ import annotations

import pytest

from app import create_app
from app.models import db
from flask_server_actions.testing import ActionClient


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "site tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'site.db'}",
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
