"""``flask actions``: every action of the app, and the settings that put it at risk."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
import typing as t

import click
from flask import current_app
from flask.cli import with_appcontext

from .actions import Action
from .actions import all_actions
from .appstate import app_state
from .limits import format_size

#: Calls whose literal arguments say what an action revalidates.
_REVALIDATORS: t.Final = {"revalidate_tag": "tag", "revalidate_path": "path"}
#: Secret keys that are placeholders, not secrets.
_PLACEHOLDER_SECRETS: t.Final = frozenset(
    {"dev", "development", "secret", "changeme", "change-me", "test", "insecure"}
)
_MIN_SECRET_LENGTH: t.Final = 24
#: Words of a sentence standing in for a key ("replace this with a long random
#: string"); generated keys are one run of letters and digits.
_PLACEHOLDER_WORDS: t.Final = (
    "replace",
    "change",
    "random",
    "placeholder",
    "example",
    "insecure",
    "secret",
)


@dataclasses.dataclass(frozen=True)
class ActionInfo:
    """What ``flask actions`` reports about one action."""

    endpoint: str
    url: str
    blueprint: str
    form: str | None
    allow: str
    public: bool
    rate_limit: str | None
    max_body: str
    bound_arguments: list[str]
    revalidates: list[str]


def revalidated_by(func: t.Callable[..., t.Any]) -> list[str]:
    """``tag:…``, ``path:…`` and ``refresh`` calls in ``func``'s own source.

    Arguments that are not literals show as ``tag:?``; calls made in helper
    functions are not seen.
    """
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func
        name = callee.attr if isinstance(callee, ast.Attribute) else None
        if isinstance(callee, ast.Name):
            name = callee.id
        if name == "refresh" and not node.args:
            found.append("refresh")
        elif name in _REVALIDATORS:
            kind = _REVALIDATORS[name]
            for arg in node.args or [ast.Constant("?")]:
                literal = arg.value if isinstance(arg, ast.Constant) else "?"
                found.append(f"{kind}:{literal!s}")
    return list(dict.fromkeys(found))


def _weak(secret: str | bytes) -> bool:
    text = secret.decode(errors="replace") if isinstance(secret, bytes) else secret
    lowered = text.lower()
    return (
        len(text) < _MIN_SECRET_LENGTH
        or lowered in _PLACEHOLDER_SECRETS
        or any(c.isspace() for c in text)
        or any(word in lowered for word in _PLACEHOLDER_WORDS)
    )


def describe_action(act: Action) -> ActionInfo:
    """The facts about ``act`` on the current app."""
    rules = [r for r in current_app.url_map.iter_rules() if r.endpoint == act.endpoint]
    url = rules[0].rule if rules else act.rule
    limit = act.rate_limit
    if limit is not None and not isinstance(limit, str):
        try:
            limit = f"{limit()} (dynamic)"
        except Exception:  # noqa: BLE001 - it may need a request; say what it is
            limit = f"{getattr(limit, '__name__', 'callable')}() (dynamic)"
    if act.max_body is not None:
        max_body = format_size(act.max_body)
    else:
        max_body = f"{format_size(act.body_limit())} (app)"
    return ActionInfo(
        endpoint=act.endpoint,
        url=url,
        blueprint=act.endpoint.rsplit(".", 1)[0] if "." in act.endpoint else "",
        form=act.form_class.__name__ if act.form_class is not None else None,
        allow=act.policy.label,
        public=act.policy.is_public,
        rate_limit=limit,
        max_body=max_body,
        bound_arguments=list(act.bind),
        revalidates=revalidated_by(act.func),
    )


def risks(infos: list[ActionInfo], *, workers: int | None) -> list[str]:
    """Warnings about settings that put the app's actions at risk."""
    found: list[str] = []
    for info in infos:
        if info.public and info.rate_limit is None:
            found.append(
                f"{info.endpoint} is public and has no rate limit: anyone can call it"
                " as often as they like. Add rate_limit=… to the action."
            )
    secret = current_app.secret_key
    if not secret:
        found.append(
            "SECRET_KEY is not set: sessions, CSRF tokens and signed arguments fail."
        )
    elif not current_app.testing and _weak(secret):
        found.append(
            f"SECRET_KEY is short or a placeholder: use at least {_MIN_SECRET_LENGTH}"
            " random characters (python -c 'import secrets; print(secrets.token_hex())')."
        )
    if workers is not None and workers > 1:
        state = app_state()
        if state.settings.cache == "memory":
            found.append(
                f"SERVER_ACTIONS_CACHE is 'memory' with {workers} workers: each worker"
                " keeps its own caches, tag generations and submission keys. Use"
                " 'filesystem' (one machine) or 'redis'."
            )
        limiter = state.limiter  # none: no action of the app has a rate limit
        if limiter is not None and _in_memory(limiter.storage):
            found.append(
                f"Rate limits are counted in memory with {workers} workers: each"
                f" worker counts alone, so clients get up to {workers} times the limit."
                " Set SERVER_ACTIONS_RATELIMIT_STORAGE_URI to a redis:// URL."
            )
    return found


def _in_memory(storage: t.Any) -> bool:
    # Imported here: the limits package comes with Flask-Limiter, which only
    # apps with rate-limited actions load (see ratelimit.create_limiter).
    from limits.storage import MemoryStorage

    return isinstance(storage, MemoryStorage)


def _table(infos: list[ActionInfo]) -> str:
    header = (
        "ACTION",
        "URL",
        "BLUEPRINT",
        "FORM",
        "ALLOW",
        "PUBLIC",
        "RATE LIMIT",
        "MAX BODY",
        "REVALIDATES",
    )
    rows = [header] + [
        (
            i.endpoint,
            i.url,
            i.blueprint,
            i.form or "-",
            i.allow,
            "yes" if i.public else "no",
            i.rate_limit or "-",
            i.max_body,
            ", ".join(i.revalidates) or "-",
        )
        for i in infos
    ]
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@click.command("actions")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--workers",
    type=int,
    envvar="WEB_CONCURRENCY",
    help="How many worker processes will serve the app (default: $WEB_CONCURRENCY).",
)
@click.option(
    "--strict", is_flag=True, help="Exit with status 1 if there are warnings."
)
@with_appcontext
def actions_command(as_json: bool, workers: int | None, strict: bool) -> None:
    """List every server action with its URL, authorization and limits."""
    infos = [describe_action(act) for act in all_actions()]
    warnings = risks(infos, workers=workers)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "actions": [dataclasses.asdict(i) for i in infos],
                    "warnings": warnings,
                },
                indent=2,
            )
        )
    else:
        click.echo(_table(infos) if infos else "No actions.")
        for warning in warnings:
            click.secho(f"Warning: {warning}", fg="yellow", err=True)
    if strict and warnings:
        raise SystemExit(1)
