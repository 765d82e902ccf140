"""Two real gunicorn servers on two ports, one PostgreSQL and one Redis: one site.

Sessions, CSRF tokens, cache invalidation, rate limits and submission keys must
hold across both, as they would behind a load balancer.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.services import postgres_database
from tests.site_servers import Browser
from tests.site_servers import csrf_token
from tests.site_servers import hidden_fields
from tests.site_servers import sites_on_redis
from tests.test_cache import redis_or_skip

CONTACT_LIMIT = 4


@pytest.fixture(scope="module")
def database():
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def servers(database):
    redis_or_skip()
    with sites_on_redis(
        2, DATABASE_URL=database, CONTACT_RATE_LIMIT=f"{CONTACT_LIMIT}/hour"
    ) as (_, urls):
        yield urls


def sql(database: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def visitor() -> Browser:
    """A new visitor from an address of its own (rate limits are per address)."""
    return Browser(address=f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")


def test_a_session_started_on_one_server_is_known_to_the_other(servers):
    a, b = servers
    browser = visitor()
    token = csrf_token(browser.get(a + "/sign-in").text)
    signed_in = browser.post(
        a + "/sign-in",
        {
            "csrf_token": token,
            "email": "ada@example.com",
            "password": "analytical-engine",
            "next": "/",
        },
        htmx=False,
    )
    assert signed_in.status == 200
    assert "Ada Lovelace" in browser.get(b + "/").text
    # Signed in on A, an admin on B: the admin page opens there.
    assert browser.get(b + "/admin/users").status == 200


def test_a_csrf_token_from_one_server_is_accepted_by_the_other(servers, database):
    a, b = servers
    browser = visitor()
    page = browser.get(a + "/users").text
    email = f"csrf-{uuid.uuid4().hex[:8]}@example.com"
    fields = hidden_fields(page, "/users/create")
    created = browser.post(
        b + "/users/create",
        fields | {"name": "Token Traveller", "email": email, "role": "user"},
    )
    assert created.status == 200, created.text
    assert "Token Traveller was created" in created.text
    forged = browser.post(
        b + "/users/create",
        fields
        | {
            "csrf_token": "forged",
            "name": "Forger",
            "email": "f@example.com",
            "role": "user",
        },
    )
    assert forged.status == 400
    assert "nothing was saved" in forged.text
    assert sql(
        database, "SELECT count(*) FROM users WHERE email = %s", "f@example.com"
    ) == [(0,)]


def test_a_revalidation_on_one_server_reaches_the_cache_of_the_other(servers, database):
    a, b = servers
    browser = visitor()
    assert "Behind The Cache" not in browser.get(a + "/users").text
    assert "Behind The Cache" not in browser.get(b + "/users").text
    # Written behind the cache's back: both servers keep serving the cached list.
    sql(
        database,
        "INSERT INTO users (name, email, role) VALUES (%s, %s, 'user')",
        "Behind The Cache",
        f"behind-{uuid.uuid4().hex[:8]}@example.com",
    )
    assert "Behind The Cache" not in browser.get(a + "/users").text
    assert "Behind The Cache" not in browser.get(b + "/users").text
    # An action on B revalidates the "users" tag; A renders fresh.
    fields = hidden_fields(browser.get(b + "/users").text, "/users/create")
    email = f"reval-{uuid.uuid4().hex[:8]}@example.com"
    created = browser.post(
        b + "/users/create",
        fields | {"name": "Revalidated", "email": email, "role": "user"},
    )
    assert created.status == 200, created.text
    page_a = browser.get(a + "/users").text
    assert "Behind The Cache" in page_a
    assert "Revalidated" in page_a


def test_a_rate_limit_counts_requests_on_both_servers(servers, database):
    a, b = servers
    browser = visitor()
    sender = f"limit-{uuid.uuid4().hex[:8]}@example.com"
    message = {
        "name": "Limited",
        "email": sender,
        "message": "Hello from both servers.",
    }
    statuses = []
    for i in range(CONTACT_LIMIT + 1):
        server = (a, b)[i % 2]
        # A fresh form each time: a new submission, not a repeat of the last one.
        fields = hidden_fields(browser.get(server + "/contact").text, "/contact/send")
        statuses.append(browser.post(server + "/contact/send", fields | message).status)
    assert statuses == [200] * CONTACT_LIMIT + [429]
    stored = sql(
        database, "SELECT count(*) FROM contact_messages WHERE email = %s", sender
    )
    assert stored == [(CONTACT_LIMIT,)]


def test_one_submission_posted_to_both_servers_is_written_once(servers, database):
    a, b = servers
    browser = visitor()
    fields = hidden_fields(browser.get(a + "/contact").text, "/contact/send")
    assert "_sa_key" in fields
    sender = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    body = fields | {
        "name": "Twice",
        "email": sender,
        "message": "Sent once, posted twice.",
    }
    first = browser.post(a + "/contact/send", body)
    second = browser.post(b + "/contact/send", body)
    assert first.status == 200, first.text
    assert second.status == 200, second.text
    assert second.headers.get("X-Submission-Replayed") == "1"
    stored = sql(
        database, "SELECT count(*) FROM contact_messages WHERE email = %s", sender
    )
    assert stored == [(1,)]
