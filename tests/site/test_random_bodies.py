"""Random form bodies against every site action: never a 5xx, never a broken database.

Hypothesis builds bodies from the action's real field names plus the toolkit's
control fields and junk names, with any unicode (lone surrogates, control
characters, very long strings), repeated fields, url-encoded or multipart, with
the real CSRF token (so validation and the action really run) or without it. The
actions are discovered from the toolkit's registry, so new ones are covered; the
examples per action shrink as actions are added, to keep the module's run time
about the same.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import Integer
from sqlalchemy import String

from app.models import RESERVED_USERNAMES
from app.models import ClaimedUsername
from app.models import ContactMessage
from app.models import User
from app.models import db

from .harness import SiteAction
from .harness import discovered_site_actions
from .harness import dispose
from .harness import make_site
from .harness import page_form
from .harness import seeded_database
from .harness import sign_in_as
from .harness import valid_body

SITE_ACTIONS = discovered_site_actions()
#: Examples for the whole module, shared out between the actions.
TOTAL_EXAMPLES = int(os.environ.get("RANDOM_BODIES_TOTAL", "2400"))
EXAMPLES = max(60, TOTAL_EXAMPLES // max(1, len(SITE_ACTIONS)))

CONTROL_NAMES = ["csrf_token", "_sa_page", "_sa_form", "_sa_kind", "_sa_bound"]
_BOUNDARY = "hypothesis-boundary"

# -- strategies -----------------------------------------------------------------------

# Any code point, lone surrogates included (they become invalid UTF-8 on the wire).
any_text = st.text(st.characters(codec=None, min_codepoint=0), max_size=60)
control_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x9F, exclude_categories=["Cs"]),
    max_size=30,
)
long_text = st.integers(200, 5_000).map(lambda n: "é" * n)
values = st.one_of(any_text, control_text, long_text, st.just(""), st.just(" "))


def names_for(
    site_action: SiteAction, valid: list[tuple[str, str]]
) -> st.SearchStrategy[str]:
    real = sorted({name for name, _ in valid} | set(site_action.user_fields))
    junk = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
    return st.one_of(st.sampled_from(real + CONTROL_NAMES), junk)


@st.composite
def bodies(
    draw: st.DrawFn, site_action: SiteAction, valid: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """A valid body with random edits, or a body made of random pairs only."""
    names = names_for(site_action, valid)
    if draw(st.booleans()):
        body = list(valid)
        for _ in range(draw(st.integers(0, 4))):
            edit = draw(st.sampled_from(["replace", "drop", "repeat", "add"]))
            if edit == "add" or not body:
                body.append((draw(names), draw(values)))
                continue
            index = draw(st.integers(0, len(body) - 1))
            name, _ = body[index]
            if edit == "replace":
                body[index] = (name, draw(values))
            elif edit == "drop":
                del body[index]
            else:
                body.insert(index, (name, draw(values)))
    else:
        body = draw(st.lists(st.tuples(names, values), max_size=8))
        if draw(st.booleans()):  # with the real token, the action itself runs
            body.append(("csrf_token", dict(valid)["csrf_token"]))
    return body


def _wire(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def urlencoded(body: list[tuple[str, str]]) -> bytes:
    return "&".join(
        f"{quote_from_bytes(_wire(k), safe='')}={quote_from_bytes(_wire(v), safe='')}"
        for k, v in body
    ).encode()


def multipart(body: list[tuple[str, str]]) -> bytes:
    parts = [
        f"--{_BOUNDARY}\r\nContent-Disposition: form-data;"
        f' name="{quote_from_bytes(_wire(k), safe="")}"\r\n\r\n'.encode()
        + _wire(v)
        + b"\r\n"
        for k, v in body
    ]
    return b"".join(parts) + f"--{_BOUNDARY}--\r\n".encode()


# -- database invariants ----------------------------------------------------------------

_USERNAME = re.compile(r"^[a-z0-9_]{3,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def generic_violations() -> list[str]:
    """What the schema promises, checked row by row (SQLite enforces little of it)."""
    found = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows = connection.execute(db.select(table)).mappings().all()
            for column in table.columns:
                values = [row[column.name] for row in rows]
                where = f"{table.name}.{column.name}"
                if not column.nullable and any(v is None for v in values):
                    found.append(f"{where} is NULL")
                if column.unique or (
                    column.primary_key and len(table.primary_key) == 1
                ):
                    repeated = [v for v, n in Counter(values).items() if n > 1]
                    if repeated:
                        found.append(f"{where} repeats {repeated[:3]!r}")
                if isinstance(column.type, String):
                    for v in values:
                        if not isinstance(v, str):
                            continue
                        if column.type.length and len(v) > column.type.length:
                            found.append(f"{where} longer than {column.type.length}")
                        if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
                            found.append(f"{where} holds text that was not valid UTF-8")
                counter = isinstance(column.type, Integer) and column.name.endswith(
                    "count"
                )
                if counter and any(isinstance(v, int) and v < 0 for v in values):
                    found.append(f"{where} is negative")
    return found


def site_violations() -> list[str]:
    """What the site's actions promise about their data."""
    found = []
    users = list(db.session.scalars(db.select(User)))
    if not any(u.role == "admin" for u in users):
        found.append("no admin left")
    for u in users:
        if u.role not in {"user", "admin"}:
            found.append(f"user {u.id} has role {u.role!r}")
        if not u.name or u.name != u.name.strip() or len(u.name) < 2:
            found.append(f"user {u.id} has name {u.name!r}")
        if u.email != u.email.strip().lower() or not _EMAIL.match(u.email):
            found.append(f"user {u.id} has email {u.email!r}")
    for claimed in db.session.scalars(db.select(ClaimedUsername)):
        if (
            not _USERNAME.match(claimed.username)
            or claimed.username in RESERVED_USERNAMES
        ):
            found.append(f"claimed username {claimed.username!r}")
    for message in db.session.scalars(db.select(ContactMessage)):
        if not 10 <= len(message.message) <= 2000 or len(message.name.strip()) < 2:
            found.append(f"contact message {message.id} breaks the form's rules")
    return found


