"""The Alembic migrations build exactly the schema the models describe.

If this fails after you changed or added a model, regenerate the migration
(docs/reference-site.md, "Migrations"): ``flask --app wsgi db migrate -m "what changed"``.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect

from app import create_app
from app.models import User
from app.models import db
from app.models import seed_database
from tests.services import postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def migrated_app(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "SITE_CREATE_SCHEMA": False,
        }
    )
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migrations_are_up_to_date_with_the_models(migrated_app):
    with db.engine.connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}),
            db.metadata,
        )
    assert differences == [], (
        "The models and the migrations differ; run"
        ' `flask --app wsgi db migrate -m "..."` and commit the new file in'
        f" migrations/versions/: {differences}"
    )


def test_a_migrated_database_can_be_seeded_and_downgraded(migrated_app):
    seed_database()
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 3
    db.session.remove()
    downgrade(revision="base")
    assert inspect(db.engine).get_table_names() == ["alembic_version"]
