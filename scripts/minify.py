"""Write the minified copies of the toolkit's own scripts and stylesheet.

Pages load ``*.min.js`` and ``*.min.css``; the readable files beside them are
the source. Run ``scripts/minify`` after editing one: ``tests/test_assets.py``
fails while a copy is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import rcssmin
import rjsmin

STATIC = Path(__file__).resolve().parent.parent / "src/flask_server_actions/static"

#: The sources, beside their copies; htmx ships minified already.
SOURCES = (
    "server-actions.js",
    "server-actions-optimistic.js",
    "server-actions-validate.js",
    "server-actions-upload.js",
    "server-actions-offline.js",
    "server-actions-live.js",
    "server-actions.css",
    "server-actions-pages.css",
    "server-actions-optimistic.css",
    "server-actions-upload.css",
    "server-actions-offline.css",
)


def copy_name(source: str) -> str:
    stem, _, suffix = source.rpartition(".")
    return f"{stem}.min.{suffix}"


def minified(source: str) -> str:
    """The minified copy of ``source`` as it must be on disk."""
    text = (STATIC / source).read_text(encoding="utf-8")
    body = rcssmin.cssmin(text) if source.endswith(".css") else rjsmin.jsmin(text)
    return f"/* {source}, minified by scripts/minify: edit that file */\n{body}\n"


def main() -> int:
    for source in SOURCES:
        (STATIC / copy_name(source)).write_text(minified(source), encoding="utf-8")
        print(f"wrote {copy_name(source)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
