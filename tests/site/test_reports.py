from __future__ import annotations

import json
import re
import socket
import threading
import time

import pytest
from werkzeug.serving import make_server

from flask_server_actions.streaming import stream_closed

from .conftest import ADMIN
from .conftest import MEMBER
from .conftest import sign_in

RUN = "/reports/run?year=2026&region=all"


@pytest.fixture
def app(app):
    app.config["SITE_REPORT_SECTION_DELAY"] = 0
    return app


@pytest.fixture
def member(client):
    sign_in(client, *MEMBER)
    return client


def generate(client, mode="plain", **fields):
    """Fill in the report form on /reports and submit it."""
    typed = {"year": "2026", "region": "all"} | fields
    return client.submit("reports.generate_report", mode=mode, **typed).response


def test_reports_need_sign_in(client):
    assert "/sign-in" in client.get("/reports").headers["Location"]
    assert "/sign-in" in client.get(RUN).headers["Location"]


def test_generate_plain_redirects_to_the_stream(client, member):
    response = generate(client, region="north")
    assert response.status_code == 303
    assert response.headers["Location"] == "/reports/run?year=2026&region=north"


def test_generate_htmx_opens_an_sse_stream(client, member):
    response = generate(client, "htmx")
    assert response.status_code == 200
    assert 'hx-sse:connect="/reports/run?year=2026&amp;region=all"' in response.text
    assert 'hx-sse:close="done"' in response.text
    assert "0 of 12 months" in response.text
    assert '<option selected value="2026">' in response.text


def test_generate_json_says_where_the_stream_is(client, member):
    response = generate(client, "json", year="2025")
    assert response.status_code == 200
    assert response.json["data"]["stream_url"] == "/reports/run?year=2025&region=all"


@pytest.mark.parametrize("mode", ["plain", "htmx"])
def test_generate_invalid_year(client, member, mode):
    response = generate(client, mode, year="1999")
    assert response.status_code == 422
    assert "Not a valid choice." in response.text
    assert "hx-sse:connect" not in response.text


def test_report_page_streams_every_month(client, member):
    response = client.get(RUN)
    assert response.status_code == 200
    assert response.is_streamed
    html = response.text
    for month in ("January 2026", "June 2026", "December 2026"):
        assert month in html
    assert "Done: 12 of 12 months" in html
    assert html.index("January 2026") < html.index("1 of 12 months")
    assert html.index("1 of 12 months") < html.index("December 2026")
    assert "Year total:" in html
    assert html.rstrip().endswith("</html>")


def test_report_ndjson_one_line_per_month(client, member):
    response = client.get(RUN, headers={"Accept": "application/x-ndjson"})
    assert response.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [r["section"] for r in rows] == list(range(1, 13))
    assert rows[0]["month"] == "January 2026"
    assert all(r["of"] == 12 for r in rows)
    assert sum(r["orders"] for r in rows) > 0


def test_report_ndjson_region_filter(client, member):
    every = client.get(RUN, headers={"Accept": "application/x-ndjson"}).text
    north = client.get(
        "/reports/run?year=2026&region=north",
        headers={"Accept": "application/x-ndjson"},
    ).text
    orders = [
        sum(json.loads(x)["orders"] for x in t.splitlines()) for t in (every, north)
    ]
    assert 0 < orders[1] < orders[0]


def test_report_sse_messages(client, member):
    response = client.get(RUN, headers={"Accept": "text/html, text/event-stream"})
    assert response.mimetype == "text/event-stream"
    messages = response.text.split("\n\n")
    data = [m for m in messages if m.startswith("data:")]
    assert len(data) == 12
    assert "1 of 12 months" in data[0]
    assert "Done: 12 of 12 months" in data[-1]
    assert "event: done" in response.text


@pytest.mark.parametrize(
    "query", ["year=1999&region=all", "year=2026&region=moon", "year=abc"]
)
def test_report_stream_checks_its_parameters(client, member, query):
    assert client.get(f"/reports/run?{query}").status_code == 400


def test_closing_the_connection_stops_the_work(app, client, member):
    """A real server: the client reads one month and hangs up; the producer stops."""
    app.config["SITE_REPORT_SECTION_DELAY"] = 0.1
    cookie = client.get_cookie("session")
    assert cookie is not None
    ended = threading.Event()
    seen = {}

    def record(sender, produced, complete):
        seen.update(produced=produced, complete=complete)
        ended.set()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with stream_closed.connected_to(record, app):
            with socket.create_connection(("127.0.0.1", server.server_port)) as conn:
                conn.sendall(
                    f"GET {RUN} HTTP/1.1\r\nHost: localhost\r\n"
                    "Accept: application/x-ndjson\r\n"
                    f"Cookie: session={cookie.value}\r\n\r\n".encode()
                )
                received = b""
                while b'"section":1,' not in received:
                    chunk = conn.recv(4096)
                    assert chunk, "the server closed the stream early"
                    received += chunk
            # The client is gone; the server notices at its next write.
            assert ended.wait(10), "the producer never stopped"
    finally:
        server.shutdown()
        thread.join(5)
    assert seen["complete"] is False
    assert seen["produced"] <= 6, seen


