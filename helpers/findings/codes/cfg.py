"""AKV-CFG-*: linting existing configuration (kwargs, airflow.cfg, env, Helm, compose, ADF)."""

from helpers.common.facts import BACKEND_CLASS
from helpers.findings.core import Severity, define

_IGNORED = (
    'Airflow does not stop on this: it logs one warning ("Failed to parse [secrets] '
    'backend_kwargs ..."), ignores the whole value and builds the backend with no kwargs, '
    'i.e. vault_url="" and the default prefixes. Every lookup then fails with a ValueError '
    'that Airflow logs and skips, so variables and connections look "missing".'
)

__all__ = [
    "JSON_INVALID",
    "TYPOGRAPHIC_QUOTES",
    "SINGLE_QUOTES",
    "TRAILING_COMMA",
    "JSON_NOT_OBJECT",
    "OLD_MODULE_PATH",
    "BACKEND_NOT_SET",
    "BACKEND_OTHER",
    "SECRET_IN_KWARGS",
    "MI_HALF_SET",
    "SP_HALF_SET",
    "KWARG_TYPO",
    "KWARG_UNKNOWN",
    "CONFIG_PREFIX_DEFAULT",
    "NO_RETRY_BOUND",
    "OVERRIDE_REPLACES",
    "KWARG_WRONG_JSON_TYPE",
    "WORKERS_KWARGS_MISSING",
    "WRAPPED_IN_QUOTES",
    "CONFIG_UNPARSABLE",
    "FILE_KIND_UNKNOWN",
    "SECRET_IN_FILE",
    "HELM_KWARGS_MAPPING",
    "DUPLICATE_KEY",
    "PROVIDER_NOT_REQUIRED",
    "OVERRIDES_NEED_33",
    "NO_CREDENTIAL",
    "WORKERS_KWARGS_IGNORED",
    "WI_LABEL_MISSING",
    "WI_ANNOTATION_MISSING",
    "ENV_LINE_IGNORED",
    "WORKERS_DIFFER",
    "WORKERS_REPEAT_SECRETS",
    "CACHE_OPTION_INVALID",
    "CACHE_TTL_DEFEATS_ROTATION",
    "CACHE_TTL_NO_EFFECT",
    "CACHE_FOR_TASKS",
    "BACKENDS_ORDER_UNKNOWN",
]

# What the secrets cache does in Airflow 3.3 (SecretCache.init() runs in the DAG processor
# manager only; task runners never initialise it): shared by the cache codes below.
_CACHE_PARSING_ONLY = (
    "[secrets] use_cache (default False) turns on a cache that only the DAG processor "
    "initialises, before it forks its parsing children: it saves Key Vault GETs of "
    "top-level Variable.get / connection lookups in DAG files (AKV-DAG-001). Tasks never use "
    "it — a task runner does not initialise the cache, so every lookup in a task goes to the "
    "vault (then to the API server) however use_cache is set."
)
# The search order Airflow 3.3 uses, fixed in code (no option changes it).
_FIXED_ORDER = (
    "the custom backend ([secrets] backend; on workers [workers] secrets_backend, falling "
    "back to [secrets] backend), then AIRFLOW_VAR_* / AIRFLOW_CONN_* environment variables, "
    "then the metastore on the API server and scheduler — or, on workers and in DAG parsing, "
    "the Execution API, which walks the API server's own chain"
)

JSON_INVALID = define(
    "AKV-CFG-001",
    Severity.ERROR,
    "backend_kwargs is not valid JSON",
    f"backend_kwargs must be one JSON object. {_IGNORED}",
    """
    Fix the JSON at the line and column in the detail: double quotes around every key and
    string, no comments, no trailing text. Check it with `python -m json.tool`.
    """,
)

TYPOGRAPHIC_QUOTES = define(
    "AKV-CFG-002",
    Severity.ERROR,
    "Typographic quotes in backend_kwargs",
    f"""
    Curly quotes (“ ” ‘ ’) copied from a web page, a Word document or a chat message are not
    JSON quotes. {_IGNORED}
    """,
    'Retype every quote as a straight double quote (") in a plain-text editor.',
)

