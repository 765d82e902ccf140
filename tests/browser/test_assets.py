"""Scripts a page does not use are not downloaded (issue 15: first-load JavaScript)."""

from __future__ import annotations

OPTIMISTIC = "server-actions-optimistic.min.js"


def scripts_loaded(page, path: str) -> list[str]:
    loaded: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return [url.rsplit("/", 1)[-1] for url in loaded if url.endswith(".js")]


def test_a_page_without_optimistic_markup_loads_no_optimistic_script(page, js):
    loaded = scripts_loaded(page, "/users")
    assert OPTIMISTIC not in loaded
    if js:
        assert "server-actions.min.js" in loaded


def test_a_page_with_optimistic_markup_loads_the_script_it_needs(page, js):
    loaded = scripts_loaded(page, "/todos")
    # Without JavaScript no script runs, so none loads another.
    assert (OPTIMISTIC in loaded) is js


def test_optional_styles_come_with_their_scripts_before_the_pages_own(page, js):
    page.goto("/todos")
    page.wait_for_load_state("networkidle")
    sheets = page.evaluate(
        "[...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href)"
    )
    names = [href.rsplit("/", 1)[-1] for href in sheets]
    if not js:
        assert "server-actions-optimistic.min.css" not in names
        return
    # Before the site's own, so its rules for .sa-optimistic* win (the
    # outbox's styles, also on this page, come the same way).
    assert names.index("server-actions-optimistic.min.css") < names.index("site.css")
    assert names.index("server-actions-offline.min.css") < names.index("site.css")
    opacity = page.evaluate(
        "(() => { const e = document.createElement('li');"
        " e.className = 'sa-optimistic'; document.body.append(e);"
        " return getComputedStyle(e).opacity; })()"
    )
    assert opacity == "0.65"
