"""The machine's real PostgreSQL, one throwaway database per test session or module.

On CI (``CI=true``) a missing server fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

#: The server and role to create test databases with (trust auth on 127.0.0.1).
POSTGRES_ADMIN_URL = os.environ.get(
    "SA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def unavailable_service(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} on CI.")
    pytest.skip(what)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """Create ``sa_test_<random>``, yield its SQLAlchemy URL, drop it afterwards."""
    import psycopg

    name = f"sa_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unavailable_service(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc})"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