SINGLE_QUOTES = define(
    "AKV-CFG-003",
    Severity.ERROR,
    "Single quotes or Python syntax in backend_kwargs",
    f"""
    {{'vault_url': '...'}} or None/True/False is Python, not JSON (bitnami/charts#9997).
    {_IGNORED}
    """,
    "Use double quotes around keys and strings, and null / true / false.",
)

TRAILING_COMMA = define(
    "AKV-CFG-004",
    Severity.ERROR,
    "Trailing comma in backend_kwargs",
    f"JSON allows no comma before a closing }} or ]. {_IGNORED}",
    "Remove the comma at the position in the detail.",
)

JSON_NOT_OBJECT = define(
    "AKV-CFG-005",
    Severity.ERROR,
    "backend_kwargs is JSON but not an object",
    """
    backend_kwargs must be a JSON object ({"vault_url": ...}). A list, a number or a string
    makes Airflow log "Failed to parse [secrets] backend_kwargs into a dict" and build the
    backend with no kwargs (vault_url="").
    """,
    'Write one object: {"vault_url": "https://<vault>.vault.azure.net/", ...}.',
)

OLD_MODULE_PATH = define(
    "AKV-CFG-006",
    Severity.ERROR,
    "Old module path for the backend",
    """
    Older guides name airflow.providers.microsoft.azure.secrets.azure_key_vault; the module
    is now ...secrets.key_vault. With the old path every Airflow process fails at start-up
    with AirflowConfigException: The object could not be loaded. Please check "backend" key
    in "secrets" section.
    """,
    f"Set the backend to {BACKEND_CLASS}.",
)

BACKEND_NOT_SET = define(
    "AKV-CFG-007",
    Severity.ERROR,
    "Secrets backend is not configured",
    """
    Without [secrets] backend (AIRFLOW__SECRETS__BACKEND) Airflow never asks Key Vault:
    variables and connections come from environment variables and the metastore only.
    """,
    f"Set AIRFLOW__SECRETS__BACKEND={BACKEND_CLASS}.",
)

BACKEND_OTHER = define(
    "AKV-CFG-008",
    Severity.ERROR,
    "Secrets backend is not the Azure Key Vault backend",
    """
    The configured class path is a different backend or a misspelling of the Azure Key Vault
    one. A path that does not import stops every Airflow process at start-up ("The object
    could not be loaded. Please check "backend" key in "secrets" section").
    """,
    f"Set the backend to {BACKEND_CLASS} (exact spelling and case).",
)

SECRET_IN_KWARGS = define(
    "AKV-CFG-009",
    Severity.WARNING,
    "Client secret inside backend_kwargs",
    """
    With tenant_id, client_id and client_secret in backend_kwargs the backend signs in with
    that secret — but backend_kwargs is configuration: `airflow config get-value secrets
    backend_kwargs` prints it, it is copied into Helm values, compose files and exports, and
    it rotates with every config change. The runbook never shows the value.
    """,
    """
    Remove client_secret (and tenant_id/client_id) from backend_kwargs and set
    AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET as environment variables from a
    secret store — or better, use a managed identity. Rotate the secret if it was shared.
    """,
)

MI_HALF_SET = define(
    "AKV-CFG-010",
    Severity.WARNING,
    "managed_identity_client_id and workload_identity_tenant_id: one is missing",
    """
    The provider passes managed_identity_client_id to DefaultAzureCredential only together
    with workload_identity_tenant_id. Alone, either is silently ignored and the credential
    falls back to defaults — for a user-assigned identity that means the wrong (or no)
    identity.
    """,
    """
    Set both keys, or set AZURE_CLIENT_ID to the managed identity's client id instead (the
    default credential reads it).
    """,
)

