"""The one field table (``FIELD_SPECS``) drives coercion, validation and the widget forms:
each form row's label, placeholder, tooltip, check and choices come from it."""

from __future__ import annotations

import dataclasses

import pytest

from helpers import widgets
from helpers.findings.codes.set import GUID_INVALID
from helpers.settings import checks
from helpers.settings.fields import field_check, field_spec
from helpers.settings.schema import (
    FIELD_KINDS,
    FIELD_SPECS,
    FIELDS,
    TARGET_LABELS,
    Settings,
    Target,
)

SETTINGS = Settings(vault_url="https://v.vault.azure.net/")


def test_every_settings_field_has_a_spec_and_its_kind_is_the_spec_kind():
    assert set(FIELD_SPECS) == set(FIELDS)
    assert {name: spec.kind for name, spec in FIELD_SPECS.items()} == FIELD_KINDS


@pytest.mark.parametrize("name", [n for n, s in FIELD_SPECS.items() if s.check])
def test_every_named_check_is_a_function_of_checks_and_reports_under_the_field(name):
    check = field_check(name)
    assert FIELD_SPECS[name].check in checks.__all__
    _, findings = check(object())  # a wrong type: every check reports it, none raises
    assert findings and {f.subject for f in findings} == {name}


def test_a_field_without_a_check_has_none_to_resolve():
    assert FIELD_SPECS["name"].check is None
    with pytest.raises(LookupError):
        field_check("name")


def test_the_target_choices_offer_every_target_once_with_its_label():
    choices = field_spec("target").choices
    assert [value for _, value in choices] == [t.value for t in TARGET_LABELS]
    assert sorted(value for _, value in choices) == sorted(t.value for t in Target)


def test_settings_form_rows_show_the_table():
    form = widgets.settings_form({}, on_check=lambda values: None)
    assert tuple(form.rows) == form.FIELDS
    for name, row in form.rows.items():
        spec = FIELD_SPECS[name]
        assert row.text.description == spec.label
        assert row.text.placeholder == spec.placeholder
        assert row.text.tooltip == spec.help


def test_config_form_target_dropdown_shows_the_table():
    form = widgets.config_form(SETTINGS)
    spec = FIELD_SPECS["target"]
    assert form.target.options == spec.choices
    assert (form.target.description, form.target.tooltip) == (spec.label, spec.help)


def test_names_form_fields_show_the_table():
    form = widgets.names_form(SETTINGS)
    for name in form.FIELDS:
        box, spec = getattr(form, name), FIELD_SPECS[name]
        assert (box.description, box.tooltip) == (spec.label, spec.help)


def _renamed(monkeypatch: pytest.MonkeyPatch, name: str, **changes: object) -> None:
    monkeypatch.setitem(FIELD_SPECS, name, dataclasses.replace(FIELD_SPECS[name], **changes))


def test_changing_a_table_entry_changes_every_form_that_shows_the_field(monkeypatch):
    _renamed(monkeypatch, "vault_url", label="Key Vault", placeholder="https://…", help="Where")
    _renamed(monkeypatch, "sep", label="Joiner", placeholder="-", help="Between the parts")
    _renamed(monkeypatch, "target", label="Platform", choices=(("Only Helm", "helm"),))

    vault_url = widgets.settings_form({}, on_check=lambda values: None).vault_url.text
    assert (vault_url.description, vault_url.placeholder, vault_url.tooltip) == (
        "Key Vault",
        "https://…",
        "Where",
    )
    sep = widgets.names_form(SETTINGS).sep
    assert (sep.description, sep.placeholder, sep.tooltip) == ("Joiner", "-", "Between the parts")
    target = widgets.config_form(SETTINGS, target="helm").target
    assert (target.description, target.options, target.value) == (
        "Platform",
        (("Only Helm", "helm"),),
        "helm",
    )


def test_a_form_row_validates_with_the_check_the_table_names(monkeypatch):
    form = widgets.settings_form({}, on_check=lambda values: None)
    form.tenant_id.text.value = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"  # a tenant GUID
    assert form.tenant_id.valid.value is True

    _renamed(monkeypatch, "tenant_id", check="check_guid")
    form = widgets.settings_form({}, on_check=lambda values: None)
    form.tenant_id.text.value = "contoso.com"  # not a GUID: the renamed check's code shows
    assert form.tenant_id.valid.value is False
    assert form.tenant_id.valid.readout == GUID_INVALID.code
