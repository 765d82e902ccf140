"""One write per submission: a form's key is applied once, repeats get the first result."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid

import pytest
from flask import Blueprint
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import ValidationError

from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions.messages import DEFAULTS as MESSAGES

from .conftest import csrf_token_from
from .test_actions import Journal
from .test_actions import NoteForm
from .test_actions import TitleForm
from .test_cache import REDIS_URL
from .test_cache import redis_or_skip

HTMX = {"HX-Request": "true", "HX-Target": "form#notes-add-note"}
JSON = {"Accept": "application/json"}
_KEY = re.compile(r'name="_sa_key" value="([^"]+)"')
REPLAYED = "X-Submission-Replayed"


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@pytest.fixture
def journal():
    return Journal()


@pytest.fixture
def gate():
    """Holds the ``slow`` action until the test lets it go."""
    return {"started": threading.Event(), "go": threading.Event()}


@pytest.fixture
def app(app, journal, gate):
    bp = Blueprint("notes", __name__)
    renamed: list[str] = []
    signed: list[str] = []

    @bp.get("/notes")
    def index():
        return render_page("notes.html", notes=lazy(lambda: list(journal.notes)))

    @bp.get("/login/<user_id>")
    def login(user_id):
        login_user(User(user_id))
        return "ok"

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        title = form.title.data
        if title == "boom":
            journal.pending.append("half-written")
            raise RuntimeError("database exploded")
        if title == "slow":
            gate["started"].set()
            gate["go"].wait(10)
        journal.pending.append(title)
        return ActionState.success("Note added.", data={"count": len(journal.notes)})

    @action(bp, page=index, form=TitleForm, allow=allow.public, reset=False)
    def rename(form):
        renamed.append(form.title.data)
        return ActionState.success("Renamed.")

    class UniqueNoteForm(FlaskForm):
        title = StringField("Title", validators=[DataRequired()])

        def validate_title(self, field):
            if field.data in journal.notes:
                raise ValidationError("There is a note with this title.")

    @action(bp, page=index, form=UniqueNoteForm, allow=allow.public)
    def add_unique(form):
        if form.title.data == "slow":
            gate["started"].set()
            gate["go"].wait(10)
        journal.pending.append(form.title.data)
        return ActionState.success("Note added.")

    @action(
        bp,
        page=index,
        form=TitleForm,
        allow=allow.when(lambda _user, _form: gate.get("open", True)),
    )
    def guarded(form):
        journal.pending.append(form.title.data)
        return ActionState.success("Guarded note added.")

    @action(bp, page=index, form=TitleForm, allow=allow.signed_in)
    def sign(form):
        signed.append(f"{current_user.get_id()}:{form.title.data}")
        return ActionState.success(f"Signed by {current_user.get_id()}.")

    login_manager = LoginManager(app)
    login_manager.user_loader(User)
    app.renamed = renamed
    app.signed = signed
    ServerActions(app, transaction=journal.transaction)
    app.register_blueprint(bp)
    return app


@pytest.fixture
def page(client):
    return client.get("/notes").text


@pytest.fixture
def token(page):
    return csrf_token_from(page)


@pytest.fixture
def key(page):
    return key_from(page)


def key_from(html: str) -> str:
    match = _KEY.search(html)
    assert match, "no _sa_key field in the page"
    return match.group(1)


def post(client, token, key, headers=None, path="/actions/add-note", **data):
    data.setdefault("_sa_page", "/notes")
    return client.post(
        path,
        data={"csrf_token": token, "_sa_key": key, **data},
        headers=headers or {},
    )


def test_every_rendered_form_has_its_own_key(client, page):
    keys = _KEY.findall(page)
    assert len(keys) == 2  # add_note and rename
    assert len(set(keys)) == 2
    assert len(keys[0]) >= 24
    assert key_from(client.get("/notes").text) not in keys


def test_action_button_carries_a_key(app):
    with app.test_request_context("/notes"):
        from flask_server_actions.buttons import action_button

        first = str(action_button("notes.rename", "Rename"))
        second = str(action_button("notes.rename", "Rename"))
    assert key_from(first) != key_from(second)


def test_htmx_double_submit_writes_once_and_answers_the_same(
    client, token, key, journal
):
    first = post(client, token, key, HTMX, title="Hello")
    second = post(client, token, key, HTMX, title="Hello")
    assert journal.notes == ["Hello"]
    assert first.status_code == second.status_code == 200
    assert "Note added." in first.text
    assert "Note added." in second.text
    assert REPLAYED not in first.headers
    assert second.headers[REPLAYED] == "1"
    # The replayed form is a fresh one, with a fresh key.
    assert key_from(second.text) != key


def test_plain_double_submit_writes_once_and_redirects_both(
    client, token, key, journal
):
    first = post(client, token, key, title="Hello")
    second = post(client, token, key, title="Hello")
    assert journal.notes == ["Hello"]
    assert first.status_code == second.status_code == 303
    assert first.location == second.location == "/notes"
    assert "Note added." in client.get("/notes").text


def test_json_double_submit_gets_the_first_body(client, token, key, journal):
    first = post(client, token, key, JSON, title="Hello")
    second = post(client, token, key, JSON, title="Hello")
    assert journal.notes == ["Hello"]
    assert (
        first.json
        == second.json
        == {
            "ok": True,
            "message": "Note added.",
            "data": {"count": 0},
        }
    )


def test_back_button_resubmission_replays(client, token, key, journal):
    assert post(client, token, key, title="Hello").status_code == 303
    after = client.get("/notes").text
    assert key_from(after) != key  # the page after the redirect has a new form
    # The browser goes back and posts the old body, old key included.
    again = post(client, token, key, title="Hello")
    assert again.status_code == 303
    assert again.headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]
    # The new form's key works as a new submission.
    assert post(client, token, key_from(after), title="Second").status_code == 303
    assert journal.notes == ["Hello", "Second"]


def test_without_a_key_every_request_runs(client, token, journal):
    for _ in range(2):
        response = client.post(
            "/actions/add-note",
            data={"csrf_token": token, "title": "Hello", "_sa_page": "/notes"},
            headers=JSON,
        )
        assert response.status_code == 200
    assert journal.notes == ["Hello", "Hello"]


def test_failed_validation_does_not_use_up_the_key(client, token, key, journal):
    invalid = post(client, token, key, HTMX, title="A")
    assert invalid.status_code == 422
    corrected = post(client, token, key, HTMX, title="Hello")
    assert corrected.status_code == 200
    assert REPLAYED not in corrected.headers
    assert journal.notes == ["Hello"]
    assert post(client, token, key, HTMX, title="Hello").headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_a_form_shown_again_after_a_failure_keeps_its_key(
    client, token, key, journal, headers
):
    invalid = post(client, token, key, headers, title="A")
    assert invalid.status_code == 422
    # The failure released the key; the form shown again carries it on.
    assert key_from(invalid.text) == key
    assert post(client, token, key, headers, title="Hello").status_code in (200, 303)
    # Back to the refused page and its form sent again: a replay, not a second note.
    again = post(client, token, key, headers, title="Hello")
    assert again.headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_try_again_after_an_error_keeps_the_key(client, token, key, journal, headers):
    failed = post(client, token, key, headers, title="boom")
    assert failed.status_code == 500
    retry = re.search(r'<form class="sa-retry".*?</form>', failed.text, re.S)
    assert retry is not None
    assert key_from(retry.group(0)) == key
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', retry.group(0)))
    restored = client.post("/actions/add-note", data=fields, headers=headers)
    assert key_from(restored.text) == key
    assert journal.notes == []
    assert post(client, token, key, headers, title="Hello").status_code in (200, 303)
    # The body that failed, sent again after the retry went through: a replay.
    assert post(client, token, key, headers, title="Hello").headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]


def test_a_form_shown_again_after_a_success_gets_a_new_key(client, token, key):
    # rename keeps its input after success (reset=False): the next send is new.
    page = client.get("/notes").text
    rename_key = _KEY.findall(page)[1]
    done = post(
        client,
        token,
        rename_key,
        {"HX-Request": "true"},
        path="/actions/rename",
        title="New name",
        _sa_form="notes-rename",
    )
    assert done.status_code == 200
    assert 'value="New name"' in done.text
    assert key_from(done.text) not in (rename_key, key)


def test_an_error_releases_the_key(client, token, key, journal):
    failed = post(client, token, key, JSON, title="boom")
    assert failed.status_code == 500
    assert journal.notes == []
    retried = post(client, token, key, JSON, title="Hello")
    assert retried.status_code == 200
    assert journal.notes == ["Hello"]


def test_a_refusal_releases_the_key(app, client, token, key):
    refused = post(client, token, key, JSON, path="/actions/sign", title="Deal")
    assert refused.status_code == 401
    client.get("/login/ada")
    signed = post(client, token, key, JSON, path="/actions/sign", title="Deal")
    assert signed.status_code == 200
    assert app.signed == ["ada:Deal"]


def test_a_csrf_refusal_never_claims_the_key(client, token, key, journal):
    refused = post(client, "forged", key, JSON, title="Hello")
    assert refused.status_code == 400
    assert post(client, token, key, JSON, title="Hello").status_code == 200
    assert journal.notes == ["Hello"]


def test_keys_are_scoped_per_user(app, client, token, key):
    client.get("/login/ada")
    assert post(client, token, key, JSON, path="/actions/sign", title="x").json[
        "message"
    ] == ("Signed by ada.")
    client.get("/login/bob")
    # Bob posting Ada's key runs his own action; he never sees Ada's result.
    bob = post(client, token, key, JSON, path="/actions/sign", title="x")
    assert bob.json["message"] == "Signed by bob."
    assert REPLAYED not in bob.headers
    assert app.signed == ["ada:x", "bob:x"]


def test_keys_are_scoped_per_browser_session(app, client, token, key, journal):
    assert post(client, token, key, JSON, title="Hello").status_code == 200
    other = app.test_client()
    other_token = csrf_token_from(other.get("/notes").text)
    response = post(other, other_token, key, JSON, title="Hello")
    assert REPLAYED not in response.headers
    assert journal.notes == ["Hello", "Hello"]


def test_keys_are_scoped_per_action(app, client, token, key, journal):
    post(client, token, key, JSON, title="Hello")
    renamed = post(client, token, key, JSON, path="/actions/rename", title="Hello")
    assert REPLAYED not in renamed.headers
    assert journal.notes == ["Hello"]
    assert app.renamed == ["Hello"]


def test_hostile_keys_are_harmless(client, token, journal):
    for hostile in ("", "x" * 5000, "<script>", "../../etc"):
        response = post(client, token, hostile, JSON, title="Hello")
        assert response.status_code == 200
    # An empty or oversized value is no key; the others are keys like any other.
    assert len(journal.notes) == 4
    assert post(client, token, "<script>", JSON, title="Hello").headers[REPLAYED]
    assert len(journal.notes) == 4


@pytest.mark.app_config(SERVER_ACTIONS_SUBMISSION_TTL=1)
def test_a_key_expires_after_the_ttl(app, client, token, key, journal):
    post(client, token, key, JSON, title="Hello")
    assert post(client, token, key, JSON, title="Hello").headers[REPLAYED] == "1"
    time.sleep(1.1)
    assert REPLAYED not in post(client, token, key, JSON, title="Hello").headers
    assert journal.notes == ["Hello", "Hello"]


#: Keys of this run's Redis tests, removed after each.
REDIS_PREFIX = f"sa-test-submissions-{uuid.uuid4().hex}:"


@pytest.fixture
def redis_app(app):
    redis_or_skip()
    import redis

    yield app, REDIS_PREFIX
    client = redis.Redis.from_url(REDIS_URL)
    for found in client.scan_iter(match=REDIS_PREFIX + "*"):
        client.delete(found)


@pytest.mark.app_config(
    SERVER_ACTIONS_CACHE="redis",
    SERVER_ACTIONS_REDIS_URL=REDIS_URL,
    SERVER_ACTIONS_CACHE_PREFIX=REDIS_PREFIX,
    SERVER_ACTIONS_SUBMISSION_TTL=900,
)
def test_applied_keys_live_in_redis_for_the_ttl(redis_app, token, key, journal):
    import redis

    app, prefix = redis_app
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    post(client, token, key, JSON, title="Hello")
    assert post(client, token, key, JSON, title="Hello").headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]
    stored = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=prefix + "*"))
    submission_keys = [k for k in stored if b"submission:" in k]
    assert len(submission_keys) == 1
    ttl = redis.Redis.from_url(REDIS_URL).ttl(submission_keys[0])
    assert 0 < ttl <= 900


def _second_client(app, client):
    """Another connection of the same browser (same session cookie)."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    return other


