"""How long a connection may say nothing, and how many one peer may hold open.

The server model: one asyncio task per TCP connection (uvloop when installed). A connection
is *waiting* while no complete request head has arrived (just accepted, in the TLS handshake
of a tunnel, idle between keep-alive requests, or trickling a head) and *busy* from a
complete head until its response is written. Three rules keep idle or slowloris sockets
from starving other clients:

- an idle connection is closed after ``IDLE_TIMEOUT`` seconds without a byte (what real
  servers do to idle keep-alive connections; clients reconnect transparently);
- once a request has started, its head must arrive within ``HEAD_TIMEOUT`` and its body
  within ``BODY_TIMEOUT`` (else 408 and close);
- each peer address holds at most ``max_per_peer`` connections; a new one over the cap
  closes that peer's *oldest waiting* connection, never a busy one. Every local client
  shares 127.0.0.1, so refusing the newcomer would let a flood of idle sockets lock out a
  client that actually sends requests; closing the oldest waiting socket instead means the
  newcomer is always served, and the open descriptors stay bounded.
"""

from __future__ import annotations

import asyncio
import resource
from collections import OrderedDict

__all__ = [
    "BODY_TIMEOUT",
    "ConnectionLimiter",
    "HEAD_TIMEOUT",
    "IDLE_TIMEOUT",
    "default_cap",
]

IDLE_TIMEOUT = 60.0
HEAD_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0


def default_cap() -> int:
    """Connections per peer: 512, or fewer when the descriptor limit is low (headroom for the
    state files, the listening socket and a burst of accepts)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 512
    return max(16, min(512, soft // 2 - 32))


class ConnectionLimiter:
    """Per-peer counts and, per peer, the waiting connections oldest first."""

    def __init__(self, max_per_peer: int | None = None):
        self.max_per_peer = max_per_peer or default_cap()
        self._open: dict[str, int] = {}
        self._waiting: dict[str, OrderedDict[asyncio.Task, None]] = {}
        self._evicted: set[asyncio.Task] = set()  # cancelled, already uncounted
        self.evicted = 0

    def opened(self, peer: str, task: asyncio.Task) -> None:
        self._open[peer] = self._open.get(peer, 0) + 1
        waiting = self._waiting.setdefault(peer, OrderedDict())
        while self._open[peer] > self.max_per_peer and waiting:
            oldest, _ = waiting.popitem(last=False)
            oldest.cancel()
            self._evicted.add(oldest)
            self._open[peer] -= 1
            self.evicted += 1
        waiting[task] = None

    def busy(self, peer: str, task: asyncio.Task) -> None:
        waiting = self._waiting.get(peer)
        if waiting is not None:
            waiting.pop(task, None)

    def waiting(self, peer: str, task: asyncio.Task) -> None:
        self._waiting.setdefault(peer, OrderedDict())[task] = None

    def closed(self, peer: str, task: asyncio.Task) -> None:
        self.busy(peer, task)
        if task in self._evicted:
            self._evicted.discard(task)
            return
        count = self._open.get(peer, 1) - 1
        if count > 0:
            self._open[peer] = count
        else:
            self._open.pop(peer, None)
            self._waiting.pop(peer, None)

    def open_count(self, peer: str | None = None) -> int:
        if peer is not None:
            return self._open.get(peer, 0)
        return sum(self._open.values())
