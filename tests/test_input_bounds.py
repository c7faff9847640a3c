"""Every file the engine opens is read bounded, every YAML document loaded safely: a device,
a huge or binary file, a duplicate key, an alias bomb or a quoted boolean ends as a finding
(or a ScenarioError), never a hang, a traceback or a silently wrong value."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.backend_config.documents import lint_compose, lint_file, lint_helm_values
from helpers.batch.inventory import load_inventory
from helpers.common.textio import (
    MAX_TEXT_BYTES,
    InputError,
    load_json,
    load_yaml,
    read_text,
)
from helpers.sandbox.scenario import ScenarioError, load_scenario
from helpers.settings import load_settings

URL = "https://team-a-kv.vault.azure.net/"
TENANT = "5f0c6e2a-3b1d-4c8e-9a7f-0d2b4e6f8a10"
CLIENT = "3c9e1f7a-2d4b-4a6c-8e0f-5b7d9f1a3c42"

# 9 levels of 9 aliases: a few hundred bytes that expand to 9**7 strings.
BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdef", "bcdefg", strict=True)
        ),
    ]
)

DEVICES = [d for d in ("/dev/zero", "/dev/urandom") if os.path.exists(d)]


def codes(findings):
    return [f.code for f in findings]


def details(findings):
    return " | ".join(f.detail for f in findings)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def inventory_text(*envs: str, top: str = "version: 1\n") -> str:
    return top + "environments:\n" + "".join(envs)


def env_entry(name: str, extra: str = "") -> str:
    return (
        f"  - name: {name}\n    vault_url: {URL}\n    tenant_id: {TENANT}\n"
        f"    client_id: {CLIENT}\n    client_secret_env: X_SECRET\n{extra}"
    )


# -- bounded reads ---------------------------------------------------------------------------
@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", DEVICES)
def test_settings_from_a_device_is_unreadable_without_hanging(device: str):
    _, findings = load_settings(device)
    assert codes(findings) == ["AKV-SET-024"]
    assert "not a regular file" in details(findings)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", DEVICES)
def test_inventory_from_a_device_is_unreadable_without_hanging(device: str):
    inv = load_inventory(device)
    assert codes(inv.findings) == ["AKV-INV-001"]
    assert not inv.usable


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", DEVICES)
def test_config_lint_of_a_device_is_unparsable_without_hanging(device: str):
    findings = lint_file(device)
    assert codes(findings) == ["AKV-CFG-020"]


@pytest.mark.timeout(10)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    fifo = tmp_path / "settings.yaml"
    os.mkfifo(fifo)
    _, findings = load_settings(fifo)
    assert codes(findings) == ["AKV-SET-024"]


@pytest.mark.timeout(10)
def test_a_file_over_the_limit_is_refused(tmp_path: Path):
    big = write(tmp_path, "inv.yaml", "# padding\n" * (MAX_TEXT_BYTES // 10 + 1))
    inv = load_inventory(big)
    assert codes(inv.findings) == ["AKV-INV-001"]
    assert "larger than 4 MiB" in details(inv.findings)
    with pytest.raises(InputError, match="larger than 10 bytes"):
        read_text(big, limit=10)


@pytest.mark.timeout(10)
def test_a_directory_is_refused(tmp_path: Path):
    _, findings = load_settings(tmp_path)
    assert codes(findings) == ["AKV-SET-024"]
    assert "directory" in details(findings)


@pytest.mark.timeout(10)
def test_non_utf8_files_are_unreadable_findings_not_tracebacks(tmp_path: Path):
    binary = b"\xff\xfe\x00garbage\x80\x81"
    _, findings = load_settings(write(tmp_path, "s.yaml", binary))
    assert codes(findings) == ["AKV-SET-024"] and "not UTF-8" in details(findings)
    assert codes(load_inventory(write(tmp_path, "i.yaml", binary)).findings) == ["AKV-INV-001"]
    assert codes(lint_file(write(tmp_path, "values.yaml", binary))) == ["AKV-CFG-020"]


@pytest.mark.timeout(10)
def test_a_binary_scenario_is_a_scenario_error(tmp_path: Path):
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(write(tmp_path, "scenario.yaml", b"\x89PNG\r\n\x1a\n\x00\xff"))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("device", DEVICES)
def test_a_device_scenario_is_a_scenario_error(device: str):
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(device)


def test_a_utf8_bom_is_dropped(tmp_path: Path):
    assert read_text(write(tmp_path, "x.txt", b"\xef\xbb\xbfhello")) == "hello"


# -- duplicate keys --------------------------------------------------------------------------
@pytest.mark.timeout(10)
def test_duplicate_setting_is_a_finding_naming_key_and_line(tmp_path: Path):
    path = write(tmp_path, "s.yaml", f"vault_url: {URL}\ntenant_id: {TENANT}\nvault_url: x\n")
    _, findings = load_settings(path)
    assert codes(findings) == ["AKV-SET-024"]
    assert "duplicate key 'vault_url' (first at line 1)" in details(findings)
    assert "line 3" in details(findings)


@pytest.mark.timeout(10)
def test_duplicate_key_in_json_settings_is_a_finding(tmp_path: Path):
    path = write(tmp_path, "s.json", f'{{"vault_url": "{URL}", "vault_url": "x"}}')
    _, findings = load_settings(path)
    assert codes(findings) == ["AKV-SET-024"]
    assert "duplicate key 'vault_url'" in details(findings)


@pytest.mark.timeout(10)
def test_duplicate_environments_key_no_longer_drops_an_environment(tmp_path: Path):
    text = inventory_text(env_entry("team-a")) + "environments:\n" + env_entry("team-b")
    inv = load_inventory(write(tmp_path, "inv.yaml", text))
    assert codes(inv.findings) == ["AKV-INV-001"]
    assert "duplicate key 'environments'" in details(inv.findings)


@pytest.mark.timeout(10)
def test_duplicate_key_inside_an_environment_is_a_finding(tmp_path: Path):
    text = inventory_text(env_entry("team-a", "    vault_url: https://other.vault.azure.net/\n"))
    inv = load_inventory(write(tmp_path, "inv.yaml", text))
    assert codes(inv.findings) == ["AKV-INV-001"]
    assert "duplicate key 'vault_url' (first at line 4)" in details(inv.findings)


@pytest.mark.timeout(10)
def test_duplicate_key_in_helm_values_and_compose_is_unparsable():
    helm = "config:\n  secrets:\n    backend: a\n    backend: b\n"
    assert codes(lint_helm_values(helm)) == ["AKV-CFG-020"]
    compose = "services:\n  web:\n    image: a\n  web:\n    image: b\n"
    assert "duplicate key 'web'" in details(lint_compose(compose))


@pytest.mark.timeout(10)
def test_duplicate_key_in_a_scenario_is_a_scenario_error(tmp_path: Path):
    with pytest.raises(ScenarioError, match="duplicate key 'tenants'"):
        load_scenario(write(tmp_path, "s.yaml", "tenants: []\ntenants: []\n"))


def test_merge_keys_may_override_without_being_duplicates():
    doc = load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n")
    assert doc["d"] == {"x": 3, "y": 2}


# -- aliases, nesting ------------------------------------------------------------------------
@pytest.mark.timeout(10)
def test_yaml_bomb_in_helm_values_is_refused_quickly():
    assert len(BOMB) < 500
    findings = lint_helm_values(BOMB)
    assert codes(findings) == ["AKV-CFG-020"]
    assert "YAML bomb" in details(findings)


@pytest.mark.timeout(10)
def test_yaml_bomb_via_config_lint_of_a_values_file(tmp_path: Path):
    findings = lint_file(write(tmp_path, "values.yaml", BOMB))
    assert codes(findings) == ["AKV-CFG-020"]


@pytest.mark.timeout(10)
def test_yaml_bomb_in_settings_inventory_and_scenario(tmp_path: Path):
    _, found = load_settings(write(tmp_path, "s.yaml", BOMB))
    assert codes(found) == ["AKV-SET-024"]
    assert codes(load_inventory(write(tmp_path, "i.yaml", BOMB)).findings) == ["AKV-INV-001"]
    with pytest.raises(ScenarioError, match="YAML bomb"):
        load_scenario(write(tmp_path, "sc.yaml", BOMB))


@pytest.mark.timeout(10)
def test_too_many_aliases_are_refused():
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 200) + "]\n"
    with pytest.raises(InputError, match="more than 100 aliases"):
        load_yaml(text)


@pytest.mark.timeout(10)
def test_a_few_aliases_are_fine():
    same = {"x": 1}
    assert load_yaml("d: &d {x: 1}\ne: *d\nf: *d\n") == {"d": same, "e": same, "f": same}


@pytest.mark.timeout(10)
def test_recursive_alias_and_deep_nesting_are_refused():
    with pytest.raises(InputError, match="contains it"):
        load_yaml("a: &a [*a]\n")
    with pytest.raises(InputError, match="nested"):
        load_yaml("- " * 300 + "x\n")
    with pytest.raises(InputError, match="nested"):
        load_yaml("[" * 20000)


@pytest.mark.timeout(10)
def test_values_yaml_cannot_construct_are_errors_not_tracebacks():
    for text in ("d: 2024-13-45\n", "n: " + "9" * 5000 + "\n", "b: !!binary zzz\n", "? [1]\n: 2\n"):
        with pytest.raises(InputError):
            load_yaml(text)
    with pytest.raises(InputError):
        load_json('{"n": ' + "9" * 5000 + "}")


# -- strict booleans and versions ------------------------------------------------------------
@pytest.mark.timeout(10)
@pytest.mark.parametrize("value", ['"no"', '"false"', "'off'", "0", "maybe"])
def test_through_backend_must_be_a_yaml_boolean(tmp_path: Path, value: str):
    text = inventory_text(env_entry("team-a", f"    through_backend: {value}\n"))
    inv = load_inventory(write(tmp_path, "inv.yaml", text))
    spec = inv.environments[0]
    assert "AKV-SET-020" in codes(spec.findings)
    assert not spec.checkable
    if value in ('"no"', '"false"', "'off'", "0"):
        assert spec.through_backend is False  # never silently true


@pytest.mark.timeout(10)
def test_through_backend_false_is_read(tmp_path: Path):
    text = inventory_text(env_entry("team-a", "    through_backend: false\n"))
    spec = load_inventory(write(tmp_path, "inv.yaml", text)).environments[0]
    assert spec.through_backend is False and "AKV-SET-020" not in codes(spec.findings)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("version", ["banana", '"1"', "2", "true", "[1]"])
def test_inventory_version_must_be_1(tmp_path: Path, version: str):
    text = inventory_text(env_entry("team-a"), top=f"version: {version}\n")
    inv = load_inventory(write(tmp_path, "inv.yaml", text))
    assert "AKV-INV-010" in codes(inv.findings)
    assert not inv.usable


@pytest.mark.timeout(10)
def test_inventory_version_1_or_absent_is_fine(tmp_path: Path):
    for top in ("version: 1\n", ""):
        inv = load_inventory(write(tmp_path, "inv.yaml", inventory_text(env_entry("a"), top=top)))
        assert "AKV-INV-010" not in codes(inv.findings)


# -- property: any text is a value or an InputError ------------------------------------------
TOKENS = [*"ab1:-&*!?[]{},'\"#|>%@`<= \n\t.", "\x00", "é", "2024-13-45", "&a ", "*a", "<<: "]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


@pytest.mark.timeout(60)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(YAMLISH, st.text(max_size=200)))
def test_load_yaml_returns_a_value_or_an_input_error(text: str):
    try:
        load_yaml(text)
    except InputError as err:
        assert str(err)


@pytest.mark.timeout(60)
@settings(max_examples=200, deadline=None)
@given(text=st.one_of(YAMLISH, st.text(max_size=200)))
def test_load_json_returns_a_value_or_an_input_error(text: str):
    try:
        load_json(text)
    except InputError as err:
        assert str(err)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(YAMLISH, st.text(max_size=200)))
def test_every_yaml_reader_turns_any_text_into_findings(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("s.yaml", "values.yaml"):
            Path(tmp, name).write_text(text, encoding="utf-8")
        _, found = load_settings(Path(tmp, "s.yaml"))
        assert all(isinstance(f.code, str) for f in found)
        inv = load_inventory(Path(tmp, "s.yaml"))
        assert inv.usable or inv.findings
        lint_file(Path(tmp, "values.yaml"))
        lint_helm_values(text)
        lint_compose(text)
        try:
            load_scenario(Path(tmp, "s.yaml"))
        except ScenarioError as err:
            assert err.problems


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), st.just("no")
)
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3), max_leaves=6)
KEYS = st.sampled_from(
    [
        "name",
        "vault_url",
        "tenant_id",
        "client_id",
        "timeout",
        "through_backend",
        "variables",
        "backend_kwargs",
        "use_cache",
        "retry_total",
        "airflow_version",
        "sep",
        "version",
        "x",
    ]
)


@pytest.mark.timeout(120)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env=st.dictionaries(KEYS, VALUES, max_size=8), top=st.dictionaries(KEYS, VALUES, max_size=2))
def test_any_typed_inventory_is_findings_never_an_exception(env: dict, top: dict):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "inv.yaml")
        path.write_text(yaml.safe_dump({**top, "environments": [env]}), encoding="utf-8")
        inv = load_inventory(path)
        for spec in inv.environments:
            assert isinstance(spec.through_backend, bool)


@pytest.mark.timeout(10)
def test_a_fifo_among_dag_files_is_unreadable_without_hanging(tmp_path: Path):
    os.mkfifo(tmp_path / "stuck.py")
    (tmp_path / "fine.py").write_text("x = 1\n", encoding="utf-8")
    findings = lint_file(tmp_path)
    assert any("stuck.py: cannot read: not a regular file" in f.detail for f in findings)
