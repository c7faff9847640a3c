"""Leak scans: the scanner itself, the committed notebooks, and everything `make demo` writes."""

from __future__ import annotations

import base64
import html
import json
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from helpers.batch.notebook_runs import demo_notebooks, run_demo_notebooks
from helpers.common.leaks import (
    Leak,
    looks_secret,
    notebook_secret_risks,
    scan_for_secrets,
    secret_valued_parameters,
)
from helpers.common.redact import fingerprint
from helpers.sandbox import Sandbox, load_scenario

ROOT = Path(__file__).resolve().parent.parent
SECRET = 'Zq8~v"Tr/4+kL\\x&<n>9 pW'  # every character class an encoder treats specially


def kinds(leaks: list[Leak]) -> set[str]:
    return {leak.kind for leak in leaks}


# -- the scanner ---------------------------------------------------------------------------
def test_a_plain_secret_is_reported_by_file_and_kind_never_by_value(tmp_path):
    (tmp_path / "log.txt").write_text(f"client secret: {SECRET}\n")
    (tmp_path / "clean.txt").write_text("nothing to see\n")
    [leak] = scan_for_secrets([tmp_path], [SECRET])
    assert (leak.path, leak.kind, leak.secret) == (
        tmp_path / "log.txt",
        "plain",
        fingerprint(SECRET),
    )
    assert SECRET not in str(leak) and SECRET not in repr(leak)


def test_binary_files_are_scanned_too(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x00\xff\x89PNG" + SECRET.encode() + b"\x00\x01")
    assert kinds(scan_for_secrets([tmp_path / "blob.bin"], [SECRET])) == {"plain"}


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "use:"])  # every base64 alignment
def test_base64_inside_a_longer_value_is_found(tmp_path, prefix):
    header = base64.b64encode(f"{prefix}{SECRET}".encode()).decode()
    (tmp_path / "headers.txt").write_text(f"Authorization: Basic {header}\n")
    assert kinds(scan_for_secrets([tmp_path], [SECRET])) == {"base64"}


def test_urlsafe_base64_is_found(tmp_path):
    (tmp_path / "t").write_text(base64.urlsafe_b64encode(b"\xfb\xff" + SECRET.encode()).decode())
    assert kinds(scan_for_secrets([tmp_path], [SECRET])) == {"base64url"}


def test_url_encoded_forms_are_found(tmp_path):
    (tmp_path / "a").write_text("?secret=" + urllib.parse.quote(SECRET, safe=""))
    (tmp_path / "b").write_text("secret=" + urllib.parse.quote_plus(SECRET))
    found = scan_for_secrets([tmp_path], [SECRET])
    assert {(leak.path.name, leak.kind) for leak in found} == {
        ("a", "url-encoded"),
        ("b", "url-encoded"),
    }


def test_json_and_html_escaped_forms_are_found(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"v": SECRET}))
    (tmp_path / "b.json").write_text(json.dumps({"v": f"x{SECRET}y"}, ensure_ascii=False))
    (tmp_path / "c.html").write_text(f"<pre>{html.escape(SECRET)}</pre>")
    (tmp_path / "d.json").write_text(json.dumps({"html": f"<td>{html.escape(SECRET)}</td>"}))
    found = {leak.path.name: leak.kind for leak in scan_for_secrets([tmp_path], [SECRET])}
    assert found == {
        "a.json": "json-escaped",
        "b.json": "json-escaped",
        "c.html": "html-escaped",
        "d.json": "html-escaped, json-escaped",
    }


def test_a_leak_in_a_notebook_says_where(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(x)"))
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=SECRET)]
    nb.metadata.papermill = {"parameters": {"token": SECRET}}
    nbformat.write(nb, tmp_path / "nb.ipynb")
    leaks = scan_for_secrets([tmp_path], [SECRET])
    assert {(leak.kind, leak.where) for leak in leaks} == {
        ("json-escaped", "cells[0].outputs[0].text[0]"),
        ("json-escaped", "metadata.papermill.parameters.token"),
    }


def test_short_secrets_are_not_searched_in_encoded_forms(tmp_path):
    (tmp_path / "a").write_text(base64.b64encode(b"abc").decode() + " " + "a%2Fb")
    assert scan_for_secrets([tmp_path], ["abc", "a/b", ""]) == []


def test_nothing_found_in_clean_files(tmp_path):
    (tmp_path / "a").write_text(fingerprint(SECRET))
    assert scan_for_secrets([tmp_path], [SECRET]) == []


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("client_secret", True),
        ("client_secret_env", True),
        ("clientSecret", True),
        ("api_key", True),
        ("password", True),
        ("sas_token", True),
        ("keyvault_url", False),
        ("vault_url", False),
        ("backend_kwargs", False),
        ("tenant_id", False),
    ],
)
def test_secret_looking_names(name, secret):
    assert looks_secret(name) is secret


