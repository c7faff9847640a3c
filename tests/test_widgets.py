"""The notebook forms without a browser: set ``.value``, ``.click()``, read the Output widget.

Live checks run against the sandbox (``akv_sandbox``). Every test that types a secret also
proves it never reaches widget state (``Widget.get_manager_state()``), the Output or os.environ
under any name other than the one the form names.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers import runbook, widgets
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.devtools.lab_settings import (
    OVERRIDES,
    overrides_path,
    pin_widget_state_autosave_off,
    write_user_settings,
)
from helpers.findings import Report
from tests.conftest import vault_url
from tests.test_probes import revoke_backend_roles

SECRET_VAR = "AKV_TEST_FORM_SECRET"


# -- helpers -------------------------------------------------------------------------------
def output_text(form: widgets.Form) -> str:
    """Everything the form's Output shows (HTML and plain text)."""
    return "\n".join(
        "\n".join(str(v) for v in out.get("data", {}).values()) for out in form.output.outputs
    )


def assert_nowhere_in_widget_state(value: str) -> None:
    import ipywidgets

    state = json.dumps(ipywidgets.Widget.get_manager_state(), default=str)
    assert value not in state
    for widget in list(ipywidgets.Widget.widgets.values()):
        assert value not in json.dumps(widget.get_state(), default=str)


@pytest.fixture
def sandbox_values(akv_sandbox) -> dict[str, str]:
    env = os.environ
    return {
        "vault_url": env["AZURE_KEYVAULT_URL"],
        "tenant_id": env["AZURE_TENANT_ID"],
        "client_id": env["AZURE_CLIENT_ID"],
        "client_secret_env": SECRET_VAR,
    }


@pytest.fixture
def backend_secret(akv_sandbox, monkeypatch) -> str:
    """The backend's client secret, taken OUT of the environment: only the form may put it back."""
    secret = os.environ["AZURE_CLIENT_SECRET"]
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    monkeypatch.setenv(SECRET_VAR, "")  # recorded, so whatever the form sets is undone
    monkeypatch.delenv(SECRET_VAR)
    return secret


@pytest.fixture
def reuse_sandbox(akv_sandbox, monkeypatch):
    """runbook.connect() reuses the test's sandbox, as it does under `make lab`."""
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))
    return akv_sandbox


# -- settings form: live ---------------------------------------------------------------------
def test_typed_secret_signs_in_AKV_AUTH_001_and_the_password_is_cleared_first(
    sandbox_values, backend_secret, monkeypatch
):
    seen = {}

    def check_form(values):
        seen["password"] = form.password.value
        seen["env"] = os.environ.get(SECRET_VAR) == backend_secret
        seen["values"] = dict(values)
        return runbook.check_form(values)

    form = widgets.settings_form(sandbox_values, on_check=check_form)
    form.password.value = backend_secret
    form.check_button.click()

    assert seen["password"] == "" and seen["env"], "the secret moved before the probe ran"
    assert backend_secret not in json.dumps(seen["values"])
    text = output_text(form)
    # no variables typed: the check proves read access with an absent name (AKV-SECRET-006)
    assert "AKV-AUTH-001" in text and "AKV-SECRET-006" in text
    assert f"${SECRET_VAR}" in text  # the note says where the secret went
    assert form.password.value == ""
    assert os.environ[SECRET_VAR] == backend_secret
    assert "AZURE_CLIENT_SECRET" not in os.environ
    assert backend_secret not in text
    assert form.check_button.description == "Check" and not form.check_button.disabled
    assert_nowhere_in_widget_state(backend_secret)


def test_wrong_secret_reports_AKV_AUTH_003_without_showing_it(sandbox_values, backend_secret):
    wrong = "Wr0ng~secret-value-that-is-not-the-one-0123"
    form = widgets.settings_form(sandbox_values)
    form.password.value = wrong
    form.check_button.click()

    text = output_text(form)
    assert "AKV-AUTH-003" in text
    assert "AKV-AUTH-001" not in text
    assert wrong not in text and backend_secret not in text
    assert form.password.value == ""
    assert_nowhere_in_widget_state(wrong)


