"""The package's layers: every module has a place in the import-linter contract."""

from __future__ import annotations

import ast
import pkgutil
import tomllib

import flask_server_actions

from .doc_samples import ROOT

PACKAGE = "flask_server_actions"


def contract_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "importlinter"
    ]
    (contract,) = config["contracts"]
    return {
        module.strip()
        for layer in contract["layers"]
        for module in layer.replace(":", "|").split("|")
    }


def package_modules() -> set[str]:
    return {
        f"{PACKAGE}.{info.name}"
        for info in pkgutil.iter_modules(flask_server_actions.__path__)
    }


def test_every_module_has_a_layer():
    assert package_modules() - contract_modules() == set()
    assert contract_modules() - package_modules() == set()


def test_no_import_inside_a_function_but_optional_dependencies():
    """An import placed in a function would hide a cycle the contract cannot see."""
    # Optional dependencies; Flask-Limiter, which only apps with rate-limited
    # actions load; Flask-Login, which only apps that set it up load.
    optional = {
        "redis",
        "cachelib",
        "sqlalchemy.exc",
        "flask_limiter",
        "limits.storage",
        "flask_login",
    }
    found = []
    for path in sorted((ROOT / "src" / PACKAGE).glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    names = {alias.name for alias in inner.names}
                elif isinstance(inner, ast.ImportFrom):
                    names = {"." * inner.level + (inner.module or "")}
                else:
                    continue
                if not names <= optional:
                    found.append(f"{path.name}:{inner.lineno} {sorted(names)}")
    assert found == []


def test_flask_internals_are_named_in_compat_only():
    """Names Flask does not document, or is changing, appear in compat.py alone."""
    internals = (
        "request_ctx",
        "app_ctx",
        "_login_user",
        ".update_template_context",
        ".handle_http_exception",
        ".__dict__",
        "before_request_funcs",
        "after_request_funcs",
        "sansio.multipart",
    )
    found = []
    for path in sorted((ROOT / "src" / PACKAGE).glob("*.py")):
        if path.name == "compat.py":
            continue
        text = path.read_text()
        found.extend(f"{path.name}: {name}" for name in internals if name in text)
    assert found == []