def test_secret_parameters_must_hold_env_var_names():
    params = {
        "client_secret_env": "AZURE_CLIENT_SECRET",
        "client_secret": "s3cr3t~value",
        "api_key": "",
        "token": None,
        "vault_url": "https://kv.vault.azure.net/",
    }
    assert secret_valued_parameters(params) == ["client_secret"]


def notebook_with(
    tmp_path: Path, *, metadata=None, parameters: str | None = None, tag: str = "parameters"
) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata.update(metadata or {})
    if parameters:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": [tag]}))
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def widget_state(value: str) -> dict:
    return {
        "widgets": {
            "application/vnd.jupyter.widget-state+json": {
                "state": {"m1": {"model_name": "PasswordModel", "state": {"value": value}}},
                "version_major": 2,
                "version_minor": 0,
            }
        }
    }


def test_a_saved_password_widget_value_is_a_risk(tmp_path):
    [risk] = notebook_secret_risks(notebook_with(tmp_path, metadata=widget_state(SECRET)))
    assert risk.where == "metadata.widgets.state.m1"
    assert SECRET not in str(risk)
    assert notebook_secret_risks(notebook_with(tmp_path, metadata=widget_state(""))) == []


def test_a_secret_valued_papermill_parameter_or_default_is_a_risk(tmp_path):
    meta = {"papermill": {"parameters": {"client_secret": SECRET, "client_secret_env": "X_Y"}}}
    [risk] = notebook_secret_risks(notebook_with(tmp_path, metadata=meta))
    assert risk.where == "metadata.papermill.parameters.client_secret"

    defaults = 'client_secret_env = "AZURE_CLIENT_SECRET"\napi_key = "sk-live-123"\n'
    [risk] = notebook_secret_risks(notebook_with(tmp_path, parameters=defaults))
    assert risk.where == "parameters cell: api_key"
    assert "sk-live-123" not in str(risk)

    injected = 'password = "hunter2-hunter2"\n'
    [risk] = notebook_secret_risks(
        notebook_with(tmp_path, parameters=injected, tag="injected-parameters")
    )
    assert risk.where == "injected-parameters cell: password"


# -- the committed notebooks ---------------------------------------------------------------
def committed_notebooks() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return [ROOT / name for name in listed.stdout.split()]


def scenario_secret_values() -> list[str]:
    """The default scenario's stored secrets (client secrets are minted per sandbox)."""
    vaults = load_scenario().data["vaults"]
    return with_embedded_credentials(
        [value for vault in vaults for value in (vault.get("secrets") or {}).values()]
    )


def with_embedded_credentials(values: list[str]) -> list[str]:
    """The values, plus the passwords inside connection URIs and JSON connections."""
    out = list(values)
    for value in values:
        password = urllib.parse.urlsplit(value).password if "://" in value else None
        if value.lstrip().startswith("{"):
            password = json.loads(value).get("password")
        if password:
            out.append(urllib.parse.unquote(password))
    return out


def test_committed_notebooks_hold_no_widget_password_secret_parameter_or_sample_secret():
    notebooks = committed_notebooks()
    assert [str(risk) for nb in notebooks for risk in notebook_secret_risks(nb)] == []
    assert [str(leak) for leak in scan_for_secrets(notebooks, scenario_secret_values())] == []


def test_embedded_credentials_are_scanned_for():
    values = scenario_secret_values()
    assert "sandbox-db-password" in values and "sandbox-api-password" in values


# -- everything `make demo` writes ---------------------------------------------------------
@pytest.mark.slow
def test_make_demo_writes_no_secret_anywhere(tmp_path):
    if not demo_notebooks():
        pytest.skip("notebooks/0*.ipynb are not there yet: nothing for make demo to run")
    secrets: list[str] = []

    def keep_secrets(sandbox: Sandbox) -> None:  # after the run: includes what it stored
        secrets.extend(with_embedded_credentials(sandbox.secret_values()))
        # the projected service-account tokens of the workload-identity run (issue 12)
        tokens = Path(sandbox.state_dir).glob("workload-identity/*/azure-identity-token")
        secrets.extend(token.read_text() for token in tokens)

    printed: list[str] = []
    code = run_demo_notebooks(tmp_path, echo=printed.append, inspect_sandbox=keep_secrets)

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in written}
    for notebook in demo_notebooks():
        assert {f"{notebook.stem}.ipynb", f"{notebook.stem}.html"} <= names
    assert "summary.json" in names
    for kind in ("managed-identity", "workload-identity"):  # 04 once more per identity kind
        assert f"04_live_retrieval-{kind}.ipynb" in names
    assert any(line.lstrip().startswith("workload-identity") for line in printed)
    assert len(secrets) >= 7  # two client secrets, the stored values, their passwords

    leaks = scan_for_secrets([*written, *committed_notebooks()], secrets)
    assert [str(leak) for leak in leaks] == []
    risks = [risk for p in written if p.suffix == ".ipynb" for risk in notebook_secret_risks(p)]
    assert [str(risk) for risk in risks] == []
    assert code == 0, "\n".join(printed)


