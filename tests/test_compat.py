"""Each shim of ``compat.py``, on the installed Flask and on Flask 3.2's signatures."""

from __future__ import annotations

import pytest
from flask import Flask
from flask import g
from flask import request
from flask.globals import app_ctx
from flask_login import AnonymousUserMixin
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import ServiceUnavailable

from flask_server_actions import compat

#: Whether the installed Flask already has 3.2's signatures.
FLASK_32 = compat._takes_app_context(Flask.update_template_context)


class NextFlask(Flask):
    """Flask 3.2's dispatch signatures (the app context first), on any Flask."""

    seen: list[object]

    def update_template_context(self, ctx, context):  # type: ignore[override]
        self.seen.append(ctx)
        base = super().update_template_context
        base(ctx, context) if FLASK_32 else base(context)  # type: ignore[call-arg]

    def handle_http_exception(self, ctx, e):  # type: ignore[override]
        self.seen.append(ctx)
        base = super().handle_http_exception
        return base(ctx, e) if FLASK_32 else base(e)  # type: ignore[call-arg]


def with_processor(app: Flask) -> Flask:
    app.context_processor(lambda: {"site": "demo"})
    return app


@pytest.mark.parametrize("cls", [Flask, NextFlask])
def test_update_template_context_runs_context_processors(cls):
    app = with_processor(cls(__name__))
    app.seen = []  # type: ignore[attr-defined]
    context: dict[str, object] = {"own": 1}
    with app.test_request_context("/"):
        compat.update_template_context(app, context)
        if cls is NextFlask:
            assert app.seen == [app_ctx._get_current_object()]  # type: ignore[attr-defined]
    assert context["site"] == "demo"
    assert context["own"] == 1
    assert "request" in context


@pytest.mark.parametrize("cls", [Flask, NextFlask])
def test_handle_http_exception_uses_the_apps_handler(cls):
    app = cls(__name__)
    app.seen = []  # type: ignore[attr-defined]
    app.register_error_handler(503, lambda _: ("the site is resting", 503))
    with app.test_request_context("/"):
        handled = compat.handle_http_exception(app, ServiceUnavailable())
        assert app.make_response(handled).get_data(as_text=True) == (
            "the site is resting"
        )
        # Without a handler, the exception itself comes back.
        assert isinstance(compat.handle_http_exception(app, NotFound()), NotFound)
        if cls is NextFlask:
            assert len(app.seen) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("read_first", [False, True], ids=["unread", "read"])
def test_query_string_of_swaps_and_restores_the_args(read_first):
    app = Flask(__name__)
    with app.test_request_context("/actions/add?page=9"):
        if read_first:
            assert request.args["page"] == "9"
        with compat.query_string_of(request, "/notes?q=a+b&empty="):
            assert request.args.to_dict() == {"q": "a b", "empty": ""}
        assert request.args.to_dict() == {"page": "9"}


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def signed_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "compat"
    manager = LoginManager(app)
    manager.user_loader(User)
    return app


def test_signed_in_as_lasts_for_the_block_only():
    app = signed_app()
    with app.app_context():
        with app.test_request_context("/"), compat.signed_in_as(User("7")):
            assert current_user.get_id() == "7"
        # The app context (which Flask 3.0/3.1 reuse for later requests) keeps
        # no user behind.
        assert "_login_user" not in g
        with app.test_request_context("/"):
            assert not current_user.is_authenticated


def test_signed_in_as_restores_the_user_of_the_request():
    app = signed_app()
    with app.test_request_context("/"):
        outer = User("1")
        g._login_user = outer
        with compat.signed_in_as(User("2")):
            assert current_user.get_id() == "2"
        assert current_user.get_id() == "1"


def test_signed_in_as_anonymous_signs_out_for_the_block():
    app = signed_app()
    with app.test_request_context("/"):
        g._login_user = User("1")
        with compat.signed_in_as(AnonymousUserMixin()):
            assert not current_user.is_authenticated
        assert current_user.get_id() == "1"


def test_signed_in_as_without_flask_login_says_what_is_missing():
    app = Flask(__name__)
    with (
        app.test_request_context("/"),
        pytest.raises(RuntimeError, match="LoginManager"),
        compat.signed_in_as(User("1")),
    ):
        pass


def test_multipart_decoder_reads_a_body():
    decoder = compat.MultipartDecoder(b"b")
    decoder.receive_data(
        b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nHello\r\n--b--\r\n'
    )
    decoder.receive_data(None)
    events = []
    while not isinstance(event := decoder.next_event(), compat.MultipartEpilogue):
        events.append(event)
    fields = [e for e in events if isinstance(e, compat.MultipartField)]
    data = [e for e in events if isinstance(e, compat.MultipartData)]
    assert [f.name for f in fields] == ["title"]
    assert b"".join(d.data for d in data) == b"Hello"


def test_each_request_in_a_held_app_context_loads_its_own_user():
    app = signed_app()
    app.config["TESTING"] = True
    app.get("/who")(lambda: current_user.get_id() or "nobody")
    from flask_server_actions import ServerActions

    ServerActions(app)
    client = app.test_client()
    with app.app_context():
        assert client.get("/who").text == "nobody"
        with client.session_transaction() as session:
            session["_user_id"] = "7"
        assert client.get("/who").text == "7"


def test_request_url_adapter_is_the_one_flask_bound_to_the_request():
    app = Flask(__name__)
    app.add_url_rule("/items/<int:n>", "item", lambda n: str(n))
    with app.test_request_context("/other", base_url="http://shop.example"):
        adapter = compat.request_url_adapter(app, request._get_current_object())
        assert adapter is not None
        # Flask's own, not a new one bound again for every match.
        assert adapter is compat.request_url_adapter(app, request._get_current_object())
        assert adapter.match("/items/3", method="GET") == ("item", {"n": 3})
        assert adapter.server_name == "shop.example"


def test_request_url_adapter_binds_another_request_anew():
    app = Flask(__name__)
    app.add_url_rule("/items/<int:n>", "item", lambda n: str(n))
    other = app.test_request_context("/items/4").request
    with app.test_request_context("/"):
        adapter = compat.request_url_adapter(app, other)
        assert adapter is not None
        assert adapter.match(method="GET") == ("item", {"n": 4})