SP_HALF_SET = define(
    "AKV-CFG-011",
    Severity.WARNING,
    "tenant_id / client_id / client_secret only partly in backend_kwargs",
    """
    The provider uses ClientSecretCredential only when tenant_id, client_id and
    client_secret are ALL set in backend_kwargs. With one missing, all three are ignored and
    DefaultAzureCredential decides from AZURE_* variables or managed identity instead.
    """,
    """
    Remove the three keys and use AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET
    (preferred), or set all three.
    """,
)

KWARG_TYPO = define(
    "AKV-CFG-012",
    Severity.ERROR,
    "backend_kwargs key looks like a typo",
    """
    The backend passes any key it does not know straight to SecretClient, so a misspelt
    "vault_uri" or "variable_prefix" raises no error: the real setting keeps its default
    (vault_url="" or the default prefix) and lookups go nowhere or to the wrong names.
    """,
    "Rename the key to the one suggested in the detail.",
)

KWARG_UNKNOWN = define(
    "AKV-CFG-013",
    Severity.WARNING,
    "Unknown backend_kwargs key passed to SecretClient",
    """
    Keys the backend does not know are passed to SecretClient(**kwargs). Known client
    options (retry_total, connection_timeout, ...) are fine; anything else is ignored at
    best and breaks every request at worst.
    """,
    "Remove the key unless it is a documented azure-core / SecretClient option.",
)

CONFIG_PREFIX_DEFAULT = define(
    "AKV-CFG-014",
    Severity.INFO,
    "config_prefix left at its default",
    """
    When config_prefix is absent it defaults to "airflow-config", so Airflow consults the
    vault for configuration options read through `*_secret` keys — extra requests and a
    broader read scope than variables and connections need.
    """,
    'Add "config_prefix": null to backend_kwargs unless you keep Airflow config in the vault.',
)

NO_RETRY_BOUND = define(
    "AKV-CFG-015",
    Severity.INFO,
    "retry_total is not bounded",
    """
    Any backend_kwargs key the provider does not know goes to SecretClient; "retry_total"
    bounds azure-core's retries. Without it (or above 10) the SDK retries a throttled (429) or
    failing request up to 10 times with exponential back-off of up to 120 s, so one lookup
    can stall a DAG parse or a task for minutes instead of failing fast.
    """,
    'Add "retry_total": 3 (a JSON number; at most 10) to backend_kwargs or the settings.',
)

OVERRIDE_REPLACES = define(
    "AKV-CFG-016",
    Severity.WARNING,
    "Per-key override replaces a backend_kwargs value",
    """
    Airflow 3.3 reads AIRFLOW__SECRETS__BACKEND_KWARG__<KEY> variables and lets them win over
    the backend_kwargs JSON. Two sources that disagree make the JSON misleading to anyone
    reading the configuration.
    """,
    "Keep each key in one place: in the JSON or in its per-key variable.",
)

KWARG_WRONG_JSON_TYPE = define(
    "AKV-CFG-017",
    Severity.ERROR,
    "Backend kwarg is a string where a number or null is needed",
    """
    Per-key AIRFLOW__SECRETS__BACKEND_KWARG__<KEY> values are raw strings, never parsed as
    JSON: RETRY_TOTAL=3 passes the string "3", which breaks every request (TypeError in the
    retry policy), and CONFIG_PREFIX=null gives the prefix "null" instead of disabling the
    lookup. The same happens with a quoted number inside the JSON.
    """,
    "Put numbers and null in the backend_kwargs JSON as JSON values (3, null — unquoted).",
)

WORKERS_KWARGS_MISSING = define(
    "AKV-CFG-018",
    Severity.ERROR,
    "[workers] secrets_backend without its own kwargs",
    """
    When [workers] secrets_backend is set, workers build that backend from [workers]
    secrets_backend_kwargs only — they do NOT fall back to [secrets] backend_kwargs. Without
    them tasks get vault_url="" while the scheduler and API server work.
    """,
    """
    Set AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS to the same JSON as backend_kwargs, or
    unset [workers] secrets_backend so workers use [secrets].
    """,
)