# -- secrets typed into the wrong place never come back out ------------------------------------
SECRET_LIKE = "Q8x7Vb2kLm9NpR4tYw6zAc3dEf5gHj1K"


def test_messages_lose_secret_shaped_parts():
    from helpers.runbook import redact as _redact

    text = "connect postgres://airflow:hunter2pw@db failed; password=s3cret sig=abcdef123"
    out = _redact(text)
    for value in ("hunter2pw", "s3cret", "abcdef123"):
        assert value not in out


def test_a_secret_given_as_the_variable_name_is_never_rendered():
    from helpers.backend_config.render import render
    from helpers.settings import Settings

    settings = Settings(
        vault_url="https://kv.vault.azure.net/",
        tenant_id="5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
        client_id="3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
        client_secret_env=SECRET_LIKE,
    )
    rendered = render(settings, "env")
    text = repr(rendered.files) + repr(rendered.env) + repr([f.detail for f in rendered.findings])
    assert SECRET_LIKE not in text


def test_kwargs_pasted_into_the_backend_option_are_not_echoed():
    from helpers.backend_config.lint import lint_environment

    kwargs = f'{{"vault_url": "https://kv.vault.azure.net/", "client_secret": "{SECRET_LIKE}x"}}'
    findings = lint_environment({"AIRFLOW__SECRETS__BACKEND": kwargs})
    assert "AKV-CFG-008" in [f.code for f in findings]
    assert SECRET_LIKE not in repr([f.to_dict() for f in findings])


def test_a_mistyped_variable_name_is_shown_as_a_fingerprint():
    from helpers import runbook

    settings, problems = runbook.settings_from_params(
        environment="sandbox",
        vault_url="https://kv.vault.azure.net/",
        tenant_id="5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10",
        client_id="3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42",
        client_secret_env="Pa55-w0rd.Secret",
    )
    for result in (
        runbook.check_settings(settings, problems),
        runbook.check_azure_env(settings, {}),
    ):
        assert "Pa55-w0rd.Secret" not in str(result) + result._repr_html_()


def test_swapped_client_id_and_secret_never_echo_the_secret_in_the_01_outputs():
    """The common slip: AZURE_CLIENT_ID holds the secret and AZURE_CLIENT_SECRET the id."""
    from helpers import runbook

    secret = "Xq8~wEr5tY7uI9oP1aS3dF5gH7jK9lZ2xC4vB6nM"
    client_id = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"
    environ = {"AZURE_CLIENT_ID": secret, "AZURE_CLIENT_SECRET": client_id}
    settings, found = runbook.settings_from_params(
        vault_url="https://kv1.vault.azure.net/", tenant_id="contoso.com", client_id=secret
    )
    outputs = [runbook.check_settings(settings, found), runbook.check_azure_env(settings, environ)]
    for result in outputs:
        text = str(result) + result._repr_html_() + json.dumps(result.to_dict())
        assert secret not in text
        assert "secret-like value" in text


def test_secrets_in_an_inventorys_name_unknown_key_and_subscription_never_reach_a_report(
    tmp_path,
):
    from helpers.batch import check_inventory, load_inventory

    canaries = [f"Xq8~wEr5tY7uI9oP1aS3dF5gH7jK9lZ2xC4vB6n{c}" for c in "ABC"]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\nenvironments:\n"
        f'  - name: "{canaries[0]}"\n'
        "    vault_url: https://kv1.vault.azure.net/\n"
        "    tenant_id: 5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10\n"
        "    client_id: 3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42\n"
        f'    subscription_id: "{canaries[1]}"\n'
        f'    "{canaries[2]}": 1\n',
        encoding="utf-8",
    )
    spec = load_inventory(inventory).environments[0]
    assert spec.subscription_id == ""  # a pasted secret is never carried on to ARM
    assert "AKV-SET-008" in [f.code for f in spec.findings]
    result = check_inventory(load_inventory(inventory), env_timeout=5)
    written = result.write(tmp_path / "report")
    text = "".join(path.read_text(encoding="utf-8") for path in written.values())
    text += result.to_junit() + json.dumps(result.to_dict())
    for canary in canaries:
        assert canary not in text
