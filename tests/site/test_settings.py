"""The site's configuration comes from environment variables, checked at start."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from flask import Flask

from app import create_app
from app.settings import ConfigurationError
from app.settings import check_secret_key
from app.settings import flask_command_running
from app.settings import from_environment

SECRET = "s" * 40


def test_development_needs_no_variables(tmp_path):
    config = from_environment({}, str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'site.db'}"
    assert config["SITE_CREATE_SCHEMA"] is True
    assert config["SERVER_ACTIONS_CACHE"] == "memory"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SERVER_ACTIONS_STREAMS_PER_USER"] == 2
    assert config["SERVER_ACTIONS_STREAMS_PER_PROCESS"] == 4
    assert config["SERVER_ACTIONS_STREAM_TIME_LIMIT"] == 60


@pytest.mark.parametrize("secret", [None, "dev-only-not-secret", "short"])
def test_production_refuses_a_missing_or_weak_secret(tmp_path, secret):
    environ = {"SITE_ENV": "production"}
    if secret is not None:
        environ["SECRET_KEY"] = secret
    with pytest.raises(ConfigurationError, match="needs a real SECRET_KEY"):
        from_environment(environ, str(tmp_path))


def test_the_app_refuses_to_start_in_production_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SITE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        create_app()


def test_production_with_postgresql_and_redis(tmp_path):
    config = from_environment(
        {
            "SITE_ENV": "production",
            "SECRET_KEY": SECRET,
            "DATABASE_URL": "postgres://app@db/site",
            "REDIS_URL": "redis://cache:6379/1",
            "TRUSTED_PROXIES": "2",
            "ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "RATELIMIT_FAIL": "closed",
            "LOG_LEVEL": "warning",
        },
        str(tmp_path),
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://app@db/site"
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    assert config["SITE_CREATE_SCHEMA"] is False
    assert config["SERVER_ACTIONS_CACHE"] == "redis"
    assert config["SERVER_ACTIONS_RATELIMIT_STORAGE_URI"] == "redis://cache:6379/1"
    assert config["SERVER_ACTIONS_TRUSTED_PROXIES"] == 2
    assert config["SERVER_ACTIONS_ALLOWED_ORIGINS"] == [
        "https://a.example",
        "https://b.example",
    ]
    assert config["SERVER_ACTIONS_RATELIMIT_FAIL"] == "closed"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["LOG_LEVEL"] == "WARNING"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRUSTED_PROXIES", "two", "whole number"),
        ("TRUSTED_PROXIES", "-1", "negative"),
        ("SESSION_COOKIE_SECURE", "maybe", "true or false"),
    ],
)
def test_a_wrong_value_is_named(tmp_path, name, value, message):
    with pytest.raises(ConfigurationError, match=name):
        from_environment({name: value}, str(tmp_path))


def test_secure_cookies_in_production(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SITE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("CREATE_SCHEMA", "true")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}"})
    response = app.test_client().get("/contact", base_url="https://site.example")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "max-age=" in response.headers["Strict-Transport-Security"]


@pytest.mark.parametrize(
    "environ",
    [{}, {"SECRET_KEY": "dev-only-not-secret"}, {"SECRET_KEY": "short"}],
)
def test_another_server_refuses_the_development_key(environ):
    with pytest.raises(ConfigurationError, match="SITE_ENV=development"):
        check_secret_key(environ, flask_command=False)


@pytest.mark.parametrize(
    ("environ", "flask_command"),
    [
        ({}, True),
        ({"SITE_ENV": "development"}, False),
        ({"SECRET_KEY": SECRET}, False),
    ],
)
def test_the_development_key_where_development_is_asked_for(environ, flask_command):
    check_secret_key(environ, flask_command=flask_command)


def test_create_app_outside_the_flask_command_refuses_the_development_key(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SITE_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="not Flask's development server"):
        create_app()


def test_the_flask_command_is_recognised():
    from flask.cli import FlaskGroup

    assert flask_command_running() is False

    @click.command()
    def inner():
        click.echo(repr(flask_command_running()))

    group = FlaskGroup(create_app=lambda: Flask("probe"))
    group.add_command(inner, "probe")
    result = CliRunner().invoke(group, ["probe"])
    assert result.output.strip() == "True"
    assert CliRunner().invoke(inner).output.strip() == "False"
