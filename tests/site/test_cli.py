"""``flask actions`` on the reference site."""

from __future__ import annotations

import json

import pytest

from app import create_app
from flask_server_actions.cli import revalidated_by


def test_lists_every_action_with_its_settings(app):
    result = app.test_cli_runner().invoke(args=["actions"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "ACTION",
        "URL",
        "BLUEPRINT",
        "FORM",
        "ALLOW",
        "PUBLIC",
        "RATE",
        "LIMIT",
        "MAX",
        "BODY",
        "REVALIDATES",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    with app.app_context():
        from flask_server_actions.actions import all_actions

        assert set(rows) == {a.endpoint for a in all_actions()}
    assert rows["admin.delete_user"][1:6] == [
        "/admin/users/delete",
        "admin",
        "-",
        "role:admin",
        "no",
    ]
    assert rows["users.create_user"][-1] == "tag:users"


def test_json_output(app):
    result = app.test_cli_runner().invoke(args=["actions", "--json"])
    assert result.exit_code == 0, result.output
    found = {a["endpoint"]: a for a in json.loads(result.stdout)["actions"]}
    contact = found["contact.send_message"]
    assert contact["public"] is True
    assert contact["rate_limit"].endswith("(dynamic)")
    assert contact["max_body"] == "16 KB"
    assert found["admin.delete_user"]["bound_arguments"] == ["user_id"]


def test_warns_about_public_actions_without_a_rate_limit(app):
    result = app.test_cli_runner().invoke(args=["actions", "--json"])
    warnings = json.loads(result.stdout)["warnings"]
    limited = [w for w in warnings if "contact.send_message" in w]
    assert limited == []
    assert any(w.startswith("users.create_user is public") for w in warnings)


def test_warns_about_memory_backends_under_several_workers(app, tmp_path):
    runner = app.test_cli_runner()
    one = json.loads(runner.invoke(args=["actions", "--json"]).stdout)["warnings"]
    assert not any("workers" in w for w in one)
    four = runner.invoke(args=["actions", "--json", "--workers", "4"])
    warnings = json.loads(four.stdout)["warnings"]
    assert any(
        w.startswith("SERVER_ACTIONS_CACHE is 'memory' with 4") for w in warnings
    )
    assert any(w.startswith("Rate limits are counted in memory") for w in warnings)
    # With Redis for the cache, the limiter counts there too: no warning for either.
    shared = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "site tests",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shared.db'}",
            "SERVER_ACTIONS_CACHE": "redis",
            "SERVER_ACTIONS_REDIS_URL": "redis://127.0.0.1:6379",
        }
    )
    again = shared.test_cli_runner().invoke(
        args=["actions", "--json", "--workers", "4"]
    )
    assert not any("workers" in w for w in json.loads(again.stdout)["warnings"])


def test_warns_about_a_missing_or_weak_secret_key(app):
    runner = app.test_cli_runner()
    app.secret_key = None
    warnings = json.loads(runner.invoke(args=["actions", "--json"]).stdout)["warnings"]
    assert "SECRET_KEY is not set" in " ".join(warnings)
    app.testing = False
    app.secret_key = "dev"
    warnings = json.loads(runner.invoke(args=["actions", "--json"]).stdout)["warnings"]
    assert "SECRET_KEY is short or a placeholder" in " ".join(warnings)


@pytest.mark.parametrize(
    "secret",
    [
        "replace this with a long random string",
        "a long random string in real life",
        "change-me-please-before-deploying",
        "my-secret-key-for-production-use",
    ],
)
def test_strict_flags_a_placeholder_sentence_as_secret_key(app, secret):
    app.testing = False
    app.secret_key = secret
    result = app.test_cli_runner().invoke(args=["actions", "--strict"])
    assert result.exit_code != 0
    assert "SECRET_KEY is short or a placeholder" in result.output


def test_a_generated_secret_key_is_not_flagged(app):
    app.testing = False
    app.secret_key = "9f2c4e1ab07d4c93a8e5d6f1b2c3a4e5f60718293a4b5c6d"
    warnings = json.loads(
        app.test_cli_runner().invoke(args=["actions", "--json"]).stdout
    )["warnings"]
    assert not any("SECRET_KEY" in w for w in warnings)


def test_strict_exits_non_zero_on_warnings(app):
    result = app.test_cli_runner().invoke(args=["actions", "--strict"])
    assert result.exit_code == 1
    assert "Warning: users.create_user is public" in result.stderr


def test_revalidated_by_reads_literal_calls():
    from flask_server_actions import refresh
    from flask_server_actions import revalidate_path
    from flask_server_actions import revalidate_tag

    def act(slug):
        revalidate_tag("posts", "popular")
        revalidate_path("/posts")
        revalidate_path(f"/posts/{slug}")
        refresh()

    assert revalidated_by(act) == [
        "tag:posts",
        "tag:popular",
        "path:/posts",
        "path:?",
        "refresh",
    ]
    assert revalidated_by(len) == []
