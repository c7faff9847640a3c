"""The sandbox's request log: every request an emulated service answered, in order.

A record says which service and vault answered, which operation (the handler's name in the
service's ``urls.py``: ``get_secret``, ``token``, ``imds_token``...), the secret name for a
Key Vault secret operation, and the status. Never a header, a body, a query string or a
token: names of secrets are not secrets, values are never read here.

It is what cost measurements count (``helpers.cost``): a client process asks for the records
after the last sequence number it saw (``GET /_sandbox/requests?after=N``). The log is a ring
of ``CAPACITY`` records; a reader that falls behind sees ``dropped`` > 0 and knows its counts
are incomplete.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "CAPACITY",
    "PAGE",
    "TOKEN_OPERATIONS",
    "Record",
    "RequestLog",
]

CAPACITY = 200_000
PAGE = 20_000
# Operations that hand out an access token (Entra, IMDS, App Service): a credential signing in.
TOKEN_OPERATIONS = frozenset({"token", "imds_token", "app_service_token"})


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    at: float  # time.time() when answered
    service: str  # entra, keyvault, arm, graph, imds, app_service, oidc
    host: str  # the emulated host (a vault's host names the vault)
    operation: str  # the handler name, or "fault" / "unrouted"
    status: int
    name: str = ""  # the secret name of a Key Vault secret operation

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """A bounded, ordered log; appended from the sandbox's event loop only."""

    def __init__(self, capacity: int = CAPACITY):
        self._records: deque[Record] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self.last = 0

    def add(self, service: str, host: str, operation: str, status: int, name: str = "") -> None:
        self.last = next(self._seq)
        self._records.append(Record(self.last, time.time(), service, host, operation, status, name))

    def after(self, seq: int, limit: int = PAGE) -> dict[str, Any]:
        """Records with a sequence number above ``seq`` (at most ``limit``), the sequence number
        to ask after next, and how many records the ring dropped before the reader saw them."""
        records = list(self._records)  # a copy: the loop may append while a reader iterates
        first = records[0].seq if records else self.last + 1
        dropped = max(0, first - seq - 1) if seq < first else 0
        page = [r for r in records if r.seq > seq][: max(0, limit)]
        following = page[-1].seq if page else seq
        return {
            "records": [r.to_json() for r in page],
            "next": following,
            "last": self.last,
            "dropped": dropped,
        }
