"""Issue 11's "wrong results": inputs that looked fine to the runbook but fail for real.

- a domain tenant id renders clean, yet Key Vault's challenge names the tenant GUID and the
  real SDK refuses (AKV-SET-007 offline, shown live against the sandbox);
- a plain ``check`` assumed the seed's sample-variable exists; it now proves read access with
  a name that cannot exist (AKV-SECRET-006) unless told what to read;
- ``config lint --dags`` passed the seed's own adf.py (Airflow 2 imports, ``schedule_interval``,
  the secret value logged).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.keyvault.secrets import SecretClient

from helpers.cli import main
from helpers.probe import probe
from helpers.settings import Settings, check_tenant, settings_from_mapping
from helpers.vault.credentials import VAULT_SCOPE
from tests.conftest import SAMPLE, vault_url

DOMAIN = "sandbox.onmicrosoft.com"  # the sandbox tenant's verified domain
CLIENT = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


# -- 1. a domain tenant id -------------------------------------------------------------------
@pytest.mark.parametrize("tenant", ["contoso.onmicrosoft.com", "Contoso.com", "corp.co"])
def test_domain_tenant_reports_AKV_SET_007_with_the_guid_fix(tenant):
    value, findings = check_tenant(tenant)
    assert codes(findings) == ["AKV-SET-007"]
    finding = findings[0]
    assert value == tenant.lower() and finding.data["domain"] == tenant.lower()
    assert "domain name" in finding.detail and "GUID" in finding.detail
    assert "az account show --query tenantId" in finding.fix
    assert "tid" in finding.fix and "Overview" in finding.fix


def test_domain_tenant_is_flagged_in_settings_lint_and_render(capsys, tmp_path: Path):
    base = {"vault_url": "https://kv1.vault.azure.net/", "client_id": CLIENT}
    _, findings = settings_from_mapping({**base, "tenant_id": "contoso.onmicrosoft.com"})
    assert "AKV-SET-007" in codes(findings)
    _, findings = settings_from_mapping({**base, "workload_identity_tenant_id": "contoso.com"})
    assert "AKV-SET-007" in codes(findings)

    env = tmp_path / "airflow.env"
    env.write_text(
        "AIRFLOW__SECRETS__BACKEND=airflow.providers.microsoft.azure.secrets.key_vault."
        "AzureKeyVaultBackend\n"
        'AIRFLOW__SECRETS__BACKEND_KWARGS={"vault_url": "https://kv1.vault.azure.net/"}\n'
        f"AZURE_TENANT_ID=contoso.onmicrosoft.com\nAZURE_CLIENT_ID={CLIENT}\n"
    )
    code, out = run(capsys, "config", "lint", str(env), "--json")
    assert code == 1 and "AKV-SET-007" in [f["code"] for f in json.loads(out)["findings"]]

    argv = ["config", "render", "--target", "env", "--json", "--vault-url", base["vault_url"]]
    code, out = run(capsys, *argv, "--tenant-id", "contoso.onmicrosoft.com", "--client-id", CLIENT)
    assert code == 1 and "AKV-SET-007" in out


def test_domain_tenant_fails_at_the_vault_challenge_as_AKV_SET_007_predicts(akv_sandbox):
    """Live, with the real SDKs: Entra issues the token for the domain, Key Vault's challenge
    names the GUID, and azure-identity refuses; the GUID the fix names works."""
    env = akv_sandbox.client.env("airflow-backend")
    guid = env["AZURE_TENANT_ID"]
    assert check_tenant(guid)[1] == [] and codes(check_tenant(DOMAIN)[1]) == ["AKV-SET-007"]
    from azure.identity import ClientSecretCredential

    domain_credential = ClientSecretCredential(DOMAIN, CLIENT, env["AZURE_CLIENT_SECRET"])
    assert domain_credential.get_token(VAULT_SCOPE).token  # sign-in itself accepts a domain
    client = SecretClient(vault_url(), domain_credential, retry_total=0)
    with pytest.raises(ClientAuthenticationError, match=f"acquire tokens for tenant {guid}"):
        client.get_secret(SAMPLE)

    guid_credential = ClientSecretCredential(guid, CLIENT, env["AZURE_CLIENT_SECRET"])
    assert SecretClient(vault_url(), guid_credential, retry_total=0).get_secret(SAMPLE).value


def test_domain_tenant_breaks_airflows_backend_through_the_environment(akv_sandbox, monkeypatch):
    """The seed's recipe (AZURE_TENANT_ID + DefaultAzureCredential): the lookup raises."""
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    monkeypatch.setenv("AZURE_TENANT_ID", DOMAIN)
    backend = AzureKeyVaultBackend(vault_url=os.environ["AZURE_KEYVAULT_URL"], retry_total=0)
    with pytest.raises(ClientAuthenticationError, match="not configured to acquire tokens"):
        backend.get_variable("sample-variable")


