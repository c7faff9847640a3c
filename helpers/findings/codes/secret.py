"""AKV-SECRET-*: Reading secrets: found, missing, disabled, parseable."""

from helpers.findings.core import Severity, define

__all__ = [
    "SECRET_READ",
    "SECRET_NOT_FOUND",
    "SECRET_DISABLED",
    "CONNECTION_UNPARSEABLE",
    "BACKEND_DISAGREES",
    "NOTHING_TO_READ",
]

SECRET_READ = define(
    "AKV-SECRET-001",
    Severity.OK,
    "Secret readable",
    """
    The secret was read through the SDK (and through Airflow's AzureKeyVaultBackend); only its
    length and a short hash are shown.
    """,
    "Nothing to do.",
)

SECRET_NOT_FOUND = define(
    "AKV-SECRET-002",
    Severity.ERROR,
    "Secret not found (404)",
    """
    The vault has no secret with the name Airflow looks up. Airflow builds that name as
    prefix + sep + id and turns every "_" into sep, so Variable "sample_var" is read from
    "airflow-variables-sample-var"; the backend returns None for a 404 and Airflow falls back
    to environment variables and the metastore, often ending in "Variable ... does not exist".
    A secret that was deleted (soft-deleted) also answers 404.
    """,
    """
    Create the secret under exactly the name in the detail (`az keyvault secret set
    --vault-name <vault> --name <name> --value ...`), or recover it if it was deleted; check
    the prefix and sep in backend_kwargs.
    """,
)

SECRET_DISABLED = define(
    "AKV-SECRET-003",
    Severity.ERROR,
    "Secret is disabled (SecretDisabled)",
    """
    The secret exists but its current version is disabled, so Key Vault answers 403
    SecretDisabled. The backend does not treat this as "not found": the lookup raises, and
    Airflow logs an error and tries the next backend.
    """,
    """
    Enable the secret's current version (`az keyvault secret set-attributes --vault-name
    <vault> --name <name> --enabled true`) or set a new, enabled version.
    """,
)

CONNECTION_UNPARSEABLE = define(
    "AKV-SECRET-004",
    Severity.ERROR,
    "Connection value cannot be parsed by Airflow",
    """
    The connection secret was read, but Airflow cannot turn it into a Connection: a value
    starting with "{" must be valid JSON with Connection fields, anything else must be a URI
    (scheme://login:password@host:port/schema?extra=...) with special characters in the
    password percent-encoded.
    """,
    """
    Store the connection as JSON ({"conn_type": ..., "host": ..., "password": ...}) or as a
    URI built with Connection(...).get_uri(), and set it as a new version of the secret.
    """,
)

BACKEND_DISAGREES = define(
    "AKV-SECRET-005",
    Severity.WARNING,
    "Airflow's backend and the SDK read different values",
    """
    The SDK read the secret, but Airflow's AzureKeyVaultBackend, built from the same settings,
    returned nothing or a different value. The backend sees another vault URL, prefix or
    separator than the probe (or the secret changed between the two reads).
    """,
    """
    Compare backend_kwargs (vault_url, prefixes, sep) with the settings the probe used and
    probe again.
    """,
)

NOTHING_TO_READ = define(
    "AKV-SECRET-006",
    Severity.INFO,
    "No secrets named: read access checked with a name that does not exist",
    """
    The settings name no variables or connections, so the check does not assume that any
    particular secret exists (the seed's sample-variable is only in the sandbox). Instead it
    reads a random name that no vault holds: Key Vault answers 404 SecretNotFound only to an
    identity that may read secrets — without the permission it answers 403 whether or not the
    secret exists. A 404 therefore proves read access (through the SDK and, when the prefixes
    allow, through Airflow's backend, which turns the 404 into None). It does not prove that
    the secrets your DAGs read exist. A 403 is reported as the permission finding it is; note
    that a role assigned on single secrets (not the vault) also answers 403 here.
    """,
    """
    Nothing to fix. To check the secrets your DAGs use, name them: `--variable KEY` /
    `--connection ID` (repeatable) or `variables:` / `connections:` in the settings or the
    inventory.
    """,
)
