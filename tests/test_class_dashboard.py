"""The facilitator dashboard over a fake class: the token gate, the data endpoints, the
exports, reset and its CSRF guard, escaping. Starlette's TestClient drives the app in-process;
two tests start the real uvicorn server on a free loopback port."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from helpers.training import dashboard
from helpers.training.dashboard import (
    CSRF_HEADER,
    CSV_COLUMNS,
    create_app,
    is_loopback,
    results_csv,
    start_dashboard,
    stuck_longest,
)
from helpers.training.dashboard_page import PAGE, SCRIPT

TOKEN = "facilitator-token-for-tests-0123456789"
HOSTILE = '<img src=x onerror="window.pwned=1"></th><script>alert(1)</script>'
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def iso(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")


def cell(state: str = "not-started", **extra: object) -> dict:
    return {
        "state": state,
        "hints_used": 0,
        "checks": 0,
        "last_check": None,
        "stuck_since": None,
        **extra,
    }


def class_document(trainees: int = 4) -> dict:
    exercises = [
        {"id": "kv-contributor", "title": "The backend holds only Key Vault Contributor"},
        {"id": "hostile", "title": HOSTILE},
        {"id": "formula", "title": '=HYPERLINK("http://evil.example","x")'},
    ]
    people = [
        {
            "id": f"trainee-{n:02d}",
            "last_activity": None,
            "exercises": {e["id"]: cell() for e in exercises},
        }
        for n in range(1, trainees + 1)
    ]
    people[2]["exercises"]["kv-contributor"] = cell(
        "in-progress", hints_used=1, checks=3, last_check=iso(1), stuck_since=iso(12)
    )
    people[2]["last_activity"] = iso(1)
    people[0]["exercises"]["kv-contributor"] = cell(
        "in-progress", checks=1, last_check=iso(2), stuck_since=iso(2)
    )
    people[1]["exercises"]["kv-contributor"] = cell("passed", checks=2, last_check=iso(5))
    people[3]["exercises"]["hostile"] = cell("skipped", hints_used=3)
    return {
        "class": {"trainees": trainees, "started": iso(60), "state_dir": "/tmp/class"},
        "exercises": exercises,
        "trainees": people,
    }


class FakeClass:
    """The two callables the runtime provides, over a document the test mutates."""

    def __init__(self) -> None:
        self.document = class_document()
        self.resets: list[tuple[str, str]] = []
        self.fail_status = False

    def status(self) -> dict:
        if self.fail_status:
            raise OSError("state dir /secret/path unreadable")
        return json.loads(json.dumps(self.document))

    def reset(self, trainee: str, exercise: str) -> None:
        self.resets.append((trainee, exercise))


@pytest.fixture
def fake() -> FakeClass:
    return FakeClass()


@pytest.fixture
def client(fake: FakeClass) -> TestClient:
    app = create_app(status_source=fake.status, reset=fake.reset, token=TOKEN)
    return TestClient(app, follow_redirects=False)


def raw_get(app, path: str, query: str) -> tuple[int, str]:
    """(status, location) of a GET whose path reaches the app exactly as written."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    asyncio.run(app(scope, receive, send))
    headers = dict(sent[0]["headers"])
    return sent[0]["status"], headers.get(b"location", b"").decode()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def reset_headers() -> dict[str, str]:
    return {**bearer(), CSRF_HEADER: "1", "Content-Type": "application/json"}


GETS = ["/", "/dashboard.js", "/dashboard.css", "/api/status", "/api/view"]
GETS += ["/export.csv", "/export.json", "/no-such-page"]


# -- the token gate ------------------------------------------------------------------------
@pytest.mark.parametrize("path", GETS)
def test_every_get_without_the_token_is_refused_with_401_and_no_data(client, path):
    answer = client.get(path)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "trainee-" not in answer.text and "kv-contributor" not in answer.text


@pytest.mark.parametrize(
    "headers",
    [
        bearer("wrong-token-wrong-token-wrong"),
        bearer(TOKEN[:-1]),
        bearer(TOKEN + "x"),
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Cookie": f"{dashboard.COOKIE}={TOKEN}"},  # the cookie never holds the token itself
        {"Cookie": f"{dashboard.COOKIE}=0123abcd"},
    ],
)
def test_a_wrong_token_in_the_header_or_cookie_is_refused(client, fake, headers):
    assert client.get("/api/status", headers=headers).status_code == 401
    post = client.post("/api/reset", headers={**headers, CSRF_HEADER: "1"}, json={})
    assert post.status_code == 401
    assert fake.resets == []


def test_a_wrong_token_in_the_url_is_refused_and_sets_no_cookie(client):
    answer = client.get("/?token=not-the-token-at-all")
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize("path", GETS[:-1])
def test_the_bearer_token_opens_every_endpoint(client, path):
    assert client.get(path, headers=bearer()).status_code == 200


