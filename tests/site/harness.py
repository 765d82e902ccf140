"""What the attack suite and the random-body tests know about every site action.

Everything is discovered from the toolkit's registry (:func:`all_actions`), so an
action a blueprint adds is covered without touching the suites. For each action
the harness finds the page that holds its form (the action's ``page``, else the
home page, where the layout's buttons live), the least privileged account that
sees the form there, the form's real fields (CSRF token, hidden fields, signed
bound arguments) and a body that the action accepts. Where the generic derivation
of valid values from the WTForms fields cannot guess one, :data:`VALID_FIELDS`
says it; the control test fails with a message naming it when neither works.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import os
import shutil
import tempfile
import typing as t
from html.parser import HTMLParser
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
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

#: Valid values the generic derivation cannot guess, per action endpoint.
#: An action whose derived body is refused needs an entry here.
VALID_FIELDS: dict[str, dict[str, str]] = {
    "auth.sign_in": {"email": "ada@example.com", "password": "analytical-engine"},
}

#: The page that shows an action's form, where it needs arguments (``/posts/1``).
PAGES: dict[str, str] = {}

#: Who may be signed in, least privileged first, with the seeded account's email.
IDENTITIES: tuple[tuple[str, str | None], ...] = (
    ("anonymous", None),
    ("member", "grace@example.com"),
    ("admin", "ada@example.com"),
)

_SQLITE_NAME = "site.db"


@dataclasses.dataclass
class FoundForm:
    """One ``<form data-sa-action=…>`` of a rendered page."""

    endpoint: str
    url: str
    fields: list[tuple[str, str]]


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
        if tag == "input" and name and a.get("type") not in {"submit", "file"}:
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
    max_body: int | None
    rate_limit: str | None
    #: The form's fields a user fills in (not hidden), in form order.
    user_fields: tuple[str, ...] = ()
    #: Those of them with a required validator.
    required_fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.endpoint


def make_site(
    instance: Path, template_db: Path | None = None, **config: t.Any
) -> Flask:
    """A fresh site in ``instance``; a copy of ``template_db`` skips the slow seeding."""
    instance.mkdir(parents=True, exist_ok=True)
    if template_db is not None:
        shutil.copyfile(template_db, instance / _SQLITE_NAME)
    previous = os.environ.get("SITE_INSTANCE_PATH")
    os.environ["SITE_INSTANCE_PATH"] = str(instance)
    try:
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "attack suite",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / _SQLITE_NAME}",
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
            if path not in pages and "static" not in endpoint:
                pages.append(path)
    return pages


def _rate(act: Action) -> str | None:
    if act.rate_limit is None:
        return None
    return act.rate_limit() if callable(act.rate_limit) else act.rate_limit


def _find_form(
    app: Flask,
    act: Action,
    *,
    rate: str | None,
    user_fields: tuple[str, ...],
    required: tuple[str, ...],
) -> SiteAction:
    pages = _candidate_pages(app, act)
    for identity, _ in IDENTITIES:
        client = app.test_client()
        sign_in_as(app, client, identity)
        for page in pages:
            response = client.get(page)
            forms = forms_in(response.text, act.endpoint)
            if response.status_code == 200 and forms:
                return SiteAction(
                    endpoint=act.endpoint,
                    url=forms[-1].url,
                    page=page,
                    identity=identity,
                    form_class=act.form_class,
                    bind=act.bind,
                    max_body=act.max_body,
                    rate_limit=rate,
                    user_fields=user_fields,
                    required_fields=required,
                )
    raise AssertionError(
        f"No page shows a form for {act.endpoint} (looked at {pages} as every"
        " identity): give the action a page= that renders it, or name a page that"
        " does in PAGES in tests/site/harness.py."
    )


def discover(app: Flask) -> list[SiteAction]:
    """Every action of ``app``, each with its page and who can see its form."""
    with app.app_context():
        actions = all_actions()
    found = []
    for act in actions:
        with app.app_context():
            rate = _rate(act)
        fields = form_fields(act.form_class, app)
        user_fields = tuple(n for n, f in fields.items() if f.type != "HiddenField")
        required = tuple(
            n
            for n in user_fields
            if any(
                getattr(v, "field_flags", {}).get("required")
                for v in fields[n].validators
            )
        )
        found.append(
            _find_form(app, act, rate=rate, user_fields=user_fields, required=required)
        )
    return found


def page_form(app: Flask, client: FlaskClient, site_action: SiteAction) -> FoundForm:
    """The action's form as ``client`` sees it now (the last one, for buttons)."""
    response = client.get(site_action.page)
    forms = forms_in(response.text, site_action.endpoint)
    assert forms, f"{site_action.page} no longer shows a form for {site_action}"
    return forms[-1]


def form_fields(form_class: type[t.Any] | None, app: Flask) -> dict[str, Field]:
    if form_class is None:
        return {}
    with app.test_request_context("/", method="POST"):
        form = form_class(meta={"csrf": False})
        return dict(form._fields)


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
        return name not in form.errors


def valid_body(
    app: Flask, site_action: SiteAction, form: FoundForm
) -> list[tuple[str, str]]:
    """The page's fields with a value the action accepts in each empty one."""
    body = dict(form.fields)
    explicit = VALID_FIELDS.get(site_action.endpoint, {})
    body.update(explicit)
    fields = form_fields(site_action.form_class, app)
    for name, field in fields.items():
        if name in explicit or body.get(name, "").strip():
            continue
        for candidate in _candidates(field):
            trial = MultiDict({**body, name: candidate})
            if _field_ok(app, t.cast(type[t.Any], site_action.form_class), trial, name):
                body[name] = candidate
                break
    return list(body.items())


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
        if path.is_file()
    }
    return rows, files


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
