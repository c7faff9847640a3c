"""Airflow id <-> secret name, checked against the installed provider's own code."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.backend_config.names import (
    Kind,
    check_name,
    check_names,
    describe_mapping,
    is_valid_name,
    map_names,
    name_findings,
    normalize_prefix,
    prefix_findings,
    reverse,
    secret_name,
)
from helpers.settings import Settings

if TYPE_CHECKING:
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend


def provider_backend() -> type[AzureKeyVaultBackend]:
    """The installed provider's backend class; imported here because Airflow takes seconds."""
    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    return AzureKeyVaultBackend


# Text the provider has to cope with: separators, '_', dots, slashes, unicode, long runs.
_ALPHABET = st.sampled_from(list("aZ09-_./ :é€ß\u00a0")) | st.characters()
PIECES = st.text(_ALPHABET, max_size=40) | st.sampled_from(["", "_", "-", "--", "a_b", "é", "."])
SEPS = st.sampled_from(["-", "_", "", "--", ".", "é"]) | st.text(max_size=3)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


# -- the rule, against the provider --------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(prefix=PIECES, key=PIECES, sep=SEPS)
def test_secret_name_agrees_with_the_providers_build_path(prefix, key, sep):
    # The backend's constructor strips trailing sep from a non-empty prefix, then build_path.
    stored = normalize_prefix(prefix, sep)
    assert secret_name(prefix, key, sep) == provider_backend().build_path(stored, key, sep)


@settings(max_examples=200, deadline=None)
@given(key=PIECES, sep=SEPS)
def test_secret_name_with_an_empty_prefix_is_the_key_alone_like_build_path(key, sep):
    assert secret_name("", key, sep) == provider_backend().build_path("", key, sep)
    assert secret_name("", key, sep) == key.replace("_", sep)


class _RecordingClient:
    def __init__(self):
        self.names: list[str] = []

    def get_secret(self, name):
        self.names.append(name)
        return type("Secret", (), {"value": "v"})()


@functools.cache
def _backend(prefix: str, sep: str) -> AzureKeyVaultBackend:
    return provider_backend()(variables_prefix=prefix, sep=sep, vault_url="https://x")


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["airflow-variables", "airflow-variables-", "kv", "", "a.b"]),
    key=PIECES,
    sep=st.sampled_from(["-", "_", "--"]),
)
def test_the_backend_requests_exactly_the_valid_names_and_skips_the_rest(prefix, key, sep):
    backend = _backend(prefix, sep)
    client = _RecordingClient()
    backend.__dict__["client"] = client  # replaces the cached SecretClient: no network
    value = backend.get_variable(key)
    name = secret_name(prefix, key, sep)
    if is_valid_name(name):
        assert client.names == [name]
        assert value == "v"
    else:
        assert client.names == []
        assert value is None


@pytest.mark.parametrize(
    ("prefix", "sep"),
    [("airflow-variables-", "-"), ("airflow-variables--", "-"), ("-", "-"), ("kv__", "_")],
)
def test_normalize_prefix_matches_the_backends_constructor(prefix, sep):
    backend = provider_backend()(variables_prefix=prefix, sep=sep)
    assert normalize_prefix(prefix, sep) == backend.variables_prefix


def test_seed_document_example_sample_var_is_airflow_variables_sample_var():
    assert secret_name("airflow-variables", "sample_var") == "airflow-variables-sample-var"


def test_null_prefix_disables_the_lookup():
    assert secret_name(None, "sample_var") is None


def test_empty_prefix_adds_no_separator():
    assert secret_name("", "my_conn") == "my-conn"


def test_trailing_separator_on_the_prefix_is_not_doubled():
    assert secret_name("airflow-variables-", "x") == "airflow-variables-x"


def test_valid_name_is_the_providers_pattern():
    assert is_valid_name("airflow-variables-sample-variable")
    assert not is_valid_name("a" * 128)
    assert not is_valid_name("")
    assert not is_valid_name("a\n")
    assert is_valid_name("a" * 127)


# -- findings per rule ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "airflow_id",
    ["PythonVirtualenvOperator.cache_key", "team/secret", "has space", "café", "tab\tid", ""],
)
def test_ids_with_characters_key_vault_refuses_report_AKV_NAME_001(airflow_id):
    findings = check_name("variable", airflow_id, Settings())
    assert codes(findings) == ["AKV-NAME-001"]
    assert findings[0].data["secret_name"] == secret_name("airflow-variables", airflow_id)


def test_name_longer_than_127_with_the_prefix_reports_AKV_NAME_002():
    head = len("airflow-variables-")
    assert codes(check_name("variable", "a" * (127 - head), Settings())) == []
    findings = check_name("variable", "a" * (128 - head), Settings())
    assert codes(findings) == ["AKV-NAME-002"]
    assert findings[0].data["length"] == 128


def test_ids_that_collide_after_underscore_becomes_dash_report_AKV_NAME_003():
    findings = name_findings("variable", ["sample-var", "sample_var"], Settings())
    collision = [f for f in findings if f.code == "AKV-NAME-003"]
    assert len(collision) == 1
    assert collision[0].data["secret_name"] == "airflow-variables-sample-var"
    assert "'_' becomes the separator" in collision[0].detail


def test_ids_that_differ_only_by_case_report_AKV_NAME_003():
    findings = name_findings("connection", ["my-db", "My-DB"], Settings())
    assert "AKV-NAME-003" in codes(findings)
    assert "Key Vault ignores case" in next(f for f in findings if f.code == "AKV-NAME-003").detail


