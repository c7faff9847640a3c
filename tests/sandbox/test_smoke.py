from azure.keyvault.secrets import SecretClient

from tests.conftest import SAMPLE, vault_url


def test_backend_principal_reads_the_sample_variable(akv_sandbox, backend_credential):
    client = SecretClient(vault_url(), backend_credential)
    secret = client.get_secret(SAMPLE)
    assert secret.name == SAMPLE
    assert secret.value
