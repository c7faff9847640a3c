"""Role-assignment propagation delay as a scenario setting (issue 12, part 6): the default
scenario (the test suite's) has none; the training scenario a realistic one that the
runbook's re-probe loop (helpers.probe.wait_for_access) waits out within its bound."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from helpers.probe import wait_for_access
from helpers.roles import perform_grant
from helpers.sandbox import Sandbox
from helpers.sandbox.scenario import load_scenario, validate
from tests.conftest import credential_for
from tests.sandbox.conftest import BACKEND_OID, subscription, vault_scope

SCENARIOS = Path(__file__).resolve().parents[2] / "helpers" / "sandbox" / "scenarios"


def _wait_default_timeout() -> float:
    return inspect.signature(wait_for_access).parameters["timeout"].default


def test_the_default_scenario_has_no_delay_and_training_a_realistic_one_inside_the_wait():
    default = load_scenario(SCENARIOS / "default.yaml")
    training = load_scenario(SCENARIOS / "training.yaml")
    assert default.data.get("propagation_delay", 0) == 0
    assert validate(training.data) == []
    delay = training.data["propagation_delay"]
    assert 5 <= delay < _wait_default_timeout()
    # Otherwise the very same setup: only the name and the delay differ.
    rest = {k: v for k, v in training.data.items() if k not in ("name", "propagation_delay")}
    assert rest == {k: v for k, v in default.data.items() if k != "name"}


@pytest.mark.parametrize("bad", [-1, 3601, "soon", True, None])
def test_a_bad_propagation_delay_is_a_scenario_problem(bad):
    data = dict(load_scenario(SCENARIOS / "default.yaml").data, propagation_delay=bad)
    problems = validate(data)
    assert [p for p in problems if p.startswith("propagation_delay:")], problems


def test_a_training_sandbox_starts_with_its_delay_and_reset_keeps_it(tmp_path):
    with Sandbox(scenario=SCENARIOS / "training.yaml", state_dir=tmp_path, ephemeral=True) as sb:
        assert sb.client.status()["propagation_delay"] == 20
        sb.client.set_propagation_delay(0)
        sb.client.reset()
        assert sb.client.status()["propagation_delay"] == 20


def test_the_re_probe_loop_reads_once_a_delayed_grant_has_propagated(akv_sandbox):
    from tests.test_probes import backend_settings, revoke_backend_roles

    revoke_backend_roles(akv_sandbox)
    akv_sandbox.client.set_propagation_delay(3)
    admin = credential_for(akv_sandbox, "admin")
    perform_grant(admin, subscription(), vault_scope(), BACKEND_OID, "rbac")
    seen: list[tuple[int, float, str]] = []

    too_short = wait_for_access(backend_settings(), timeout=0.5, interval=0.2)
    findings = wait_for_access(
        backend_settings(), timeout=10, interval=0.5, progress=lambda *a: seen.append(a)
    )

    assert too_short[-1].code == "AKV-ROLE-008"  # still 403: not yet propagated
    assert findings[-1].code == "AKV-ROLE-007"
    assert seen[0][2].startswith("AKV-PERM-001") and seen[-1][2] == "access in effect"
    assert 2.0 <= seen[-1][1] < 10
