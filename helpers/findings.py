"""Findings: every problem (and every passed check) the runbook reports.

A *finding spec* is a catalogue entry with a stable code (``AKV-PERM-001``), a severity, a
title, a plain-language explanation and the fix. Each module defines the specs it can report
with :func:`define` at import time; ``docs/findings.md`` is generated from the catalogue.

A *finding* is one occurrence: a spec plus the subject it is about (``vault_url``,
``variable sample_var``, an environment name) and a short detail. Details and data must never
carry a secret value: at most a :func:`helpers.redact.fingerprint`.

Renderers: :func:`render_text` (terminal), :func:`render_html` (notebooks, also via
``Report._repr_html_``), :func:`to_json`, :func:`to_junit` (CI).
"""

from __future__ import annotations

import html
import importlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DOCS_PAGE = "docs/findings.md"
CODE_RE = re.compile(r"AKV-[A-Z]+-\d{3}\Z")
# Modules that define findings; imported before the catalogue is listed or documented.
CATALOGUE_MODULES = (
    "helpers.settings",
    "helpers.names",
    "helpers.config_render",
    "helpers.config_lint",
    "helpers.probes",
    "helpers.roles",
    "helpers.runbook",
    "helpers.inventory",
    "helpers.batch",
)


class Severity(StrEnum):
    ERROR = "error"  # the backend will not work, or works insecurely
    WARNING = "warning"  # works now, but fragile, costly or beyond least privilege
    INFO = "info"  # worth knowing
    OK = "ok"  # a check passed

    @property
    def rank(self) -> int:
        return ("ok", "info", "warning", "error").index(self.value)


@dataclass(frozen=True)
class FindingSpec:
    code: str
    severity: Severity
    title: str
    explanation: str
    fix: str

    @property
    def docs_anchor(self) -> str:
        return self.code.lower()

    @property
    def docs_link(self) -> str:
        return f"{DOCS_PAGE}#{self.docs_anchor}"

    def __call__(self, subject: str = "", detail: str = "", **data: Any) -> Finding:
        return Finding(self, subject=subject, detail=detail, data=data)


_CATALOGUE: dict[str, FindingSpec] = {}


def define(code: str, severity: Severity, title: str, explanation: str, fix: str) -> FindingSpec:
    """Register a catalogue entry; codes are stable forever and unique.

    Explanation and fix may be written as indented triple-quoted text: they are reflowed to
    single paragraphs.
    """
    if not CODE_RE.match(code):
        raise ValueError(f"finding code {code!r} must look like AKV-AREA-001")
    if code in _CATALOGUE:
        raise ValueError(f"finding code {code} is defined twice")
    spec = FindingSpec(
        code, Severity(severity), title, " ".join(explanation.split()), " ".join(fix.split())
    )
    _CATALOGUE[code] = spec
    return spec


def catalogue() -> dict[str, FindingSpec]:
    """Every known finding spec, by code (imports the modules that define them)."""
    for module in CATALOGUE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:
                raise
    return dict(sorted(_CATALOGUE.items()))


@dataclass(frozen=True)
class Finding:
    spec: FindingSpec
    subject: str = ""
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    code = property(lambda self: self.spec.code)
    severity = property(lambda self: self.spec.severity)
    title = property(lambda self: self.spec.title)
    fix = property(lambda self: self.spec.fix)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "subject": self.subject,
            "detail": self.detail,
            "explanation": self.spec.explanation,
            "fix": self.fix,
            "docs": self.spec.docs_link,
            "data": self.data,
        }


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """The findings without repeats of the same (code, subject, detail), in order."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for f in findings:
        key = (f.code, f.subject, f.detail)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def worst(findings: Iterable[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when no error-level finding, 1 otherwise (2 is kept for usage errors)."""
    return 1 if has_errors(findings) else 0


@dataclass
class Report:
    """Findings about one subject (an environment, a file), renderable anywhere."""

    title: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    def extend(self, findings: Iterable[Finding]) -> Report:
        self.findings.extend(findings)
        return self

    def _repr_html_(self) -> str:
        return render_html(self.findings, title=self.title)

    def __str__(self) -> str:
        return render_text(self.findings, title=self.title)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "worst": worst(self.findings).value,
            "findings": [f.to_dict() for f in self.findings],
        }


# -- renderers ---------------------------------------------------------------------------
_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i", Severity.OK: "✓"}
_COLOUR = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36", Severity.OK: "32"}