def test_variable_and_connection_sharing_a_secret_report_AKV_NAME_003():
    s = Settings(variables_prefix="", variables=["airflow-connections-db"], connections=["db"])
    findings = check_names(s)
    shared = [f for f in findings if f.code == "AKV-NAME-003"]
    assert shared and set(shared[0].data["kinds"]) == {"variable", "connection"}


def test_uppercase_id_reports_AKV_NAME_004_and_still_maps():
    assert codes(check_name("variable", "MyVar", Settings())) == ["AKV-NAME-004"]


def test_underscore_id_reports_AKV_NAME_005_with_the_dashed_name():
    findings = check_name("variable", "sample_var", Settings())
    assert codes(findings) == ["AKV-NAME-005"]
    assert "airflow-variables-sample-var" in findings[0].detail


def test_ids_of_a_disabled_kind_report_AKV_NAME_006_once():
    findings = name_findings("connection", ["a", "b"], Settings(connections_prefix=None))
    assert codes(findings) == ["AKV-NAME-006"]
    assert codes(check_name("connection", "a", Settings(connections_prefix=None))) == [
        "AKV-NAME-006"
    ]


@pytest.mark.parametrize(
    "overrides", [{"variables_prefix": "airflow.variables"}, {"sep": "_"}, {"sep": "/"}]
)
def test_prefix_or_separator_with_bad_characters_reports_AKV_NAME_007(overrides):
    s = Settings(**overrides)
    findings = name_findings("variable", ["x"], s)
    assert "AKV-NAME-007" in codes(findings)
    assert "AKV-NAME-001" not in codes(findings)  # the id itself is fine


def test_underscores_in_a_prefix_are_fine_because_they_become_dashes():
    assert prefix_findings(Settings(variables_prefix="airflow_variables")) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"variables_prefix": ""},
        {"variables_prefix": "airflow", "connections_prefix": "airflow-connections"},
        {"variables_prefix": "kv", "connections_prefix": "KV"},
    ],
)
def test_overlapping_prefixes_report_AKV_NAME_008(overrides):
    assert "AKV-NAME-008" in codes(prefix_findings(Settings(**overrides)))


def test_default_prefixes_do_not_overlap():
    assert prefix_findings(Settings(config_prefix="airflow-config")) == []


@pytest.mark.parametrize("airflow_id", ["a__b", "a--b", "a_-b"])
def test_ids_with_a_double_separator_report_AKV_NAME_009(airflow_id):
    assert "AKV-NAME-009" in codes(check_name("variable", airflow_id, Settings()))


def test_seed_settings_have_no_name_findings():
    assert check_names(Settings(connections=["sample-connection"])) == []


def test_malformed_input_never_raises():
    s = Settings(variables=[None, 3, "ok"], connections=["x" * 500, "\x00"], sep="")
    findings = check_names(s)
    assert "AKV-NAME-002" in codes(findings) and "AKV-NAME-001" in codes(findings)
    assert isinstance(describe_mapping("variable", ["é", ""], s), str)
    assert reverse([None, 7, "ok"], s).unmatched


# -- mapping and reverse -------------------------------------------------------------------
def test_describe_mapping_reads_like_the_seed_document():
    text = describe_mapping("variable", ["sample_var", "a.b"], Settings())
    lines = text.splitlines()
    assert lines[0] == "variable sample_var → secret airflow-variables-sample-var"
    assert "skipped by the provider" in lines[1]
    disabled = describe_mapping("connection", ["db"], Settings(connections_prefix=None))
    assert disabled == "connection db → (not looked up: connections_prefix is null)"


def test_map_names_gives_json_ready_rows():
    row = map_names(Kind.VARIABLE, ["sample_var"], Settings())[0].to_dict()
    assert row == {
        "kind": "variable",
        "airflow_id": "sample_var",
        "secret_name": "airflow-variables-sample-var",
        "valid": True,
        "reason": "",
    }


def test_reverse_lists_variables_connections_and_unmatched_secrets():
    names = [
        "airflow-variables-sample-variable",
        "airflow-connections-sample-connection",
        "Airflow-Variables-Mixed",
        "airflow-variables",
        "unrelated-secret",
    ]
    mapping = reverse(names, Settings())
    assert mapping.variables == {
        "sample-variable": "airflow-variables-sample-variable",
        "Mixed": "Airflow-Variables-Mixed",
    }
    assert mapping.connections == {"sample-connection": "airflow-connections-sample-connection"}
    assert mapping.unmatched == ["airflow-variables", "unrelated-secret"]
    entry = mapping.entries[0]
    assert entry.aliases == ("sample_variable",)
    assert "variable sample-variable (also sample_variable)" in mapping.describe()


def test_reverse_honours_config_prefix_and_overlap():
    s = Settings(variables_prefix="", config_prefix="airflow-config")
    mapping = reverse(["airflow-config-sql-alchemy-conn"], s)
    kinds = {e.kind for e in mapping.entries}
    assert kinds == {Kind.VARIABLE, Kind.CONFIG}
    assert mapping.config == {"sql-alchemy-conn": "airflow-config-sql-alchemy-conn"}


def test_reverse_notes_team_scoped_names():
    entry = reverse(["airflow-variables-team-a--token"], Settings()).entries[0]
    assert entry.note == "multi-team mode: team 'team-a', id 'token'"


@settings(max_examples=200, deadline=None)
@given(key=st.from_regex(re.compile(r"[a-z0-9][a-z0-9_-]{0,40}", re.ASCII), fullmatch=True))
def test_reverse_inverts_secret_name_for_valid_ids(key):
    s = Settings()
    name = secret_name(s.variables_prefix, key)
    found = reverse([name], s).variables
    assert list(found.values()) == [name]
    assert secret_name(s.variables_prefix, next(iter(found))) == name
