"""What happens to a request: settings read once, work done once, words the app's own."""

from __future__ import annotations

import warnings

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import before_render_template
from flask import template_rendered
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired
from wtforms.validators import Length

import flask_server_actions
from flask_server_actions import ActionState
from flask_server_actions import ServerActions
from flask_server_actions import action
from flask_server_actions import allow
from flask_server_actions import lazy
from flask_server_actions import render_page
from flask_server_actions import revalidate_tag
from flask_server_actions.testing import ActionClient

from .conftest import csrf_token_from


class NoteForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(min=2)])


@pytest.fixture
def counts():
    return {"form": 0, "list": 0}


@pytest.fixture
def notes():
    return []


def install(app: Flask, counts, notes, **options) -> Flask:
    bp = Blueprint("notes", __name__)

    @bp.get("/notes")
    def index():
        def counted(name, value):
            def load():
                counts[name] += 1
                return value

            return lazy(load)

        return render_page(
            "pipeline.html",
            form_pass=counted("form", ""),
            notes=counted("list", notes),
        )

    @action(bp, page=index, form=NoteForm, allow=allow.public)
    def add_note(form):
        notes.append(form.title.data)
        revalidate_tag("notes")
        return ActionState.success("Added.")

    ServerActions(app, **options)
    app.register_blueprint(bp)
    app.test_client_class = ActionClient
    return app


@pytest.fixture
def app(app, counts, notes):
    return install(app, counts, notes)


def test_an_htmx_answer_renders_the_form_block_and_the_region_once(app, counts):
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    counts.update(form=0, list=0)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "Hello", "_sa_page": "/notes"},
        headers={"HX-Request": "true", "HX-Target": "form#notes-add-note"},
    )
    assert response.status_code == 200
    assert counts == {"form": 1, "list": 1}


def test_a_plain_failure_renders_the_page_once(app, counts):
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    counts.update(form=0, list=0)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "x", "_sa_page": "/notes"},
    )
    assert response.status_code == 422
    assert counts == {"form": 1, "list": 1}
    # The message is shown once, in the form, not also as a flash.
    assert response.text.count("Please correct the errors below.") == 1


def test_a_plain_failure_of_a_form_not_on_the_page_flashes_its_message(app, counts):
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    counts.update(form=0, list=0)
    response = client.post(
        "/actions/add-note",
        data={
            "csrf_token": token,
            "title": "x",
            "_sa_page": "/notes",
            "_sa_form": "not-on-the-page",
        },
    )
    assert response.status_code == 422
    assert '<p class="flash">Please correct the errors below.</p>' in response.text
    assert response.text.count("Please correct the errors below.") == 1
    assert counts == {"form": 1, "list": 1}


def test_block_rendering_sends_flasks_template_signals(app):
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    seen = []

    def before(sender, template, context, **extra):
        seen.append(("before", template.name))

    def after(sender, template, context, **extra):
        seen.append(("rendered", template.name))

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
    ):
        client.post(
            "/actions/add-note",
            data={"csrf_token": token, "title": "Hello", "_sa_page": "/notes"},
            headers={"HX-Request": "true", "HX-Target": "form#notes-add-note"},
        )
    assert seen == [("before", "pipeline.html"), ("rendered", "pipeline.html")]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("SERVER_ACTIONS_CACHE", "memcached", "SERVER_ACTIONS_CACHE must be"),
        ("SERVER_ACTIONS_RATELIMIT_FAIL", "maybe", "SERVER_ACTIONS_RATELIMIT_FAIL"),
        ("SERVER_ACTIONS_MAX_BODY", "lots", "is not a size like"),
        ("SERVER_ACTIONS_CACHE", "redis", "SERVER_ACTIONS_REDIS_URL is not set"),
        ("SERVER_ACTIONS_MESSAGES", {"invalidd": "?"}, "unknown messages"),
    ],
)
def test_settings_are_checked_when_the_app_starts(key, value, message):
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises((ValueError, RuntimeError), match=message):
        ServerActions(app)


def test_settings_are_read_once_into_one_object(app):
    state = app.extensions["server_actions"]
    assert state.settings.max_body == 64 * 1024
    assert state.settings.max_upload == 10 * 1024 * 1024
    assert state.settings.ratelimit_storage_uri == "memory://"
    assert app.config["SERVER_ACTIONS_MAX_BODY"] == "64 KB"


@pytest.mark.app_config(SERVER_ACTIONS_MESSAGES={"invalid": "Bitte korrigieren."})
def test_an_app_rewords_a_sentence(app):
    result = app.test_client().submit("notes.add_note", title="x", mode="json")
    assert result.json["message"] == "Bitte korrigieren."


