"""Random form bodies against every site action: never a 5xx, never a broken database.

Hypothesis builds bodies from the action's real field names plus the toolkit's
control fields and junk names, with any unicode (lone surrogates, control
characters, very long strings), repeated fields, url-encoded or multipart, with
the real CSRF token (so validation and the action really run) or without it.
Forms with file inputs also get files: the valid image, a damaged or empty one,
text named ``.png``, several at once. The actions are discovered from the toolkit's registry, so new ones are covered; the
examples per action shrink as actions are added, to keep the module's run time
about the same.
"""

from __future__ import annotations

import collections
import os
import re
import typing as t
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

from app.cart import MAX_LINES
from app.cart import MAX_QUANTITY
from app.likes import KNOWN_KEY
from app.models import RESERVED_USERNAMES
from app.models import CartLine
from app.models import ClaimedUsername
from app.models import ContactMessage
from app.models import Counter
from app.models import Product
from app.models import Profile
from app.models import Todo
from app.models import User
from app.models import db
from app.profile import avatar_folder
from app.todos import MAX_TODOS
from flask_server_actions.uploads import IMAGE_TYPES
from flask_server_actions.uploads import STORED_NAME

from .harness import SeedDatabase
from .harness import SiteAction
from .harness import Upload
from .harness import discovered_site_actions
from .harness import dispose
from .harness import make_site
from .harness import page_form
from .harness import sign_in_as
from .harness import tiny_png
from .harness import valid_body
from .harness import valid_files

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


def file_contents() -> st.SearchStrategy[bytes]:
    png = tiny_png()
    return st.one_of(
        st.just(png),
        st.just(b""),
        st.integers(1, len(png) - 1).map(lambda n: png[:n]),  # cut off
        st.just(png[:16] + b"\x00" * 64),  # a PNG's magic bytes, then junk
        st.just(b"<html><script>alert(1)</script></html>"),
        st.binary(max_size=200),
    )


@st.composite
def uploads(draw: st.DrawFn, site_action: SiteAction) -> list[Upload]:
    """Files for the form's file inputs (or other names): none, one or several."""
    names = st.sampled_from([*site_action.file_fields, "other", "csrf_token"])
    filenames = st.one_of(
        st.sampled_from(["avatar.png", "photo.jpg", "a.gif", "../../etc/passwd", ""]),
        st.text(st.characters(codec="utf-8", exclude_characters='"\r\n'), max_size=30),
    )
    return [
        Upload(draw(names), draw(filenames), draw(file_contents()), "image/png")
        for _ in range(draw(st.integers(0, 3)))
    ]


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


def multipart(body: list[tuple[str, str]], files: t.Sequence[Upload] = ()) -> bytes:
    parts = [
        f"--{_BOUNDARY}\r\nContent-Disposition: form-data;"
        f' name="{quote_from_bytes(_wire(k), safe="")}"\r\n\r\n'.encode()
        + _wire(v)
        + b"\r\n"
        for k, v in body
    ]
    parts += [
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{u.field}";'
        f' filename="{u.filename}"\r\nContent-Type: {u.content_type}\r\n\r\n'.encode()
        + u.data
        + b"\r\n"
        for u in files
    ]
    return b"".join(parts) + f"--{_BOUNDARY}--\r\n".encode()


# -- database invariants ----------------------------------------------------------------

