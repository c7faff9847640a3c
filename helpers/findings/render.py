"""Renderers for findings: plain text (terminal), HTML (notebooks), JSON and JUnit (CI)."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from helpers.common.textio import printable
from helpers.findings.core import Finding, Severity, exit_code, has_errors, worst

__all__ = [
    "Report",
    "render_html",
    "render_text",
    "text_table",
    "to_json",
    "to_junit",
]


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
    """Findings as terminal text; what came from user input is :func:`printable`."""
    lines = [printable(title)] if title else []
    for f in findings:
        mark = _MARK[f.severity]
        if colour:
            mark = f"\033[{_COLOUR[f.severity]}m{mark}\033[0m"
        subject = f" [{printable(f.subject)}]" if f.subject else ""
        lines.append(f"{mark} {f.code} {f.title}{subject}")
        if f.detail:
            lines.append(f"    {printable(f.detail)}")
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
    def esc(text: str) -> str:
        return html.escape(printable(text))

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
    root = ET.Element("testsuites", name=printable(name))
    for suite_name, findings in suites.items():
        suite_name = printable(suite_name)  # XML 1.0 cannot hold most control characters
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
                name=printable(f"{f.code} {f.subject}".strip()),
            )
            text = printable(f"{f.title}\n{f.detail}\nFix: {f.fix}\nDocs: {f.spec.docs_link}")
            if f.severity is Severity.ERROR:
                failure = ET.SubElement(case, "failure", message=f"{f.code}: {f.title}")
                failure.text = text
            elif f.severity is Severity.WARNING:
                ET.SubElement(case, "system-out").text = text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
