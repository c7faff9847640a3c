"""The findings catalogue and its renderers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from helpers.findings import (
    Report,
    Severity,
    catalogue,
    catalogue_markdown,
    define,
    exit_code,
    render_html,
    render_text,
    to_json,
    to_junit,
)

ROOT = Path(__file__).resolve().parent.parent


def _spec(severity: Severity):
    return next(s for s in catalogue().values() if s.severity is severity)


def test_catalogue_codes_are_stable_shaped_and_fully_documented():
    specs = catalogue()
    assert len(specs) >= 30
    for code, spec in specs.items():
        assert code == spec.code
        assert spec.title and spec.explanation and spec.fix, code
        assert not spec.title.endswith("."), code


def test_define_refuses_malformed_and_duplicate_codes():
    with pytest.raises(ValueError, match="must look like"):
        define("AKV-1", Severity.ERROR, "t", "e", "f")
    existing = next(iter(catalogue()))
    with pytest.raises(ValueError, match="defined twice"):
        define(existing, Severity.ERROR, "t", "e", "f")


def test_docs_page_is_generated_from_the_catalogue():
    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert page == catalogue_markdown(), (
        "run: .venv/bin/akv-runbook findings --markdown > docs/findings.md"
    )


def test_exit_code_is_1_only_with_an_error_finding():
    warning, error = _spec(Severity.WARNING)(), _spec(Severity.ERROR)()
    assert exit_code([]) == 0
    assert exit_code([warning]) == 0
    assert exit_code([warning, error]) == 1


def test_text_rendering_shows_code_subject_detail_and_fix():
    error = _spec(Severity.ERROR)("vault_url", "the detail")
    text = render_text([error], title="env-a")
    assert text.splitlines()[0] == "env-a"
    assert error.code in text and "[vault_url]" in text and "the detail" in text
    assert "fix: " + error.fix in text


def test_html_rendering_escapes_user_input():
    error = _spec(Severity.ERROR)("<script>alert(1)</script>", "a & b")
    page = render_html([error])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &amp; b" in page
    assert Report("t", [error])._repr_html_() == render_html([error], title="t")


def test_json_rendering_carries_exit_code_and_docs_link():
    error = _spec(Severity.ERROR)("s")
    payload = json.loads(to_json([error], environment="dev"))
    assert payload["exit_code"] == 1 and payload["environment"] == "dev"
    assert payload["findings"][0]["docs"] == f"docs/findings.md#{error.code.lower()}"


def test_junit_xml_parses_with_a_failure_per_error_finding():
    error, ok = _spec(Severity.ERROR)("a"), _spec(Severity.OK)("b")
    root = ET.fromstring(to_junit({"dev": [error, ok], "prod": [ok]}))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["dev", "prod"]
    assert suites[0].get("failures") == "1" and suites[1].get("failures") == "0"
    assert len(root.findall(".//failure")) == 1


def test_retired_codes_stay_documented_and_resolvable(capsys):
    from helpers.cli import main
    from helpers.findings import aliases_of, resolve, retired_codes

    page = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    specs = catalogue()
    for old, new in retired_codes().items():
        assert old not in specs and all(code in specs for code in new)
        assert resolve(old) == new[0]
        assert f'<a id="{old.lower()}"></a>{old}' in page  # old links still land somewhere
        assert all(old in specs[code]().to_dict()["aliases"] for code in new)
        assert old in aliases_of(new[0])
        assert main(["findings", old]) == 0
        assert f"{old} is a retired code" in capsys.readouterr().out
    assert retired_codes()["AKV-NET-001"] == ("AKV-SET-001", "AKV-SET-002")
