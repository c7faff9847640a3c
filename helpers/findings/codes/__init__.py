"""Every finding the runbook can report, one module per area (AKV-<AREA>-NNN).

Importing this package registers the whole catalogue."""

from helpers.findings.codes import (
    auth,
    batch,
    cfg,
    cost,
    dag,
    inv,
    name,
    net,
    perm,
    render,
    role,
    run,
    secret,
    set,
    svc,
    train,
    ver,
)

__all__ = [
    "auth",
    "batch",
    "cfg",
    "cost",
    "dag",
    "inv",
    "name",
    "net",
    "perm",
    "render",
    "role",
    "run",
    "secret",
    "set",
    "svc",
    "train",
    "ver",
]
