"""/likes: a like button and a view counter, actions outside forms (issue 5)."""

from __future__ import annotations

import re
import threading

from app.likes import DEMO_KEY
from app.models import Counter
from app.models import db
from tests.conftest import csrf_token_from

_BOUND = re.compile(r'id="like-likes-demo".*?name="_sa_bound" value="([^"]+)"')


def counts(app):
    with app.app_context():
        counter = db.session.get(Counter, DEMO_KEY)
        return (counter.likes, counter.views) if counter else (0, 0)


def like(client, headers=None, bound=None):
    page = client.get("/likes", headers={"User-Agent": "Mozilla/5.0 test"}).text
    data = {
        "csrf_token": csrf_token_from(page),
        "_sa_page": "/likes",
        "_sa_form": "like-likes-demo",
        "_sa_kind": "button",
        "_sa_bound": bound or _BOUND.search(page).group(1),
    }
    return client.post("/likes/like", data=data, headers=headers or {})


def test_the_page_shows_counts_and_a_plain_form_button(client):
    page = client.get("/likes").text
    assert 'action="/likes/like" method="post"' in page
    assert 'hx-sync="this:queue all"' in page
    assert "hx-disable" not in page.split('id="like-likes-demo"')[1].split(">")[0]
    assert "<strong>0</strong> likes" in page
    assert "Read <strong>1</strong> time" in page


def test_like_with_htmx_updates_the_count_in_place(app, client):
    response = like(client, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == "#like-likes-demo-status"
    assert "Thanks for the like!" in response.text
    count = response.text.split('<span id="like-count"', 1)[1]
    assert 'hx-swap-oob="outerHTML"' in count.split(">", 1)[0]
    assert "<strong>1</strong> like" in count
    assert counts(app)[0] == 1


def test_like_without_javascript_redirects_back(app, client):
    response = like(client)
    assert response.status_code == 303
    assert response.location == "/likes"
    page = client.get("/likes").text
    assert "Thanks for the like!" in page
    assert "<strong>1</strong> like" in page


def test_forged_like_is_refused(app, client):
    response = like(client, headers={"HX-Request": "true"}, bound="forged")
    assert response.status_code == 400
    assert counts(app)[0] == 0


def test_concurrent_likes_are_all_counted(app, tmp_path):
    """Eight clients liking at once: every like lands (likes = likes + 1 in SQL)."""
    clients = [app.test_client() for _ in range(8)]
    prepared = []
    for c in clients:
        page = c.get("/likes").text
        prepared.append(
            {
                "csrf_token": csrf_token_from(page),
                "_sa_page": "/likes",
                "_sa_form": "like-likes-demo",
                "_sa_kind": "button",
                "_sa_bound": _BOUND.search(page).group(1),
            }
        )
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def run(c, data):
        start.wait()
        for _ in range(3):
            statuses.append(c.post("/likes/like", data=data).status_code)

    threads = [
        threading.Thread(target=run, args=pair)
        for pair in zip(clients, prepared, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [303] * 24
    assert counts(app)[0] == 24


def test_views_count_page_views_once_per_session(app, client):
    client.get("/likes")
    client.get("/likes")  # a refresh is not a new reader
    assert counts(app)[1] == 1
    app.test_client().get("/likes")  # another reader
    assert counts(app)[1] == 2


def test_views_skip_head_htmx_and_bots(app):
    browser = app.test_client()
    assert browser.head("/likes").status_code == 200
    browser.get("/likes", headers={"HX-Request": "true", "HX-Target": "like-count"})
    app.test_client().get("/likes", headers={"User-Agent": "Googlebot/2.1"})
    app.test_client().get("/likes", headers={"User-Agent": "curl/8.0"})
    assert counts(app)[1] == 0


def test_a_region_refetch_gets_the_count_alone(client):
    response = client.get(
        "/likes", headers={"HX-Request": "true", "HX-Target": "span#like-count"}
    )
    assert response.status_code == 200
    assert response.text.startswith('<span id="like-count"')
    assert "<h1>" not in response.text