_USERNAME = re.compile(r"^[a-z0-9_]{3,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _has_surrogates(text: str) -> bool:
    """Lone surrogates: what invalid UTF-8 becomes if it is let through."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


#: Tables that only the seed writes (the catalogue and the sales of the
#: reports): checked in full before and after an action's examples, and
#: compared whole at the end, instead of scanned after every example.
SEED_ONLY_TABLES = frozenset({"products", "sales"})


def generic_violations(skip: frozenset[str] = frozenset()) -> list[str]:
    """What the schema promises, checked row by row (SQLite enforces little of it)."""
    found = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = connection.execute(db.select(table)).mappings().all()
            for column in table.columns:
                values = [row[column.name] for row in rows]
                where = f"{table.name}.{column.name}"
                if not column.nullable and any(v is None for v in values):
                    found.append(f"{where} is NULL")
                if column.unique or (
                    column.primary_key and len(table.primary_key) == 1
                ):
                    repeated = [
                        v for v, n in collections.Counter(values).items() if n > 1
                    ]
                    if repeated:
                        found.append(f"{where} repeats {repeated[:3]!r}")
                if isinstance(column.type, String):
                    for v in values:
                        if not isinstance(v, str):
                            continue
                        if column.type.length and len(v) > column.type.length:
                            found.append(f"{where} longer than {column.type.length}")
                        if _has_surrogates(v):
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
    return found + _shop_violations() + _todo_violations() + _profile_violations()


def _todo_violations() -> list[str]:
    found = []
    per_owner: collections.Counter[str] = collections.Counter()
    for todo in db.session.scalars(db.select(Todo)):
        per_owner[todo.owner] += 1
        if not todo.text.strip() or todo.text != todo.text.strip():
            found.append(f"to-do {todo.id} has text {todo.text!r}")
        if len(todo.text) > 200:
            found.append(f"to-do {todo.id} is longer than 200 characters")
        if not re.fullmatch(r"user:\d+|session:[\w-]+", todo.owner):
            found.append(f"to-do {todo.id} has owner {todo.owner!r}")
    found += [f"{o} has {n} to-dos" for o, n in per_owner.items() if n > MAX_TODOS]
    for counter in db.session.scalars(db.select(Counter)):
        if counter.likes < 0 or counter.views < 0:
            found.append(f"counter {counter.key!r} is negative")
        if not KNOWN_KEY.match(counter.key):
            found.append(f"counter key {counter.key!r}")
    return found


def _shop_violations() -> list[str]:
    found = []
    lines_per_cart: collections.Counter[str] = collections.Counter()
    rows = db.session.execute(
        db.select(CartLine, Product).outerjoin(
            Product, CartLine.product_id == Product.id
        )
    )
    for line, product in rows:
        lines_per_cart[line.cart_id] += 1
        if product is None:
            found.append(f"cart line {line.id} names no product")
        elif not 1 <= line.quantity <= min(MAX_QUANTITY, product.stock):
            found.append(
                f"cart line {line.id} has {line.quantity} of {product.stock} in stock"
            )
    found += [
        f"cart {c} has {n} lines" for c, n in lines_per_cart.items() if n > MAX_LINES
    ]
    if db.session.scalar(db.select(db.func.min(Product.stock))) < 0:
        found.append("a product's stock is negative")
    return found


def _profile_violations() -> list[str]:
    """Every avatar file has its row and every row its file, of the type it says."""
    found = []
    folder = avatar_folder()
    files = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    named = set()
    for profile in db.session.scalars(db.select(Profile)):
        if db.session.get(User, profile.user_id) is None:
            found.append(f"profile {profile.user_id} has no user")
        if len(profile.bio) > 500 or profile.bio != profile.bio.strip():
            found.append(f"profile {profile.user_id} has bio {profile.bio[:40]!r}…")
        if profile.avatar_file is None:
            if profile.avatar_type is not None:
                found.append(f"profile {profile.user_id} has a type but no avatar")
            continue
        named.add(profile.avatar_file)
        if profile.avatar_file not in files:
            found.append(f"avatar {profile.avatar_file} of a profile is missing")
        if profile.avatar_type not in IMAGE_TYPES or not STORED_NAME.match(
            profile.avatar_file
        ):
            found.append(f"avatar {profile.avatar_file} ({profile.avatar_type})")
    found += [f"avatar file {name} belongs to no profile" for name in files - named]
    return found


def check_invariants(app: Flask, *, full: bool = False) -> None:
    with app.app_context():
        skip = frozenset() if full else SEED_ONLY_TABLES
        problems = generic_violations(skip) + site_violations()
        db.session.remove()
    assert not problems, problems


def seed_only_rows(app: Flask) -> dict[str, list[t.Any]]:
    with app.app_context(), db.engine.connect() as connection:
        return {
            table.name: list(
                connection.execute(db.select(table).order_by(*table.primary_key))
            )
            for table in db.metadata.sorted_tables
            if table.name in SEED_ONLY_TABLES
        }


# -- the test -------------------------------------------------------------------------------


@pytest.mark.parametrize("site_action", SITE_ACTIONS, ids=str)
def test_random_bodies_never_fail_or_corrupt(
    tmp_path_factory: pytest.TempPathFactory,
    template_db: SeedDatabase,
    site_action: SiteAction,
) -> None:
    # Rate limits off: with them on, most examples would only meet the 429.
    folder = tmp_path_factory.mktemp("random")
    app = make_site(folder / "instance", template_db, RATELIMIT_ENABLED=False)
    client = app.test_client()
    sign_in_as(app, client, site_action.identity)
    valid = valid_body(app, site_action, page_form(app, client, site_action))
    files = valid_files(site_action)
    check_invariants(app, full=True)
    seeded = seed_only_rows(app)
    assert set(seeded) == SEED_ONLY_TABLES

    @settings(
        # PostgreSQL adds what SQLite lets through (NUL, lengths, ranges): half
        # as many examples find those and keep the suite's time in bounds.
        max_examples=EXAMPLES if isinstance(template_db, Path) else EXAMPLES // 2,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        body=bodies(site_action, valid),
        sent_files=st.one_of(st.just(files), uploads(site_action))
        if site_action.file_fields
        else st.just([]),
        encoding=st.sampled_from(["urlencoded", "multipart"]),
        htmx=st.booleans(),
    )
    def post_random_body(
        body: list[tuple[str, str]],
        sent_files: list[Upload],
        encoding: str,
        htmx: bool,
    ) -> None:
        sign_in_as(app, client, site_action.identity)  # sign_out may have run
        if encoding == "urlencoded":  # files need multipart: none sent here
            data, content_type = urlencoded(body), "application/x-www-form-urlencoded"
        else:
            data = multipart(body, sent_files)
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
        check_invariants(app, full=True)
        assert seed_only_rows(app) == seeded, "an action wrote a seed-only table"
    finally:
        dispose(app)
