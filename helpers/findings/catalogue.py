"""The catalogue: every finding spec, registered by importing helpers.findings.codes."""

from __future__ import annotations

from helpers.findings import codes as _codes  # noqa: F401 - registers every define()
from helpers.findings.core import _ALIASES, _CATALOGUE, FindingSpec

__all__ = ["catalogue", "catalogue_markdown", "retired_codes"]


def catalogue() -> dict[str, FindingSpec]:
    """Every known finding spec, by code."""
    return dict(sorted(_CATALOGUE.items()))


def retired_codes() -> dict[str, tuple[str, ...]]:
    """Every retired code and the codes that report the same fact now."""
    missing = {old: new for old, new in _ALIASES.items() if set(new) - set(_CATALOGUE)}
    if missing:
        raise ValueError(f"aliases to unknown codes: {missing}")
    return dict(sorted(_ALIASES.items()))


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
    retired = retired_codes()
    if retired:
        out += [
            "",
            "## Retired codes",
            "",
            "These codes were merged into the code that now reports the same fact. Automation",
            "keyed on a retired code should match the new one too; a finding's JSON lists its",
            'retired codes under "aliases".',
            "",
            "| retired code | now reported as |",
            "|---|---|",
        ]
        out += [
            f'| <a id="{old.lower()}"></a>{old} | '
            + " or ".join(f"[{code}](#{code.lower()})" for code in new)
            + " |"
            for old, new in retired.items()
        ]
    return "\n".join(out) + "\n"
