"""A real class's dashboard in a real browser: trainee-01 is stuck, fixes the exercise as
their operator over ARM, checks again, and the open page turns the cell to ✓ passed without a
reload (issue 13).

``akv-runbook class start`` runs as a subprocess (its sandbox and dashboard together, as a
facilitator runs it); ``class check`` runs as the trainee does; the fix goes through the
sandbox's real ARM as the trainee's own operator identity (not ``class solve``, which
records a skip). Playwright drives Debian's chromium as tests/test_class_dashboard_browser.py
does. Screenshot: ``test-artifacts/browser/class_live.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from helpers.cli import main
from helpers.roles.model import role_id, role_name
from helpers.training import Classroom
from helpers.training.scenario import SUBSCRIPTION_ID, guid, vault_name
from helpers.training.wire import ARM, ROLES_API
from tests.chromium import launch, sync_api_or_skip

from .test_class_cli import _start, _stop

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "test-artifacts" / "browser" / "class_live.png"
FAILURE_SHOT = SCREENSHOT.with_name("class_live-failure.png")
TRAINEE, EXERCISE = "trainee-01", "kv-contributor"


class Operator:
    """The trainee's operator (``AKV_OPERATOR_*``) on ARM, as ``az role assignment`` would be."""

    def __init__(self, room: Classroom, trainee: str):
        wire = room.wire
        name = f"{trainee}-operator"
        credential = wire.credential(guid("app", name), room.client_secrets()[name])
        self.token = credential.get_token(f"{ARM}/.default").token
        self.transport = {
            "proxies": wire.transport["proxies"],
            "verify": wire.transport["connection_verify"],
        }
        self.backend = guid("sp", trainee)
        self.scope = wire.vault_id(trainee, vault_name(trainee, EXERCISE))

    def _call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(
            method,
            f"{ARM}{self.scope}/providers/Microsoft.Authorization/roleAssignments{path}",
            params={"api-version": ROLES_API},
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
            **self.transport,
        )

    def assign(self, role: str) -> None:
        definition = (
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization"
            f"/roleDefinitions/{role_id(role)}"
        )
        body = {"properties": {"roleDefinitionId": definition, "principalId": self.backend}}
        answer = self._call("PUT", f"/{guid('ra', self.scope + role)}", body)
        assert answer.status_code == 201, answer.text

    def delete(self, role: str) -> None:
        listed = self._call("GET", "")
        assert listed.status_code == 200, listed.text
        names = [
            item["name"]
            for item in listed.json()["value"]
            if item["properties"]["principalId"] == self.backend
            and role_name(item["properties"]["roleDefinitionId"]) == role
        ]
        assert names, f"{role} is not assigned to the backend"
        for name in names:
            assert self._call("DELETE", f"/{name}").status_code == 200


def _check(capsys: pytest.CaptureFixture[str], state: Path) -> tuple[int, str]:
    capsys.readouterr()
    argv = ["class", "check", "--trainee", TRAINEE, "--exercise", EXERCISE]
    code = main([*argv, "--state-dir", str(state)])
    return code, capsys.readouterr().out


@pytest.mark.timeout(90)
def test_a_real_trainee_turns_from_stuck_to_passed_on_the_open_dashboard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_api = sync_api_or_skip()

    state = tmp_path / "class"
    proc, lines = _start(state, "--trainees", "2", "--exercises", EXERCISE)
    try:
        url = next(line.split()[1] for line in lines if line.startswith("dashboard:"))
        url = url.split("?", 1)[0]
        token = (state / "facilitator-token").read_text().strip()
        with sync_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 900, "height": 400})
            try:
                refused = page.goto(url)
                assert refused is not None and refused.status == 401
                assert "trainee-" not in page.content()
                wrong = page.goto(f"{url}?token=not-{token}")
                assert wrong is not None and wrong.status == 401
                for api in ("api/status", "api/view"):  # the data, too, needs the token
                    answer = page.request.get(url + api)
                    assert answer.status == 401 and "trainee-" not in answer.text()
                reset = page.request.post(
                    url + "api/reset", data={"trainee": TRAINEE, "exercise": EXERCISE}
                )
                assert reset.status == 401

                page.goto(f"{url}?token={token}")
                cell = page.locator(f'td[data-trainee="{TRAINEE}"][data-exercise="{EXERCISE}"]')
                sync_api.expect(cell).to_have_attribute("data-state", "not-started")
                loaded_at = page.evaluate("window.dashboardLoadedAt")
                navigations: list[str] = []
                page.on("framenavigated", lambda frame: navigations.append(frame.url))

                code, out = _check(capsys, state)  # the broken state: stuck, hint 1
                assert code == 1 and out.startswith(f"FAIL  {EXERCISE}") and "hint 1" in out
                sync_api.expect(cell).to_have_attribute("data-state", "in-progress", timeout=10_000)
                sync_api.expect(cell).to_contain_text("in progress")

                # The fix as the trainee makes it: their operator grants the data-plane
                # role, the check still refuses Contributor, then they remove Contributor.
                operator = Operator(Classroom(state), TRAINEE)
                operator.assign("Key Vault Secrets User")
                code, out = _check(capsys, state)
                assert code == 1 and "AKV-TRAIN-004" in out
                operator.delete("Key Vault Contributor")
                code, out = _check(capsys, state)
                assert code == 0 and out.startswith(f"PASS  {EXERCISE}"), out

                sync_api.expect(cell).to_have_attribute("data-state", "passed", timeout=10_000)
                sync_api.expect(cell).to_contain_text("✓")
                other = page.locator(f'td[data-trainee="trainee-02"][data-exercise="{EXERCISE}"]')
                sync_api.expect(other).to_have_attribute("data-state", "not-started")
                assert navigations == []
                assert page.evaluate("window.dashboardLoadedAt") == loaded_at
                assert (
                    Classroom(state).status()["trainees"][0]["exercises"][EXERCISE]["state"]
                    == "passed"
                )  # by their own fix, not skipped
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOT), full_page=True)
            except Exception:
                FAILURE_SHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(FAILURE_SHOT))
                print(f"failure screenshot: {FAILURE_SHOT.relative_to(ROOT)}")
                raise
            finally:
                browser.close()
    finally:
        assert _stop(proc) == 0
