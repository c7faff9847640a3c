"""The ``akv-runbook`` papermill engine: papermill's own nbclient engine, except that a
parameter value that looks like a secret never reaches the executed notebook.

papermill writes every parameter into the output notebook twice (the ``injected-parameters``
cell and ``metadata.papermill.parameters``) before any engine runs, and saves its in-memory
copy after every cell: a kernel cannot take a value back out of that file. An engine is the
one place that sees the parameterised notebook before anything is saved or executed. This
one replaces each secret-looking string (:func:`secret_like_parameter`, also inside lists
and mappings) with :func:`scrubbed_marker` in both places, then runs the
notebook as papermill's default engine would. The notebook's first step
(:func:`helpers.runbook.start`) sees the marker and raises AKV-SET-010.

Use it with ``papermill --engine akv-runbook`` (the ``papermill.engine`` entry point in
pyproject.toml) or ``execute_notebook(..., engine_name=ENGINE_NAME)`` after :func:`register`
(what the runbook's own papermill runs do). ``--prepare-only`` runs no engine: it is not
covered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers.common.redact import fingerprint, looks_like_secret

# papermill is imported inside the functions: it takes seconds to import, and papermill
# itself imports this module (its entry point loader) while papermill.engines is loading.

__all__ = [
    "ENGINE_NAME",
    "SCRUBBED_PREFIX",
    "ScrubbingEngine",
    "is_scrubbed",
    "register",
    "scrub_parameters",
    "scrubbed_marker",
    "secret_like_parameter",
]

ENGINE_NAME = "akv-runbook"
SCRUBBED_PREFIX = "<removed by the akv-runbook engine: a secret-like value"
INJECTED_TAG = "injected-parameters"


def secret_like_parameter(value: object) -> bool:
    """Whether a parameter value looks like a secret (:func:`looks_like_secret`, the one
    detector), except a path that exists (a scenario or inventory file) or a JSON/YAML
    document (``existing_config``: the configuration lint reports a secret inside it)."""
    if not isinstance(value, str) or not looks_like_secret(value):
        return False
    text = value.strip()
    if text.startswith(("{", "[")):
        return False
    try:
        return not Path(text).expanduser().exists()
    except (OSError, ValueError):
        return True


def scrubbed_marker(value: str) -> str:
    """What stands in for a secret-like parameter value: never the value, its fingerprint."""
    return f"{SCRUBBED_PREFIX}, {fingerprint(value)}>"


def is_scrubbed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SCRUBBED_PREFIX)


def _scrub(value: Any) -> tuple[Any, bool]:
    if isinstance(value, str):
        return (scrubbed_marker(value), True) if secret_like_parameter(value) else (value, False)
    if isinstance(value, list | tuple):
        pairs = [_scrub(v) for v in value]
        return type(value)(v for v, _ in pairs), any(hit for _, hit in pairs)
    if isinstance(value, dict):
        pairs = {k: _scrub(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(hit for _, hit in pairs.values())
    return value, False


def scrub_parameters(parameters: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``parameters`` with every secret-like value replaced, and the names that had one.
    A parameter NAME that looks like a secret is replaced as well (papermill injects any)."""
    clean: dict[str, Any] = {}
    names: list[str] = []
    for name, value in parameters.items():
        scrubbed, hit = _scrub(value)
        key = name
        if looks_like_secret(name):
            key, hit = f"secret_like_name_{len(clean)}", True
        clean[key] = scrubbed
        if hit:
            names.append(key)
    return clean, names


def _scrub_notebook(nb: Any, kernel_name: str | None) -> list[str]:
    from papermill.translators import translate_parameters
    from papermill.utils import nb_language

    papermill = nb.metadata.get("papermill", {})
    parameters = papermill.get("parameters") or {}
    clean, names = scrub_parameters(dict(parameters))
    if not names:
        return []
    papermill["parameters"] = clean
    source = translate_parameters(kernel_name, nb_language(nb, None), clean, "Parameters")
    for cell in nb.cells:
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = source
    return names


class ScrubbingEngine:
    """papermill's nbclient engine, with secret-like parameter values scrubbed first."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, **kwargs: Any) -> Any:
        from papermill.engines import NBClientEngine

        _scrub_notebook(nb, kernel_name)
        return NBClientEngine.execute_notebook(nb, kernel_name, **kwargs)

    @classmethod
    def nb_kernel_name(cls, nb: Any, name: str | None = None) -> str:
        from papermill.utils import nb_kernel_name

        return nb_kernel_name(nb, name)

    @classmethod
    def nb_language(cls, nb: Any, language: str | None = None) -> str:
        from papermill.utils import nb_language

        return nb_language(nb, language)


def register() -> str:
    """Register the engine in this process (no entry point needed); returns its name."""
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE_NAME, ScrubbingEngine)
    return ENGINE_NAME
