from __future__ import annotations


def test_home_lists_every_example(client):
    page = client.get("/").text
    assert 'href="/users"' in page
    assert 'href="/username"' in page
    assert 'href="/admin/users"' in page
    assert 'href="/sign-in"' in page
    assert 'href="/profile"' in page
    assert 'href="/reports"' in page


def test_unknown_page_is_404(client):
    assert client.get("/nope").status_code == 404
