"""A locked database, seen from the browser: a 503 that keeps what was typed."""

from __future__ import annotations

import contextlib
import sqlite3

from playwright.sync_api import expect

from .helpers import submit_and_status
from .helpers import unique


@contextlib.contextmanager
def locked(site):
    """Hold an exclusive lock on the site's SQLite file, as a long write would."""
    path = site.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


def test_a_locked_database_keeps_the_input_and_says_when_to_retry(page, js, site):
    page.goto("/users")
    name = unique("Waiting ")
    form = page.locator("form#users-create-user")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Email").fill(f"{unique('wait-')}@example.com")
    with locked(site):
        assert submit_and_status(page, "Create user") == 503
        form = page.locator("form#users-create-user")
        expect(form.get_by_role("alert")).to_contain_text("try again in 5 seconds")
        expect(form.get_by_label("Name")).to_have_value(name)
    # Once the database answers, the same form goes through.
    assert submit_and_status(page, "Create user") == (200 if js else 303)
    expect(page.locator("#user-list")).to_contain_text(name)