def test_an_app_translates_every_sentence(app, counts, notes):
    german = {
        "Please correct the errors below.": "Bitte korrigieren Sie die Fehler.",
        "The site is busy for a moment, so nothing was saved. Your input is still"
        " here: please try again in %(seconds)s seconds.": (
            "Gerade ist viel los. Bitte in %(seconds)s Sekunden erneut versuchen."
        ),
    }
    translated = Flask(
        __name__, template_folder=app.template_folder, instance_path=app.instance_path
    )
    translated.config.update(TESTING=True, SECRET_KEY="test")
    install(
        translated,
        counts,
        notes,
        gettext=lambda sentence: german.get(sentence, sentence),
    )
    result = translated.test_client().submit("notes.add_note", title="x", mode="json")
    assert result.json["message"] == "Bitte korrigieren Sie die Fehler."
    say = translated.extensions["server_actions"].messages
    assert say("unavailable", seconds=5) == (
        "Gerade ist viel los. Bitte in 5 Sekunden erneut versuchen."
    )


@pytest.mark.app_config(WTF_CSRF_FIELD_NAME="token")
def test_a_renamed_csrf_field_is_written_and_accepted(app, notes):
    client = app.test_client()
    page = client.get("/notes").text
    assert 'name="token"' in page
    assert 'name="csrf_token"' not in page
    result = client.submit("notes.add_note", title="Hello", mode="plain")
    assert result.status == 303
    assert notes == ["Hello"]


def test_the_htmx_module_is_reachable_as_an_attribute():
    response = Response("")
    flask_server_actions.htmx.retarget(response, "#there")
    flask_server_actions.htmx.reswap(response, "outerHTML")
    assert response.headers["HX-Retarget"] == "#there"
    assert response.headers["HX-Reswap"] == "outerHTML"


def test_the_old_htmx_proxy_still_answers_with_a_warning():
    app = Flask(__name__)
    with app.test_request_context(headers={"HX-Request": "true", "HX-Target": "a#b"}):
        with pytest.warns(DeprecationWarning, match="current_htmx"):
            assert bool(flask_server_actions.htmx)
        with pytest.warns(DeprecationWarning, match="current_htmx"):
            assert flask_server_actions.htmx.target_id == "b"
    with (
        app.test_request_context(),
        pytest.warns(DeprecationWarning, match="current_htmx"),
    ):
        assert not flask_server_actions.htmx
    # Outside a request it is a module like any other.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert flask_server_actions.htmx


def test_a_malformed_current_url_is_ignored(app, notes):
    client = app.test_client()
    token = csrf_token_from(client.get("/notes").text)
    response = client.post(
        "/actions/add-note",
        data={"csrf_token": token, "title": "Hello"},
        headers={
            "HX-Request": "true",
            "HX-Target": "form#notes-add-note",
            "HX-Current-URL": "http://[::1/notes",
        },
    )
    assert response.status_code == 200
    assert notes == ["Hello"]


@pytest.mark.parametrize(
    ("argv", "env", "workers"),
    [
        (["gunicorn", "-w", "4", "wsgi:app"], {}, 4),
        (["gunicorn", "--workers=3", "wsgi:app"], {}, 3),
        (["gunicorn", "-w2", "wsgi:app"], {}, 2),
        (["gunicorn", "wsgi:app"], {"GUNICORN_CMD_ARGS": "--workers 5"}, 5),
        (["gunicorn", "wsgi:app"], {"WEB_CONCURRENCY": "6"}, 6),
        (["gunicorn", "wsgi:app"], {}, 1),
    ],
)
def test_the_number_of_gunicorn_workers_is_read_from_its_command_line(
    monkeypatch, argv, env, workers
):
    from flask_server_actions.settings import server_workers

    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")
    monkeypatch.setattr("sys.argv", argv)
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert server_workers() == workers


def test_a_memory_ledger_under_several_workers_stops_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")
    monkeypatch.setattr("sys.argv", ["gunicorn", "-w", "2", "wsgi:app"])
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["SERVER_ACTIONS_LEDGER"] = "memory"
    with pytest.raises(RuntimeError, match="a form could be written twice"):
        ServerActions(app)


def test_the_layouts_messages_show_each_flash_once(app):
    from flask import flash
    from flask import render_template_string

    with app.test_request_context():
        flash("Deleted <b>it</b>.", "success")
        flash("Please sign in to do this.", "error")
        html = render_template_string("{{ server_actions_messages() }}")
    assert html == (
        '<div class="sa-messages" role="status" aria-live="polite">'
        '<p class="sa-message sa-message--success">Deleted &lt;b&gt;it&lt;/b&gt;.</p>'
        '<p class="sa-message sa-message--error">Please sign in to do this.</p></div>'
    )


def test_the_layouts_message_area_is_there_when_empty(app):
    from flask import render_template_string

    with app.test_request_context():
        html = render_template_string("{{ server_actions_messages() }}")
    assert html == '<div class="sa-messages" role="status" aria-live="polite"></div>'