def test_check_without_typing_uses_the_variable_already_set(
    sandbox_values, backend_secret, monkeypatch
):
    monkeypatch.setenv(SECRET_VAR, backend_secret)
    form = widgets.settings_form(sandbox_values)
    assert f"${SECRET_VAR} is set" in form.password.placeholder
    form.check()
    assert "AKV-AUTH-001" in output_text(form)


def test_nothing_typed_and_nothing_set_is_AKV_SET_025_before_any_probe(
    sandbox_values, backend_secret
):
    form = widgets.settings_form(sandbox_values)
    form.check_button.click()
    text = output_text(form)
    assert "AKV-SET-025" in text
    assert "AKV-AUTH-001" not in text


# -- settings form: offline ------------------------------------------------------------------
def never_called(values):
    raise AssertionError("on_check must not run")


def test_invalid_vault_url_is_flagged_live_with_a_message():
    form = widgets.settings_form({"vault_url": vault_url()}, on_check=never_called)
    assert form.vault_url.valid.value is True
    assert form.vault_url.message.value == ""

    form.vault_url.text.value = "http://my-vault.vault.azure.net"
    assert form.vault_url.valid.value is False
    assert "AKV-SET-002" in form.vault_url.message.value
    assert form.vault_url.valid.readout == "AKV-SET-002"

    form.vault_url.text.value = "https://not-a-vault.example.com/"
    assert form.vault_url.valid.value is False
    assert "AKV-SET-003" in form.vault_url.message.value

    form.vault_url.text.value = vault_url()
    assert form.vault_url.valid.value is True and form.vault_url.message.value == ""


def test_the_fields_are_committed_values_not_keystrokes():
    form = widgets.settings_form(on_check=never_called)
    for field in (form.vault_url, form.tenant_id, form.client_id, form.secret_env):
        assert field.text.continuous_update is False
    assert form.password.continuous_update is False
    assert form.vault_url.text.tooltip and form.password.tooltip


def test_client_id_that_is_not_a_guid_is_flagged():
    form = widgets.settings_form(on_check=never_called)
    form.client_id.text.value = "my-app"
    assert form.client_id.valid.value is False
    assert "AKV-SET-" in form.client_id.message.value


def test_secret_pasted_into_a_text_field_is_removed_at_once():
    secret = "Qx8Q~pasted-into-the-wrong-field-0123456789"
    form = widgets.settings_form({"client_secret_env": SECRET_VAR}, on_check=never_called)
    form.secret_env.text.value = secret
    assert form.secret_env.text.value == SECRET_VAR
    assert form.secret_env.valid.value is False
    assert "Password field" in form.secret_env.message.value
    form.client_id.text.value = secret
    assert form.client_id.text.value == ""
    assert secret not in form.client_id.message.value
    assert_nowhere_in_widget_state(secret)


def test_bad_variable_name_discards_the_typed_secret():
    secret = "Zz9Q~typed-with-a-bad-variable-name-012345"
    calls = []
    form = widgets.settings_form(
        {"client_secret_env": "1BAD"}, on_check=lambda v: calls.append(v) or Report("x")
    )
    form.password.value = secret
    form.check_button.click()
    assert form.password.value == ""
    assert secret not in os.environ.values()
    assert "NOT stored" in output_text(form)
    assert calls and calls[0]["client_secret_env"] == "1BAD"
    assert_nowhere_in_widget_state(secret)


def test_values_carry_other_defaults_but_never_a_client_secret():
    form = widgets.settings_form(
        {"variables": ["a", "b"], "client_secret": "should-vanish-0123456789~"},
        on_check=never_called,
    )
    assert form.values["variables"] == ["a", "b"]
    assert "client_secret" not in form.values


def test_an_exception_in_the_check_is_a_finding_without_the_secret(monkeypatch):
    monkeypatch.setenv(SECRET_VAR, "")
    secret = "Ex7Q~leaks-only-if-the-form-is-careless-0123"

    def boom(values):
        raise RuntimeError(f"failed with {os.environ[SECRET_VAR]}")

    form = widgets.settings_form({"client_secret_env": SECRET_VAR}, on_check=boom)
    form.password.value = secret
    form.check_button.click()
    text = output_text(form)
    assert "AKV-SVC-003" in text and "RuntimeError" in text
    assert secret not in text
    assert not form.check_button.disabled


