"""A scenario cannot seed what Key Vault would refuse: a secret value over the service's size
limit is a scenario error, with the same limit as a PUT secret (issue 11)."""

from __future__ import annotations

import pytest

from helpers.sandbox import load_scenario
from helpers.sandbox.keyvault.models import MAX_VALUE_BYTES
from tests.sandbox.test_scenario import default_data, problems_of, write


def _with_value(value) -> dict:
    data = default_data()
    data["vaults"][0]["secrets"]["airflow-variables-huge"] = value
    return data


@pytest.mark.parametrize(
    "value",
    ["x" * (MAX_VALUE_BYTES + 1), {"value": "x" * (MAX_VALUE_BYTES + 1)}, "é" * MAX_VALUE_BYTES],
    ids=["string", "mapping", "multibyte"],
)
def test_a_scenario_secret_over_the_key_vault_limit_is_a_scenario_error(tmp_path, value):
    problems = problems_of(tmp_path, _with_value(value))
    assert any("airflow-variables-huge" in p and str(MAX_VALUE_BYTES) in p for p in problems)


def test_a_scenario_secret_at_the_limit_is_accepted(tmp_path):
    load_scenario(write(tmp_path, _with_value("x" * MAX_VALUE_BYTES)))
