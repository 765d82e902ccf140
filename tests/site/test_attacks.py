"""The attack suite: every site action, every hostile request, nothing written.

Actions come from the toolkit's registry (see tests/site/harness.py), so a new
action is attacked as soon as its blueprint registers it. Each attack asserts the
status, a readable sentence in the answer (htmx and plain), and that no table row
and no file in the instance folder changed.

The "before" snapshot is taken once the target's page has been fetched and
everything an attack needs from the site beforehand (another session's token, a
stranger's form) has been read: fetching a page may legitimately write (the
/likes page counts a view, a to-do is added so its Delete button exists), and
only the attacking request itself must write nothing.
"""

from __future__ import annotations

import dataclasses
import html
import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import parse as parse_rate
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound
from werkzeug.test import TestResponse

from flask_server_actions.binding import sign_arguments
from flask_server_actions.fields import BOUND_FIELD

from .harness import SeedDatabase
from .harness import SiteAction
from .harness import Upload
from .harness import discovered_site_actions
from .harness import dispose
from .harness import form_fields
from .harness import make_site
from .harness import page_form
from .harness import sign_in_as
from .harness import snapshot
from .harness import valid_body
from .harness import valid_files

SITE_ACTIONS = discovered_site_actions()
MODES = ("htmx", "plain")

CSRF = "This form had expired, so nothing was saved."
CROSS_SITE = "This form was sent from another site, so it was not accepted."
TAMPERED = "This form is out of date or was changed, so nothing was done."
TOO_LARGE = "What you sent is larger than this form accepts"
UNREADABLE = "What you sent could not be read"
INVALID_TEXT = "Some of what you sent is not valid text (UTF-8)"
REPEATED_HIDDEN = "This form was sent with a hidden field repeated"
INVALID = "Please correct the errors below."
REPEATED_FIELD = "This field was sent more than once; send it once."
NOT_ALLOWED = "Not allowed here"
SIGN_IN = "Please sign in to do this."
FORBIDDEN = "You are not allowed to do this."
TOO_MANY = "Too many requests (the limit is"