def text_table(rows: Sequence[Sequence[str]], *, right: Iterable[int] = ()) -> list[str]:
    """Plain-text table lines: columns padded to their widest cell (``right``-aligned where
    asked), the last column left as it is."""
    right = set(right)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def render_text(findings: Sequence[Finding], *, title: str = "", colour: bool = False) -> str:
    lines = [title] if title else []
    for f in findings:
        mark = _MARK[f.severity]
        if colour:
            mark = f"\033[{_COLOUR[f.severity]}m{mark}\033[0m"
        subject = f" [{f.subject}]" if f.subject else ""
        lines.append(f"{mark} {f.code} {f.title}{subject}")
        if f.detail:
            lines.append(f"    {f.detail}")
        if f.severity in (Severity.ERROR, Severity.WARNING):
            lines.append(f"    fix: {f.fix}")
    if not findings:
        lines.append("(no findings)")
    return "\n".join(lines)


_HTML_BG = {
    Severity.ERROR: "#fdecea",
    Severity.WARNING: "#fff4e5",
    Severity.INFO: "#e8f4fd",
    Severity.OK: "#edf7ed",
}


def render_html(findings: Sequence[Finding], *, title: str = "") -> str:
    esc = html.escape
    rows = []
    for f in findings:
        fix = "" if f.severity is Severity.OK else f"<div><b>Fix:</b> {esc(f.fix)}</div>"
        detail = f"<div>{esc(f.detail)}</div>" if f.detail else ""
        rows.append(
            f'<tr style="background:{_HTML_BG[f.severity]}">'
            f'<td style="white-space:nowrap;vertical-align:top">'
            f"{_MARK[f.severity]}&nbsp;<code>{esc(f.code)}</code></td>"
            f"<td><b>{esc(f.title)}</b>"
            f"{' — ' + esc(f.subject) if f.subject else ''}{detail}"
            f"<details><summary>Why</summary>{esc(f.spec.explanation)}</details>{fix}</td></tr>"
        )
    head = f"<h4>{esc(title)}</h4>" if title else ""
    body = "".join(rows) or "<tr><td>(no findings)</td></tr>"
    return f'{head}<table class="akv-findings" style="text-align:left">{body}</table>'


def to_json(findings: Sequence[Finding], **extra: Any) -> str:
    return json.dumps(
        {**extra, "exit_code": exit_code(findings), "findings": [f.to_dict() for f in findings]},
        indent=2,
    )


def to_junit(suites: dict[str, Sequence[Finding]], *, name: str = "akv-runbook") -> str:
    """JUnit XML: a testsuite per subject (environment), a testcase per finding.

    Errors are failures; warnings pass but carry system-out; OK and INFO pass.
    """
    root = ET.Element("testsuites", name=name)
    for suite_name, findings in suites.items():
        failures = sum(f.severity is Severity.ERROR for f in findings)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=suite_name,
            tests=str(len(findings)),
            failures=str(failures),
            errors="0",
            skipped="0",
        )
        for f in findings:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=suite_name,
                name=f"{f.code} {f.subject}".strip(),
            )
            text = f"{f.title}\n{f.detail}\nFix: {f.fix}\nDocs: {f.spec.docs_link}"
            if f.severity is Severity.ERROR:
                failure = ET.SubElement(case, "failure", message=f"{f.code}: {f.title}")
                failure.text = text
            elif f.severity is Severity.WARNING:
                ET.SubElement(case, "system-out").text = text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def catalogue_markdown() -> str:
    """The text of docs/findings.md (checked against the file by the tests)."""
    specs = catalogue()
    out = [
        "# Findings",
        "",
        "Every problem the runbook can report, with its stable code. Generated from the",
        "catalogue in `helpers/` by `akv-runbook findings --markdown`; do not edit by hand.",
        "",
        "| code | severity | title |",
        "|---|---|---|",
    ]
    out += [
        f"| [{s.code}](#{s.docs_anchor}) | {s.severity.value} | {s.title} |" for s in specs.values()
    ]
    for s in specs.values():
        out += [
            "",
            f'<a id="{s.docs_anchor}"></a>',
            f"## {s.code}: {s.title}",
            "",
            f"**Severity:** {s.severity.value}",
            "",
            s.explanation,
            "",
            f"**Fix:** {s.fix}",
        ]
    return "\n".join(out) + "\n"
