"""Leak scans: did a secret value reach a file?

:func:`scan_for_secrets` looks for known secret values in any file, text or binary, in the
forms a value takes on its way into a notebook, an HTML report or a log: as is, JSON-escaped,
HTML-escaped, URL-encoded and base64 (also inside a longer base64 string, e.g. a Basic auth
header). :func:`notebook_secret_risks` needs no list of secrets: it flags what should never
be in a notebook — a saved ``Password`` widget value, or a secret-looking papermill parameter
that holds a value instead of the name of an environment variable.

A :class:`Leak` names the file, the form and where in a notebook; never the secret itself,
at most its :func:`helpers.common.redact.fingerprint`.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import html
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.common.redact import fingerprint

__all__ = [
    "Leak",
    "encoded_forms",
    "is_env_var_name",
    "looks_secret",
    "notebook_secret_risks",
    "scan_for_secrets",
    "secret_valued_parameters",
]

MIN_ENCODED_LENGTH = 8  # shorter secrets are only looked for as is and JSON/HTML-escaped
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_SECRET_WORDS = {
    "secret",
    "secrets",
    "password",
    "passwd",
    "pwd",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
}
_ENV_VAR_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")


@dataclass(frozen=True)
class Leak:
    """A secret (or what looks like one) found in a file."""

    path: Path
    kind: str  # the form found: plain, json-escaped, base64, ..., or a notebook risk
    secret: str = ""  # fingerprint of the value, never the value
    where: str = ""  # inside a notebook: the JSON path, e.g. metadata.widgets...

    def __str__(self) -> str:
        where = f" at {self.where}" if self.where else ""
        secret = f" ({self.secret})" if self.secret else ""
        return f"{self.path}: {self.kind}{where}{secret}"


# -- scanning files for known values -------------------------------------------------------
def scan_for_secrets(paths: Iterable[Path], secrets: Iterable[str]) -> list[Leak]:
    """Every secret found, in any of its encoded forms, in the files given.

    Directories are scanned recursively. One :class:`Leak` per file, secret, kind of form
    and, in a notebook, JSON path.
    """
    patterns = [
        (secret, form, kind)
        for secret in dict.fromkeys(s for s in secrets if s)
        for form, kind in encoded_forms(secret).items()
    ]
    leaks: dict[tuple[Path, str, str, str], Leak] = {}
    for path in _files(paths):
        data = path.read_bytes()
        found = [(secret, form, kind) for secret, form, kind in patterns if form in data]
        parsed = _load_json(data) if found and path.suffix == ".ipynb" else None
        for secret, form, kind in found:
            wheres = list(_locations(parsed, form.decode("utf-8", "replace"))) or [""]
            for where in wheres:
                leaks.setdefault(
                    (path, secret, kind, where), Leak(path, kind, fingerprint(secret), where)
                )
    return list(leaks.values())


def encoded_forms(secret: str) -> dict[bytes, str]:
    """The byte strings to look for, each with its kind (plain, json-escaped, base64, ...)."""
    forms: dict[bytes, str] = {}

    def add(kind: str, text: str | bytes) -> None:
        forms.setdefault(text.encode() if isinstance(text, str) else text, kind)

    add("plain", secret)
    add("html-escaped", html.escape(secret))
    add("html-escaped", html.escape(secret, quote=False))
    if len(secret.encode()) >= MIN_ENCODED_LENGTH:
        add("url-encoded", urllib.parse.quote(secret, safe=""))
        add("url-encoded", urllib.parse.quote(secret))
        add("url-encoded", urllib.parse.quote_plus(secret))
    for form, kind in list(forms.items()):  # each of these as a JSON string holds it
        for escaped in _json_escapes(form.decode()):
            add("json-escaped" if kind == "plain" else f"{kind}, json-escaped", escaped)
    if len(secret.encode()) >= MIN_ENCODED_LENGTH:
        for core in _base64_cores(secret.encode()):
            add("base64", core)
            add("base64url", core.translate(bytes.maketrans(b"+/", b"-_")))
    return forms


def _json_escapes(text: str) -> list[str]:
    ascii_ = json.dumps(text)[1:-1]
    return [ascii_, json.dumps(text, ensure_ascii=False)[1:-1], ascii_.replace("/", "\\/")]


def _base64_cores(raw: bytes) -> list[bytes]:
    """The base64 characters that depend on ``raw`` alone, at each of the 3 alignments.

    A value inside a longer base64 string starts at any offset modulo 3; the characters
    shared with its neighbours differ, the core in between does not.
    """
    cores = []
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        start = -(-8 * pad // 6)  # first character with no bit from the padding
        end = 8 * (pad + len(raw)) // 6  # last character with no bit from what follows
        cores.append(encoded[start:end])
    return cores


def _files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _locations(node: Any, needle: str, path: str = "") -> Iterator[str]:
    """The JSON paths of the strings holding ``needle`` (raw or as JSON text)."""
    if isinstance(node, str):
        if needle in node or needle in json.dumps(node):
            yield path
    elif isinstance(node, dict | list):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            sub = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}".lstrip(".")
            if isinstance(key, str) and needle in key:
                yield sub
            yield from _locations(value, needle, sub)


# -- what should never be in a notebook ------------------------------------------------------
def looks_secret(name: str) -> bool:
    """Whether a parameter name says it holds a secret (client_secret, api_key, token...)."""
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return any(word in _SECRET_WORDS for word in words)


def is_env_var_name(value: str) -> bool:
    return bool(_ENV_VAR_NAME.match(value))


def secret_valued_parameters(parameters: Mapping[str, Any]) -> list[str]:
    """Names of parameters that look secret and hold a value, not an env var name."""
    return [
        name
        for name, value in parameters.items()
        if looks_secret(name) and isinstance(value, str) and value and not is_env_var_name(value)
    ]


def notebook_secret_risks(path: Path) -> list[Leak]:
    """Saved Password widget values and secret-valued parameters in one notebook."""
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    metadata = nb.get("metadata", {})
    risks = []
    state = metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model_id, model in state.items():
        value = model.get("state", {}).get("value")
        if model.get("model_name") == "PasswordModel" and value:
            where = f"metadata.widgets.state.{model_id}"
            risks.append(Leak(path, "saved Password widget value", fingerprint(value), where))
    parameters = metadata.get("papermill", {}).get("parameters") or {}
    for name in secret_valued_parameters(parameters):
        where = f"metadata.papermill.parameters.{name}"
        risks.append(
            Leak(
                path, "secret-looking parameter holds a value", fingerprint(parameters[name]), where
            )
        )
    for tag, assigned in _parameter_cells(nb):
        for name in secret_valued_parameters(assigned):
            risks.append(
                Leak(
                    path,
                    "secret-looking parameter holds a value",
                    fingerprint(assigned[name]),
                    f"{tag} cell: {name}",
                )
            )
    return risks


def _parameter_cells(nb: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Literal values assigned in the cells tagged ``parameters`` or ``injected-parameters``."""
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        tag = next((t for t in ("parameters", "injected-parameters") if t in tags), None)
        if tag is None:
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:
            continue
        assigned: dict[str, Any] = {}
        for stmt in tree.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else []
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets = [stmt.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    with contextlib.suppress(ValueError, TypeError, SyntaxError):
                        assigned[target.id] = ast.literal_eval(stmt.value)
        yield tag, assigned
