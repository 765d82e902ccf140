"""The wheel, installed into a fresh virtualenv outside the repository, runs the quick start."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import venv
import zipfile
from http.cookiejar import CookieJar

import pytest

from .doc_samples import ROOT
from .doc_samples import quick_start
from .doc_samples import write_files


def run(*args, cwd, env=None, timeout=300):
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT, cwd=ROOT)
    (found,) = out.glob("flask_server_actions-*.whl")
    return found


def test_wheel_carries_the_assets_and_types(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for inside in (
        "flask_server_actions/py.typed",
        "flask_server_actions/static/htmx/htmx.min.js",
        "flask_server_actions/static/htmx/LICENSE",
        "flask_server_actions/static/htmx/VERSION.txt",
        "flask_server_actions/static/server-actions.js",
        "flask_server_actions/static/server-actions.min.js",
        "flask_server_actions/static/server-actions-optimistic.min.js",
        "flask_server_actions/static/server-actions-live.min.js",
        "flask_server_actions/static/server-actions.css",
        "flask_server_actions/static/server-actions.min.css",
        "flask_server_actions/static/server-actions-pages.min.css",
        "flask_server_actions/static/server-actions-optimistic.min.css",
        "flask_server_actions/static/server-actions-upload.min.css",
        "flask_server_actions/static/server-actions-offline.min.css",
        "flask_server_actions/pytest_plugin.py",
    ):
        assert inside in names, inside
    assert not any(n.startswith(("app/", "tests/", "bench/")) for n in names)


@pytest.fixture(scope="module")
def fresh_env(wheel, tmp_path_factory):
    """A virtualenv outside the repository with only the wheel and pytest installed."""
    home = tmp_path_factory.mktemp("newcomer")
    venv.create(home / ".venv", with_pip=True)
    bin_dir = home / ".venv" / "bin"
    run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        wheel,
        "pytest",
        cwd=home,
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    write_files(quick_start(), home)
    return home, bin_dir, env


def test_quick_start_tests_pass_in_a_fresh_virtualenv(fresh_env):
    home, bin_dir, env = fresh_env
    result = run(bin_dir / "pytest", "-q", "-p", "no:cacheprovider", cwd=home, env=env)
    assert "2 passed" in result.stdout
    # Naming the plugin as well (as this repository's conftest does) loads it once.
    plugin = ("-p", "flask_server_actions.pytest_plugin")
    again = run(
        bin_dir / "pytest", "-q", "-p", "no:cacheprovider", *plugin, cwd=home, env=env
    )
    assert "2 passed" in again.stdout
    listed = run(bin_dir / "flask", "--app", "guestbook", "actions", cwd=home, env=env)
    assert "guestbook.sign" in listed.stdout
    assert "10/minute" in listed.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_quick_start_app_serves_and_posts_without_javascript(fresh_env):
    home, bin_dir, env = fresh_env
    port = free_port()
    log = home / "server.log"
    log_file = log.open("w")
    server = subprocess.Popen(
        [bin_dir / "flask", "--app", "guestbook", "run", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar())
        )

        def fetch(path, data=None):
            with opener.open(base + path, data=data, timeout=5) as response:
                return response.geturl(), response.status, response.read().decode()

        page = None
        for _ in range(100):
            try:
                page = fetch("/")[2]
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        assert page is not None, log.read_text()
        assert "Guestbook (" in page
        assert "/_server_actions/htmx/htmx.min.js" in page
        hidden = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
        )
        (target,) = re.findall(r'<form id="guestbook-sign"[^>]* action="([^"]+)"', page)
        body = urllib.parse.urlencode({**hidden, "message": "Hello from a new user"})
        # urllib follows the 303 with a GET, as a browser does.
        url, _, html = fetch(target, body.encode())
        assert url == base + "/"
        assert "Thanks for signing!" in html
        assert "<li>Hello from a new user</li>" in html
        assert fetch("/_server_actions/htmx/htmx.min.js")[1] == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        log_file.close()
        shutil.rmtree(home / "__pycache__", ignore_errors=True)