WRAPPED_IN_QUOTES = define(
    "AKV-CFG-019",
    Severity.ERROR,
    "Value wrapped in an extra pair of quotes",
    """
    airflow.cfg and environment variables keep quotes literally: '{"vault_url": ...}' or
    "airflow.providers...AzureKeyVaultBackend" in quotes is a string, not the JSON object or
    class path. Shells and .env files strip one level of quotes; Airflow does not.
    """,
    "Remove the outer quotes (keep the JSON's own double quotes).",
)

CONFIG_UNPARSABLE = define(
    "AKV-CFG-020",
    Severity.ERROR,
    "Configuration file cannot be parsed",
    "The file is not valid for its kind (INI, JSON, YAML), or cannot be read.",
    "Fix the syntax at the position in the detail, then lint again.",
)

FILE_KIND_UNKNOWN = define(
    "AKV-CFG-021",
    Severity.ERROR,
    "Kind of configuration file not recognised",
    """
    lint_file recognises airflow.cfg, .env files, ADF/Fabric JSON exports, Helm values,
    docker compose files and DAG folders by name and content. A file of none of these kinds
    was not linted, so nothing about it is known to be right.
    """,
    "Name the file by its kind (airflow.cfg, values.yaml, docker-compose.yaml, .env, *.json).",
)

SECRET_IN_FILE = define(
    "AKV-CFG-022",
    Severity.WARNING,
    "Client secret in clear text in a configuration file",
    """
    The file carries AZURE_CLIENT_SECRET's value. Values files, compose files and exports
    are committed, shared and pasted; the secret leaks with them. The runbook shows only a
    length and a short hash.
    """,
    """
    Helm: a Kubernetes Secret via `secret:` or env valueFrom.secretKeyRef. Compose:
    `${AZURE_CLIENT_SECRET}` interpolation or env_file kept out of version control. ADF /
    Fabric: do not share exports that contain it. Rotate the secret if it was shared.
    """,
)

HELM_KWARGS_MAPPING = define(
    "AKV-CFG-023",
    Severity.ERROR,
    "Helm config backend_kwargs is a YAML mapping, not a JSON string",
    """
    The chart writes config values into airflow.cfg as text; a YAML mapping under
    config.secrets.backend_kwargs renders as Go map text (map[vault_url:...]), which is not
    JSON. Airflow then ignores it and builds the backend with vault_url="".
    """,
    """
    Write it as a JSON string: backend_kwargs: '{"vault_url": "https://<vault>.vault.azure.net/"}'
    """,
)

DUPLICATE_KEY = define(
    "AKV-CFG-024",
    Severity.WARNING,
    "Duplicate key in backend_kwargs",
    "The same key appears twice; JSON parsers keep the last one silently.",
    "Keep one occurrence of each key.",
)

PROVIDER_NOT_REQUIRED = define(
    "AKV-CFG-025",
    Severity.WARNING,
    "apache-airflow-providers-microsoft-azure not in the requirements",
    """
    The backend class lives in apache-airflow-providers-microsoft-azure. If the image does
    not already ship it, Airflow cannot import the backend and stops at start-up.
    """,
    """
    Add apache-airflow-providers-microsoft-azure to the Airflow requirements, pinned to a
    version your Airflow supports (Airflow 2.6.3: ==10.0.0).
    """,
)

OVERRIDES_NEED_33 = define(
    "AKV-CFG-026",
    Severity.ERROR,
    "Per-key backend kwarg overrides need Airflow 3.3",
    """
    AIRFLOW__SECRETS__BACKEND_KWARG__<KEY> variables are read from Airflow 3.3 on. Older
    versions ignore them, so those settings never reach the backend.
    """,
    "Put the keys into AIRFLOW__SECRETS__BACKEND_KWARGS (JSON) instead.",
)

