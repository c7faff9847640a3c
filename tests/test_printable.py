"""What a user typed is printed, never obeyed: control characters in a settings value neither
drive the terminal (ESC sequences, BEL) nor break the JUnit XML or the HTML report."""

from __future__ import annotations

import xml.dom.minidom
from pathlib import Path

from helpers.cli import main
from helpers.common.textio import printable
from helpers.findings import render_html, render_text, to_junit
from helpers.findings.codes.set import SECRET_VALUE_AS_NAME

EVIL = "evil\x1b[2J\x1b[31mred\x07\u202etxt\x00"


def test_printable_escapes_controls_and_bidi_overrides_but_keeps_lines():
    assert printable(EVIL) == "evil\\x1b[2J\\x1b[31mred\\x07\\u202etxt\\x00"
    assert printable("two\nlines\tand a tab") == "two\nlines\tand a tab"


def test_findings_render_escaped_everywhere():
    finding = SECRET_VALUE_AS_NAME(EVIL, f"detail {EVIL}")
    for text in (
        render_text([finding], title=EVIL),
        render_html([finding], title=EVIL),
        to_junit({EVIL: [finding]}, name=EVIL),
    ):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    xml.dom.minidom.parseString(to_junit({EVIL: [finding]}, name=EVIL))


def test_check_prints_a_hostile_settings_name_escaped(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
    settings = tmp_path / "s.yaml"
    settings.write_text(
        'name: "evil\\e[2J\\e[31mred\\a"\n'
        "vault_url: https://kv1.vault.azure.net/\n"
        "tenant_id: 11111111-2222-3333-4444-555555555555\n"
        "client_id: 12345678-90ab-cdef-1234-567890abcdef\n"
    )
    junit = tmp_path / "j.xml"
    argv = ["check", "--settings", str(settings), "--timeout", "2", "--junit", str(junit)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b[2J" in out
    xml.dom.minidom.parse(str(junit))
