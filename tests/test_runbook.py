"""helpers.runbook, the notebooks' API, in-process: every step against the sandbox (the real
SDKs, ARM and Airflow's backend), the display/collect round trip, and that nothing raises or
shows a secret."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers import runbook
from helpers import sandbox as sandbox_pkg
from helpers.common.facts import SANDBOX_PORT_VAR, SANDBOX_STATE_VAR
from helpers.findings import Report
from helpers.runbook import prerequisites
from helpers.runbook.results import KERNEL
from tests.conftest import credential_for
from tests.test_probes import revoke_backend_roles

DEFAULT_SCENARIO = Path(sandbox_pkg.__file__).parent / "scenarios" / "default.yaml"
WRONG_SECRET_VAR = "AKV_TEST_RUNBOOK_WRONG_SECRET"


def params(**overrides):
    values = {
        "environment": "sandbox",
        **runbook.SANDBOX_DEFAULTS,
        "client_secret_env": "AZURE_CLIENT_SECRET",
        "variables": ["sample-variable"],
        "connections": ["sample-connection"],
        "target": "env",
    }
    return {**values, **overrides}


def settings_for(**overrides):
    settings, problems = runbook.settings_from_params(**params(**overrides))
    assert problems == []
    return settings


def codes(result) -> list[str]:
    return [f.code for f in result.findings]


def rendered(result) -> str:
    return "\n".join([str(result), result._repr_html_(), json.dumps(result.to_dict())])


def assert_no_secret(result, sandbox) -> None:
    text = rendered(result)
    for value in sandbox.secret_values():
        assert value not in text


@pytest.fixture
def restore_environ():
    """connect() applies a sandbox's environment to os.environ: put it back afterwards."""
    saved = dict(os.environ)
    sandboxes = dict(KERNEL.sandboxes)
    yield
    for key, sandbox in list(KERNEL.sandboxes.items()):
        if key not in sandboxes:
            sandbox.stop()
            del KERNEL.sandboxes[key]
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def conn(akv_sandbox, monkeypatch, restore_environ) -> runbook.Connection:
    """connect() reusing the test's sandbox, as under `make lab` and `make demo`."""
    monkeypatch.setenv(SANDBOX_PORT_VAR, str(akv_sandbox.port))
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(akv_sandbox.state_dir))
    connection = runbook.connect("sandbox", notebook="test")
    assert connection.ok, connection.findings
    return connection


@pytest.fixture
def wrong_secret(monkeypatch) -> str:
    monkeypatch.setenv(WRONG_SECRET_VAR, "not-the-client-secret~0123456789")
    return WRONG_SECRET_VAR


@pytest.fixture
def displayed(monkeypatch) -> list:
    """What show() displays, without a kernel."""
    calls: list = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **kw: calls.append((a, kw)))
    return calls


# -- connect -------------------------------------------------------------------------------
def test_connect_reuses_the_sandbox_named_by_AKV_SANDBOX_PORT(conn, akv_sandbox):
    assert conn.control.port == akv_sandbox.port
    assert conn.sandbox is None  # nothing started in this process
    assert conn.vault_url == "https://airflow-sandbox-kv.vault.azure.net/"
    admin = conn.admin_environ()
    assert admin["AZURE_CLIENT_ID"] == akv_sandbox.client.env("admin")["AZURE_CLIENT_ID"]
    assert admin["HTTPS_PROXY"].endswith(f":{akv_sandbox.port}")
    described = str(conn.describe())
    assert "offline sandbox" in described and "admin principal" in described


def test_connect_starts_a_private_sandbox_for_a_scenario_file(akv_sandbox, restore_environ):
    connection = runbook.connect("sandbox", scenario=DEFAULT_SCENARIO)
    assert connection.ok and connection.sandbox is not None
    assert connection.control.port != akv_sandbox.port
    assert os.environ["HTTPS_PROXY"].endswith(f":{connection.sandbox.port}")
    again = runbook.connect("sandbox", scenario=DEFAULT_SCENARIO)
    assert again.sandbox is connection.sandbox  # one sandbox per scenario and kernel


def test_connect_to_an_unreachable_sandbox_is_a_finding(monkeypatch, tmp_path, restore_environ):
    monkeypatch.setenv(SANDBOX_PORT_VAR, "1")
    monkeypatch.setenv(SANDBOX_STATE_VAR, str(tmp_path))
    connection = runbook.connect("sandbox")
    assert codes(connection) == ["AKV-RUN-012"]
    assert not connection.ok


