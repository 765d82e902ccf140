"""What the attack suite and the random-body tests know about every site action.

Everything is discovered from the toolkit's registry (:func:`all_actions`), so an
action a blueprint adds is covered without touching the suites. For each action
the harness finds the page that holds its form (the action's ``page``, else the
home page, where the layout's buttons live), the least privileged account that
sees the form there, the form's real fields (CSRF token, hidden fields, signed
bound arguments) and a body that the action accepts. Where the generic derivation
of valid values from the WTForms fields cannot guess one, :data:`VALID_FIELDS`
(text) and :data:`VALID_FILES` (uploads) say it; the control test fails with a
message naming them when neither works.

Some forms only exist once there is something to act on (a to-do's Delete
button, the cart's quantity inputs): :data:`SETUP` names, per action, what to do
first in the visitor's browser, through the site's own actions, before its page
is fetched.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import io
import os
import secrets
import shutil
import sqlite3
import tempfile
import typing as t
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import MultiDict
from wtforms import Field
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms.validators import Email
from wtforms.validators import Length

from app import create_app
from app.models import User
from app.models import db
from flask_server_actions import Action
from flask_server_actions import all_actions
from flask_server_actions.forms import leaf_fields

#: Valid values the generic derivation cannot guess, per action endpoint.
#: An action whose derived body is refused needs an entry here.
VALID_FIELDS: dict[str, dict[str, str]] = {
    "auth.sign_in": {"email": "ada@example.com", "password": "analytical-engine"},
    # The page shows the saved values; valid bodies that change something make
    # a refused attack's "nothing written" meaningful.
    "cart.batch_update_items": {"lines-0-quantity": "2"},
    "profile.update_profile": {"name": "Attack Suite", "bio": "Changed by the suite."},
}


@dataclasses.dataclass(frozen=True)
class Upload:
    """A file a form sends: its field, the name the browser gives it, its bytes."""

    field: str
    filename: str
    data: bytes
    content_type: str


@functools.cache
def tiny_png() -> bytes:
    """A real 4 × 4 PNG, made by Pillow, that any image check accepts."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 80, 40)).save(out, format="PNG")
    return out.getvalue()


#: Files an action needs to succeed, per action endpoint (the generic derivation
#: only fills in text).
VALID_FILES: dict[str, t.Callable[[], list[Upload]]] = {
    "profile.upload_avatar": lambda: [
        Upload("avatar", "avatar.png", tiny_png(), "image/png")
    ],
}

#: The page that shows an action's form, where it needs arguments (``/posts/1``).
PAGES: dict[str, str] = {}


def submit(client: FlaskClient, page: str, endpoint: str, **values: str) -> None:
    """Use the first form for ``endpoint`` on ``page`` as a browser would."""
    forms = forms_in(client.get(page).text, endpoint)
    assert forms, f"setup: {page} shows no form for {endpoint}"
    body = MultiDict([*forms[0].fields])
    for name, value in values.items():
        body[name] = value
    response = client.post(forms[0].url, data=body)
    assert response.status_code in {200, 303}, (
        f"setup: {endpoint} answered {response.status_code}:\n{response.text[:800]}"
    )


def _add_a_todo(client: FlaskClient) -> None:
    submit(client, "/todos", "todos.add_todo", text="Set up by the attack suite")


def _put_a_product_in_the_cart(client: FlaskClient) -> None:
    submit(client, "/products", "cart.add_item")


#: What must exist, in the visitor's own browser session, before an action's
#: form appears: done through the site's real actions, before the page is
#: fetched (and before any snapshot, so it is never mistaken for an attack's write).
SETUP: dict[str, t.Callable[[FlaskClient], None]] = {
    "todos.toggle_todo": _add_a_todo,
    "todos.delete_todo": _add_a_todo,
    "cart.batch_update_items": _put_a_product_in_the_cart,
}


def prepare(client: FlaskClient, endpoint: str) -> None:
    """Create the state the action's form needs (see :data:`SETUP`), if any."""
    if endpoint in SETUP:
        SETUP[endpoint](client)


#: Who may be signed in, least privileged first, with the seeded account's email.
IDENTITIES: tuple[tuple[str, str | None], ...] = (
    ("anonymous", None),
    ("member", "grace@example.com"),
    ("admin", "ada@example.com"),
)

_SQLITE_NAME = "site.db"
_SECRET_KEY = "attack-suite-" + secrets.token_hex(16)


