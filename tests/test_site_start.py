"""Starting the real site: which key it signs with, and a first start with several workers.

Every server here is a real process (gunicorn, or Flask's development server
through ``scripts/serve``), configured only through the environment.
"""

from __future__ import annotations

import sqlite3
import subprocess
import urllib.request

import pytest

from tests.site_servers import BIN
from tests.site_servers import ROOT
from tests.site_servers import free_port
from tests.site_servers import site_env
from tests.site_servers import start_site
from tests.site_servers import stop
from tests.site_servers import wait_for_port

REFUSAL = "SECRET_KEY is missing or weak, and this server is not Flask's development"


def development_env(tmp_path, **overrides: str) -> dict[str, str]:
    """The environment of a fresh checkout: no SECRET_KEY, no SITE_ENV, SQLite."""
    env = site_env(SITE_INSTANCE_PATH=str(tmp_path), **overrides)
    for name in ("SECRET_KEY", "SITE_ENV"):
        if name not in overrides:
            del env[name]
    return env


def run_gunicorn(env: dict[str, str], *args: str, cwd=ROOT):
    """Start gunicorn and wait for it to give up (it should)."""
    return subprocess.run(
        [str(BIN / "gunicorn"), *args],
        cwd=cwd,
        env=env | {"BIND": f"127.0.0.1:{free_port()}"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=15) as response:
        return response.status, response.read().decode()


@pytest.mark.parametrize("secret", [None, "dev-only-not-secret", "too short"])
def test_gunicorn_refuses_the_development_key(tmp_path, secret):
    env = development_env(tmp_path)
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = run_gunicorn(env, "-c", "gunicorn.conf.py", "wsgi:app")
    assert result.returncode != 0
    assert REFUSAL in result.stderr
    assert "SITE_ENV=development" in result.stderr


def test_gunicorn_without_its_config_file_refuses_too(tmp_path):
    """A platform's own command line: each worker refuses, so gunicorn exits."""
    env = development_env(tmp_path)
    # Run from elsewhere, so gunicorn does not find ./gunicorn.conf.py.
    result = run_gunicorn(env, "--chdir", str(ROOT), "wsgi:app", cwd=tmp_path)
    assert result.returncode != 0
    assert REFUSAL in result.stderr


def test_gunicorn_starts_when_development_is_asked_for(tmp_path):
    proc, url = start_site(development_env(tmp_path, SITE_ENV="development"))
    try:
        status, _ = get(url + "/")
        assert status == 200
    finally:
        stop(proc)


def test_gunicorn_starts_with_a_real_key_and_no_site_env(tmp_path):
    proc, url = start_site(development_env(tmp_path, SECRET_KEY="k" * 40))
    try:
        assert get(url + "/")[0] == 200
    finally:
        stop(proc)


def test_scripts_serve_needs_no_set_up(tmp_path):
    """The README's first command: Flask's development server, no variables at all."""
    port = free_port()
    env = development_env(tmp_path) | {"PORT": str(port)}
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "scripts/serve")
        status, html = get(f"http://127.0.0.1:{port}/users")
        assert status == 200
        assert "Ada Lovelace" in html
    finally:
        stop(proc)


@pytest.mark.parametrize("attempt", range(3))
def test_several_workers_create_and_seed_a_fresh_database_once(tmp_path, attempt):
    """Four workers start at once on an empty instance folder: one creates, none fails."""
    env = development_env(tmp_path, SITE_ENV="development", WEB_CONCURRENCY="4")
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as stderr:
        port = free_port()
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env | {"BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "info"},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_for_port(port, proc, "gunicorn")
            # Every worker answers (each request may land on any of them).
            for _ in range(12):
                status, html = get(f"http://127.0.0.1:{port}/users")
                assert status == 200
                assert "Ada Lovelace" in html
            assert proc.poll() is None
        finally:
            stop(proc)
    text = log.read_text()
    assert "Traceback" not in text, text
    assert text.count("Booting worker") == 4, text
    with sqlite3.connect(tmp_path / "site.db") as conn:
        emails = [row[0] for row in conn.execute("SELECT email FROM users")]
        products = conn.execute("SELECT count(*) FROM products").fetchone()[0]
    assert sorted(emails) == [
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
    assert products == 330


def test_tests_and_the_flask_command_keep_the_development_key(tmp_path):
    """``flask --app wsgi …`` (no server) loads the site without a key, as before."""
    env = development_env(tmp_path)
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "/users" in result.stdout