@pytest.fixture
def live(app):
    """The site on a real threaded server; streams held there each have a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(5)


@pytest.fixture
def hold(app):
    """Streams opened while this is unset wait at their last month."""
    event = threading.Event()
    app.config["TEST_REPORT_HOLD_LAST"] = event
    yield event
    event.set()


def open_report(port, cookie, held):
    """A report stream from this browser, read up to its first month and left open."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    held.append(conn)
    conn.sendall(
        f"GET {RUN} HTTP/1.1\r\nHost: localhost\r\n"
        "Accept: application/x-ndjson\r\n"
        f"Cookie: session={cookie}\r\n\r\n".encode()
    )
    received = b""
    while b'"section":1,' not in received:
        chunk = conn.recv(4096)
        assert chunk, "the server closed the stream early"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200")


@pytest.fixture
def two_reports_open(client, member, live, hold):
    held: list[socket.socket] = []
    cookie = client.get_cookie("session").value
    open_report(live, cookie, held)
    open_report(live, cookie, held)
    yield hold
    hold.set()
    for conn in held:
        conn.close()


BUSY = (
    "You already have 2 streams open, the most at once. Wait for one to finish"
    " (or close its page), then try again."
)


@pytest.mark.parametrize("mode", ["htmx", "plain"])
def test_a_third_report_is_refused_in_the_form(client, two_reports_open, mode):
    response = generate(client, mode)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "5"
    assert BUSY in response.text
    assert "hx-sse:connect" not in response.text
    if mode == "plain":
        assert "<h1>Reports</h1>" in response.text  # the whole page, form in it


def test_a_report_can_start_again_once_one_finished(app, client, two_reports_open):
    two_reports_open.set()  # the held reports finish
    deadline = time.monotonic() + 10
    while generate(client, "htmx").status_code == 429:
        assert time.monotonic() < deadline, "the finished reports kept their places"
        time.sleep(0.05)


def test_a_third_stream_is_refused_in_each_encoding(client, two_reports_open):
    page = client.get(RUN)
    assert page.status_code == 429
    assert page.headers["Retry-After"] == "5"
    assert "<h1>Too many reports at once</h1>" in page.text
    assert BUSY in page.text
    assert 'href="/reports">Back to reports</a>' in page.text
    sse = client.get(RUN, headers={"Accept": "text/html, text/event-stream"})
    assert sse.status_code == 429
    assert sse.text.strip() == (
        f'<p class="report-refused sa-status sa-status--error" role="alert">{BUSY}</p>'
    )
    ndjson = client.get(RUN, headers={"Accept": "application/x-ndjson"})
    assert (ndjson.status_code, ndjson.json) == (429, {"ok": False, "message": BUSY})


@pytest.mark.app_config(SERVER_ACTIONS_STREAMS_PER_PROCESS=1)
def test_a_full_server_refuses_everyone_in_the_page(app, client, live, hold):
    """Other people's streams fill the process: the action passes, the stream says so."""
    admin = app.test_client()
    sign_in(admin, *ADMIN)
    held: list[socket.socket] = []
    try:
        open_report(live, admin.get_cookie("session").value, held)
        sign_in(client, *MEMBER)
        assert generate(client, "htmx").status_code == 200
        sse = client.get(RUN, headers={"Accept": "text/html, text/event-stream"})
        assert sse.status_code == 429
        assert "The server is busy with other streams right now." in sse.text
    finally:
        hold.set()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (
            "text/html",
            '<p class="report-stopped" role="status">The report took too long',
        ),
        (
            "text/event-stream",
            '<p class="report-stopped" role="status">The report took',
        ),
        ("application/x-ndjson", '"stopped":true'),
    ],
)
@pytest.mark.app_config(SERVER_ACTIONS_STREAM_TIME_LIMIT=0.35)
def test_a_report_past_its_time_limit_says_it_was_stopped(
    app, client, member, accept, expected
):
    app.config["SITE_REPORT_SECTION_DELAY"] = 0.1  # the site's own, read per request
    started = time.monotonic()
    text = client.get(RUN, headers={"Accept": accept}).text
    assert time.monotonic() - started < 1.5
    assert expected in text
    assert "December 2026" not in text
    # It says how far it got, in every encoding.
    assert re.search(r'after [1-9][0-9]? of 12 months|"done":[1-9]', text), text
    if accept == "text/event-stream":
        assert text.endswith("event: done\ndata: done\n\n")  # htmx closes, no retry