# -- 2. the default check assumes no secret --------------------------------------------------
def test_settings_name_no_variable_by_default():
    assert Settings().variables == [] and Settings().connections == []


def delete_sample(admin_credential) -> None:
    SecretClient(vault_url(), admin_credential).begin_delete_secret(SAMPLE).wait()


def test_plain_check_of_a_vault_without_sample_variable_proves_access_and_exits_0(
    akv_sandbox, admin_credential, capsys
):
    delete_sample(admin_credential)

    code, out = run(capsys, "check", "--json")

    payload = json.loads(out)
    found = codes_of(payload)
    assert code == 0, found
    assert "AKV-SECRET-002" not in found and "AKV-SECRET-006" in found
    access = next(f for f in payload["findings"] if f["code"] == "AKV-SECRET-006")
    assert "404 SecretNotFound through the SDK and Airflow's backend" in access["detail"]
    assert access["data"]["secret_name"].startswith("airflow-variables-akv-runbook-access-check-")


def codes_of(payload: dict) -> list[str]:
    return [f["code"] for f in payload["findings"]]


def test_check_naming_a_variable_still_requires_it(akv_sandbox, admin_credential, capsys):
    delete_sample(admin_credential)

    code, out = run(capsys, "check", "--no-backend", "--variable", "sample-variable", "--json")

    assert code == 1 and "AKV-SECRET-002" in codes_of(json.loads(out))


def test_access_check_without_a_role_is_the_403_finding(akv_sandbox):
    from tests.test_probes import backend_settings, revoke_backend_roles

    assert revoke_backend_roles(akv_sandbox) >= 1

    result = probe(backend_settings(variables=[], connections=[]), check_roles=False)

    assert "AKV-SECRET-006" not in result.codes and not result.ok
    forbidden = next(f for f in result.findings if f.code == "AKV-PERM-001")
    assert "a name that does not exist" in forbidden.detail


def test_access_check_with_underscore_sep_reads_a_bare_name_through_the_sdk(akv_sandbox):
    from tests.test_probes import backend_settings

    result = probe(backend_settings(variables=[], connections=[], sep="_"), check_roles=False)

    access = next(f for f in result.findings if f.code == "AKV-SECRET-006")
    assert access.data["secret_name"].startswith("akv-runbook-access-check-")
    assert "through the SDK (" in access.detail


# -- 3. the seed's adf.py under config lint --dags -------------------------------------------
SEED_ADF = Path(__file__).parent / "data" / "seed" / "adf.py.txt"  # verbatim from the seed doc
REPO_DAGS = Path(__file__).parent.parent / "dags"


