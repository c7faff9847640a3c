"""The facilitator's dashboard: trainees × exercises, live, behind the facilitator token.

``create_app(status_source=…, reset=…, token=…)`` builds a Starlette app over two callables
(the class runtime's ``status()`` and ``reset(trainee, exercise)``); ``start_dashboard(app)``
serves it with uvicorn in a background thread and returns a ``DashboardHandle`` (``url``,
``port``, ``stop()``). Every request needs the token: ``Authorization: Bearer <token>``, or a
cookie set by opening any page once with ``?token=<token>`` (the answer redirects to the same
URL without it). A refused request gets 401 and no data.

Endpoints: ``GET /`` the page (a static shell: no class data is ever in the HTML; the script
fills the grid from ``/api/view`` every 2 s with ``textContent`` only), ``/dashboard.js``,
``/dashboard.css``, ``GET /api/status`` (the status document), ``GET /api/view`` (the document,
the server's clock and the stuck list), ``GET /export.csv`` and ``/export.json``, and
``POST /api/reset`` (JSON ``{"trainee", "exercise"}``; needs the ``X-AKV-Dashboard: 1`` header
and a JSON content type, which a cross-site form cannot send).

``stuck_longest`` and ``results_csv`` are the page's and the export's rules, reusable by
``class status``; ``is_loopback`` tells the CLI when to warn about ``--host``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import ipaddress
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

# Starlette and uvicorn come with Airflow 3 and add ~0.1 s to the CLI's imports: module top.
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpers.training.dashboard_page import PAGE, SCRIPT, STYLE

__all__ = [
    "CSRF_HEADER",
    "CSV_COLUMNS",
    "DEFAULT_HOST",
    "STATES",
    "DashboardHandle",
    "create_app",
    "is_loopback",
    "new_token",
    "results_csv",
    "start_dashboard",
    "stuck_longest",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
STATES = ("not-started", "in-progress", "passed", "skipped")
CSRF_HEADER = "X-AKV-Dashboard"
CSV_COLUMNS = (
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
MIN_TOKEN_CHARS = 16
MAX_RESET_BODY = 4096
COOKIE = "akv_class_dashboard"
_COOKIE_CONTEXT = b"akv-runbook class dashboard cookie v1"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        b"img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]

StatusSource = Callable[[], dict]
ResetCallable = Callable[[str, str], None]


def new_token() -> str:
    """A fresh facilitator token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True when ``host`` serves only this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # any other name may resolve to a classroom-facing address


# -- the status document's rules -----------------------------------------------------------
def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _titles(document: dict) -> dict[str, str]:
    return {
        str(e.get("id")): str(e.get("title") or e.get("id"))
        for e in document.get("exercises") or []
        if isinstance(e, dict)
    }


def _cells(document: dict) -> Iterator[tuple[dict, str, dict]]:
    """(trainee, exercise id, cell) for every cell, in the document's order."""
    for trainee in document.get("trainees") or []:
        if not isinstance(trainee, dict):
            continue
        for exercise, cell in (trainee.get("exercises") or {}).items():
            if isinstance(cell, dict):
                yield trainee, str(exercise), cell


def stuck_longest(document: dict, *, now: datetime | None = None) -> list[dict]:
    """The in-progress cells, stuck longest first: trainee, exercise, title, stuck_since,
    stuck_seconds, hints_used."""
    now = now or datetime.now(UTC)
    titles = _titles(document)
    found = []
    for trainee, exercise, cell in _cells(document):
        since = _parse_time(cell.get("stuck_since"))
        if cell.get("state") != "in-progress" or since is None:
            continue
        found.append(
            (
                since,
                {
                    "trainee": str(trainee.get("id")),
                    "exercise": exercise,
                    "title": titles.get(exercise, exercise),
                    "stuck_since": cell["stuck_since"],
                    "stuck_seconds": max(0, int((now - since).total_seconds())),
                    "hints_used": cell.get("hints_used", 0),
                },
            )
        )
    found.sort(key=lambda pair: (pair[0], pair[1]["trainee"], pair[1]["exercise"]))
    return [row for _, row in found]