def test_connect_to_an_unknown_environment_is_a_finding():
    connection = runbook.connect("staging")
    assert codes(connection) == ["AKV-RUN-012"]
    with pytest.raises(RuntimeError):
        connection.admin_environ()


def test_connect_to_azure_uses_the_process_environment(monkeypatch):
    monkeypatch.setenv("AZURE_KEYVAULT_URL", "https://contoso-kv.vault.azure.net/")
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    connection = runbook.connect("azure")
    assert connection.ok and connection.sandbox is None and connection.control is None
    assert connection.vault_url == "https://contoso-kv.vault.azure.net/"
    assert "your own Azure sign-in" in str(connection.describe())


# -- settings and the check form ----------------------------------------------------------------
def test_settings_from_params_skips_notebook_only_parameters_and_splits_id_lists():
    settings, problems = runbook.settings_from_params(
        **params(
            variables="a_var, b-var",
            connections="warehouse",
            run_dag=False,
            perform_grant=True,
            existing_config="",
            sandbox_scenario=None,
        )
    )
    assert problems == []
    assert settings.variables == ["a_var", "b-var"]
    assert settings.connections == ["warehouse"]
    assert settings.name == "sandbox"


def test_a_client_secret_value_in_the_parameters_is_refused_and_never_shown():
    secret = "Zx8~q.Very-Secret-Value-0123456789"
    settings, problems = runbook.settings_from_params(**params(client_secret=secret))
    assert [f.code for f in problems] == ["AKV-SET-012"]
    assert secret not in str(runbook.check_settings(settings, problems))


def test_check_settings_shows_the_values_and_the_problems():
    settings, problems = runbook.settings_from_params(**params(vault_url="my-vault"))
    result = runbook.check_settings(settings, problems)
    assert "AKV-SET-002" in codes(result)
    assert "client_secret_env" in str(result) and "the NAME of the variable" in str(result)


def test_check_form_signs_in_and_reads_the_first_variable(akv_sandbox):
    result = runbook.check_form(params())
    assert codes(result) == ["AKV-AUTH-001", "AKV-NET-002", "AKV-SECRET-001"]
    assert result.ok and isinstance(result, Report)
    assert result.data["claims"]["oid"] == "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53"
    assert_no_secret(result, akv_sandbox)


def test_check_form_with_a_wrong_secret_reports_AADSTS7000215(akv_sandbox, wrong_secret):
    result = runbook.check_form(params(client_secret_env=wrong_secret))
    assert codes(result)[0] == "AKV-AUTH-003"
    assert not result.ok
    assert os.environ[wrong_secret] not in rendered(result)


def test_check_form_stops_before_signing_in_when_a_value_is_invalid(akv_sandbox, monkeypatch):
    monkeypatch.delenv("AKV_TEST_UNSET", raising=False)
    result = runbook.check_form(
        params(vault_url="https://not a vault", client_secret_env="AKV_TEST_UNSET")
    )
    assert "AKV-SET-025" in codes(result)
    assert "AKV-AUTH-001" not in codes(result)


# -- 01 prerequisites --------------------------------------------------------------------------
def test_packages_are_reported_with_their_versions():
    result = runbook.check_packages()
    assert codes(result) == ["AKV-RUN-001"] * 4
    assert result.data["versions"]["apache-airflow"] == "3.3.2"


def test_a_missing_package_is_an_error(monkeypatch):
    real = prerequisites._version
    monkeypatch.setattr(
        prerequisites, "_version", lambda name: None if name == "azure-identity" else real(name)
    )
    result = runbook.check_packages()
    assert "AKV-RUN-002" in codes(result) and not result.ok


def test_provider_too_new_for_airflow_is_reported(monkeypatch):
    fake = {"apache-airflow": "2.9.3", "apache-airflow-providers-microsoft-azure": "15.2.1"}
    real = prerequisites._version
    monkeypatch.setattr(prerequisites, "_version", lambda name: fake.get(name) or real(name))
    assert "AKV-VER-001" in codes(runbook.check_packages())