NO_CREDENTIAL = define(
    "AKV-CFG-027",
    Severity.INFO,
    "No credential configured: managed identity assumed",
    """
    Neither AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_SECRET nor credential keys in
    backend_kwargs are set, so DefaultAzureCredential will try the host's managed identity
    (then developer sign-ins). That is right on an Azure VM, AKS or a Fabric workspace
    identity, and fails on ADF Data workflows or a laptop.
    """,
    """
    For a service principal set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in
    the Airflow environment; for a managed identity make sure it is assigned to the host.
    """,
)

WORKERS_KWARGS_IGNORED = define(
    "AKV-CFG-028",
    Severity.WARNING,
    "[workers] secrets_backend_kwargs without [workers] secrets_backend",
    """
    Workers read [workers] secrets_backend_kwargs only when [workers] secrets_backend is
    set; otherwise they use [secrets] backend with [secrets] backend_kwargs and these
    kwargs are ignored.
    """,
    "Remove them, or set [workers] secrets_backend too.",
)

WI_LABEL_MISSING = define(
    "AKV-CFG-029",
    Severity.ERROR,
    'Workload identity without the pod label azure.workload.identity/use: "true"',
    """
    The Azure Workload Identity webhook mutates only pods labelled
    azure.workload.identity/use: "true" (the string; a YAML boolean is not a valid label
    value). Without it no AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID or AZURE_TENANT_ID is
    injected and no token is mounted, so the backend's workload identity sign-in fails
    (AKV-AUTH-017) and DefaultAzureCredential falls through to the node's managed identity.
    """,
    """
    Add to the values: labels: {azure.workload.identity/use: "true"} (the chart puts the
    top-level labels on every pod), or the same label under each Airflow component's labels;
    `akv-runbook config render --target helm` writes it.
    """,
)

WI_ANNOTATION_MISSING = define(
    "AKV-CFG-030",
    Severity.ERROR,
    "Workload identity without the service-account annotation azure.workload.identity/client-id",
    """
    The webhook takes the identity's client id from the pod's service account annotation
    azure.workload.identity/client-id and sets AZURE_CLIENT_ID from it; the federated
    credential names that service account (system:serviceaccount:NAMESPACE:NAME). A component
    whose service account is not annotated signs in as nothing (or with the wrong client id)
    unless backend_kwargs name the client id.
    """,
    """
    Annotate the service account of every component that reads secrets (scheduler, workers,
    triggerer, dagProcessor, apiServer / webserver):
    <component>.serviceAccount.annotations: {azure.workload.identity/client-id: <client id>};
    `akv-runbook config render --target helm` writes them.
    """,
)

ENV_LINE_IGNORED = define(
    "AKV-CFG-031",
    Severity.WARNING,
    "A line of the env file is not KEY=value",
    """
    An env file (docker --env-file, compose env_file, a shell file of exports) sets one
    variable per line as KEY=value, KEY being a variable name. A line whose key is empty or
    not a name (a stray "=", a quote, a pasted value) sets nothing: docker refuses the file or
    skips the line, and whatever that line was meant to set is missing where Airflow runs.
    Only the line number and a fingerprint of a key that looks like a secret are shown.
    """,
    "Write the line as NAME=value (letters, digits and _; not starting with a digit), or "
    "delete it.",
)


WORKERS_DIFFER = define(
    "AKV-CFG-032",
    Severity.WARNING,
    "Workers and the API server read secrets from different places",
    """
    Task runners (and the DAG processor's parsing children) build their backend from
    [workers] secrets_backend / secrets_backend_kwargs when [workers] secrets_backend is set;
    the API server and scheduler always use [secrets]. A variable the workers' backend does
    not find is then asked from the API server, which walks its own [secrets] chain. With
    another vault, other prefixes, another separator or another identity, a task reads a
    different secret first (or fails where the API server succeeds) and a value that looks
    right in the UI is not what tasks get. The detail names the keys that differ (vault URLs
    and prefixes are shown; credentials never).
    """,
    """
    Make [workers] match [secrets] for the keys in the detail — or better, unset
    [workers] secrets_backend and secrets_backend_kwargs: workers then fall back to
    [secrets] backend and backend_kwargs.
    """,
)

