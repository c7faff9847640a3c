"""The facilitator dashboard in a real browser: a stuck trainee turns to passed without a reload.

Playwright drives Debian's chromium (never a downloaded browser), as tests/test_browser.py
does, against the real uvicorn server over a fake class whose status document the test
changes. Screenshot: ``test-artifacts/browser/class_dashboard.png``.
"""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helpers.training.dashboard import create_app, start_dashboard
from tests.chromium import launch, sync_api_or_skip

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "test-artifacts" / "browser" / "class_dashboard.png"
FAILURE_SHOT = SCREENSHOT.with_name("class_dashboard-failure.png")
TOKEN = "browser-test-facilitator-token-0123456789"
HOSTILE = '<img src=x onerror="window.pwned=1">'
EXERCISES = [
    {"id": "kv-contributor", "title": "Only Key Vault Contributor"},
    {"id": "variables-prefix", "title": "A wrong variables_prefix"},
    {"id": "hostile", "title": HOSTILE},
]


def class_document(now: datetime) -> dict:
    def ago(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat(timespec="seconds")

    trainees = []
    for n in range(1, 6):
        cells = {
            e["id"]: {
                "state": "not-started",
                "hints_used": 0,
                "checks": 0,
                "last_check": None,
                "stuck_since": None,
            }
            for e in EXERCISES
        }
        trainees.append({"id": f"trainee-{n:02d}", "last_activity": None, "exercises": cells})
    trainees[2]["exercises"]["kv-contributor"].update(
        state="in-progress", hints_used=2, checks=4, last_check=ago(1), stuck_since=ago(12)
    )
    trainees[2]["last_activity"] = ago(1)
    trainees[0]["exercises"]["variables-prefix"].update(
        state="in-progress", checks=1, last_check=ago(3), stuck_since=ago(3)
    )
    trainees[1]["exercises"]["kv-contributor"].update(state="passed", checks=2)
    trainees[4]["exercises"]["hostile"].update(state="skipped", hints_used=3)
    return {
        "class": {"trainees": 5, "started": ago(60), "state_dir": "/tmp/class"},
        "exercises": EXERCISES,
        "trainees": trainees,
    }


@pytest.mark.timeout(60)
def test_a_stuck_trainee_turns_passed_on_the_dashboard_without_a_reload():
    sync_api = sync_api_or_skip()

    state = {"document": class_document(datetime.now(UTC))}
    resets: list[tuple[str, str]] = []
    app = create_app(
        status_source=lambda: copy.deepcopy(state["document"]),
        reset=lambda trainee, exercise: resets.append((trainee, exercise)),
        token=TOKEN,
    )
    with start_dashboard(app) as handle, sync_api.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1180, "height": 640})
        try:
            # Without the token: 401 and nothing of the class.
            refused = page.goto(handle.url)
            assert refused is not None and refused.status == 401
            assert "trainee-" not in page.content()

            page.goto(f"{handle.url}?token={TOKEN}")
            assert page.url == handle.url  # redirected to the clean URL: no token in history
            cell = page.locator('td[data-trainee="trainee-03"][data-exercise="kv-contributor"]')
            sync_api.expect(cell).to_have_attribute("data-state", "in-progress", timeout=15_000)
            sync_api.expect(cell).to_contain_text("in progress")
            sync_api.expect(cell).to_contain_text("stuck 12 min")
            sync_api.expect(cell).to_contain_text("▲")  # a symbol, not colour alone
            first_stuck = page.locator("#stuck li").first
            sync_api.expect(first_stuck).to_have_attribute("data-trainee", "trainee-03")
            # A hostile exercise title is shown as text and never runs.
            header = page.locator("#grid thead th", has_text="onerror")
            sync_api.expect(header).to_have_text(HOSTILE)
            assert page.evaluate("window.pwned") is None
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            loaded_at = page.evaluate("window.dashboardLoadedAt")
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))

            # trainee-03 fixes the exercise: the runtime's document says passed.
            fixed = copy.deepcopy(state["document"])
            fixed["trainees"][2]["exercises"]["kv-contributor"].update(
                state="passed", stuck_since=None, checks=5
            )
            state["document"] = fixed
            sync_api.expect(cell).to_have_attribute("data-state", "passed", timeout=10_000)
            sync_api.expect(cell).to_contain_text("✓")
            sync_api.expect(first_stuck).to_have_attribute("data-trainee", "trainee-01")
            assert navigations == []
            assert page.evaluate("window.dashboardLoadedAt") == loaded_at

            # Reset asks first, then reaches the runtime with (trainee, exercise).
            dialogs: list[str] = []
            page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
            cell.locator("button.reset").click()
            deadline = time.monotonic() + 5
            while not resets and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            assert resets == [("trainee-03", "kv-contributor")]
            assert "trainee-03" in dialogs[0] and "Only Key Vault Contributor" in dialogs[0]
            assert navigations == []
        except Exception:
            FAILURE_SHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(FAILURE_SHOT))
            print(f"failure screenshot: {FAILURE_SHOT.relative_to(ROOT)}")
            raise
        finally:
            browser.close()
