from __future__ import annotations

import json

import pytest
from flask import Blueprint
from flask import g
from flask import stream_template_string

from flask_server_actions import ServerActions
from flask_server_actions.streaming import sse_message
from flask_server_actions.streaming import stream_closed
from flask_server_actions.streaming import stream_response

PAGE = "<ol>{% for n in numbers %}<li>{{ n }}</li>{% endfor %}</ol>"


@pytest.fixture
def made():
    """What the producer did: the numbers it made and whether it was closed."""
    return {"numbers": [], "closed": False}


@pytest.fixture
def app(app, made):
    bp = Blueprint("counting", __name__)

    def numbers(upto):
        try:
            for n in range(1, upto + 1):
                made["numbers"].append(n)
                yield n
        except GeneratorExit:
            made["closed"] = True
            raise

    @bp.get("/count/<int:upto>")
    def count(upto):
        g.unit = "apples"  # the request context is there while streaming
        return stream_response(
            numbers(upto),
            html=lambda chunks: stream_template_string(PAGE, numbers=chunks),
            sse=lambda n: f"<p>{n} {g.unit}</p>\n<p>more</p>",
            ndjson=lambda n: {"n": n, "unit": g.unit},
        )

    app.register_blueprint(bp)
    ServerActions(app)
    return app


@pytest.fixture
def closed(app):
    seen = []

    def record(sender, **extra):
        seen.append(extra)

    with stream_closed.connected_to(record, app):
        yield seen


def test_html_by_default(client, closed):
    response = client.get("/count/3")
    assert response.mimetype == "text/html"
    assert response.text == "<ol><li>1</li><li>2</li><li>3</li></ol>"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Accept" in response.vary
    assert closed == [{"produced": 3, "complete": True}]


def test_html_for_wildcard_accept(client):
    response = client.get("/count/1", headers={"Accept": "*/*"})
    assert response.mimetype == "text/html"


def test_ndjson_when_asked(client, closed):
    response = client.get("/count/2", headers={"Accept": "application/x-ndjson"})
    assert response.mimetype == "application/x-ndjson"
    lines = response.text.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"n": 1, "unit": "apples"},
        {"n": 2, "unit": "apples"},
    ]
    assert response.text.endswith("\n")
    assert closed == [{"produced": 2, "complete": True}]


def test_html_preferred_over_ndjson(client):
    response = client.get(
        "/count/1", headers={"Accept": "text/html, application/x-ndjson;q=0.5"}
    )
    assert response.mimetype == "text/html"


def test_sse_for_htmx_sse_extension(client):
    # What htmx 4's hx-sse extension sends.
    response = client.get(
        "/count/2", headers={"Accept": "text/html, text/event-stream"}
    )
    assert response.mimetype == "text/event-stream"
    assert response.text == (
        ": stream open\n\n"
        "data: <p>1 apples</p>\ndata: <p>more</p>\n\n"
        "data: <p>2 apples</p>\ndata: <p>more</p>\n\n"
        "event: done\ndata: done\n\n"
    )


def test_sse_message_empty_data():
    assert sse_message("") == "data: \n\n"
    assert sse_message("x", event="done") == "event: done\ndata: x\n\n"


@pytest.mark.parametrize(
    "accept", ["text/html", "application/x-ndjson", "text/event-stream"]
)
def test_closing_early_stops_the_producer(client, made, closed, accept):
    response = client.get("/count/1000", headers={"Accept": accept}, buffered=False)
    chunks = iter(response.response)
    first = b""
    while b"1" not in first:
        first += next(chunks)
    response.close()  # what a WSGI server does when the client goes away
    assert made["closed"] is True
    assert len(made["numbers"]) < 5
    assert closed == [{"produced": len(made["numbers"]), "complete": False}]


def test_assets_load_the_vendored_sse_extension(app, client):
    from flask import render_template_string

    with app.test_request_context("/"):
        html = render_template_string('{{ server_actions_assets(extensions=["sse"]) }}')
        alone = render_template_string('{{ htmx_extensions("sse") }}')
    htmx_at = html.index("htmx/htmx.min.js")
    sse_at = html.index('src="/_server_actions/htmx/ext/hx-sse.min.js"')
    assert htmx_at < sse_at  # the extension registers itself with htmx
    assert (
        alone == '<script src="/_server_actions/htmx/ext/hx-sse.min.js" defer></script>'
    )
    served = client.get("/_server_actions/htmx/ext/hx-sse.min.js")
    assert served.status_code == 200
    assert b'registerExtension("sse"' in served.data
    served.close()


def test_unknown_htmx_extension(app):
    from flask_server_actions.assets import htmx_extensions

    with app.test_request_context("/"), pytest.raises(ValueError, match="'nope'"):
        htmx_extensions("nope")