def test_the_token_in_the_url_sets_a_strict_httponly_cookie_and_redirects_to_the_clean_url(
    client,
):
    answer = client.get(f"/?token={TOKEN}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{dashboard.COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    # The client keeps the cookie: the clean URL now opens, and so does the data.
    assert client.get("/").status_code == 200
    assert client.get("/api/view").json()["status"]["class"]["trainees"] == 4


def test_the_redirect_keeps_other_parameters_and_never_leaves_the_dashboard(client):
    kept = client.get(f"/export.csv?a=1&token={TOKEN}&b=2")
    assert kept.headers["location"] == "/export.csv?a=1&b=2"
    # A raw request path (an HTTP client would read "//evil.example" as another host).
    assert raw_get(client.app, "//evil.example/", f"token={TOKEN}")[0] == 303
    assert raw_get(client.app, "//evil.example/", f"token={TOKEN}")[1] == "/evil.example/"


def test_a_token_in_the_url_of_a_post_is_refused(client, fake):
    answer = client.post(
        f"/api/reset?token={TOKEN}",
        headers={CSRF_HEADER: "1"},
        json={"trainee": "trainee-01", "exercise": "kv-contributor"},
    )
    assert answer.status_code == 401
    assert fake.resets == []


def test_the_token_is_compared_in_constant_time(client, monkeypatch):
    compared = []
    real = dashboard.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(dashboard.hmac, "compare_digest", spy)
    assert client.get("/api/status", headers=bearer()).status_code == 200
    assert client.get("/api/status", headers=bearer("nope" * 5)).status_code == 401
    assert any(b == TOKEN.encode() for _, b in compared)


@pytest.mark.parametrize("token", ["", "short", None])
def test_a_missing_or_short_token_is_refused_when_the_app_is_built(fake, token):
    with pytest.raises(ValueError, match="token"):
        create_app(status_source=fake.status, reset=fake.reset, token=token)


def test_every_answer_carries_the_security_headers(client):
    for answer in (client.get("/"), client.get("/", headers=bearer())):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"


# -- the data ------------------------------------------------------------------------------
def test_status_is_the_class_document_and_view_adds_the_clock_and_the_stuck_list(client, fake):
    assert client.get("/api/status", headers=bearer()).json() == fake.document
    view = client.get("/api/view", headers=bearer()).json()
    assert view["status"] == fake.document
    assert datetime.fromisoformat(view["now"]).tzinfo is not None
    assert [(s["trainee"], s["exercise"]) for s in view["stuck"]] == [
        ("trainee-03", "kv-contributor"),
        ("trainee-01", "kv-contributor"),
    ]


def test_stuck_longest_sorts_by_stuck_since_and_says_for_how_long(fake):
    fake.document["trainees"][3]["exercises"]["formula"] = cell(
        "in-progress", stuck_since=iso(30), hints_used=2
    )
    fake.document["trainees"][1]["exercises"]["hostile"] = cell(
        "in-progress", stuck_since="not a time"
    )
    rows = stuck_longest(fake.document, now=NOW)
    assert [(r["trainee"], r["stuck_seconds"], r["hints_used"]) for r in rows] == [
        ("trainee-04", 1800, 2),
        ("trainee-03", 720, 1),
        ("trainee-01", 120, 0),
    ]
    assert rows[0]["title"] == fake.document["exercises"][2]["title"]


def test_a_failing_status_source_answers_503_without_its_message(client, fake):
    fake.fail_status = True
    answer = client.get("/api/view", headers=bearer())
    assert answer.status_code == 503
    assert "/secret/path" not in answer.text


def test_the_csv_export_has_one_row_per_trainee_and_exercise_with_the_documented_columns(
    client, fake
):
    answer = client.get("/export.csv", headers=bearer())
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="class-')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert (
        tuple(rows[0])
        == CSV_COLUMNS
        == (
            "trainee",
            "exercise",
            "exercise_title",
            "state",
            "hints_used",
            "checks",
            "last_check",
            "stuck_since",
            "trainee_last_activity",
        )
    )
    assert len(rows) == 4 * 3
    stuck = next(
        r for r in rows if r["trainee"] == "trainee-03" and r["exercise"] == "kv-contributor"
    )
    assert stuck == {
        "trainee": "trainee-03",
        "exercise": "kv-contributor",
        "exercise_title": "The backend holds only Key Vault Contributor",
        "state": "in-progress",
        "hints_used": "1",
        "checks": "3",
        "last_check": iso(1),
        "stuck_since": iso(12),
        "trainee_last_activity": iso(1),
    }
    assert answer.text == results_csv(fake.document)


def test_the_csv_export_defuses_spreadsheet_formulas_in_titles(fake):
    rows = list(csv.DictReader(io.StringIO(results_csv(fake.document))))
    titles = {r["exercise"]: r["exercise_title"] for r in rows}
    assert titles["formula"] == "'" + fake.document["exercises"][2]["title"]
    assert titles["hostile"] == HOSTILE  # a CSV cell is not markup: kept as written


