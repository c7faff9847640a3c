"""Findings: every problem (and every passed check) the runbook reports.

A *finding spec* is a catalogue entry with a stable code (``AKV-PERM-001``), a severity, a
title, a plain-language explanation and the fix. Each module defines the specs it can report
with :func:`define` at import time; ``docs/findings.md`` is generated from the catalogue.

A *finding* is one occurrence: a spec plus the subject it is about (``vault_url``,
``variable sample_var``, an environment name) and a short detail. Details and data must never
carry a secret value: at most a :func:`helpers.common.redact.fingerprint`.

Renderers: :func:`render_text` (terminal), :func:`render_html` (notebooks, also via
``Report._repr_html_``), :func:`to_json`, :func:`to_junit` (CI).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from helpers.common.redact import scrub_data

__all__ = [
    "CODE_RE",
    "DOCS_PAGE",
    "Finding",
    "FindingSpec",
    "Severity",
    "alias",
    "aliases_of",
    "define",
    "exit_code",
    "has_errors",
    "resolve",
    "scrub_findings",
    "unique",
    "worst",
]

DOCS_PAGE = "docs/findings.md"
CODE_RE = re.compile(r"AKV-[A-Z]+-\d{3}\Z")


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
_ALIASES: dict[str, tuple[str, ...]] = {}  # a retired code -> the codes that now report it


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


def alias(old: str, new: str, *more: str) -> None:
    """Retire ``old``: the same fact is reported as ``new`` from now on (or, where the old
    code covered two facts, as ``new`` or one of ``more``).

    Retired codes stay documented (docs/findings.md) and resolvable with :func:`resolve`, so
    automation keyed on them keeps working; ``Finding.to_dict`` lists them under "aliases".
    """
    if not CODE_RE.match(old) or old in _CATALOGUE or old in _ALIASES:
        raise ValueError(f"alias {old!r} is not a free finding code")
    _ALIASES[old] = (new, *more)


def aliases_of(code: str) -> list[str]:
    """The retired codes that now mean ``code``."""
    return sorted(old for old, new in _ALIASES.items() if code in new)


def resolve(code: str) -> str:
    """The current code for ``code`` (itself unless it was retired; the first successor)."""
    return _ALIASES.get(code, (code,))[0]


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
        retired = aliases_of(self.code)
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
        } | ({"aliases": retired} if retired else {})


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


def scrub_findings(findings: Iterable[Finding], secrets: Iterable[str | None]) -> list[Finding]:
    """The findings with every given secret value removed from subject, detail and data
    (belt and braces: details are built from redacted text already)."""
    values = [s for s in secrets if isinstance(s, str)]
    if not values:
        return list(findings)
    return [
        Finding(
            f.spec,
            subject=scrub_data(f.subject, values),
            detail=scrub_data(f.detail, values),
            data=scrub_data(f.data, values),
        )
        for f in findings
    ]


def worst(findings: Iterable[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.OK)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when no error-level finding, 1 otherwise (2 is kept for usage errors)."""
    return 1 if has_errors(findings) else 0