def test_azure_env_is_shown_without_the_secret_and_mismatches_are_warned(akv_sandbox, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    result = runbook.check_azure_env(settings_for())
    assert codes(result) == ["AKV-RUN-003"]
    assert result.findings[0].subject == "AZURE_CLIENT_ID"
    assert "set (value hidden)" in str(result)
    assert_no_secret(result, akv_sandbox)


def test_an_unset_secret_variable_is_an_error(monkeypatch):
    monkeypatch.delenv("AKV_TEST_UNSET", raising=False)
    result = runbook.check_azure_env(settings_for(client_secret_env="AKV_TEST_UNSET"))
    assert "AKV-SET-025" in codes(result)


def test_sign_in_shows_the_object_id_and_the_vault(akv_sandbox):
    result = runbook.check_sign_in(settings_for())
    assert codes(result) == ["AKV-AUTH-001", "AKV-NET-002"]
    assert "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53" in str(result)
    assert "OBJECT id" in str(result)


# -- 02 permissions ----------------------------------------------------------------------------
def test_permissions_with_access_in_place_need_no_grant(conn):
    perm = runbook.permissions(conn, settings_for())
    model = perm.detect_model()
    assert model.data["model"] == "rbac" and model.findings == []
    assert codes(perm.probe_read()) == ["AKV-AUTH-001", "AKV-NET-002"] + ["AKV-SECRET-001"] * 2
    assert codes(perm.diagnose()) == ["AKV-RUN-011"]
    assert codes(perm.grant(perform=True)) == ["AKV-RUN-011"]
    assert codes(perm.least_privilege()) == ["AKV-PERM-005"]
    assert codes(perm.wait_for_access(timeout=5))[-1] == "AKV-ROLE-007"


def test_grant_commands_name_the_object_id_at_the_vault_scope(conn):
    result = runbook.permissions(conn, settings_for()).grant_commands()
    az = result.data["commands"]["az"]
    assert "--assignee-object-id 9a1c3e5f-7b2d-4f6a-8c0e-2d4f6b8a0c53" in az
    assert "'Key Vault Secrets User'" in az
    assert az.endswith("/providers/Microsoft.KeyVault/vaults/airflow-sandbox-kv")
    assert {"az", "powershell", "bicep", "terraform"} <= set(result.data["commands"])


def test_missing_role_is_diagnosed_granted_as_admin_and_takes_effect(conn, akv_sandbox):
    assert revoke_backend_roles(akv_sandbox) == 1
    perm = runbook.permissions(conn, settings_for())
    probed = perm.probe_read()
    assert "AKV-PERM-001" in codes(probed)
    diagnosis = perm.diagnose()
    assert codes(diagnosis)[0] == "AKV-PERM-001"
    assert "Key Vault Secrets User" in diagnosis.findings[0].fix
    granted = perm.grant(perform=True)
    assert codes(granted) == ["AKV-ROLE-001"]
    assert codes(perm.least_privilege()) == ["AKV-PERM-005"]
    waited = perm.wait_for_access(timeout=20)
    assert codes(waited)[-1] == "AKV-ROLE-007" and waited.ok
    for step in (probed, diagnosis, granted, waited):
        assert_no_secret(step, akv_sandbox)


def test_perform_grant_false_only_shows_the_commands(conn, akv_sandbox):
    revoke_backend_roles(akv_sandbox)
    perm = runbook.permissions(conn, settings_for())
    assert codes(perm.grant(perform=False)) == ["AKV-RUN-010"]
    waited = perm.wait_for_access(timeout=30)  # no grant made here: one probe, no waiting
    assert codes(waited)[-1] == "AKV-ROLE-008"


def test_extra_roles_are_beyond_least_privilege(conn, akv_sandbox):
    from azure.mgmt.authorization import AuthorizationManagementClient

    from tests.sandbox.conftest import BACKEND_OID, ROLE, assignment, subscription, vault_scope

    auth = AuthorizationManagementClient(credential_for(akv_sandbox, "admin"), subscription())
    auth.role_assignments.create(
        vault_scope(),
        "5b1a0c2e-1111-4c4c-9d9d-0e0e0e0e0e01",
        assignment(ROLE["Key Vault Contributor"], BACKEND_OID),
    )
    result = runbook.permissions(conn, settings_for()).least_privilege()
    assert codes(result) == ["AKV-PERM-004"]
    assert "Key Vault Contributor" in result.findings[0].detail


def test_a_failed_sign_in_leaves_the_grant_to_be_fixed_first(conn, wrong_secret):
    perm = runbook.permissions(conn, settings_for(client_secret_env=wrong_secret))
    assert codes(perm.probe_read())[0] == "AKV-AUTH-003"
    assert codes(perm.diagnose()) == ["AKV-AUTH-003"]
    commands = perm.grant_commands()
    assert codes(commands) == ["AKV-RUN-010"] and "<object-id>" in commands.data["commands"]["az"]
    assert codes(perm.grant()) == ["AKV-ROLE-017"]  # one grant workflow: no object id
    assert codes(perm.least_privilege()) == ["AKV-PERM-006"]
    assert codes(perm.wait_for_access(timeout=5))[-1] == "AKV-ROLE-013"


def test_a_step_that_raises_reports_AKV_SVC_003_without_the_secret(conn, monkeypatch):
    secret = os.environ["AZURE_CLIENT_SECRET"]

    def explode(*args, **kwargs):
        raise ValueError(f"boom with {secret} inside")

    # the module, not the permissions() function that shadows its name on the package
    monkeypatch.setattr(sys.modules["helpers.runbook.permissions"], "find_vault", explode)
    result = runbook.permissions(conn, settings_for()).detect_model()
    assert codes(result) == ["AKV-SVC-003"]
    assert "ValueError" in result.findings[0].detail
    assert secret not in rendered(result)


# -- 03 airflow config --------------------------------------------------------------------------
def test_render_config_shows_each_file_ready_to_copy():
    result = runbook.render_config(settings_for(), "helm")
    assert [s.title for s in result.sections] == ["values.yaml"]
    assert "AzureKeyVaultBackend" in result.sections[0].body
    assert result.data["backend_kwargs"]["vault_url"] == runbook.SANDBOX_DEFAULTS["vault_url"]


@pytest.mark.parametrize("target", ["adf", "fabric", "helm", "compose", "airflow_cfg", "env"])
def test_the_rendered_configuration_lints_clean(target):
    result = runbook.lint_config("", settings_for(), target)
    assert result.findings == [], [f.code for f in result.findings]
    assert "no problems found" in result._repr_html_()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{'vault_url': 'https://x.vault.azure.net/'}", "AKV-CFG-003"),
        ('{"vault_url": "https://kv.vault.azure.net/",}', "AKV-CFG-004"),
        (
            "[secrets]\nbackend = airflow.providers.microsoft.azure.secrets.azure_key_vault."
            "AzureKeyVaultBackend\n",
            "AKV-CFG-006",
        ),
        (
            'AIRFLOW__SECRETS__BACKEND_KWARGS={"vault_uri": "https://kv.vault.azure.net/"}\n',
            "AKV-CFG-012",
        ),
    ],
)
def test_a_pasted_configuration_is_linted_by_its_kind(text, code):
    assert code in codes(runbook.lint_config(text))