@dataclasses.dataclass
class FoundForm:
    """One ``<form data-sa-action=…>`` of a rendered page."""

    endpoint: str
    url: str
    fields: list[tuple[str, str]]
    #: Names of its ``<input type=hidden>`` fields.
    hidden: set[str] = dataclasses.field(default_factory=set)
    #: Names of its ``<input type=file>`` fields.
    files: list[str] = dataclasses.field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[FoundForm] = []
        self._form: FoundForm | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "data-sa-action" in a:
            self._form = FoundForm(a["data-sa-action"], a.get("action", ""), [])
            self.forms.append(self._form)
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") == "file":
            self._form.files.append(name)
        elif tag == "input" and name and a.get("type") != "submit":
            if a.get("type") == "hidden":
                self._form.hidden.add(name)
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                return
            self._form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self._form.fields.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self._form is not None:
            name, value = self._form.fields[-1]
            self._form.fields[-1] = (name, value + data)


def forms_in(html: str, endpoint: str) -> list[FoundForm]:
    parser = _FormParser()
    parser.feed(html)
    return [f for f in parser.forms if f.endpoint == endpoint]


@dataclasses.dataclass(frozen=True)
class SiteAction:
    """An action of the site, with what a test needs to post to it like a browser."""

    endpoint: str
    url: str
    page: str
    identity: str
    form_class: type[t.Any] | None
    bind: tuple[str, ...]
    #: The largest body the action accepts (its own max_body, else the app's).
    max_body: int
    rate_limit: str | None
    #: The form's inputs a user fills in (not hidden), in form order, by their
    #: names on the page (a list of lines gives ``lines-0-quantity``, …).
    user_fields: tuple[str, ...] = ()
    #: Those of them with a required validator.
    required_fields: tuple[str, ...] = ()
    #: Those of them that are file inputs.
    file_fields: tuple[str, ...] = ()

    @property
    def text_fields(self) -> tuple[str, ...]:
        return tuple(n for n in self.user_fields if n not in self.file_fields)

    def __str__(self) -> str:
        return self.endpoint


class SeededPostgres:
    """A seeded PostgreSQL database that each new site starts from a copy of.

    ``CREATE DATABASE … TEMPLATE`` copies it in a fraction of a second, where
    seeding again (password hashes) takes seconds. Every copy is dropped by
    :meth:`drop`.
    """

    def __init__(self, admin_url: str, name: str) -> None:
        self.admin_url = admin_url
        self.name = name
        self.copies: list[str] = []

    def url(self, name: str) -> str:
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def copy(self) -> str:
        import psycopg

        name = f"{self.name}_{len(self.copies)}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        self.copies.append(name)
        return self.url(name)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            for name in [*self.copies, self.name]:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Where a fresh site's data comes from: a seeded SQLite file or PostgreSQL database.
SeedDatabase = Path | SeededPostgres


def seeded_postgres() -> SeededPostgres:
    """Create and seed a PostgreSQL database to copy sites from (drop it when done)."""
    import psycopg

    from tests.services import POSTGRES_ADMIN_URL
    from tests.services import unavailable_service

    name = f"sa_seed_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(
            POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3
        ) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        unavailable_service(f"PostgreSQL is not reachable ({exc})")
    seeded = SeededPostgres(POSTGRES_ADMIN_URL, name)
    folder = Path(tempfile.mkdtemp(prefix="site-seed-pg-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    dispose(make_site(folder, None, **_postgres_config(seeded.url(name))))
    return seeded


def _postgres_config(url: str) -> dict[str, t.Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        # The site's engine options are SQLite's (its default database).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SITE_CREATE_SCHEMA": True,
    }


def make_site(
    instance: Path, template_db: SeedDatabase | None = None, **config: t.Any
) -> Flask:
    """A fresh site in ``instance``; a copy of ``template_db`` skips the slow seeding."""
    instance.mkdir(parents=True, exist_ok=True)
    if isinstance(template_db, SeededPostgres):
        config = {**_postgres_config(template_db.copy()), **config}
    elif template_db is not None:
        shutil.copyfile(template_db, instance / _SQLITE_NAME)
    previous = os.environ.get("SITE_INSTANCE_PATH")
    os.environ["SITE_INSTANCE_PATH"] = str(instance)
    try:
        return create_app(
            {
                "TESTING": True,
                # Not a phrase a page may show: the taint check refuses any
                # response that contains the secret key.
                "SECRET_KEY": _SECRET_KEY,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / _SQLITE_NAME}",
                # The site's stand-in for slow report work; tests of the
                # report's progress set their own.
                "SITE_REPORT_SECTION_DELAY": 0,
                **config,
            }
        )
    finally:
        if previous is None:
            del os.environ["SITE_INSTANCE_PATH"]
        else:
            os.environ["SITE_INSTANCE_PATH"] = previous


def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


def sign_in_as(app: Flask, client: FlaskClient, identity: str) -> None:
    """Put the seeded account in the client's session, as Flask-Login does.

    The real sign-in form is tested on its own (tests/site/test_auth.py); here
    checking a password hash per test would dominate the run time.
    """
    email = dict(IDENTITIES)[identity]
    if email is None:
        return
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.email == email))
    assert user_id is not None, f"no seeded account {email}"
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True