def test_a_concurrent_repeat_waits_for_the_first_result(
    app, client, token, key, journal, gate
):
    other = _second_client(app, client)
    answers: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: answers.update(
            first=post(client, token, key, JSON, title="slow")
        )
    )
    first.start()
    assert gate["started"].wait(10)
    second = threading.Thread(
        target=lambda: answers.update(
            second=post(other, token, key, JSON, title="slow")
        )
    )
    second.start()
    gate["go"].set()
    first.join(10)
    second.join(10)
    assert journal.notes == ["slow"]
    assert answers["first"].json == answers["second"].json  # type: ignore[attr-defined]
    assert answers["second"].headers[REPLAYED] == "1"  # type: ignore[attr-defined]


@pytest.mark.app_config(SERVER_ACTIONS_SUBMISSION_WAIT=0)
def test_a_concurrent_repeat_that_cannot_wait_answers_409(
    app, client, token, key, journal, gate
):
    other = _second_client(app, client)
    answers: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: answers.update(
            first=post(client, token, key, HTMX, title="slow")
        )
    )
    first.start()
    try:
        assert gate["started"].wait(10)
        repeat = post(other, token, key, HTMX, title="slow")
        assert repeat.status_code == 409
        assert MESSAGES["in_progress"] in repeat.text
        assert 'value="slow"' in repeat.text  # the form keeps what was typed
        plain = post(other, token, key, title="slow")
        assert plain.status_code == 409
        assert MESSAGES["in_progress"] in plain.text
    finally:
        gate["go"].set()
        first.join(10)
    assert journal.notes == ["slow"]


