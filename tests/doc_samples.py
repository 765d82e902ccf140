"""Code samples of the README and docs/: fences with ``title="file"`` are files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FENCE = re.compile(
    r"^```(?P<lang>[\w+-]*)(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_TITLE = re.compile(r'title="([^"]+)"')
#: Languages that are programs or templates: each such sample must be a titled file.
CODE_LANGUAGES = frozenset({"python", "py", "jinja", "html+jinja", "html"})


@dataclasses.dataclass(frozen=True)
class Sample:
    lang: str
    title: str | None
    body: str
    line: int


def samples(text: str) -> list[Sample]:
    found = []
    for match in _FENCE.finditer(text):
        title = _TITLE.search(match.group("info"))
        found.append(
            Sample(
                lang=match.group("lang"),
                title=title.group(1) if title else None,
                body=match.group("body"),
                line=text.count("\n", 0, match.start()) + 1,
            )
        )
    return found


def section(text: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## ``."""
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 3)
    return text[start : end if end != -1 else len(text)]


def write_files(found: list[Sample], folder: Path) -> list[Path]:
    written = []
    for sample in found:
        if sample.title is None:
            continue
        path = folder / sample.title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sample.body)
        written.append(path)
    return written


def quick_start() -> list[Sample]:
    return samples(section((ROOT / "README.md").read_text(), "Quick start"))


def guides() -> list[Path]:
    return sorted((ROOT / "docs").glob("*.md"))


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def prose(text: str) -> str:
    """``text`` without its fenced code blocks (a ``# comment`` there is no heading)."""
    return _FENCE.sub("", text)


def links(text: str) -> list[str]:
    """The targets of the Markdown links in ``text``'s prose."""
    return _LINK.findall(_CODE_SPAN.sub("", prose(text)))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives ``text``'s headings (``-1``, ``-2`` for repeats)."""
    found: set[str] = set()
    for heading in _HEADING.findall(prose(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found