def _candidate_pages(app: Flask, act: Action) -> list[str]:
    """Where the action's form may be: PAGES, its own page, then every simple page."""
    from flask import url_for
    from werkzeug.routing import BuildError

    pages = [PAGES[act.endpoint]] if act.endpoint in PAGES else []
    if act.page is None:
        pages.append("/")  # the layout's buttons (sign out) are on every page
    endpoints = [e for e, view in app.view_functions.items() if view is act.page]
    endpoints += sorted(
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and not rule.arguments
    )
    with app.test_request_context():
        for endpoint in endpoints:
            try:
                path = url_for(endpoint)
            except BuildError:  # the page needs arguments: name it in PAGES
                continue
            # Not the toolkit's own routes: assets, and the live event stream,
            # which answers for as long as the page is open.
            toolkit = endpoint.startswith("server_actions.")
            if path not in pages and "static" not in endpoint and not toolkit:
                pages.append(path)
    return pages


def _rate(act: Action) -> str | None:
    if act.rate_limit is None:
        return None
    return act.rate_limit() if callable(act.rate_limit) else act.rate_limit


def _find_form(app: Flask, act: Action) -> tuple[str, str, FoundForm]:
    """The first page and least privileged identity that show the action's form."""
    pages = _candidate_pages(app, act)
    for identity, _ in IDENTITIES:
        client = app.test_client()
        sign_in_as(app, client, identity)
        prepare(client, act.endpoint)
        for page in pages:
            response = client.get(page)
            forms = forms_in(response.text, act.endpoint)
            if response.status_code == 200 and forms:
                return page, identity, forms[-1]
    raise AssertionError(
        f"No page shows a form for {act.endpoint} (looked at {pages} as every"
        " identity): give the action a page= that renders it, name a page that"
        " does in PAGES, or the state its form needs in SETUP, in"
        " tests/site/harness.py."
    )


def _is_required(field: Field) -> bool:
    return any(getattr(v, "field_flags", {}).get("required") for v in field.validators)


def discover(app: Flask) -> list[SiteAction]:
    """Every action of ``app``, each with its page and who can see its form."""
    with app.app_context():
        actions = all_actions()
        limits = {act.endpoint: act.body_limit() for act in actions}
    found = []
    for act in actions:
        with app.app_context():
            rate = _rate(act)
        page, identity, form = _find_form(app, act)
        fields = form_fields(act.form_class, app, form.fields)
        user_fields = tuple(
            n
            for n, f in fields.items()
            if f.type != "HiddenField" and n not in form.hidden
        )
        found.append(
            SiteAction(
                endpoint=act.endpoint,
                url=form.url,
                page=page,
                identity=identity,
                form_class=act.form_class,
                bind=act.bind,
                max_body=limits[act.endpoint],
                rate_limit=rate,
                user_fields=user_fields,
                required_fields=tuple(
                    n for n in user_fields if _is_required(fields[n])
                ),
                file_fields=tuple(
                    n
                    for n in user_fields
                    if n in form.files or "File" in fields[n].type
                ),
            )
        )
    return found


def page_form(app: Flask, client: FlaskClient, site_action: SiteAction) -> FoundForm:
    """The action's form as ``client`` sees it (the last one, for buttons), after
    creating what the form needs in its session (:data:`SETUP`)."""
    prepare(client, site_action.endpoint)
    response = client.get(site_action.page)
    forms = forms_in(response.text, site_action.endpoint)
    assert forms, f"{site_action.page} no longer shows a form for {site_action}"
    return forms[-1]