def test_a_configuration_file_path_is_linted():
    path = Path(__file__).parent / "data" / "lint" / "typographic-airflow.cfg"
    result = runbook.lint_config(str(path))
    assert "AKV-CFG-002" in codes(result) and result.title.endswith(path.name)


def test_naming_rule_maps_your_own_ids():
    result = runbook.naming_rule(settings_for(variables=["sample_var"], connections=["dwh"]))
    assert "variable sample_var → secret airflow-variables-sample-var" in str(result)
    assert "connection dwh → secret airflow-connections-dwh" in str(result)
    assert "AKV-NAME-005" in codes(result)  # the underscore became the separator
    assert result.data["mappings"][0]["secret_name"] == "airflow-variables-sample-var"


# -- 04 live retrieval ----------------------------------------------------------------------------
def test_store_samples_writes_missing_ones_as_admin_and_leaves_existing_ones(conn, akv_sandbox):
    settings = settings_for(variables=["sample-variable", "runbook_new"], connections=[])
    live = runbook.retrieval(conn, settings)
    assert codes(live.store_samples()) == ["AKV-RUN-005", "AKV-RUN-004"]
    assert codes(live.store_samples()) == ["AKV-RUN-005", "AKV-RUN-005"]
    read = live.read_with_sdk()
    assert codes(read)[-2:] == ["AKV-SECRET-001", "AKV-SECRET-001"]


def test_store_samples_never_writes_to_a_real_vault():
    live = runbook.retrieval(runbook.Connection("azure"), settings_for())
    result = live.store_samples()
    assert codes(result) == ["AKV-RUN-010"]
    assert "az keyvault secret set --vault-name airflow-sandbox-kv" in str(result)
    assert "--name airflow-connections-sample-connection" in str(result)


def test_variable_get_in_a_scratch_airflow_agrees_with_the_sdk(conn, akv_sandbox):
    live = runbook.retrieval(conn, settings_for())
    live.read_with_sdk()
    result = live.variable_get()
    assert codes(result) == ["AKV-RUN-006", "AKV-RUN-006"], str(result)
    assert "same as the SDK read" in result.findings[0].detail
    assert "a postgres connection" in result.findings[1].detail
    assert_no_secret(result, akv_sandbox)


