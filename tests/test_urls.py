from __future__ import annotations

import pytest

from flask_server_actions import local_path


@pytest.mark.parametrize("path", ["/", "/users", "/posts/hello?sort=new#top"])
def test_local_paths_pass(path):
    assert local_path(path) == path


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "users",
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "/" + "a" * 2048,
    ],
)
def test_anything_that_could_leave_the_site_is_refused(value):
    assert local_path(value) is None
