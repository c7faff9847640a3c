"""What a step returns and how a notebook shows it; the kernel's secret registry.

Every step returns a :class:`StepResult` (a :class:`~helpers.findings.Report` with
explanatory :class:`Section` s) and, wrapped in :func:`never_raises`, turns an unexpected
exception into AKV-SVC-003. :func:`show` renders a result as HTML plus the machine-readable
``MIMETYPE`` output that :func:`helpers.findings.results.collect_results` reads back.

The registry (:data:`KERNEL`) knows which values must never reach an output: the variables
that hold client secrets (:func:`remember_secret_env`) and the secrets of the sandboxes this
kernel started; :func:`redact` removes them from any text. It also knows whether a step
with an error finding ends the run (``fail_on_error``: by default when the kernel runs
headless, :func:`headless`): :func:`show` then raises :class:`FindingsError` after displaying
the result, so that papermill exits non-zero.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from helpers.common.redact import scrub_text
from helpers.findings import (
    Finding,
    Report,
    Severity,
    has_errors,
    render_html,
    render_text,
    text_table,
    worst,
)
from helpers.findings.codes.svc import UNEXPECTED
from helpers.findings.results import MIMETYPE
from helpers.settings import shown

if TYPE_CHECKING:
    from helpers.sandbox import Sandbox

__all__ = [
    "ANSI_RE",
    "KERNEL",
    "FindingsError",
    "Kernel",
    "Payload",
    "Section",
    "StepResult",
    "headless",
    "never_raises",
    "raise_for_findings",
    "redact",
    "remember_secret_env",
    "show",
    "table_cell",
    "unexpected",
]

# Notebook front ends right-align table cells and may show <pre> in a proportional font.
_CELL_STYLE = "text-align:left;vertical-align:top"
_PRE_STYLE = (
    "font-family:monospace;white-space:pre;overflow-x:auto;background:#f6f8fa;padding:0.5em"
)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")


def _align_left(table_html: str) -> str:
    return re.sub(r"<(td|th)>", rf'<\1 style="{_CELL_STYLE}">', table_html)


def table_cell(value: object) -> str:
    """A value a person typed, as a table cell: unquoted, a fingerprint if it looks like a
    secret (settings.shown decides), ``(not set)`` when empty."""
    return shown(value, 200, quote=False) if value else "(not set)"


@dataclass
class Section:
    """Explanatory content shown above a step's findings: ``pre`` text, a ``table``, a ``note``."""

    title: str
    body: str | list[list[str]]
    kind: str = "pre"

    def to_html(self) -> str:
        esc = html.escape
        head = f"<h5>{esc(self.title)}</h5>" if self.title else ""
        if self.kind == "table" and isinstance(self.body, list):
            rows = [
                "<tr>" + "".join(f"<{tag}>{esc(str(c))}</{tag}>" for c in row) + "</tr>"
                for tag, row in (("th" if i == 0 else "td", r) for i, r in enumerate(self.body))
            ]
            return _align_left(f'{head}<table class="akv-section">{"".join(rows)}</table>')
        if self.kind == "note":
            return f"{head}<p>{esc(str(self.body))}</p>"
        return f'{head}<pre style="{_PRE_STYLE}">{esc(str(self.body))}</pre>'

    def to_text(self) -> str:
        if self.kind == "table" and isinstance(self.body, list):
            body = "\n".join(text_table([[str(c) for c in row] for row in self.body]))
        else:
            body = str(self.body)
        return f"-- {self.title} --\n{body}" if self.title else body


@dataclass
class StepResult(Report):
    """One step's outcome: findings plus sections that explain or show what to copy."""

    sections: list[Section] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.title)}</h4>"] if self.title else []
        parts += [s.to_html() for s in self.sections]
        if self.findings:
            parts.append(_align_left(render_html(self.findings)))
        elif not self.sections:
            parts.append("<p>✓ no problems found</p>")
        return "".join(parts)

    def __str__(self) -> str:
        parts = [self.title] if self.title else []
        parts += [s.to_text() for s in self.sections]
        if self.findings or not self.sections:
            parts.append(render_text(self.findings))
        return "\n".join(parts)

    def __repr__(self) -> str:
        codes = ", ".join(f.code for f in self.findings) or "no findings"
        return f"<StepResult {self.title!r}: {worst(self.findings).value} ({codes})>"

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "data": _jsonable(self.data)}


class Payload(dict):
    """What :func:`show` returns; displays as nothing so a cell ending in show() stays tidy."""

    def _ipython_display_(self) -> None:
        return None


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _findings_of(result: Any) -> list[Finding]:
    if isinstance(result, Finding):
        return [result]
    if isinstance(result, list | tuple):
        return [f for f in result if isinstance(f, Finding)]
    found = getattr(result, "findings", None)
    return list(found) if isinstance(found, list | tuple) else []