def check_invariants(app: Flask) -> None:
    with app.app_context():
        problems = generic_violations() + site_violations()
        db.session.remove()
    assert not problems, problems


# -- the test -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_db() -> Path:
    return seeded_database()


@pytest.mark.parametrize("site_action", SITE_ACTIONS, ids=str)
def test_random_bodies_never_fail_or_corrupt(
    tmp_path_factory: pytest.TempPathFactory, template_db: Path, site_action: SiteAction
) -> None:
    # Rate limits off: with them on, most examples would only meet the 429.
    folder = tmp_path_factory.mktemp("random")
    app = make_site(folder / "instance", template_db, RATELIMIT_ENABLED=False)
    client = app.test_client()
    sign_in_as(app, client, site_action.identity)
    valid = valid_body(app, site_action, page_form(app, client, site_action))
    check_invariants(app)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        body=bodies(site_action, valid),
        encoding=st.sampled_from(["urlencoded", "multipart"]),
        htmx=st.booleans(),
    )
    def post_random_body(
        body: list[tuple[str, str]], encoding: str, htmx: bool
    ) -> None:
        sign_in_as(app, client, site_action.identity)  # sign_out may have run
        if encoding == "urlencoded":
            data, content_type = urlencoded(body), "application/x-www-form-urlencoded"
        else:
            data = multipart(body)
            content_type = f"multipart/form-data; boundary={_BOUNDARY}"
        response = client.post(
            site_action.url,
            data=data,
            content_type=content_type,
            headers={"HX-Request": "true"} if htmx else {},
        )
        assert response.status_code < 500, (
            f"{site_action} answered {response.status_code} to {body!r}:\n"
            f"{response.get_data(as_text=True)[:1000]}"
        )
        check_invariants(app)

    try:
        post_random_body()
    finally:
        dispose(app)