def _csv_safe(value: Any) -> Any:
    """A spreadsheet must not run a title a facilitator typed as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def results_csv(document: dict) -> str:
    """One row per trainee × exercise, columns ``CSV_COLUMNS``."""
    titles = _titles(document)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for trainee, exercise, cell in _cells(document):
        row = (
            trainee.get("id"),
            exercise,
            titles.get(exercise, exercise),
            cell.get("state"),
            cell.get("hints_used", 0),
            cell.get("checks", 0),
            cell.get("last_check"),
            cell.get("stuck_since"),
            trainee.get("last_activity"),
        )
        writer.writerow([_csv_safe(v) for v in row])
    return out.getvalue()


# -- the token gate ------------------------------------------------------------------------
def _same(given: str, expected: bytes) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected)


def _refused() -> Response:
    return PlainTextResponse(
        "401 Unauthorized: the facilitator token is required\n",
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="akv-runbook class dashboard"'},
    )


class _TokenGate:
    """ASGI middleware: every HTTP request shows the token (bearer or cookie) or gets 401;
    a GET with the right ``?token=`` sets the cookie and redirects to the clean URL. Adds the
    security headers to every answer, refused ones included."""

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self._token = token.encode()
        self._cookie = hmac.new(self._token, _COOKIE_CONTEXT, hashlib.sha256).hexdigest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no websockets here
            await send({"type": "websocket.close", "code": 1008})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        answer = self._gate(Request(scope))
        if answer is not None:
            await answer(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)

    def _gate(self, request: Request) -> Response | None:
        given = request.query_params.get("token")
        if given is not None:
            if request.method != "GET" or not _same(given, self._token):
                return _refused()
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            # One leading slash: "//host" would be a redirect to another site.
            clean = "/" + request.url.path.lstrip("/") + ("?" + urlencode(rest) if rest else "")
            answer = RedirectResponse(clean, status_code=303)
            answer.set_cookie(
                COOKIE,
                self._cookie,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
            return answer
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self._token):
            return None
        if _same(request.cookies.get(COOKIE, ""), self._cookie.encode()):
            return None
        return _refused()


# -- the app -------------------------------------------------------------------------------
def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _known_ids(document: dict) -> tuple[set[str], set[str]]:
    trainees = {str(t.get("id")) for t in document.get("trainees") or [] if isinstance(t, dict)}
    return trainees, set(_titles(document))


def create_app(*, status_source: StatusSource, reset: ResetCallable, token: str) -> Starlette:
    """The dashboard over ``status_source()`` (the class status document) and
    ``reset(trainee, exercise)``; every request must show ``token``."""
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"the facilitator token must be at least {MIN_TOKEN_CHARS} characters")

    async def document() -> dict:
        return await run_in_threadpool(status_source)

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def script(request: Request) -> Response:
        return Response(SCRIPT, media_type="text/javascript; charset=utf-8")

    async def style(request: Request) -> Response:
        return Response(STYLE, media_type="text/css; charset=utf-8")

    async def status(request: Request) -> Response:
        try:
            return JSONResponse(await document())
        except Exception:
            log.exception("the class status could not be read")
            return _error(503, "the class status could not be read")

    async def view(request: Request) -> Response:
        try:
            current = await document()
        except Exception:
            log.exception("the class status could not be read")
            return _error(503, "the class status could not be read")
        now = datetime.now(UTC)
        return JSONResponse(
            {
                "now": now.isoformat(timespec="seconds"),
                "status": current,
                "stuck": stuck_longest(current, now=now),
            }
        )

    def download(name: str) -> dict[str, str]:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return {"Content-Disposition": f'attachment; filename="class-results-{stamp}.{name}"'}

    async def export_csv(request: Request) -> Response:
        text = results_csv(await document())
        return Response(text, media_type="text/csv; charset=utf-8", headers=download("csv"))

    async def export_json(request: Request) -> Response:
        body = json.dumps(await document(), indent=2, ensure_ascii=False) + "\n"
        return Response(body, media_type="application/json", headers=download("json"))

    async def reset_cell(request: Request) -> Response:
        if request.headers.get(CSRF_HEADER) != "1":
            return _error(403, f"a reset needs the {CSRF_HEADER}: 1 header")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return _error(415, "a reset is a JSON request")
        origin = request.headers.get("origin")
        if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
            return _error(403, "a reset must come from the dashboard's own page")
        body = await request.body()
        if len(body) > MAX_RESET_BODY:
            return _error(413, "the reset request is too large")
        try:
            asked = json.loads(body)
        except ValueError:
            return _error(400, "the reset request is not JSON")
        trainee = asked.get("trainee") if isinstance(asked, dict) else None
        exercise = asked.get("exercise") if isinstance(asked, dict) else None
        if not isinstance(trainee, str) or not isinstance(exercise, str):
            return _error(400, 'a reset needs {"trainee": "…", "exercise": "…"}')
        trainees, exercises = _known_ids(await document())
        if trainee not in trainees:
            return _error(404, "no such trainee in this class")
        if exercise not in exercises:
            return _error(404, "no such exercise in this class")
        try:
            await run_in_threadpool(reset, trainee, exercise)
        except Exception as exc:
            log.exception("reset of %s / %s failed", trainee, exercise)
            return _error(500, f"the reset failed ({type(exc).__name__}); see the class log")
        return JSONResponse({"reset": {"trainee": trainee, "exercise": exercise}})

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/dashboard.js", script, methods=["GET"]),
        Route("/dashboard.css", style, methods=["GET"]),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/view", view, methods=["GET"]),
        Route("/export.csv", export_csv, methods=["GET"]),
        Route("/export.json", export_json, methods=["GET"]),
        Route("/api/reset", reset_cell, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_TokenGate, token=token)])


# -- serving -------------------------------------------------------------------------------
@dataclass
class DashboardHandle:
    """A running dashboard: ``url`` (to open, without the token), ``port``, ``stop()``."""

    host: str
    port: int
    url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> DashboardHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a taken port fails in the caller."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


def _url(host: str, port: int) -> str:
    name = host.strip("[]")
    if name in ("", "0.0.0.0", "::"):
        name = DEFAULT_HOST if name != "::" else "::1"
    return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"


def start_dashboard(
    app: ASGIApp, *, host: str = DEFAULT_HOST, port: int = 0, timeout: float = 10.0
) -> DashboardHandle:
    """Serve ``app`` on ``host:port`` (0: any free port) in a daemon thread. A non-loopback
    ``host`` is the caller's explicit choice (``is_loopback`` says when to warn)."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,  # the CLI owns logging
        access_log=False,  # an access log would record ?token= URLs
        log_level="warning",
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="class-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the class dashboard did not start on {host}:{port}")
        time.sleep(0.02)
    bound = sock.getsockname()[1]
    return DashboardHandle(
        host=host, port=bound, url=_url(host, bound), _server=server, _thread=thread
    )
