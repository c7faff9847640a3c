"""The sandbox's network face: an HTTPS-intercepting CONNECT proxy on 127.0.0.1.

Clients reach production URLs (``https://<vault>.vault.azure.net``,
``https://login.microsoftonline.com``) through ``HTTPS_PROXY``. The proxy answers
``CONNECT`` only for the emulated hosts, terminates TLS with a leaf signed by the sandbox
CA, and serves HTTP/1.1 with keep-alive inside the tunnel, routing on the CONNECT host.
Requests in origin form sent straight to the proxy's own address are the control API.
Anything else is refused: this is never an open proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .arm import exceptions as arm_exc
from .arm import urls as arm_urls
from .arm.responses import ArmResponses
from .certs import CertPaths
from .connections import BODY_TIMEOUT, HEAD_TIMEOUT, IDLE_TIMEOUT, ConnectionLimiter
from .control import ControlResponses
from .entra import exceptions as entra_exc
from .entra import urls as entra_urls
from .entra.responses import EntraResponses
from .faults import Fault
from .graph import urls as graph_urls
from .graph.models import Graph
from .graph.responses import GraphResponses
from .headers import RateLimits, arm_headers, arm_operation, decorate, keyvault_headers
from .http import MAX_BODY, ProtocolError, Request, Response, ServiceError
from .identity import urls as identity_urls
from .identity.responses import IdentityResponses, imds_target
from .keyvault import exceptions as kv_exc
from .keyvault import urls as kv_urls
from .keyvault.responses import KeyVaultResponses
from .requestlog import RequestLog
from .state import SandboxState

__all__ = [
    "ARM_HOST",
    "ENTRA_HOST",
    "GRAPH_HOST",
    "READ_METHODS",
    "Router",
    "SandboxServer",
    "TCP_QUICKACK",
    "VAULT_SUFFIX",
    "install_uvloop",
    "internal_error",
    "plain",
    "read_request",
    "state_file",
]

log = logging.getLogger("akv_runbook.sandbox")

ENTRA_HOST = "login.microsoftonline.com"
ARM_HOST = "management.azure.com"
GRAPH_HOST = "graph.microsoft.com"
VAULT_SUFFIX = ".vault.azure.net"
READ_METHODS = {"GET", "HEAD"}


def _compile(urls: list[tuple[str, str, str]], flags: int = 0):
    return [(m, re.compile(p + r"\Z", flags), h) for m, p, h in urls]


def plain(status: int, message: str, *, close: bool = False) -> bytes:
    return Response(status, message.encode() + b"\n", {"Content-Type": "text/plain"}).to_bytes(
        keep_alive=not close
    )


# Linux: ACK at once instead of after the 40 ms delayed-ACK timer (see read_request).
TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def _ack_now(sock: Any) -> None:
    """Send the pending ACK for what was just read.

    Clients that write the head and the body of a request in two sends without
    TCP_NODELAY (urllib3, hence requests, MSAL and azure-core, on proxied connections)
    hold the body back (Nagle) until the head is ACKed; the kernel delays that ACK by
    ~40 ms because the server has nothing to send yet. Setting TCP_QUICKACK flushes it.
    """
    if sock is not None and TCP_QUICKACK is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)


# A DNS name (labels of 1-63 letters, digits and hyphens; at most 253 characters) or an IP.
_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}\Z|[0-9a-f:.]{2,45}\Z"
)
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_VERSIONS = ("HTTP/1.1", "HTTP/1.0")


async def read_request(
    reader: asyncio.StreamReader,
    sock: Any = None,
    *,
    idle_timeout: float | None = None,
    head_timeout: float | None = None,
    body_timeout: float | None = None,
    on_head: Callable[[], None] | None = None,
) -> Request | None:
    """One HTTP/1.1 request, or None at a clean end of stream or after ``idle_timeout``
    seconds without a byte.

    ``sock`` (optional) is the connection's socket, used to ACK a request head at once
    when a body is still to come. Once a request has started, its head must arrive within
    ``head_timeout`` and its body within ``body_timeout`` (else 408). ``on_head`` is called
    when a complete head has been read.
    """
    loop = asyncio.get_running_loop()
    started = False
    try:
        async with asyncio.timeout(idle_timeout) as deadline:
            first = await reader.read(1)
            if not first:
                return None
            started = True
            if head_timeout is not None:
                deadline.reschedule(loop.time() + head_timeout)
            head = first + await reader.readuntil(b"\r\n\r\n")
            method, target, headers = _parse_head(head)
            if on_head is not None:
                on_head()
            if body_timeout is not None:
                deadline.reschedule(loop.time() + body_timeout)
            body = await _read_body(reader, headers, sock)
    except TimeoutError:
        if not started:
            return None
        raise ProtocolError(408, "request not received in time") from None
    except asyncio.IncompleteReadError as err:
        if not started and not err.partial.strip():
            return None
        raise ProtocolError(400, "incomplete request") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError(431, "request head or chunk line too large") from None
    return Request(method, target, headers, body)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """Request line and header fields, as strictly as RFC 9112 asks of a server: a bad
    request line, a field without a colon, whitespace before the colon or a folded line is
    a 400, never guessed at."""
    request_line, _, rest = head.decode("latin-1").partition("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TCHAR or not parts[1]:
        raise ProtocolError(400, "malformed request line")
    method, target, version = parts
    if version not in _VERSIONS:
        raise ProtocolError(400, "malformed request line (HTTP/1.1 or HTTP/1.0 only)")
    if any(ord(c) < 0x21 or ord(c) > 0x7E for c in target):
        raise ProtocolError(400, "malformed request target")
    headers: dict[str, str] = {}
    for line in rest.split("\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or not set(name) <= _TCHAR:
            raise ProtocolError(400, "malformed header field")
        key = name.lower()
        value = value.strip(" \t")
        if "\x00" in value or "\r" in value or "\n" in value:
            raise ProtocolError(400, "malformed header field")
        repeated = key in headers and key in ("content-length", "transfer-encoding", "host")
        if repeated and (headers[key] != value or key != "content-length"):
            raise ProtocolError(400, f"conflicting {name} fields")
        headers[key] = value
    if "transfer-encoding" in headers:
        if headers["transfer-encoding"].lower() != "chunked":
            raise ProtocolError(400, "only Transfer-Encoding: chunked is supported")
        if "content-length" in headers:
            raise ProtocolError(400, "both Content-Length and Transfer-Encoding")
    return method.upper(), target, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], sock: Any) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        _ack_now(sock)
        chunks: list[bytes] = []
        total = 0
        while True:
            size = _int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            if size == 0:
                if await reader.readuntil(b"\r\n") != b"\r\n":
                    raise ProtocolError(400, "chunked trailers are not supported")
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ProtocolError(413, "request body too large")
            chunks.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise ProtocolError(400, "chunk data not followed by CRLF")
    if "content-length" in headers:
        length = _int(headers["content-length"])
        if length > MAX_BODY:
            raise ProtocolError(413, "request body too large")
        if length:
            _ack_now(sock)
            return await reader.readexactly(length)
    return b""


_DIGITS = {10: frozenset("0123456789"), 16: frozenset("0123456789abcdefABCDEF")}


def _int(raw: str | bytes, base: int = 10) -> int:
    """Content-Length (decimal) or a chunk size (hex): digits only, as RFC 9112 says; Python's
    int() would also take "1_0", " 10", "+10" or "-1"."""
    text = (raw.decode("latin-1") if isinstance(raw, bytes) else raw).strip(" \t")
    if not text or not set(text) <= _DIGITS[base] or len(text) > 18:
        raise ProtocolError(400, "malformed Content-Length or chunk size")
    return int(text, base)


class Router:
    """Maps (host, method, path) to a service handler and applies injected faults."""

    def __init__(self, state: SandboxState, info: dict[str, Any]):
        self.state = state
        self.log = RequestLog()
        self.entra = EntraResponses(state.directory)
        self.keyvault = KeyVaultResponses(state.keyvault)
        self.arm = ArmResponses(state.arm)
        self.graph = GraphResponses(Graph(state.directory))
        self.control = ControlResponses(state, info, self.log)
        self.identity = IdentityResponses(state.identity)
        self.rate_limits = RateLimits()
        self.routes = {
            "entra": _compile(entra_urls.URLS),
            "keyvault": _compile(kv_urls.URLS),
            "arm": _compile(arm_urls.URLS, re.IGNORECASE),
            "graph": _compile(graph_urls.URLS, re.IGNORECASE),
            **{name: _compile(urls) for name, urls in identity_urls.URLS.items()},
        }
        # (service, method, path) -> (handler, params): clients repeat the same few paths.
        self._matched: dict[tuple[str, str, str], tuple[str, dict[str, str]]] = {}

    @staticmethod
    def service_for(host: str) -> str | None:
        if host == ENTRA_HOST:
            return "entra"
        if host == ARM_HOST:
            return "arm"
        if host == GRAPH_HOST:
            return "graph"
        if host.endswith(VAULT_SUFFIX) or host == "vault.azure.net":
            return "keyvault"
        if host.endswith(identity_urls.OIDC_SUFFIX):
            return "oidc"
        if host == identity_urls.IMDS_HOST:
            return "imds"
        return None

    def _match(self, service: str, method: str, path: str):
        key = (service, method, path)
        found = self._matched.get(key)
        if found is not None:
            return found[0], dict(found[1])
        handler, params = self._match_routes(service, method, path)
        if len(self._matched) >= 4096:
            self._matched.clear()
        self._matched[key] = (handler, params)
        return handler, dict(params)

    def _match_routes(self, service: str, method: str, path: str):
        allowed = False
        for m, pattern, handler in self.routes[service]:
            found = pattern.match(path)
            if found:
                if m == method:
                    return handler, {k: v for k, v in found.groupdict().items() if v is not None}
                allowed = True
        status = 405 if allowed else 404
        raise ProtocolError(status, f"{method} {path} is not served by the sandbox's {service}")

    async def handle(self, request: Request) -> Response:
        service = self.service_for(request.host)
        assert service is not None
        response, operation, name = await self._answer(service, request)
        self.log.add(service, request.host, operation, response.status, name)
        if service == "keyvault":
            vault = self.state.keyvault.vault_for_host(request.host)
            decorate(response, keyvault_headers(request, vault.location if vault else None))
        elif service == "arm":
            decorate(response, arm_headers(request, self.rate_limits))
        return response

    async def _answer(self, service: str, request: Request) -> tuple[Response, str, str]:
        """The response, the operation answered (for the request log) and, for a Key Vault
        secret operation, the secret's name."""
        latency, fault = 0, None
        if service not in identity_urls.URLS and (
            service != "entra" or request.path.endswith("/token")
        ):
            # Sign-in faults hit the token request: clients cache discovery documents, and a
            # failed discovery would hide the AADSTS error behind "Unable to get authority".
            latency, fault = self.state.faults.pick(service, request.host)
        if latency:
            await asyncio.sleep(latency / 1000)
        handler, params = "unrouted", {}
        try:
            if fault is not None:
                return self._fault_response(service, fault, request), "fault", ""
            handler, params = self._match(service, request.method, request.path)
            if service == "keyvault":
                vault = self.state.keyvault.vault_for_host(request.host)
                if vault is None:
                    raise ProtocolError(404, f"no vault at {request.host}")
                response = self.keyvault.dispatch(request, vault, handler, params)
            elif service == "arm":
                response = self.arm.dispatch(request, handler, params)
            elif service == "graph":
                response = self.graph.dispatch(request, handler, params)
            elif service in identity_urls.URLS:
                response = getattr(self.identity, handler)(request, **params)
            else:
                response = getattr(self.entra, handler)(request, **params)
        except ServiceError as err:
            return err.to_response(), handler, params.get("name", "")
        except Exception:  # a sandbox bug: still an answer, and a traceback that tests see
            log.exception("%s %s %s failed", service, request.method, request.path)
            return internal_error(service), handler, params.get("name", "")
        if request.method not in READ_METHODS and response.status < 400:
            self.state.dirty = True
        return response, handler, params.get("name", "")

    def handle_control(self, request: Request) -> Response:
        """A control API request (reset, seed, faults...) answered in its own error shape, or
        a request to the App Service managed identity endpoint on the same address."""
        if request.path.lower().rstrip("/") == identity_urls.APP_SERVICE_PATH:
            return self.handle_identity("app_service", request)
        try:
            return self.control.dispatch(request)
        except ServiceError as err:
            return err.to_response()
        except (ValueError, TypeError) as err:
            return Response.json(
                {"error": {"code": "SandboxControlError", "message": str(err)}}, 400
            )
        except Exception:  # a sandbox bug: still an answer, and a traceback that tests see
            log.exception("control %s %s failed", request.method, request.path)
            return internal_error("control")

    def handle_identity(self, service: str, request: Request) -> Response:
        """The App Service managed identity endpoint (on the proxy's own address)."""
        handler = "unrouted"
        try:
            handler, params = self._match(service, request.method, request.path)
            response = getattr(self.identity, handler)(request, **params)
        except ServiceError as err:
            response = err.to_response()
        except Exception:  # a sandbox bug: still an answer, and a traceback that tests see
            log.exception("%s %s %s failed", service, request.method, request.path)
            response = internal_error(service)
        self.log.add(service, "127.0.0.1", handler, response.status)
        return response

    @staticmethod
    def _fault_response(service: str, fault: Fault, request: Request) -> Response:
        throttle = fault.kind == "throttle"
        subscription = arm_urls.subscription_of(request.path) if service == "arm" else None
        err: ServiceError
        if throttle and subscription:
            operation = arm_operation(request.method, request.path)
            err = arm_exc.SubscriptionRequestsThrottled(subscription, operation, fault.retry_after)
        elif service == "keyvault":
            err = (
                kv_exc.Throttled(fault.retry_after)
                if throttle
                else kv_exc.ServiceUnavailable(fault.status)
            )
        else:
            status, retry_after = (429, fault.retry_after) if throttle else (fault.status, None)
            kind = entra_exc.TemporarilyUnavailable if service == "entra" else arm_exc.InjectedFault
            err = kind(status, retry_after)
        return err.to_response()