@pytest.fixture
def seed_dags(tmp_path: Path) -> Path:
    (tmp_path / "adf.py").write_text(SEED_ADF.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_seed_adf_py_reports_airflow_3_breakage_and_the_logged_secret(seed_dags):
    from helpers.backend_config import lint_dags

    findings = lint_dags(seed_dags)

    assert [(f.code, f.subject) for f in findings] == [
        ("AKV-DAG-006", "adf.py:2"),  # airflow.operators.python_operator
        ("AKV-DAG-008", "adf.py:4"),  # from airflow.models import Variable
        ("AKV-DAG-009", "adf.py:11"),  # logger.info(variable_value)
        ("AKV-DAG-007", "adf.py:13"),  # schedule_interval=
        ("AKV-DAG-008", "adf.py:13"),  # email* default_args
    ]
    text = {f.code + f.subject: f.detail for f in findings}
    assert "airflow.providers.standard.operators.python" in text["AKV-DAG-006adf.py:2"]
    assert "from airflow.sdk import Variable" in text["AKV-DAG-008adf.py:4"]
    assert "Variable.get('sample-variable')" in text["AKV-DAG-009adf.py:11"]
    assert "schedule_interval= was removed: use schedule=" in text["AKV-DAG-007adf.py:13"]


def test_config_lint_dags_fails_the_seed_adf_py(seed_dags, capsys):
    code, out = run(capsys, "config", "lint", "--dags", str(seed_dags), "--json")
    found = codes_of(json.loads(out))
    assert code == 1
    assert {"AKV-DAG-006", "AKV-DAG-007", "AKV-DAG-008", "AKV-DAG-009"} <= set(found)


def test_the_repos_dags_and_the_lint_samples_have_none_of_the_new_findings():
    from helpers.backend_config import lint_dags

    new = {"AKV-DAG-006", "AKV-DAG-007", "AKV-DAG-008", "AKV-DAG-009"}
    assert lint_dags(REPO_DAGS) == []
    samples = Path(__file__).parent / "data" / "lint" / "dags"
    assert not new & set(codes(lint_dags(samples)))


def lint_source(tmp_path: Path, source: str) -> list[str]:
    from helpers.backend_config import lint_dags

    (tmp_path / "d.py").write_text(source, encoding="utf-8")
    return [f"{f.code}@{f.subject.rsplit(':', 1)[1]}" for f in lint_dags(tmp_path)]


def test_secret_values_reaching_print_or_a_logger_are_AKV_DAG_009(tmp_path: Path):
    source = (
        "import logging\n"
        "from airflow.sdk import BaseHook, Variable\n"
        "log = logging.getLogger(__name__)\n"
        "def t():\n"
        "    v = Variable.get('k')\n"
        "    print(v)\n"  # 6
        "    log.info('value: %s', v)\n"  # 7
        "    log.info(f'value: {v.strip()}')\n"  # 8
        "    log.info('value: ' + v)\n"  # 9
        "    conn = BaseHook.get_connection('db')\n"
        "    print(conn.password)\n"  # 11
        "    logging.warning(BaseHook.get_connection('db').get_uri())\n"  # 12
        "    print(Variable.get('k2'))\n"  # 13
        "    w = v\n"
        "    def inner():\n"
        "        log.debug(w)\n"  # 16: a closure still holds the value
    )
    assert lint_source(tmp_path, source) == [
        f"AKV-DAG-009@{n}" for n in (6, 7, 8, 9, 11, 12, 13, 16)
    ]


def test_logging_a_length_or_hash_or_the_connection_itself_is_not_a_leak(tmp_path: Path):
    source = (
        "import hashlib, logging\n"
        "from airflow.sdk import BaseHook, Variable\n"
        "log = logging.getLogger(__name__)\n"
        "def t():\n"
        "    v = Variable.get('k')\n"
        "    digest = hashlib.sha256(v.encode()).hexdigest()\n"
        "    log.info('len=%d %s', len(v), digest)\n"
        "    conn = BaseHook.get_connection('db')\n"
        "    print(conn.host, conn.login)\n"
        "    print('read', 'k')\n"
        "    cache = {}\n"
        "    print(cache.get('k'))\n"
    )
    assert lint_source(tmp_path, source) == []


def test_removed_and_deprecated_airflow_2_forms_are_told_apart(tmp_path: Path):
    source = (
        "from airflow import DAG\n"
        "from airflow.operators.bash_operator import BashOperator\n"  # 2: gone
        "from airflow.operators.python import PythonOperator\n"  # 3: a 3.x shim
        "from airflow.hooks.base_hook import BaseHook\n"  # 4: gone
        "from airflow.hooks.base import BaseHook as B\n"  # 5: a 3.x shim
        "import airflow.contrib.hooks.ssh_hook\n"  # 6: gone
        "from airflow.models import Variable, DagRun\n"  # 7: Variable -> airflow.sdk
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('d', concurrency=2, schedule=None):\n"  # 9: concurrency removed
        "    EmptyOperator(task_id='e', task_concurrency=1, email='a@b')\n"  # 10
    )
    assert lint_source(tmp_path, source) == [
        "AKV-DAG-006@2",
        "AKV-DAG-008@3",
        "AKV-DAG-006@4",
        "AKV-DAG-008@5",
        "AKV-DAG-006@6",
        "AKV-DAG-008@7",
        "AKV-DAG-007@9",
        "AKV-DAG-007@10",
        "AKV-DAG-008@10",
    ]


def test_a_device_is_not_a_dag_folder():
    from helpers.backend_config import lint_dags

    assert [f.code for f in lint_dags("/dev/null")] == ["AKV-DAG-004"]


def test_env_file_lines_that_set_nothing_are_findings_without_their_text(tmp_path: Path):
    from helpers.backend_config import lint_file

    env = tmp_path / "airflow.env"
    env.write_text('=\n"\nabc8Q~SuperSecretValue123\nBAD KEY=1\nNAME\nexport OTHER\nOK=1\n')
    findings = lint_file(env)
    ignored = [f for f in findings if f.code == "AKV-CFG-031"]
    assert [f.subject for f in ignored] == ["line 1", "line 2", "line 3", "line 4"]
    assert all("SuperSecretValue" not in f.detail for f in findings)
