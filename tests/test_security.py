"""security_headers(): a CSP htmx can live with, no framing, HSTS only over HTTPS."""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from flask_server_actions import DEFAULT_CSP
from flask_server_actions import security_headers


def test_every_response_carries_the_policy(app, client):
    security_headers(app)
    app.add_url_rule("/", "index", lambda: "hi")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_only_over_https(app, client):
    security_headers(app)
    app.add_url_rule("/", "index", lambda: "hi")
    secure = client.get("/", base_url="https://example.com")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_trusted_proxy_that_ended_tls_gets_hsts(app, client):
    security_headers(app)
    app.add_url_rule("/", "index", lambda: "hi")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers


def test_a_custom_policy_and_a_view_that_sets_its_own(app, client):
    security_headers(app, csp={**DEFAULT_CSP, "img-src": "'self' https:"}, hsts=False)
    app.add_url_rule("/", "index", lambda: "hi")
    app.add_url_rule(
        "/embed",
        "embed",
        lambda: ("embeddable", 200, {"Content-Security-Policy": "frame-ancestors *"}),
    )
    assert "img-src 'self' https:" in client.get("/").headers["Content-Security-Policy"]
    assert (
        client.get("/embed").headers["Content-Security-Policy"] == "frame-ancestors *"
    )
    assert (
        "Strict-Transport-Security" not in client.get("/", base_url="https://x").headers
    )