class SandboxServer:
    def __init__(
        self,
        state: SandboxState,
        certs: CertPaths,
        *,
        port: int = 0,
        max_connections_per_peer: int | None = None,
    ):
        self.state = state
        self.certs = certs
        self.port = port
        self.info: dict[str, Any] = {"pid": os.getpid(), "requests": 0, "connections": 0}
        self.router = Router(state, self.info)
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl.load_cert_chain(certs.leaf_cert, certs.leaf_key)
        self.ssl.set_alpn_protocols(["http/1.1"])
        self._server: asyncio.AbstractServer | None = None
        self._flusher: asyncio.Task | None = None
        self._clients: set[asyncio.Task] = set()
        self.limiter = ConnectionLimiter(max_connections_per_peer)
        self.timeouts = {
            "idle_timeout": IDLE_TIMEOUT,
            "head_timeout": HEAD_TIMEOUT,
            "body_timeout": BODY_TIMEOUT,
        }

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._serve_client, host="127.0.0.1", port=self.port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self.info.update(port=self.port, started=time.time())
        self._flusher = asyncio.create_task(self._flush_loop())
        server_json = {"port": self.port, "pid": os.getpid(), "started": self.info["started"]}
        state_file(self.state.state_dir).write_text(json.dumps(server_json))
        log.info("sandbox listening on 127.0.0.1:%d (state %s)", self.port, self.state.state_dir)
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._flusher is not None:
            self._flusher.cancel()
        self.state.save()
        with contextlib.suppress(FileNotFoundError):
            state_file(self.state.state_dir).unlink()
        log.info("sandbox stopped")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.state.dirty:
                self.state.save()

    # -- connections ---------------------------------------------------------------------
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = (writer.get_extra_info("peername") or ("127.0.0.1", 0))[0]
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self.limiter.opened(peer, task)
        self.info["connections"] += 1
        try:
            first = await self._next_request(reader, sock, peer, task)
            if first is None:
                return
            if first.method == "CONNECT":
                await self._tunnel(first, reader, writer, peer, sock)
            elif first.target.startswith("/"):
                await self._serve_http(reader, writer, "", peer, first, sock)
            elif imds_target(first.target):  # IMDS, asked through HTTP_PROXY
                await self._serve_http(reader, writer, identity_urls.IMDS_HOST, peer, first, sock)
            else:
                writer.write(plain(403, "the sandbox is not an open proxy", close=True))
        except ProtocolError as err:
            with contextlib.suppress(Exception):
                writer.write(plain(err.status, str(err), close=True))
                await asyncio.wait_for(writer.drain(), 5)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # stopped, or closed as the oldest waiting connection of a peer over its cap
        finally:
            self._clients.discard(task)
            self.limiter.closed(peer, task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _next_request(self, reader, sock: Any, peer: str, task: asyncio.Task):
        """The next request on a connection; the connection counts as waiting (closable when
        its peer is over the cap) until the request's head is complete."""
        self.limiter.waiting(peer, task)
        return await read_request(
            reader, sock, on_head=lambda: self.limiter.busy(peer, task), **self.timeouts
        )

    async def _tunnel(self, first: Request, reader, writer, peer: str, sock: Any) -> None:
        host, _, port = first.target.rpartition(":")
        host = host.lower().strip("[]")
        if not _HOSTNAME.match(host) or not port.isdigit():
            raise ProtocolError(400, "malformed CONNECT target (host:port)")
        service = self.router.service_for(host)
        if port != "443" or service is None or service == "imds":  # IMDS is plain HTTP only
            log.warning("refused CONNECT %s", first.target[:300])
            writer.write(
                plain(
                    403,
                    f"CONNECT {first.target} refused: the sandbox only tunnels to "
                    "the emulated Azure hosts",
                    close=True,
                )
            )
            return
        if host.endswith(VAULT_SUFFIX) and self.state.keyvault.vault_for_host(host) is None:
            log.info("CONNECT %s: no such vault", host)
            writer.write(plain(502, f"cannot resolve {host}: no such vault", close=True))
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        task = asyncio.current_task()
        assert task is not None
        self.limiter.waiting(peer, task)  # the TLS handshake is still to come
        await writer.start_tls(self.ssl, ssl_handshake_timeout=HEAD_TIMEOUT)
        await self._serve_http(reader, writer, host, peer, None, sock)

    async def _serve_http(
        self, reader, writer, host: str, peer: str, first: Request | None, sock: Any = None
    ):
        request = first
        info = self.info
        handle = self.router.handle
        task = asyncio.current_task()
        assert task is not None
        while True:
            if request is None:
                request = await self._next_request(reader, sock, peer, task)
                if request is None:
                    return
            started = time.perf_counter()
            request.client_ip = peer
            if host:
                request.host = host
                response = await handle(request)
            else:
                response = self._control(request)
            connection = request.headers.get("connection")
            close = connection is not None and connection.lower() == "close"
            writer.write(response.to_bytes(keep_alive=not close))
            info["requests"] += 1
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %s -> %d (%.1f ms)",
                    host or "control",
                    request.method,
                    request.path,
                    response.status,
                    (time.perf_counter() - started) * 1000,
                )
            await writer.drain()
            if close:
                return
            request = None

    def _control(self, request: Request) -> Response:
        return self.router.handle_control(request)


def internal_error(service: str) -> Response:
    """A 500 in the service's own error shape (Entra's OAuth2 body, or the ARM/Key Vault
    {"error": {"code", "message"}})."""
    message = "The sandbox failed to handle this request; see its log."
    if service == "entra":
        return Response.json({"error": "server_error", "error_description": message}, 500)
    return Response.json({"error": {"code": "InternalServerError", "message": message}}, 500)


def install_uvloop() -> Callable[[], asyncio.AbstractEventLoop]:
    """The fastest event loop available (uvloop when installed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def state_file(state_dir: Path) -> Path:
    """Where a running sandbox records its port and pid (read by `sandbox env` / status)."""
    return state_dir / "server.json"
