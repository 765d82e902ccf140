from __future__ import annotations

import logging

import pytest
from flask import jsonify
from flask import render_template_string

from flask_server_actions import ActionState
from flask_server_actions import Secret
from flask_server_actions import ServerActions
from flask_server_actions import TaintedValueError
from flask_server_actions import secret
from flask_server_actions import taint
from flask_server_actions.taint import REDACTED

API_KEY = "sk_live_0123456789abcdef"


@pytest.fixture
def app(app):
    ServerActions(app)
    taint(API_KEY, "The payment API key", app=app)

    @app.get("/key-in-text")
    def key_in_text():
        return f"<p>key: {API_KEY}</p>"

    @app.get("/state")
    def state():
        return jsonify(ActionState.success(data={"hash": secret("pbkdf2:x")}).to_json())

    return app


def test_secret_reveals_on_the_server():
    assert secret("pbkdf2:abc").reveal() == "pbkdf2:abc"


def test_secret_repr_never_shows_the_value():
    assert repr(secret("pbkdf2:abc", "A password hash")) == "<Secret: A password hash>"


def test_secret_in_template_raises_in_tests(app_ctx):
    with pytest.raises(TaintedValueError) as exc:
        render_template_string("{{ h }}", h=secret("pbkdf2:abc", "A password hash"))
    assert exc.value.reason == "A password hash"
    assert "pbkdf2" not in str(exc.value)


def test_secret_in_template_raises_in_debug(app):
    app.testing = False
    app.debug = True
    with app.app_context(), pytest.raises(TaintedValueError):
        render_template_string("{{ h }}", h=secret("pbkdf2:abc"))


def test_secret_in_template_is_redacted_and_logged_in_production(app, caplog):
    app.testing = False
    with app.app_context(), caplog.at_level(logging.ERROR, "flask_server_actions"):
        html = render_template_string("<b>{{ h }}</b>", h=secret("pbkdf2:abc", "Hash"))
    assert html == f"<b>{REDACTED}</b>"
    assert "Refused to send a secret value: Hash" in caplog.text


def test_secret_in_f_string_raises():
    with pytest.raises(TaintedValueError):
        f"{secret('pbkdf2:abc')}"


def test_secret_in_action_state_json_raises(client):
    with pytest.raises(TaintedValueError):
        client.get("/state")


def test_secret_in_state_message_raises_when_rendered(app_ctx):
    state = ActionState.failure(secret("pbkdf2:abc"))  # type: ignore[arg-type]
    with pytest.raises(TaintedValueError):
        render_template_string("{{ state.message }}", state=state)


def test_tainted_value_in_template_raises(app_ctx):
    with pytest.raises(TaintedValueError) as exc:
        render_template_string("{{ key }}", key=API_KEY)
    assert exc.value.reason == "The payment API key"


def test_tainted_value_is_no_oracle_in_production(app):
    """A user who typed the value sees what they typed: no confirmation of a guess."""
    app.testing = False
    with app.app_context():
        assert render_template_string("{{ key }}", key=API_KEY) == API_KEY


def test_other_values_render(app_ctx):
    assert render_template_string("{{ a }}", a="sk_live") == "sk_live"


def test_response_containing_tainted_value_raises_in_tests(client):
    with pytest.raises(TaintedValueError):
        client.get("/key-in-text")


def test_response_is_not_scanned_in_production(app, client):
    app.testing = False
    assert API_KEY in client.get("/key-in-text").text


def test_short_values_cannot_be_tainted(app_ctx):
    with pytest.raises(ValueError, match="8 characters or more"):
        taint("abc", "too short")


def test_secrets_compare_by_value():
    assert secret("a") == Secret("a")
    assert hash(secret("a")) == hash("a")
