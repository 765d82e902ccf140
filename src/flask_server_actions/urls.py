"""Which URLs the toolkit will send a browser to: local paths only."""

from __future__ import annotations

from urllib.parse import urlsplit

#: Longer page paths are refused rather than echoed into forms and redirects.
MAX_PATH: int = 2048


def local_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site, else ``None``.

    Refuses absolute and scheme-relative URLs (``//evil.example``), backslashes
    (which some browsers read as ``/``), control characters and very long
    values, so a client-supplied "next page" can never lead off the site.

    .. versionadded:: 0.1
    """
    if not value or len(value) > MAX_PATH:
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(c) < 32 for c in value):
        return None
    return value


def netloc_of(url: str) -> str:
    """The lower-case ``host[:port]`` of ``url``; empty if it is not a URL."""
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""