def test_each_click_replaces_the_previous_output():
    reports = iter([Report("first"), Report("second")])
    form = widgets.settings_form(on_check=lambda v: next(reports))
    form.check_button.click()
    form.check_button.click()
    text = output_text(form)
    assert "second" in text and "first" not in text


# -- permissions form --------------------------------------------------------------------------
def test_permissions_diagnose_then_grant_restores_access(reuse_sandbox, sandbox_values):
    revoke_backend_roles(reuse_sandbox)
    values = {**sandbox_values, "client_secret_env": "AZURE_CLIENT_SECRET"}
    form = widgets.permissions_form(values, timeout=20)

    form.diagnose_button.click()
    text = output_text(form)
    assert "AKV-PERM-001" in text
    assert "az role assignment create" in text and "Key Vault Secrets User" in text

    form.grant_button.click()
    text = output_text(form)
    assert "AKV-ROLE-001" in text and "AKV-ROLE-007" in text
    assert not form.grant_button.disabled
    for value in reuse_sandbox.secret_values():
        assert value not in text


def test_permissions_form_reads_settings_from_a_settings_form(reuse_sandbox, sandbox_values):
    source = widgets.settings_form(
        {**sandbox_values, "client_secret_env": "AZURE_CLIENT_SECRET"}, on_check=never_called
    )
    form = widgets.permissions_form(source)
    form.diagnose_button.click()
    assert "AKV-RUN-011" in output_text(form)  # the backend reads already: no grant needed


# -- config form -------------------------------------------------------------------------------
OFFLINE = {
    "vault_url": vault_url(),
    "tenant_id": "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
    "client_id": "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
}


def test_config_form_renders_the_chosen_target():
    form = widgets.config_form(OFFLINE)
    assert form.target.value == "env"
    form.target.value = "helm"
    form.render_button.click()
    text = output_text(form)
    assert "values.yaml" in text and "AzureKeyVaultBackend" in text


def test_config_form_lints_pasted_invalid_json():
    form = widgets.config_form(OFFLINE)
    form.existing.value = '{"vault_url": "https://airflow-sandbox-kv.vault.azure.net/",}'
    form.lint_button.click()
    assert "AKV-CFG-004" in output_text(form)
    assert form.existing.value  # nothing secret: the text stays for editing


def test_config_form_clears_a_pasted_client_secret():
    secret = "Cf5Q~pasted-backend-kwargs-secret-0123456"
    form = widgets.config_form(OFFLINE)
    form.existing.value = json.dumps({**OFFLINE, "client_secret": secret})
    form.lint_button.click()
    text = output_text(form)
    assert "AKV-CFG-009" in text and "cleared" in text
    assert form.existing.value == ""
    assert secret not in text
    assert_nowhere_in_widget_state(secret)


def test_config_form_lints_the_rendered_config_when_nothing_is_pasted():
    form = widgets.config_form(OFFLINE, target="airflow_cfg")
    form.lint_button.click()
    text = output_text(form)
    assert "Lint: the rendered configuration (airflow_cfg)" in text
    assert "✗" not in text


# -- names form --------------------------------------------------------------------------------
def test_names_form_maps_ids_live():
    form = widgets.names_form(OFFLINE)
    form.variables.value = "sample_var"
    text = output_text(form)
    assert "airflow-variables-sample-var" in text
    form.connections.value = "my_db"
    assert "airflow-connections-my-db" in output_text(form)


def test_names_form_flags_an_invalid_separator():
    form = widgets.names_form(OFFLINE)
    form.sep.value = "_"
    text = output_text(form)
    assert "AKV-NAME-007" in text and "AKV-SET-016" in text


def test_names_form_button_shows_the_default_ids():
    form = widgets.names_form({**OFFLINE, "variables": ["sample-variable"]})
    form.show_button.click()
    assert "airflow-variables-sample-variable" in output_text(form)