def ledger_writes(app) -> list[str]:
    """The names of the ledger store's writing methods called from now on."""
    store = app.extensions["server_actions"].ledger.store
    calls: list[str] = []
    for name in ("add", "set", "delete"):
        method = getattr(store, name)
        setattr(
            store,
            name,
            lambda *args, _name=name, _method=method, **kw: (
                calls.append(_name) or _method(*args, **kw)
            ),
        )
    return calls


@pytest.mark.parametrize("headers", [{}, HTMX, JSON], ids=["plain", "htmx", "json"])
def test_an_invalid_submission_writes_nothing_to_the_ledger(
    app, client, token, key, journal, headers
):
    writes = ledger_writes(app)
    assert post(client, token, key, headers, title="A").status_code == 422
    assert writes == []
    assert post(client, token, key, headers, title="Hello").status_code in (200, 303)
    assert writes == ["add", "set"]  # the claim, then the result
    assert journal.notes == ["Hello"]


def test_a_repeat_that_the_first_request_made_invalid_gets_its_result(
    client, token, key, journal
):
    # The first request took the title, so the repeat's form no longer
    # validates: it is still the same submission, answered as the first was.
    path = "/actions/add-unique"
    first = post(client, token, key, JSON, path=path, title="Hello")
    assert first.status_code == 200
    repeat = post(client, token, key, JSON, path=path, title="Hello")
    assert repeat.status_code == 200
    assert repeat.headers[REPLAYED] == "1"
    assert repeat.json == first.json
    assert journal.notes == ["Hello"]
    # Another key with the same title is a new submission, and invalid.
    fresh = key_from(client.get("/notes").text)
    again = post(client, token, fresh, JSON, path=path, title="Hello")
    assert again.status_code == 422
    assert REPLAYED not in again.headers


