"""AKV-NAME-*: Secret names: Airflow ids and prefixes mapped to Key Vault secret names."""

from helpers.findings.core import Severity, define

__all__ = [
    "INVALID_CHARACTERS",
    "NAME_TOO_LONG",
    "NAME_COLLISION",
    "UPPERCASE_ID",
    "UNDERSCORE_BECOMES_SEP",
    "LOOKUP_DISABLED",
    "INVALID_PREFIX",
    "PREFIX_OVERLAP",
    "TEAM_AMBIGUOUS_ID",
]

INVALID_CHARACTERS = define(
    "AKV-NAME-001",
    Severity.ERROR,
    "Airflow id makes a secret name Key Vault does not allow",
    """
    Key Vault secret names are 1-127 characters of 0-9, a-z, A-Z and '-'. The provider builds
    the name from the prefix and the Airflow id, turning every '_' into the separator; any
    other character (a dot, a slash, a space, a colon, a non-ASCII letter) makes the name
    invalid. Since provider 13.3.0 the backend then logs a WARNING and returns None WITHOUT
    asking the vault, so Airflow falls through to environment variables and the metastore
    and the secret is never read (older providers sent the request and got 400 BadParameter).
    Ids like 'PythonVirtualenvOperator.cache_key' (apache/airflow#67157) hit this.
    """,
    """
    Rename the Airflow id so that it uses only letters, digits, '-' and '_', and store the
    secret under the name shown by `akv-runbook names`. Ids that must keep other characters
    cannot come from Key Vault: keep them in environment variables or the metastore, or
    accept that the vault is skipped for them.
    """,
)

NAME_TOO_LONG = define(
    "AKV-NAME-002",
    Severity.ERROR,
    "Secret name is longer than 127 characters",
    """
    The full secret name (prefix, separator and id) must be at most 127 characters. A longer
    name fails the provider's validation: the lookup is skipped with a WARNING and None is
    returned, without any request to the vault.
    """,
    """
    Shorten the Airflow id or the prefix so that the secret name shown in the detail fits in
    127 characters.
    """,
)

NAME_COLLISION = define(
    "AKV-NAME-003",
    Severity.WARNING,
    "Two Airflow ids read the same secret",
    """
    The provider turns every '_' into the separator, and Key Vault compares secret names
    case-insensitively, so ids such as 'sample_var', 'sample-var' and 'Sample-Var' all read
    ONE secret. A change meant for one id silently changes the others; with overlapping
    prefixes a variable and a connection can also share a secret.
    """,
    """
    Give the ids distinct names after '_' -> '-' and lower-casing (the detail lists the ids
    and the shared secret), or confirm that sharing one value is intended.
    """,
)

UPPERCASE_ID = define(
    "AKV-NAME-004",
    Severity.INFO,
    "Airflow id has upper-case letters; Key Vault ignores case",
    """
    Upper-case ids work: the provider sends the name as written and Key Vault matches it
    case-insensitively. But 'MyVar' and 'myvar' are the same secret, and the vault shows the
    name in the case it was first created with, which makes names harder to search.
    """,
    """
    Prefer lower-case ids and secret names; make sure no other id differs from this one only
    by case.
    """,
)

UNDERSCORE_BECOMES_SEP = define(
    "AKV-NAME-005",
    Severity.INFO,
    "Underscores in the id become the separator in the secret name",
    """
    The provider replaces every '_' in the secret name by the separator ('-' by default), so
    variable 'sample_var' is read from secret 'airflow-variables-sample-var' (the seed
    document's example). Key Vault does not allow '_' in names, so a secret named with
    underscores cannot exist.
    """,
    """
    Store the secret under the name shown in the detail (with '-' instead of '_').
    """,
)

LOOKUP_DISABLED = define(
    "AKV-NAME-006",
    Severity.WARNING,
    "Lookups of this kind are disabled (prefix is null)",
    """
    A prefix of null (None) tells the provider never to look that kind of object up in Key
    Vault: it returns None without a request. Ids of that kind listed for this environment
    are therefore never read from the vault.
    """,
    """
    Set the prefix (variables_prefix / connections_prefix / config_prefix) in backend_kwargs,
    e.g. "airflow-variables", or remove the ids from the list of expected secrets.
    """,
)

INVALID_PREFIX = define(
    "AKV-NAME-007",
    Severity.ERROR,
    "Prefix or separator makes every secret name of this kind invalid",
    """
    The prefix and separator are part of every secret name of their kind. If they contain a
    character Key Vault does not allow (anything but 0-9, a-z, A-Z and '-'; '_' is turned into
    the separator), every name is invalid and the provider skips every lookup of that kind
    with a WARNING, without a request.
    """,
    """
    Use a prefix of letters, digits and '-' (e.g. "airflow-variables") and keep sep at its
    default "-".
    """,
)

PREFIX_OVERLAP = define(
    "AKV-NAME-008",
    Severity.WARNING,
    "One prefix also matches the secrets of another kind",
    """
    When one kind's prefix (plus separator) starts another kind's prefix, or the two are
    equal, or a prefix is empty (""), secrets written for one kind are also readable as the
    other: with variables_prefix "" every connection secret, passwords included, can be read
    through Variable.get("airflow-connections-<id>"). Lookups also become ambiguous.
    """,
    """
    Give each kind its own distinct, non-empty prefix, e.g. "airflow-connections",
    "airflow-variables" and null for config_prefix.
    """,
)

TEAM_AMBIGUOUS_ID = define(
    "AKV-NAME-009",
    Severity.INFO,
    "Id contains '--' after '_' becomes '-'; refused in multi-team mode",
    """
    In multi-team mode ([core] multi_team) the provider names team secrets
    '<prefix>-<team>--<id>' and refuses every id whose normalised form contains '--' (for
    example 'a__b' or 'a--b'), because it could name another team's secret. Outside
    multi-team mode the id works normally.
    """,
    """
    Avoid double separators in ids ('__', '--', '_-') if the deployment may turn on
    multi-team mode.
    """,
)