# -- JupyterLab settings ------------------------------------------------------------------------
def test_pin_merges_into_existing_overrides(tmp_path):
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    existing = {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True, "other": 1},
    }
    path.write_text(json.dumps(existing))
    assert pin_widget_state_autosave_off(tmp_path) == path
    pinned = json.loads(path.read_text())
    assert pinned["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    assert pinned["@jupyter-widgets/jupyterlab-manager:plugin"] == {
        "saveState": False,
        "other": 1,
    }
    notification = pinned["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    pin_widget_state_autosave_off(tmp_path)
    assert json.loads(path.read_text()) == pinned


def test_pin_replaces_an_unreadable_overrides_file(tmp_path):
    path = overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("[not json")
    pin_widget_state_autosave_off(tmp_path)
    assert json.loads(path.read_text()) == OVERRIDES


def _schema(plugin: str) -> dict:
    package, _, name = plugin.partition(":")
    share = Path(sys.prefix) / "share" / "jupyter"
    for candidate in (
        share / "lab" / "schemas" / package / f"{name}.json",
        share / "labextensions" / package / "schemas" / package / f"{name}.json",
    ):
        if candidate.exists():
            return json.loads(candidate.read_text())
    raise AssertionError(f"no schema for {plugin} under {share}")


@pytest.mark.parametrize("plugin", sorted(OVERRIDES))
def test_override_keys_and_values_match_the_installed_schemas(plugin):
    properties = _schema(plugin)["properties"]
    for key, value in OVERRIDES[plugin].items():
        assert key in properties, f"{plugin} has no setting {key}"
        spec = properties[key]
        if "oneOf" in spec:
            assert value in [choice["const"] for choice in spec["oneOf"]]
        else:
            assert isinstance(value, {"boolean": bool, "string": str}[spec["type"]])


def test_user_settings_files_hold_the_overrides(tmp_path):
    files = write_user_settings(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in files} == {
        "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings",
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
    }
    assert (
        json.loads(files[0].read_text()) == OVERRIDES["@jupyter-widgets/jupyterlab-manager:plugin"]
    )


# -- in a kernel: results routed through Output.capture --------------------------------------
def test_in_a_kernel_results_reach_the_output_widgets_and_no_secret_is_stored(
    tmp_path, monkeypatch
):
    """nbclient (papermill's engine) records Output-widget captures and stores widget state
    (its default): every form's result is in its Output, the typed secret nowhere."""
    import nbformat
    from nbclient import NotebookClient

    typed = "Kx1Q~typed-in-a-kernel-0123456789abcdef"
    monkeypatch.setenv("AKV_TEST_TYPED", typed)  # the kernel inherits it: no cell holds it
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
    offline = json.dumps(OFFLINE)
    sources = [
        f"import os\nfrom helpers import widgets\nfrom helpers.findings import Report\n"
        f"offline = {offline}",
        "cfg = widgets.config_form(offline, target='helm'); cfg",
        "cfg.render_button.click()",
        "names = widgets.names_form(offline); names",
        "names.variables.value = 'sample_var'",
        "form = widgets.settings_form(offline, on_check=lambda v: Report('checked in a kernel'))",
        "form.password.value = os.environ['AKV_TEST_TYPED']; form.check_button.click()",
        "print(form.password.value == '', os.environ['AZURE_CLIENT_SECRET'] == "
        "os.environ['AKV_TEST_TYPED'])",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(
        nb, kernel_name="python3", store_widget_state=True, timeout=60, resources={}
    ).execute(cwd=str(tmp_path))

    assert nb.cells[-1].outputs[0]["text"].split() == ["True", "True"]
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    captured = json.dumps(
        [m["state"].get("outputs") for m in state.values() if m["model_name"] == "OutputModel"]
    )
    assert "values.yaml" in captured
    assert "airflow-variables-sample-var" in captured
    assert "checked in a kernel" in captured and "$AZURE_CLIENT_SECRET" in captured
    assert typed not in nbformat.writes(nb)