def test_an_invalid_repeat_waits_for_the_first_request_with_its_key(
    app, client, token, key, journal, gate
):
    other = _second_client(app, client)
    path = "/actions/add-unique"
    answers: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: answers.update(
            first=post(client, token, key, JSON, path=path, title="slow")
        )
    )
    first.start()
    assert gate["started"].wait(10)
    # While the first runs, the same form arrives again, its title emptied.
    second = threading.Thread(
        target=lambda: answers.update(
            second=post(other, token, key, JSON, path=path, title="")
        )
    )
    second.start()
    time.sleep(0.2)
    gate["go"].set()
    first.join(10)
    second.join(10)
    assert journal.notes == ["slow"]
    assert answers["second"].status_code == 200  # type: ignore[attr-defined]
    assert answers["second"].headers[REPLAYED] == "1"  # type: ignore[attr-defined]


@pytest.mark.parametrize("headers", [{}, HTMX, JSON], ids=["plain", "htmx", "json"])
def test_a_repeat_refused_before_its_claim_still_gets_the_first_result(
    client, token, key, journal, gate, headers
):
    path = "/actions/guarded"
    first = post(client, token, key, headers, path=path, title="Hello")
    assert first.status_code in (200, 303)
    # The policy says no since; the same form, sent again (its first answer
    # lost), is still the submission that was applied.
    gate["open"] = False
    repeat = post(client, token, key, headers, path=path, title="Hello")
    assert repeat.status_code == first.status_code
    assert repeat.headers[REPLAYED] == "1"
    assert journal.notes == ["Hello"]
    # A new submission is refused (401: nobody is signed in to be let in).
    fresh = key_from(client.get("/notes").text)
    refused = post(client, token, fresh, headers, path=path, title="Hi")
    assert refused.status_code == 401
    assert REPLAYED not in refused.headers
    assert journal.notes == ["Hello"]


def test_claim_is_released_in_the_ledger_after_a_failure(app, client, token, key):
    post(client, token, key, JSON, title="A")
    ledger = app.extensions["server_actions"].ledger.store
    # Nothing kept: neither a pending claim nor a result.
    with sqlite3.connect(ledger.path) as connection:
        (rows,) = connection.execute("SELECT count(*) FROM entries").fetchone()
    assert rows == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=False)
def test_callers_without_a_session_never_replay_each_other(app, journal):
    """A token client with CSRF off has no session to scope its keys by."""
    first, second = (
        app.test_client(use_cookies=False),
        app.test_client(use_cookies=False),
    )
    one = post(first, "", "shared-key", JSON, title="Mine")
    other = post(second, "", "shared-key", JSON, title="Yours")
    assert (one.status_code, other.status_code) == (200, 200)
    assert REPLAYED not in other.headers
    assert journal.notes == ["Mine", "Yours"]
