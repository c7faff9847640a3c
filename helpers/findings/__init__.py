"""Findings: every problem (and every passed check) the runbook reports.

A *finding spec* is a catalogue entry with a stable code (``AKV-PERM-001``), a severity, a
title, a plain-language explanation and the fix. Every spec is defined once, in
``helpers/findings/codes/<area>.py``; ``docs/findings.md`` is generated from the catalogue.

A *finding* is one occurrence: a spec plus the subject it is about (``vault_url``,
``variable sample_var``, an environment name) and a short detail. Details and data must never
carry a secret value: at most a :func:`helpers.common.redact.fingerprint`.

Layout: :mod:`.core` (Finding, Severity, exit codes), :mod:`.render` (text, HTML, JSON,
JUnit), :mod:`.codes` (every ``define()``), :mod:`.catalogue` (the catalogue and its docs).
"""

from helpers.findings.catalogue import catalogue, catalogue_markdown, retired_codes
from helpers.findings.core import (
    CODE_RE,
    DOCS_PAGE,
    Finding,
    FindingSpec,
    Severity,
    alias,
    aliases_of,
    define,
    exit_code,
    has_errors,
    resolve,
    scrub_findings,
    unique,
    worst,
)
from helpers.findings.render import (
    Report,
    render_html,
    render_text,
    text_table,
    to_json,
    to_junit,
)

__all__ = [
    "CODE_RE",
    "DOCS_PAGE",
    "Finding",
    "FindingSpec",
    "Report",
    "Severity",
    "alias",
    "aliases_of",
    "catalogue",
    "catalogue_markdown",
    "define",
    "exit_code",
    "has_errors",
    "render_html",
    "render_text",
    "resolve",
    "retired_codes",
    "scrub_findings",
    "text_table",
    "to_json",
    "to_junit",
    "unique",
    "worst",
]