@dataclasses.dataclass
class Target:
    """One action of a fresh site, signed in as needed, its form just rendered."""

    app: Flask
    client: FlaskClient
    action: SiteAction
    mode: str
    body: list[tuple[str, str]]
    #: The files the valid request uploads (sent with every list body).
    files: list[Upload] = dataclasses.field(default_factory=list)
    #: What an attack read from the site before the snapshot (see ``Attack.prepare``).
    prepared: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"HX-Request": "true"} if self.mode == "htmx" else {}

    def field(self, name: str) -> str:
        return dict(self.body)[name]

    def without(self, *names: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.body if k not in names]

    def replaced(self, name: str, value: str) -> list[tuple[str, str]]:
        return [(k, value if k == name else v) for k, v in self.body]

    def post(
        self,
        data: t.Any = None,
        *,
        headers: dict[str, str] | None = None,
        method: str = "POST",
        client: FlaskClient | None = None,
        files: list[Upload] | None = None,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Post ``data`` (the valid body if None); a list body carries ``files``
        (the valid files if None), as multipart when there are any.

        Multipart bodies are encoded here, not by the test client: it would
        spool a large one into a temporary file that it never closes.
        """
        if data is None or isinstance(data, list):
            fields = self.body if data is None else data
            uploads = self.files if files is None else files
            if uploads:
                data = multipart(fields, uploads)
                kwargs["content_type"] = "multipart/form-data; boundary=attack"
            else:
                data = MultiDict(fields)
        return (client or self.client).open(
            self.action.url,
            method=method,
            data=data,
            headers={**self.headers, **(headers or {})},
            **kwargs,
        )


@pytest.fixture(scope="module")
def shared_sites(
    tmp_path_factory: pytest.TempPathFactory, template_db: SeedDatabase
) -> t.Iterator[t.Callable[..., Flask]]:
    """One site per action (and configuration), shared by its attacks: each
    attack asserts it wrote nothing, so the next one meets the same state. Rate
    limits are off here (a refused request must not use up another test's
    allowance); the X-Forwarded-For test below has its own site with them on.
    """
    sites: dict[tuple[str, str], Flask] = {}

    def site_for(site_action: SiteAction, **config: t.Any) -> Flask:
        key = (site_action.endpoint, repr(sorted(config.items())))
        if key not in sites:
            folder = tmp_path_factory.mktemp("site")
            sites[key] = make_site(
                folder / "instance", template_db, RATELIMIT_ENABLED=False, **config
            )
        return sites[key]

    yield site_for
    for app in sites.values():
        dispose(app)


def make_target(app: Flask, site_action: SiteAction, mode: str) -> Target:
    client = app.test_client()
    sign_in_as(app, client, site_action.identity)
    form = page_form(app, client, site_action)
    return Target(
        app,
        client,
        site_action,
        mode,
        valid_body(app, site_action, form),
        valid_files(site_action),
    )


def readable(response: TestResponse, sentence: str) -> None:
    """The answer says ``sentence`` to the user (in the form, the page or the region)."""
    text = html.unescape(response.get_data(as_text=True))
    assert sentence in text, (
        f"expected {sentence!r} in the {response.status_code} answer, got:\n{text[:1500]}"
    )


def multipart(
    fields: list[tuple[str, str]],
    files: t.Sequence[Upload] = (),
    boundary: str = "attack",
) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{u.field}";'
        f' filename="{u.filename}"\r\nContent-Type: {u.content_type}\r\n\r\n'.encode()
        + u.data
        + b"\r\n"
        for u in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def urlencoded(fields: list[tuple[str, bytes | str]]) -> bytes:
    from urllib.parse import quote_from_bytes

    def enc(value: bytes | str) -> str:
        raw = value.encode() if isinstance(value, str) else value
        return quote_from_bytes(raw, safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in fields).encode()


def serves_get(app: Flask, url: str) -> bool:
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(url, method="GET")
    except (MethodNotAllowed, NotFound):
        return False
    return True


# -- attacks ------------------------------------------------------------------------
# Each returns the response and the (status, sentence) it must get.

Outcome = tuple[TestResponse, int, str]
AttackFn = t.Callable[[Target], Outcome]
PrepareFn = t.Callable[[Target], None]


@dataclasses.dataclass(frozen=True)
class Attack:
    name: str
    run: AttackFn
    applies: t.Callable[[SiteAction], bool] = lambda _: True
    config: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    #: Reads what the attack needs from the site (into ``target.prepared``)
    #: before the snapshot: those page views are not the attack.
    prepare: PrepareFn | None = None


ATTACKS: list[Attack] = []


def attack(
    name: str,
    applies: t.Callable[[SiteAction], bool] = lambda _: True,
    prepare: PrepareFn | None = None,
    **config: t.Any,
) -> t.Callable[[AttackFn], AttackFn]:
    def register(fn: AttackFn) -> AttackFn:
        ATTACKS.append(Attack(name, fn, applies, config, prepare))
        return fn

    return register


def has_bind(a: SiteAction) -> bool:
    return bool(a.bind)


@attack("no-csrf-token")
def _no_token(target: Target) -> Outcome:
    return target.post(target.without("csrf_token")), 400, CSRF


@attack("wrong-csrf-token")
def _wrong_token(target: Target) -> Outcome:
    forged = target.field("csrf_token")[:-4] + "AAAA"
    return target.post(target.replaced("csrf_token", forged)), 400, CSRF


def _token_of_another_session(target: Target) -> None:
    other = target.app.test_client()
    sign_in_as(target.app, other, target.action.identity)
    theirs = page_form(target.app, other, target.action).fields
    target.prepared["token"] = dict(theirs)["csrf_token"]


@attack("csrf-token-of-another-session", prepare=_token_of_another_session)
def _other_session(target: Target) -> Outcome:
    token = target.prepared["token"]
    assert token != target.field("csrf_token")
    return target.post(target.replaced("csrf_token", token)), 400, CSRF


@attack("origin-evil")
def _evil_origin(target: Target) -> Outcome:
    response = target.post(headers={"Origin": "https://evil.example"})
    return response, 403, CROSS_SITE


@attack("origin-null")
def _null_origin(target: Target) -> Outcome:
    return target.post(headers={"Origin": "null"}), 403, CROSS_SITE


@attack("sec-fetch-site-cross-site")
def _cross_site(target: Target) -> Outcome:
    return target.post(headers={"Sec-Fetch-Site": "cross-site"}), 403, CROSS_SITE


def _method(method: str) -> AttackFn:
    def run(target: Target) -> Outcome:
        if method == "GET":
            response = target.client.get(target.action.url, headers=target.headers)
            if serves_get(target.app, target.action.url):
                # The address is also a page's (/sign-in) or matches a page's
                # pattern (/posts/create and /posts/<slug>): GET is that page's
                # answer, a page or "not found", and never runs the action.
                return response, 404 if response.status_code == 404 else 200, ""
            assert "POST" in response.headers.get("Allow", "")
            return response, 405, NOT_ALLOWED
        response = target.post(method=method)
        assert "POST" in response.headers.get("Allow", "")
        return response, 405, NOT_ALLOWED

    return run


for _verb in ("GET", "PUT", "DELETE", "PATCH"):
    attack(f"method-{_verb.lower()}")(_method(_verb))


@attack("bound-argument-flipped", applies=has_bind)
def _flipped(target: Target) -> Outcome:
    token = target.field(BOUND_FIELD)
    middle = len(token) // 2
    flipped = (
        token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    )
    return target.post(target.replaced(BOUND_FIELD, flipped)), 400, TAMPERED


@attack("bound-argument-of-another-action", applies=has_bind)
def _other_action(target: Target) -> Outcome:
    with target.app.test_request_context():
        forged = sign_arguments(
            "users.create_user", dict.fromkeys(target.action.bind, 2)
        )
    return target.post(target.replaced(BOUND_FIELD, forged)), 400, TAMPERED


@attack("bound-argument-other-names", applies=has_bind)
def _other_names(target: Target) -> Outcome:
    with target.app.test_request_context():
        forged = sign_arguments(target.action.endpoint, {"is_admin": True})
    return target.post(target.replaced(BOUND_FIELD, forged)), 400, TAMPERED


@attack("bound-argument-expired", applies=has_bind, SERVER_ACTIONS_BIND_MAX_AGE=-1)
def _expired(target: Target) -> Outcome:
    return target.post(), 400, TAMPERED


@attack("bound-argument-missing", applies=has_bind)
def _missing_bound(target: Target) -> Outcome:
    return target.post(target.without(BOUND_FIELD)), 400, TAMPERED


@attack("bound-argument-repeated", applies=has_bind)
def _repeated_bound(target: Target) -> Outcome:
    body = [*target.body, (BOUND_FIELD, target.field(BOUND_FIELD))]
    return target.post(body), 400, REPEATED_HIDDEN


@attack("csrf-token-repeated")
def _repeated_token(target: Target) -> Outcome:
    body = [*target.body, ("csrf_token", "a-second-token")]
    return target.post(body), 400, REPEATED_HIDDEN


@attack("oversized-body")
def _oversized(target: Target) -> Outcome:
    limit = target.action.max_body
    body = [*target.body, ("padding", "x" * (limit + 1))]
    return target.post(body), 413, TOO_LARGE


@attack("oversized-multipart-body")
def _oversized_multipart(target: Target) -> Outcome:
    limit = target.action.max_body
    data = multipart([*target.body, ("padding", "x" * (limit + 1))], target.files)
    response = target.post(data, content_type="multipart/form-data; boundary=attack")
    return response, 413, TOO_LARGE


@attack("multipart-wrong-boundary")
def _wrong_boundary(target: Target) -> Outcome:
    data = multipart(target.body, target.files, boundary="other")
    response = target.post(data, content_type="multipart/form-data; boundary=attack")
    return response, 400, UNREADABLE


@attack("multipart-truncated")
def _truncated(target: Target) -> Outcome:
    data = multipart(target.body, target.files)
    response = target.post(
        data[: len(data) - 20], content_type="multipart/form-data; boundary=attack"
    )
    return response, 400, UNREADABLE


@attack("multipart-without-boundary")
def _no_boundary(target: Target) -> Outcome:
    response = target.post(
        multipart(target.body, target.files), content_type="multipart/form-data"
    )
    return response, 400, UNREADABLE


def _text_field(target: Target) -> str:
    names = target.action.text_fields
    return names[0] if names else "_sa_form"


@attack("invalid-utf8-urlencoded")
def _invalid_utf8(target: Target) -> Outcome:
    name = _text_field(target)
    body: list[tuple[str, bytes | str]] = [
        (k, b"ab\xff\xfecd" if k == name else v) for k, v in target.body
    ]
    response = target.post(
        urlencoded(body), content_type="application/x-www-form-urlencoded"
    )
    return response, 400, INVALID_TEXT


@attack("invalid-utf8-raw-bytes")
def _invalid_raw(target: Target) -> Outcome:
    data = urlencoded(list(target.body)) + b"&note=\xc3\x28"
    response = target.post(data, content_type="application/x-www-form-urlencoded")
    return response, 400, INVALID_TEXT


@attack("invalid-utf8-multipart")
def _invalid_multipart(target: Target) -> Outcome:
    name = _text_field(target)
    data = multipart(target.body, target.files).replace(
        f'name="{name}"\r\n\r\n'.encode(),
        f'name="{name}"\r\n\r\n\xed\xa0\x80'.encode("latin-1"),
    )
    response = target.post(data, content_type="multipart/form-data; boundary=attack")
    return response, 400, INVALID_TEXT


@attack("missing-fields", applies=lambda a: bool(a.required_fields))
def _missing(target: Target) -> Outcome:
    user_fields = target.action.user_fields
    response = target.post(
        target.without(*user_fields),
        files=[u for u in target.files if u.field not in user_fields],
    )
    fields = form_fields(target.action.form_class, target.app, target.body)
    for name in target.action.required_fields:
        for validator in fields[name].validators:
            message = getattr(validator, "message", None)
            if getattr(validator, "field_flags", {}).get("required") and message:
                readable(response, str(message))
    return response, 422, INVALID


@attack("repeated-field", applies=lambda a: bool(a.text_fields))
def _repeated_field(target: Target) -> Outcome:
    name = _text_field(target)
    body = [*target.body, (name, "a second value")]
    response = target.post(body)
    readable(response, REPEATED_FIELD)
    return response, 422, INVALID


@attack("repeated-field-first-empty", applies=lambda a: bool(a.text_fields))
def _repeated_field_empty(target: Target) -> Outcome:
    name = _text_field(target)
    body = [(name, ""), *target.body]
    return target.post(body), 422, INVALID


@attack("repeated-file", applies=lambda a: bool(a.file_fields))
def _repeated_file(target: Target) -> Outcome:
    # Two valid files in one single-file input: which one was meant is unknown.
    response = target.post(files=[*target.files, *target.files])
    readable(response, REPEATED_FIELD)
    return response, 422, INVALID


def _stranger(target: Target) -> None:
    """A real token, minted in an anonymous session."""
    stranger = target.app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', stranger.get("/sign-in").text
    )
    assert token
    target.prepared.update(client=stranger, token=token.group(1))


@attack("signed-out", applies=lambda a: a.identity != "anonymous", prepare=_stranger)
def _signed_out(target: Target) -> Outcome:
    # The stranger's own token, with an otherwise valid body.
    body = target.replaced("csrf_token", target.prepared["token"])
    response = target.post(body, client=target.prepared["client"])
    if target.mode == "plain":
        assert response.status_code == 303
        assert "/sign-in" in response.headers["Location"]
        return response, 303, ""
    if dict(target.body).get("_sa_kind") == "button":
        # A button has no input to keep: htmx goes to the sign-in page, which
        # shows the flashed reason.
        assert "/sign-in" in response.headers.get("HX-Redirect", "")
        with target.prepared["client"].session_transaction() as session:
            flashed = [message for _, message in session.get("_flashes", [])]
        assert SIGN_IN in flashed, flashed
        return response, 200, ""
    return response, 401, SIGN_IN


def _member_client(target: Target) -> None:
    member = target.app.test_client()
    sign_in_as(target.app, member, "member")
    token = re.search(r'name="csrf_token" value="([^"]+)"', member.get("/").text)
    assert token
    target.prepared.update(client=member, token=token.group(1))


@attack(
    "member-on-admin-action",
    applies=lambda a: a.identity == "admin",
    prepare=_member_client,
)
def _member(target: Target) -> Outcome:
    body = target.replaced("csrf_token", target.prepared["token"])
    return target.post(body, client=target.prepared["client"]), 403, FORBIDDEN


CASES = [
    pytest.param(a, atk, mode, id=f"{a.endpoint}-{atk.name}-{mode}")
    for a in SITE_ACTIONS
    for atk in ATTACKS
    if atk.applies(a)
    for mode in MODES
]


@pytest.mark.parametrize(("site_action", "attack_", "mode"), CASES)
def test_attack_is_refused_and_writes_nothing(
    shared_sites: t.Callable[..., Flask],
    site_action: SiteAction,
    attack_: Attack,
    mode: str,
) -> None:
    app = shared_sites(site_action, **attack_.config)
    target = make_target(app, site_action, mode)
    if attack_.prepare is not None:
        attack_.prepare(target)
    before = snapshot(app)
    response, status, sentence = attack_.run(target)
    assert response.status_code == status, (
        f"{site_action} / {attack_.name} / {mode}: expected {status}, got"
        f" {response.status_code}:\n{response.get_data(as_text=True)[:1500]}"
    )
    if sentence:
        readable(response, sentence)
    assert snapshot(app) == before, f"{attack_.name} wrote something"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("site_action", SITE_ACTIONS, ids=str)
def test_the_valid_body_is_accepted(
    tmp_path: Path, template_db: SeedDatabase, site_action: SiteAction, mode: str
) -> None:
    """The control: without the attack, the same request succeeds.

    So each refusal above is the attack's doing, not a body the action would have
    refused anyway.
    """
    app = make_site(tmp_path / "instance", template_db)
    target = make_target(app, site_action, mode)
    try:
        response = target.post()
        assert response.status_code in {200, 303}, (
            f"The body derived for {site_action} was refused"
            f" ({response.status_code}). Add valid values for it to VALID_FIELDS in"
            f" tests/site/harness.py. Body: {target.body!r}\n"
            f"{response.get_data(as_text=True)[:1500]}"
        )
    finally:
        dispose(target.app)


RATE_LIMITED = [a for a in SITE_ACTIONS if a.rate_limit]


@pytest.mark.parametrize("proxies", [0, 1])
@pytest.mark.parametrize("site_action", RATE_LIMITED, ids=str)
def test_forged_forwarded_for_does_not_dodge_the_rate_limit(
    tmp_path: Path, template_db: SeedDatabase, site_action: SiteAction, proxies: int
) -> None:
    app = make_site(
        tmp_path / "instance", template_db, SERVER_ACTIONS_TRUSTED_PROXIES=proxies
    )
    target = make_target(app, site_action, "htmx")
    try:
        assert site_action.rate_limit is not None
        allowed = parse_rate(site_action.rate_limit).amount
        responses = []
        body = None
        if site_action.endpoint == "auth.sign_in":
            # A successful sign-in would make the next request count for the
            # account instead of the address; guessing is what the limit is for.
            body = target.replaced("password", "a wrong guess")
        for attempt in range(allowed + 1):
            # A fresh forged client address each time; with one trusted proxy the
            # proxy appends the real address (always the same) after the forgery.
            forged = f"203.0.113.{attempt}"
            chain = forged if proxies == 0 else f"{forged}, 198.51.100.7"
            responses.append(target.post(body, headers={"X-Forwarded-For": chain}))
        # Valid bodies succeed; the wrong passwords are refused as such (400).
        expected = (
            (lambda code: code < 400) if body is None else (lambda code: code == 400)
        )
        assert all(expected(r.status_code) for r in responses[:allowed]), [
            r.status_code for r in responses
        ]
        before = snapshot(target.app)
        last = responses[-1]
        assert last.status_code == 429
        readable(last, TOO_MANY)
        again = target.post(
            body, headers={"X-Forwarded-For": "192.0.2.99, 198.51.100.7"}
        )
        assert again.status_code == 429
        assert snapshot(target.app) == before
    finally:
        dispose(target.app)


def test_every_action_is_attacked() -> None:
    """Discovery found the site's actions, and each one meets every attack that applies."""
    endpoints = {a.endpoint for a in SITE_ACTIONS}
    assert {
        "users.create_user",
        "admin.delete_user",
        "contact.send_message",
    } <= endpoints
    for a in SITE_ACTIONS:
        names = {atk.name for atk in ATTACKS if atk.applies(a)}
        assert {"no-csrf-token", "origin-evil", "oversized-body"} <= names
