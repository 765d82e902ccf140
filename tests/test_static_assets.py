"""The toolkit's script and stylesheet as pages load them: minified, fresh, small."""

from __future__ import annotations

import gzip

import pytest

from flask_server_actions import ServerActions
from flask_server_actions.assets import static_assets
from scripts.minify import SOURCES
from scripts.minify import STATIC
from scripts.minify import copy_name
from scripts.minify import minified

#: Issue 15: what every page loads, htmx included, compressed.
FIRST_LOAD_BUDGET = 16 * 1024


@pytest.mark.parametrize("source", SOURCES)
def test_the_minified_copy_is_made_from_the_source_as_it_is(source):
    on_disk = (STATIC / copy_name(source)).read_text(encoding="utf-8")
    assert on_disk == minified(source), (
        f"Run scripts/minify: {copy_name(source)} is stale."
    )


def test_a_page_without_optional_features_loads_at_most_16_kb_compressed(app):
    ServerActions(app)
    with app.test_request_context("/"):
        tags = str(static_assets())
    prefix = "/_server_actions/"
    loaded = [
        part.split('"', 1)[0]
        for part in tags.split(prefix)[1:]
        if part.split('"', 1)[0].endswith((".js", ".css"))
    ]
    assert sorted(loaded) == [
        "htmx/htmx.min.js",
        "server-actions.min.css",
        "server-actions.min.js",
    ]
    compressed = sum(len(gzip.compress((STATIC / n).read_bytes(), 9)) for n in loaded)
    assert compressed <= FIRST_LOAD_BUDGET, f"{compressed} bytes gzip"
