from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import settings

# CI runs the same examples every time, so a failure there reproduces locally with
# HYPOTHESIS_PROFILE=ci.
settings.register_profile("ci", derandomize=True, print_blob=True, database=None)
settings.load_profile(
    os.environ.get(
        "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "default"
    )
)

# Also an installed entry point under this name, so pytest loads it once.
pytest_plugins = ["flask_server_actions.pytest_plugin"]

HERE = Path(__file__).parent
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(request, tmp_path) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(HERE / "templates"),
        # The submission ledger's file goes in the instance folder.
        instance_path=str(tmp_path / "instance"),
    )
    app.config.update(TESTING=True, SECRET_KEY="test secret")
    # Config is read once when the extension is set up, so a test that needs
    # other settings says so with @pytest.mark.app_config(KEY=value).
    marker = request.node.get_closest_marker("app_config")
    if marker is not None:
        app.config.update(marker.kwargs)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context() as ctx:
        yield ctx


@pytest.fixture
def req_ctx(app):
    with app.test_request_context() as ctx:
        yield ctx


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = _TOKEN.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)
