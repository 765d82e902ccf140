"""Every code sample in docs/ and the README's quick start runs, with its own tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from flask_server_actions import __all__ as public_names
from flask_server_actions.settings import DEFAULTS as SETTINGS_DEFAULTS

from .doc_samples import CODE_LANGUAGES
from .doc_samples import ROOT
from .doc_samples import anchors
from .doc_samples import guides
from .doc_samples import links
from .doc_samples import quick_start
from .doc_samples import samples
from .doc_samples import write_files


def run_pytest(folder):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(folder)]))
    env.pop("CI", None)  # the samples' own runs need no services
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Installed as an entry point too; named so, pytest loads it once.
            "-p",
            "flask_server_actions.pytest_plugin",
            str(folder),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("doc", guides(), ids=lambda p: p.name)
def test_every_code_sample_is_a_file(doc):
    untitled = [
        s.line
        for s in samples(doc.read_text())
        if s.lang in CODE_LANGUAGES and s.title is None
    ]
    assert not untitled, f'{doc.name}: samples without title="file" at lines {untitled}'


@pytest.mark.parametrize(
    "doc",
    [d for d in guides() if any(s.title for s in samples(d.read_text()))],
    ids=lambda p: p.name,
)
def test_guide_samples_run(doc, tmp_path):
    files = write_files(samples(doc.read_text()), tmp_path)
    assert any(f.name.startswith("test_") for f in files), (
        f"{doc.name} shows code but no test_*.py sample that runs it"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_quick_start_samples_run(tmp_path):
    found = quick_start()
    assert {s.title for s in found if s.title} == {
        "guestbook.py",
        "templates/index.html",
        "test_guestbook.py",
    }
    write_files(found, tmp_path)
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_reference_names_every_public_name_and_config_key():
    reference = (ROOT / "docs" / "reference.md").read_text()
    missing = [name for name in public_names if f"`{name}" not in reference]
    assert not missing, f"docs/reference.md does not document {missing}"
    keys = set(SETTINGS_DEFAULTS)
    assert keys
    undocumented = sorted(k for k in keys if f"`{k}`" not in reference)
    assert not undocumented, f"docs/reference.md lacks config keys {undocumented}"


@pytest.mark.parametrize(
    "doc",
    [ROOT / "README.md", *guides()],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_relative_link_points_to_a_file_and_anchor(doc):
    broken = []
    for target in links(doc.read_text()):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and (
            linked.suffix != ".md" or anchor not in anchors(linked.read_text())
        ):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{doc.name}: broken links {broken}"


def test_the_link_checker_reads_anchors_as_github_does():
    text = (
        '## Quick start: your own app\n## Error boundaries and "Try again"\n## A\n## A'
    )
    assert anchors(text) == {
        "quick-start-your-own-app",
        "error-boundaries-and-try-again",
        "a",
        "a-1",
    }
    assert links("[x](a.md#b) ![img](i.png) `[no](code)` [`y`](c.md)") == [
        "a.md#b",
        "c.md",
    ]