def test_the_json_export_is_a_download_of_the_document(client, fake):
    answer = client.get("/export.json", headers=bearer())
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["content-disposition"].endswith('.json"')
    assert answer.json() == fake.document


def test_hostile_titles_and_ids_never_become_markup(client, fake):
    fake.document["trainees"][0]["id"] = "<b>trainee-01</b>"
    page = client.get("/", headers=bearer())
    assert page.headers["content-type"].startswith("text/html")
    # The page is a static shell: nothing from the class is ever written into the HTML.
    assert page.text == PAGE
    assert "<script>alert" not in page.text and "trainee-0" not in page.text
    view = client.get("/api/view", headers=bearer())
    assert view.headers["content-type"] == "application/json"
    assert view.headers["x-content-type-options"] == "nosniff"
    assert view.json()["status"]["exercises"][1]["title"] == HOSTILE
    # The script writes class strings with textContent only, never as HTML.
    assert "textContent" in SCRIPT
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in SCRIPT


# -- reset ---------------------------------------------------------------------------------
def test_reset_calls_the_runtime_with_trainee_and_exercise(client, fake):
    answer = client.post(
        "/api/reset",
        headers=reset_headers(),
        content=json.dumps({"trainee": "trainee-03", "exercise": "kv-contributor"}),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"reset": {"trainee": "trainee-03", "exercise": "kv-contributor"}}
    assert fake.resets == [("trainee-03", "kv-contributor")]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"trainee": "trainee-99", "exercise": "kv-contributor"}, 404),
        ({"trainee": "trainee-03", "exercise": "no-such-exercise"}, 404),
        ({"trainee": "../trainee-03", "exercise": "kv-contributor"}, 404),
        ({"trainee": "trainee-03"}, 400),
        ({"trainee": 3, "exercise": "kv-contributor"}, 400),
        (["trainee-03", "kv-contributor"], 400),
    ],
)
def test_reset_refuses_unknown_or_malformed_ids(client, fake, body, status):
    answer = client.post("/api/reset", headers=reset_headers(), content=json.dumps(body))
    assert answer.status_code == status
    assert fake.resets == []


@pytest.mark.parametrize(
    ("drop", "extra", "status"),
    [
        (CSRF_HEADER, {}, 403),  # a cross-site form cannot add the header
        (None, {CSRF_HEADER: "0"}, 403),
        (None, {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (None, {"Content-Type": "text/plain"}, 415),
        (None, {"Origin": "http://evil.example"}, 403),
    ],
)
def test_reset_without_the_csrf_guard_is_refused(client, fake, drop, extra, status):
    headers = {k: v for k, v in reset_headers().items() if k != drop} | extra
    body = json.dumps({"trainee": "trainee-03", "exercise": "kv-contributor"})
    answer = client.post("/api/reset", headers=headers, content=body)
    assert answer.status_code == status
    assert fake.resets == []


def test_reset_from_the_dashboards_own_origin_is_accepted(client, fake):
    headers = reset_headers() | {"Origin": "http://testserver"}
    body = json.dumps({"trainee": "trainee-01", "exercise": "hostile"})
    assert client.post("/api/reset", headers=headers, content=body).status_code == 200
    assert fake.resets == [("trainee-01", "hostile")]


def test_a_failing_reset_answers_500_without_the_exception_text(fake):
    def explode(trainee: str, exercise: str) -> None:
        raise RuntimeError("vault password hunter2")

    client = TestClient(create_app(status_source=fake.status, reset=explode, token=TOKEN))
    body = json.dumps({"trainee": "trainee-01", "exercise": "hostile"})
    answer = client.post("/api/reset", headers=reset_headers(), content=body)
    assert answer.status_code == 500
    assert "hunter2" not in answer.text and "RuntimeError" in answer.text


def test_get_on_the_reset_endpoint_does_nothing(client, fake):
    assert client.get("/api/reset", headers=bearer()).status_code == 405
    assert fake.resets == []


# -- serving -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.20", False),
        ("classroom.example", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def _open(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.timeout(30)
def test_start_dashboard_serves_on_a_free_loopback_port_and_stops(fake):
    app = create_app(status_source=fake.status, reset=fake.reset, token=TOKEN)
    handle = start_dashboard(app)
    try:
        assert handle.host == "127.0.0.1" and handle.port > 0
        assert handle.url == f"http://127.0.0.1:{handle.port}/"
        assert _open(handle.url + "api/status")[0] == 401
        status, body = _open(handle.url + "api/status", bearer())
        assert status == 200 and json.loads(body) == fake.document
    finally:
        handle.stop()
    assert not handle._thread.is_alive()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", handle.port), 1):
        pass


@pytest.mark.timeout(30)
def test_start_dashboard_on_a_taken_port_fails_in_the_caller(fake):
    app = create_app(status_source=fake.status, reset=fake.reset, token=TOKEN)
    with start_dashboard(app) as first, pytest.raises(OSError):
        start_dashboard(app, port=first.port)