def test_run_dag_false_is_skipped():
    live = runbook.retrieval(runbook.Connection("sandbox"), settings_for())
    assert codes(live.run_dag(run=False)) == ["AKV-RUN-010"]


SUCCESS_LOG = (
    "2026-01-01T00:00:01.000000Z [info     ] Read sample-variable from Key Vault: len=44 "
    "hmac=763aed3b68da [x] loc=akv_sample.py:29\n"
    "2026-01-01T00:00:02.000000Z [info     ] DagRun Finished: dag_id=akv_sample, "
    "run_duration=7.8, state=success, external_trigger=False [airflow.models.dagrun.DagRun]\n"
)


def test_dag_outcome_success_shows_only_the_fingerprint_and_the_state():
    result = runbook.dag_outcome(0, SUCCESS_LOG, 35.2)
    assert codes(result) == ["AKV-RUN-008"]
    assert result.sections[0].body == (
        "task get_variable: Read sample-variable from Key Vault: len=44 hmac=763aed3b68da\n"
        "DagRun akv_sample finished: state=success"
    )


def test_dag_outcome_failure_names_the_cause_airflow_logged(wrong_secret, monkeypatch):
    secret = os.environ[wrong_secret]
    runbook.settings_from_params(**params(client_secret_env=wrong_secret))
    log = (
        "EnvironmentCredential: Authentication failed: AADSTS7000215: Invalid client secret "
        f"provided. secret was {secret}\n"
        "KeyError: 'Variable sample-variable does not exist'\n"
        "DagRun Finished: dag_id=akv_sample, state=failed\n"
    )
    result = runbook.dag_outcome(1, log, 30)
    assert codes(result) == ["AKV-RUN-009", "AKV-AUTH-003"]
    assert secret not in rendered(result)


def test_explain_sample_dag_lists_the_changes_and_lints_dags_clean():
    result = runbook.explain_sample_dag()
    assert result.findings == []
    text = str(result)
    assert "schedule_interval=timedelta(days=1)" in text
    assert "airflow.providers.standard.operators.python" in text


# -- show / collect ------------------------------------------------------------------------
def test_show_displays_html_and_the_machine_readable_payload_in_one_output(displayed):
    KERNEL.notebook = "01_prerequisites"
    result = runbook.check_settings(*runbook.settings_from_params(**params(vault_url="kv")))
    payload = runbook.show("settings", result)
    (bundle,), kwargs = displayed[0]
    assert kwargs == {"raw": True}
    assert set(bundle) == {"text/html", runbook.MIMETYPE, "text/plain"}
    assert bundle[runbook.MIMETYPE] == payload
    assert payload["step"] == "settings" and payload["notebook"] == "01_prerequisites"
    assert payload["ok"] is False and payload["worst"] == "error"
    assert payload["findings"][0]["code"] == "AKV-SET-002"
    assert bundle["text/plain"].startswith("settings: ERROR (error; AKV-SET-002")
    json.dumps(payload)
    assert payload._ipython_display_() is None  # a cell ending in show() displays nothing more


def test_show_accepts_plain_findings_and_reports(displayed):
    from helpers.findings.codes.auth import SIGNED_IN

    assert runbook.show("x", [SIGNED_IN("sign-in")])["ok"] is True
    assert runbook.show("y", Report("r", []))["findings"] == []


def test_collect_results_reads_the_payloads_back_in_order(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    first = {"step": "a", "ok": True, "findings": []}
    second = {"step": "b", "ok": False, "findings": []}
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", {runbook.MIMETYPE: first, "text/plain": "a"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello"),
        nbformat.v4.new_output("display_data", {runbook.MIMETYPE: json.dumps(second)}),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    assert runbook.collect_results(nb) == [first, second]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert [r["step"] for r in runbook.collect_results(path)] == ["a", "b"]


def test_step_result_renders_sections_and_findings():
    result = runbook.StepResult(
        "T",
        [],
        [runbook.Section("table", [["a", "b"], ["1", "<2>"]], "table"), runbook.Section("", "x")],
    )
    html = result._repr_html_()
    assert '<th style="text-align:left;vertical-align:top">a</th>' in html
    assert '<td style="text-align:left;vertical-align:top">&lt;2&gt;</td>' in html
    assert ">x</pre>" in html and "font-family:monospace" in html
    assert "a  b\n1  <2>" in str(result)
    assert "no findings" in repr(result)