WORKERS_REPEAT_SECRETS = define(
    "AKV-CFG-033",
    Severity.INFO,
    "[workers] secrets backend repeats [secrets]",
    """
    [workers] secrets_backend and secrets_backend_kwargs hold the same backend and kwargs as
    [secrets]. Workers fall back to [secrets] when [workers] secrets_backend is unset, so the
    copy changes nothing today — and drifts the first time only one of the two is edited
    (AKV-CFG-032, or AKV-CFG-018 when only the kwargs are dropped).
    """,
    "Unset [workers] secrets_backend and secrets_backend_kwargs; keep the one in [secrets].",
)

CACHE_OPTION_INVALID = define(
    "AKV-CFG-034",
    Severity.ERROR,
    "Secrets cache option Airflow cannot use",
    """
    [secrets] cache_ttl_seconds must be a whole number of seconds greater than 0, and
    [secrets] use_cache one of true/false/t/f/1/0. The DAG processor reads both when its
    parsing loop starts (SecretCache.init): a value Airflow cannot convert raises
    AirflowConfigException there, and a TTL of 0 or less makes every cached entry expire at
    once, so the cache serves nothing.
    """,
    "Set cache_ttl_seconds to a positive integer (Airflow's default is 900), e.g. "
    "AIRFLOW__SECRETS__CACHE_TTL_SECONDS=600, and use_cache to True or False.",
)

CACHE_TTL_DEFEATS_ROTATION = define(
    "AKV-CFG-035",
    Severity.WARNING,
    "Secrets cache TTL long enough to defeat rotation",
    f"""
    {_CACHE_PARSING_ONLY} An entry stays valid for cache_ttl_seconds: after a secret is
    rotated (or a variable changed) in Key Vault, DAG parsing keeps using the old value for
    up to that long. Above 3600 s (one hour) a rotation that retires the old value breaks
    every DAG that reads it at parse time for that long, and an emergency rotation does not
    take effect where parsing uses it.
    """,
    """
    Keep cache_ttl_seconds at 3600 or less (Airflow's default of 900 is a good start), or
    better, move the parse-time lookups into the tasks, which always read the current value.
    """,
)

CACHE_TTL_NO_EFFECT = define(
    "AKV-CFG-036",
    Severity.INFO,
    "cache_ttl_seconds set while the secrets cache is off",
    """
    [secrets] cache_ttl_seconds is read only when [secrets] use_cache is true; use_cache is
    off (or unset: its default is False), so the TTL has no effect.
    """,
    "Remove cache_ttl_seconds, or set [secrets] use_cache = True if DAG files read secrets at "
    "parse time.",
)

CACHE_FOR_TASKS = define(
    "AKV-CFG-037",
    Severity.WARNING,
    "Secrets cache configured for workers, where it does nothing",
    f"""
    {_CACHE_PARSING_ONLY} Setting it only for workers (their environment, a worker-only
    service, or a [workers] use_cache / cache_ttl_seconds option, which Airflow does not
    have) caches nothing and leaves the DAG processor, the one process that would use it,
    uncached.
    """,
    """
    To save GETs during DAG parsing, set [secrets] use_cache = True where the DAG processor
    runs (AIRFLOW__SECRETS__USE_CACHE=True for every component, or at least the DAG
    processor). To save GETs in tasks, read fewer secrets per task: no cache option exists
    for task execution.
    """,
)

BACKENDS_ORDER_UNKNOWN = define(
    "AKV-CFG-038",
    Severity.WARNING,
    "backends_order is not an Airflow 3.3 option",
    """
    Airflow 3.3 has no backends_order option: it ignores unknown options silently, so this
    setting changes nothing and the search order stays the fixed one. Anyone reading the
    configuration is misled about where a variable comes from.
    """,
    f"""
    Remove it. The order is fixed: {_FIXED_ORDER}. To change what wins, change where the
    value is stored (or the prefixes), not the order.
    """,
)