# -- the state of this kernel ------------------------------------------------------------------
@dataclass
class Kernel:
    """This kernel's notebook name (in every payload), the names of the variables holding
    client secrets, and the sandboxes it started (by scenario file)."""

    notebook: str = ""
    fail_on_error: bool = False  # set by runbook.start from the notebook's parameter
    secret_envs: set[str] = field(default_factory=lambda: {"AZURE_CLIENT_SECRET"})
    sandboxes: dict[str, Sandbox] = field(default_factory=dict)

    def sensitive(self) -> list[str]:
        """Values that must never appear in an output: client secrets and sandbox secrets."""
        values = [os.environ.get(name, "") for name in self.secret_envs]
        for sandbox in self.sandboxes.values():
            with contextlib.suppress(Exception):
                values += sandbox.secret_values()
        return [v for v in values if v and len(v) >= 4]


KERNEL = Kernel()


def remember_secret_env(name: str) -> None:
    """Redact the value of environment variable ``name`` from this kernel's outputs."""
    KERNEL.secret_envs.add(name.strip())


def redact(text: str, extra: Iterable[str] = (), limit: int = 600) -> str:
    """Without colour codes, this kernel's secrets and secret-shaped text (lines kept)."""
    return scrub_text(ANSI_RE.sub("", str(text)), [*KERNEL.sensitive(), *extra], limit)


def unexpected(subject: str, err: BaseException) -> Finding:
    """AKV-SVC-003 for an exception no step expected, its message redacted."""
    return UNEXPECTED(subject, f"{type(err).__name__}: {redact(str(err), limit=300)}")


def never_raises(title: str) -> Callable[[Callable[..., StepResult]], Callable[..., StepResult]]:
    """A step that fails unexpectedly reports AKV-SVC-003 instead of stopping the notebook."""

    def wrap(fn: Callable[..., StepResult]) -> Callable[..., StepResult]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> StepResult:
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - a step reports, it never raises
                return StepResult(title, [unexpected(title, err)])

        return inner

    return wrap


def headless() -> bool:
    """Whether this kernel is executed by a program (papermill, nbclient, nbconvert, nbval)
    rather than a person's front end (JupyterLab, Notebook, VS Code).

    nbclient sends every execute_request with ``allow_stdin: false`` (it has no stdin
    channel: ``input()`` cannot work); front ends send ``true``. ipykernel keeps the flag of
    the request being executed as ``kernel._allow_stdin``. Outside a kernel: False.
    """
    # IPython is only there in a kernel; the rest of the runbook works without it.
    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    return kernel is not None and getattr(kernel, "_allow_stdin", True) is False


class FindingsError(RuntimeError):
    """Raised on purpose at the end of a step with an error finding (``fail_on_error``) so
    that its runner (papermill, an Airflow task) fails; the findings are in the output
    above. In a notebook it shows as a short summary, not a traceback."""

    def __init__(self, step: str, findings: list[Finding]) -> None:
        self.step = step
        self.findings = [f for f in findings if f.severity is Severity.ERROR]
        codes = ", ".join(dict.fromkeys(f.code for f in self.findings))
        super().__init__(
            f"{len(self.findings)} error finding(s): {codes} "
            f"(step {step!r}; details and fixes in the output above)"
        )

    def summary(self) -> list[str]:
        """One line per finding (code, title, cause) and its fix: never a secret."""
        lines = [f"{type(self).__name__}: {self}"]
        for f in self.findings:
            lines.append(redact(f"{f.code} {f.title}: {f.detail}".rstrip(": "), limit=400))
            lines.append("  fix: " + redact(" ".join(f.fix.split()), limit=400))
        return lines

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of a traceback (ipyparallel's protocol).
        return self.summary()


def raise_for_findings(result: Any, enabled: bool | None = True, step: str = "") -> str:
    """Raise :class:`FindingsError` when ``result`` has an error finding and ``enabled``
    (None: this kernel's ``fail_on_error``); else a line saying how many there were."""
    findings = _findings_of(result)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors and (KERNEL.fail_on_error if enabled is None else enabled):
        raise FindingsError(step or str(getattr(result, "title", "") or "check"), findings)
    return f"{len(errors)} error finding(s)" if errors else "no error findings"


def show(step: str, result: Any, *, fail: bool | None = None) -> dict[str, Any]:
    """Display ``result`` as HTML and as a machine-readable output (``MIMETYPE``) in one
    display; returns the payload {step, notebook, ok, worst, findings}. Never a secret.

    Then, when the result has an error finding and ``fail`` (None: this kernel's
    ``fail_on_error``), raises :class:`FindingsError`: the run stops after this step."""
    # IPython is only there in a kernel; the rest of the runbook works without it.
    from IPython.display import display

    findings = _findings_of(result)
    ok = not has_errors(findings)
    payload = Payload(
        _jsonable(
            {
                "step": str(step),
                "notebook": KERNEL.notebook,
                "ok": ok,
                "worst": worst(findings).value,
                "findings": [f.to_dict() for f in findings],
            }
        )
    )
    repr_html = getattr(result, "_repr_html_", None)
    body = repr_html() if callable(repr_html) else render_html(findings, title=str(step))
    codes = ", ".join(f.code for f in findings if f.severity is not Severity.OK)
    summary = f"{step}: {'OK' if ok else 'ERROR'} ({worst(findings).value}"
    summary += f"; {codes})" if codes else ")"
    display({"text/html": body, MIMETYPE: dict(payload), "text/plain": summary}, raw=True)
    raise_for_findings(findings, fail, step=str(step))
    return payload