def form_fields(
    form_class: type[t.Any] | None,
    app: Flask,
    data: t.Iterable[tuple[str, str]] = (),
) -> dict[str, Field]:
    """The form's inputs by their names on the page, filled with ``data``.

    Lists of lines are opened up: with the page's fields as ``data`` their
    entries exist, named as the page names them (``lines-0-quantity``).
    """
    if form_class is None:
        return {}
    with app.test_request_context("/", method="POST", data=MultiDict(list(data))):
        form = form_class(meta={"csrf": False})
        return {str(f.name): f for f in leaf_fields(form)}


def _candidates(field: Field) -> list[str]:
    if isinstance(field, SelectField | SelectMultipleField):
        return [str(value) for value, *_ in field.iter_choices()]
    if field.type == "EmailField" or any(
        isinstance(v, Email) for v in field.validators
    ):
        return ["attack.suite@example.com"]
    shortest = max(
        (v.min for v in field.validators if isinstance(v, Length) and v.min > 0),
        default=1,
    )
    return [
        "Valid value",
        "valid_value",
        "validvalue1",
        "A message long enough for every length rule.",
        "x" * shortest,
    ]


def _field_ok(
    app: Flask, form_class: type[t.Any], data: MultiDict[str, str], name: str
) -> bool:
    with app.test_request_context("/", method="POST", data=data):
        form = form_class(meta={"csrf": False})
        form.validate()
        return not any(f.errors for f in leaf_fields(form) if f.name == name)


def valid_body(
    app: Flask, site_action: SiteAction, form: FoundForm
) -> list[tuple[str, str]]:
    """The page's fields with a value the action accepts in each empty one."""
    body = dict(form.fields)
    explicit = VALID_FIELDS.get(site_action.endpoint, {})
    body.update(explicit)
    fields = form_fields(site_action.form_class, app, form.fields)
    for name, field in fields.items():
        if name in explicit or name in site_action.file_fields:
            continue
        if body.get(name, "").strip():
            continue
        for candidate in _candidates(field):
            trial = MultiDict({**body, name: candidate})
            if _field_ok(app, t.cast(type[t.Any], site_action.form_class), trial, name):
                body[name] = candidate
                break
    return list(body.items())


def valid_files(site_action: SiteAction) -> list[Upload]:
    """The files the action needs to succeed (:data:`VALID_FILES`)."""
    make = VALID_FILES.get(site_action.endpoint)
    files = make() if make is not None else []
    missing = set(site_action.file_fields) - {u.field for u in files}
    assert not missing, (
        f"{site_action} has file inputs {sorted(missing)}: add valid files for them"
        " to VALID_FILES in tests/site/harness.py."
    )
    return files


def snapshot(app: Flask) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Every row of every table, and a digest of every file in the instance folder."""
    rows: dict[str, list[str]] = {}
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            result = connection.execute(db.select(table))
            rows[table.name] = sorted(repr(tuple(r)) for r in result)
    files = {
        str(path.relative_to(app.instance_path)): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in sorted(Path(app.instance_path).rglob("*"))
        if path.is_file() and not path.name.startswith(_LEDGER_FILE)
    }
    # The submission ledger's file changes with every claim (even one released
    # after a refusal); what it holds must not: no submission was applied.
    ledger = Path(app.instance_path) / _LEDGER_FILE
    if ledger.exists():
        with sqlite3.connect(ledger) as connection:
            rows["(submission ledger)"] = sorted(
                repr(row)
                for row in connection.execute("SELECT key, value FROM entries")
            )
    return rows, files


#: The toolkit's submission ledger in the instance folder (with its -wal, -shm).
_LEDGER_FILE = "server-actions-ledger.sqlite"


@functools.cache
def seeded_database() -> Path:
    """A seeded site database, made once per test run; sites start from a copy.

    Seeding hashes the accounts' passwords, which is slow by design.
    """
    folder = Path(tempfile.mkdtemp(prefix="site-seed-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    dispose(make_site(folder))
    return folder / _SQLITE_NAME


@functools.cache
def _discovered() -> tuple[SiteAction, ...]:
    with tempfile.TemporaryDirectory() as folder:
        app = make_site(Path(folder), seeded_database())
        try:
            return tuple(discover(app))
        finally:
            dispose(app)


def discovered_site_actions() -> list[SiteAction]:
    """Every site action, discovered once per run (at collection time)."""
    return list(_discovered())
