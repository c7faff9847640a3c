"""A malformed-input corpus at the CLI level (issue 11).

Each case is an argv plus files written into a fresh folder; it runs in-process through
``helpers.cli.main`` in a worker thread joined with a timeout. Every case ends as exit 1 (a
finding) or exit 2 (a usage error) — exit 0 only where the input is legitimately fine and the
case says so — with no traceback, no hang, and only JSON on stdout with ``--json``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers.cli import main

VAULT = "https://kv-name.vault.azure.net/"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "12345678-90ab-cdef-1234-567890abcdef"
SECRET = "abc8Q~SuperSecretValue.0123456789"
CASE_TIMEOUT = 20.0  # seconds; a case that takes longer is a hang

GOOD_SETTINGS = f"vault_url: {VAULT}\ntenant_id: {TENANT}\nclient_id: {CLIENT}\n"
GOOD_ENV = (
    f"  - name: env-a\n    vault_url: {VAULT}\n    tenant_id: {TENANT}\n    client_id: {CLIENT}\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    files: dict[str, bytes | str] = field(default_factory=dict)
    codes: tuple[int, ...] = (1, 2)  # the exit codes this input may end with
    dirs: tuple[str, ...] = ()  # folders to create (relative to the case folder)


CASES: list[Case] = []


def case(id: str, *argv: str, files=None, codes=(1, 2), dirs=()) -> None:
    CASES.append(Case(id, tuple(argv), dict(files or {}), tuple(codes), tuple(dirs)))


def fine(id: str, *argv: str, files=None, dirs=()) -> None:
    """Input that is legitimately fine: exit 0."""
    case(id, *argv, files=files, codes=(0,), dirs=dirs)


WARNS = (-1,)  # exit 0 with at least one finding shown: a warning, which does not fail a run


def warns(id: str, *argv: str, files=None, dirs=()) -> None:
    case(id, *argv, files=files, codes=WARNS, dirs=dirs)


# -- settings files --------------------------------------------------------------------------
SETTINGS_FIELDS = {
    "name": "default",
    "vault_url": VAULT,
    "tenant_id": TENANT,
    "client_id": CLIENT,
    "credential": "client_secret",
    "client_secret_env": "AZURE_CLIENT_SECRET",
    "managed_identity_client_id": CLIENT,
    "connections_prefix": "airflow-connections",
    "variables_prefix": "airflow-variables",
    "config_prefix": None,
    "sep": "-",
    "target": "env",
    "airflow_version": "3.1.0",
    "provider_version": "12.0.0",
    "variables": ["sample-variable"],
    "connections": [],
    "retry_total": 3,
    "workload_identity_tenant_id": TENANT,
    "python_version": "3.12",
    "use_cache": False,
}
WRONG_VALUES = {
    "int": "12345",
    "float": "1.5e300",
    "list": "[1, 2]",
    "map": "{a: 1}",
    "bool": "true",
    "huge": '"' + "x" * 200_000 + '"',
    "control": '"a\\x00b\\x07c\\x1b[31m"',
    "secret": f'"{SECRET}"',
}
# Values a field legitimately takes: a string (not secret-like) is a name; "1.5e300" is a
# string in YAML 1.1; an id list is also a comma-separated string; a version may be a bare
# number; a long variable NAME is still a name; use_cache is a boolean.
ACCEPTED = {
    ("name", "float"),
    ("name", "huge"),
    ("name", "control"),
    ("client_secret_env", "huge"),
    ("airflow_version", "int"),
    ("provider_version", "int"),
    ("python_version", "int"),
    ("use_cache", "bool"),
    *((ids, v) for ids in ("variables", "connections") for v in ("float", "huge", "control")),
}
RETRY_OVER_BOUND = {("retry_total", "int")}  # 12345 retries: an info finding, exit 0
for fname in SETTINGS_FIELDS:
    for vname, value in WRONG_VALUES.items():
        if (fname, vname) in ACCEPTED:
            continue
        case(
            f"settings-{fname}-{vname}",
            "config",
            "render",
            "--settings",
            "s.yaml",
            files={
                "s.yaml": GOOD_SETTINGS.replace(f"{fname}:", f"_{fname}:") + f"{fname}: {value}\n"
            },
            codes=WARNS if (fname, vname) in RETRY_OVER_BOUND else (1, 2),
        )

SETTINGS_DOCS: dict[str, bytes | str] = {
    "empty": "",
    "only-comment": "# nothing\n",
    "null": "null\n",
    "scalar": "just text\n",
    "list-top": f"- vault_url: {VAULT}\n",
    "int-top": "42\n",
    "bom": "\ufeff" + GOOD_SETTINGS.replace(VAULT, "https://kv..vault.azure.net/"),
    "utf16": GOOD_SETTINGS.encode("utf-16"),
    "latin1": ("name: caf\xe9\n" + GOOD_SETTINGS).encode("latin-1"),
    "binary": b"\x00\x01\x02\xff\xfe" * 100,
    "dup-key": GOOD_SETTINGS + f"vault_url: {VAULT}\n",
    "python-object": "!!python/object:os.system {}\n",
    "python-name": f"vault_url: !!python/name:os.system\ntenant_id: {TENANT}\n",
    "custom-tag": f"vault_url: !vault {VAULT}\n",
    "binary-tag": "vault_url: !!binary aGVsbG8=\n",
    "set-tag": "variables: !!set {a, b}\n",
    "anchor": f"base: &b {{vault_url: {VAULT}}}\nvault_url: *b\n",
    "merge-key": f"x: &b {{vault_url: {VAULT}}}\n<<: *b\n",
    "alias-bomb": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
    "deep": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "unclosed": "vault_url: [\n",
    "tab-indent": "vault_url:\n\t- x\n",
    "unknown-key": GOOD_SETTINGS + "vault_ulr: x\n",
    "unknown-key-secret": GOOD_SETTINGS + f'"{SECRET}": 1\n',
    "secret-as-key-value": GOOD_SETTINGS + f"client_secret: {SECRET}\n",
    "int-key": GOOD_SETTINGS + "1: 2\n",
    "null-key": GOOD_SETTINGS + "~: 2\n",
    "list-key": GOOD_SETTINGS + "? [a, b]\n: 2\n",
    "vault-with-path": GOOD_SETTINGS.replace(VAULT, VAULT + "secrets/x"),
    "vault-http": GOOD_SETTINGS.replace("https://", "http://"),
    "vault-no-scheme": GOOD_SETTINGS.replace("https://", ""),
    "vault-empty-label": GOOD_SETTINGS.replace("kv-name.", "kv-name.."),
    "vault-ip": GOOD_SETTINGS.replace("kv-name.vault.azure.net", "127.0.0.1"),
    "vault-userinfo": GOOD_SETTINGS.replace("https://", f"https://u:{SECRET}@"),
    "vault-port": GOOD_SETTINGS.replace(".net/", ".net:99999/"),
    "vault-unicode": GOOD_SETTINGS.replace("kv-name", "kv-nаme"),  # Cyrillic a
    "tenant-secret": GOOD_SETTINGS.replace(TENANT, SECRET),
    "client-secret-swap": GOOD_SETTINGS.replace(CLIENT, SECRET),
    "client-secret-env-is-secret": GOOD_SETTINGS + f"client_secret_env: {SECRET}\n",
    "nil-guid": GOOD_SETTINGS.replace(CLIENT, "00000000-0000-0000-0000-000000000000"),
    "placeholder": GOOD_SETTINGS.replace(CLIENT, "<client-id>"),
    "credential-typo": GOOD_SETTINGS + "credential: client_secrte\n",
    "target-typo": GOOD_SETTINGS + "target: hlem\n",
    "prefix-bad-chars": GOOD_SETTINGS + "variables_prefix: air flow/vars\n",
    "sep-empty": GOOD_SETTINGS + 'sep: ""\n',
    "sep-slash": GOOD_SETTINGS + "sep: /\n",
    "retry-negative": GOOD_SETTINGS + "retry_total: -1\n",
    "retry-huge": GOOD_SETTINGS + "retry_total: 99999999999999999999999\n",
    "retry-nan": GOOD_SETTINGS + "retry_total: .nan\n",
    "retry-inf": GOOD_SETTINGS + "retry_total: .inf\n",
    "version-banana": GOOD_SETTINGS + "airflow_version: banana\n",
    "version-float": GOOD_SETTINGS + "airflow_version: 2.10\n",
    "variables-map": GOOD_SETTINGS + "variables: {a: b}\n",
    "variables-nested": GOOD_SETTINGS + "variables: [[a], {b: c}]\n",
    "variables-secret": GOOD_SETTINGS + f"variables: [{SECRET}]\n",
    "variables-empty-id": GOOD_SETTINGS + 'variables: [""]\n',
    "use-cache-word": GOOD_SETTINGS + "use_cache: maybe\n",
    "whitespace": GOOD_SETTINGS.replace(CLIENT, f"' {CLIENT} '"),
    "crlf": GOOD_SETTINGS.replace("\n", "\r\n").replace(CLIENT, "not-a-guid"),
    "json-dup": json.dumps({"vault_url": VAULT})[:-1] + f', "vault_url": "{VAULT}"}}',
    "json-trailing-comma": '{"vault_url": "x",}',
    "json-nan": '{"retry_total": NaN, "vault_url": "' + VAULT + '"}',
    "json-list": "[1, 2, 3]",
    "json-deep": "[" * 100_000 + "]" * 100_000,
}
# A warning (exit 0, the finding shown): unknown keys, a count over its bound, whitespace.
WARNING_DOCS = {
    "unknown-key",
    "unknown-key-secret",
    "int-key",
    "null-key",
    "retry-huge",
    "whitespace",
}
# Legitimately fine: an empty id is dropped. (A secret-like name or id is AKV-SET-012.)
FINE_DOCS = {"variables-empty-id"}
for doc_id, text in SETTINGS_DOCS.items():
    suffix = ".json" if doc_id.startswith("json") else ".yaml"
    codes = WARNS if doc_id in WARNING_DOCS else (0,) if doc_id in FINE_DOCS else (1, 2)
    case(
        f"settings-doc-{doc_id}",
        "config",
        "render",
        "--settings",
        "s" + suffix,
        files={"s" + suffix: text},
        codes=codes,
    )
for doc_id in (
    "empty",
    "binary",
    "dup-key",
    "python-object",
    "alias-bomb",
    "tenant-secret",
    "client-secret-swap",
    "unknown-key-secret",
    "vault-empty-label",
):
    case(
        f"settings-check-{doc_id}",
        "check",
        "--settings",
        "s.yaml",
        "--json",
        files={"s.yaml": SETTINGS_DOCS[doc_id]},
    )
# names looks only at the naming settings: a file it cannot use at all is still exit 2
for doc_id in ("binary", "dup-key", "python-object", "alias-bomb", "deep", "utf16"):
    case(
        f"settings-names-{doc_id}",
        "names",
        "variable",
        "sample",
        "--settings",
        "s.yaml",
        files={"s.yaml": SETTINGS_DOCS[doc_id]},
        codes=(2,),
    )
case("settings-missing", "check", "--settings", "absent.yaml")
case("settings-dir", "check", "--settings", "d", dirs=("d",))
case("settings-dev-null", "config", "render", "--settings", "/dev/null")
case("settings-dev-zero", "config", "render", "--settings", "/dev/zero")
case("settings-dev-urandom", "check", "--settings", "/dev/urandom")
case(
    "settings-huge",
    "config",
    "render",
    "--settings",
    "s.yaml",
    files={"s.yaml": GOOD_SETTINGS + "# " + "x" * (20 * 1024 * 1024) + "\n"},
)
fine(
    "settings-good-render",
    "config",
    "render",
    "--settings",
    "s.yaml",
    files={"s.yaml": GOOD_SETTINGS},
)
fine(
    "settings-good-names",
    "names",
    "variable",
    "sample",
    "--settings",
    "s.yaml",
    files={"s.yaml": GOOD_SETTINGS},
)

# -- inventories -----------------------------------------------------------------------------
INV = "version: 1\nenvironments:\n" + GOOD_ENV
INVENTORIES: dict[str, bytes | str] = {
    "empty": "",
    "null": "null\n",
    "list-top": "- name: a\n",
    "scalar": "inventory\n",
    "no-environments": "version: 1\n",
    "zero-environments": "version: 1\nenvironments: []\n",
    "environments-map": f"version: 1\nenvironments:\n  env-a: {{vault_url: {VAULT}}}\n",
    "environments-string": "version: 1\nenvironments: env-a\n",
    "environments-null": "version: 1\nenvironments:\n",
    "environment-scalar": "version: 1\nenvironments: [env-a, 3]\n",
    "environment-list": "version: 1\nenvironments: [[a, b]]\n",
    "duplicate-names": INV + GOOD_ENV,
    "duplicate-top-key": INV + "environments: []\n",
    "duplicate-env-key": INV + f"    vault_url: {VAULT}\n",
    "name-empty": INV.replace("name: env-a", 'name: ""'),
    "name-missing": INV.replace("name: env-a", "credential: client_secret"),
    "name-secret": INV.replace("name: env-a", f'name: "{SECRET}"'),
    "name-path": INV.replace("name: env-a", "name: ../../etc/passwd"),
    "name-abs-path": INV.replace("name: env-a", "name: /tmp/x"),
    "name-int": INV.replace("name: env-a", "name: 5"),
    "name-list": INV.replace("name: env-a", "name: [a]"),
    "name-html": INV.replace("name: env-a", 'name: "<script>alert(1)</script>"'),
    "name-huge": INV.replace("name: env-a", "name: " + "a" * 100_000),
    "name-control": INV.replace("name: env-a", 'name: "a\\x00b"'),
    "version-missing-bad-env": "environments:\n  - name: a\n    vault_url: x\n",
    "version-2": INV.replace("version: 1", "version: 2"),
    "version-string": INV.replace("version: 1", 'version: "1"'),
    "version-banana": INV.replace("version: 1", "version: banana"),
    "version-true": INV.replace("version: 1", "version: true"),
    "version-list": INV.replace("version: 1", "version: [1]"),
    "defaults-list": INV + "defaults: [a]\n",
    "defaults-scalar": INV + "defaults: x\n",
    "defaults-secret": INV + f"defaults:\n  client_id: {SECRET}\n",
    "unknown-top": INV + "enviroments: []\n",
    "unknown-top-secret": INV + f'"{SECRET}": 1\n',
    "unknown-env-key": INV + "    vault_ulr: x\n",
    "unknown-env-key-secret": INV + f'    "{SECRET}": 1\n',
    "through-backend-no": INV + '    through_backend: "no"\n',
    "through-backend-int": INV + "    through_backend: 2\n",
    "through-backend-list": INV + "    through_backend: [true]\n",
    "timeout-negative": INV + "    timeout: -1\n",
    "timeout-inf": INV + "    timeout: .inf\n",
    "timeout-nan": INV + "    timeout: .nan\n",
    "timeout-word": INV + "    timeout: soon\n",
    "timeout-huge": INV + "    timeout: 1e308\n",
    "timeout-map": INV + "    timeout: {s: 1}\n",
    "subscription-secret": INV + f"    subscription_id: {SECRET}\n",
    "subscription-int": INV + "    subscription_id: 5\n",
    "subscription-list": INV + "    subscription_id: [a]\n",
    "kwargs-not-json": INV + "    backend_kwargs: '{vault_url: x'\n",
    "kwargs-list": INV + "    backend_kwargs: [1, 2]\n",
    "kwargs-int": INV + "    backend_kwargs: 5\n",
    "kwargs-json-list": INV + "    backend_kwargs: '[1]'\n",
    "kwargs-secret": INV + f'    backend_kwargs: \'{{"client_secret": "{SECRET}"}}\'\n',
    "kwargs-vault-conflict": INV
    + '    backend_kwargs: \'{"vault_url": "https://other.vault.azure.net/"}\'\n',
    "kwargs-huge": INV + "    backend_kwargs: '" + '{"a": "' + "x" * 300_000 + "\"}'\n",
    "kwargs-map-nested": INV + "    backend_kwargs: {vault_url: {a: b}}\n",
    "tenant-secret": INV.replace(TENANT, SECRET),
    "client-secret": INV.replace(CLIENT, SECRET),
    "vault-secret": INV.replace(VAULT, SECRET),
    "vault-empty-label": INV.replace("kv-name.", "kv-name.."),
    "variables-map": INV + "    variables: {a: 1}\n",
    "python-tag": INV + "    vault_url: !!python/object/apply:os.system [echo]\n",
    "alias-bomb": SETTINGS_DOCS["alias-bomb"] + INV.replace("version: 1\n", ""),
    "anchors-ok-but-bad-env": "version: 1\nx: &d {credential: nope}\n"
    "environments:\n  - <<: *d\n    name: a\n",
    "bom-bad": "\ufeffversion: 1\nenvironments: []\n",
    "binary": b"\xff\xfe\x00\x00garbage",
    "utf16": INV.encode("utf-16"),
    "deep": "version: 1\nenvironments: " + "[" * 3000 + "]" * 3000 + "\n",
}
for inv_id, text in INVENTORIES.items():
    case(
        f"inventory-{inv_id}",
        "check",
        "--inventory",
        "inv.yaml",
        "--env-timeout",
        "5",
        files={"inv.yaml": text},
    )
for inv_id in (
    "empty",
    "duplicate-names",
    "name-secret",
    "zero-environments",
    "binary",
    "environments-map",
    "subscription-secret",
    "unknown-top-secret",
):
    case(
        f"inventory-json-{inv_id}",
        "check",
        "--inventory",
        "inv.yaml",
        "--json",
        "--env-timeout",
        "5",
        files={"inv.yaml": INVENTORIES[inv_id]},
    )
case("inventory-missing", "check", "--inventory", "absent.yaml")
case("inventory-dir", "check", "--inventory", "d", dirs=("d",))
case("inventory-dev-zero", "check", "--inventory", "/dev/zero")
case("inventory-dev-null", "check", "--inventory", "/dev/null")
case(
    "inventory-with-settings",
    "check",
    "--inventory",
    "inv.yaml",
    "--settings",
    "s.yaml",
    files={"inv.yaml": INV, "s.yaml": GOOD_SETTINGS},
)
case(
    "inventory-with-vault-url",
    "check",
    "--inventory",
    "inv.yaml",
    "--vault-url",
    VAULT,
    files={"inv.yaml": INV},
)
case("notebooks-without-inventory", "check", "--notebooks")

# -- report dirs and JUnit paths -------------------------------------------------------------
BROKEN_INV = {"inv.yaml": INV.replace(CLIENT, "not-a-guid")}  # a finding, no network
REPORT_PATHS = {
    "file": ("f", {"f": "x"}, ()),
    "under-file": ("f/sub", {"f": "x"}, ()),
    "deep-under-file": ("f/a/b/c", {"f": "x"}, ()),
    "report-html-dir": ("r", {}, ("r/report.html",)),
    "report-json-dir": ("r", {}, ("r/report.json",)),
    "junit-xml-dir": ("r", {}, ("r/junit.xml",)),
    "dev-null": ("/dev/null", {}, ()),
    "dev-null-under": ("/dev/null/x", {}, ()),
    "proc": ("/proc/self/status", {}, ()),
    "long-name": ("r" * 300, {}, ()),
    "long-path": ("/".join(["d" * 200] * 30), {}, ()),
    "nul-byte": ("r\x00x", {}, ()),
}
for rid, (path, files, dirs) in REPORT_PATHS.items():
    case(
        f"report-dir-{rid}",
        "check",
        "--inventory",
        "inv.yaml",
        "--report-dir",
        path,
        files={**BROKEN_INV, **files},
        dirs=dirs,
    )
JUNIT_PATHS = {
    "dir": (".", {}, ()),
    "tmp": ("/tmp", {}, ()),
    "under-file": ("f/j.xml", {"f": "x"}, ()),
    "missing-folder": ("no/such/j.xml", {}, ()),
    "dev-null-under": ("/dev/null/j.xml", {}, ()),
    "long-name": ("j" * 300 + ".xml", {}, ()),
    "nul-byte": ("j\x00.xml", {}, ()),
    "proc": ("/proc/version", {}, ()),
}
for jid, (path, files, dirs) in JUNIT_PATHS.items():
    case(
        f"junit-inventory-{jid}",
        "check",
        "--inventory",
        "inv.yaml",
        "--junit",
        path,
        files={**BROKEN_INV, **files},
        dirs=dirs,
    )
    case(
        f"junit-settings-{jid}",
        "check",
        "--settings",
        "s.yaml",
        "--junit",
        path,
        files={"s.yaml": GOOD_SETTINGS.replace(CLIENT, "nope"), **files},
        dirs=dirs,
    )
case(
    "report-dir-weird-relative",
    "check",
    "--inventory",
    "inv.yaml",
    "--report-dir",
    "./a/../b/./c/",
    files=BROKEN_INV,
)
case("report-dir-dash", "check", "--inventory", "inv.yaml", "--report-dir", "-", files=BROKEN_INV)
case("junit-dev-null", "check", "--inventory", "inv.yaml", "--junit", "/dev/null", files=BROKEN_INV)

# an empty path is a usage error, never "not given" (--inventory "" ran a single check) or "."
EMPTY_PATHS = [
    ("check", "--settings"),
    ("check", "--inventory"),
    ("check", "--junit"),
    ("check", "--inventory", "inv.yaml", "--report-dir"),
    ("config", "lint"),
    ("config", "lint", "--dags"),
    ("names", "reverse", "--secrets-file"),
    ("sandbox", "status", "--state-dir"),
    ("sandbox", "start", "--port", "0", "--scenario"),
    ("demo", "--reports"),
]
for argv in EMPTY_PATHS:
    for empty in ("", " "):
        case(
            f"empty-path-{'-'.join(argv)}-{len(empty)}", *argv, empty, files=BROKEN_INV, codes=(2,)
        )

# -- numeric options -------------------------------------------------------------------------
NUMBERS = ["-1", "0", "inf", "-inf", "nan", "1e400", "ten", "", "0x10", "1_0", " ", "１"]
for value in NUMBERS:
    case(
        f"timeout-{value!r}",
        "check",
        "--settings",
        "s.yaml",
        "--timeout",
        value,
        files={"s.yaml": GOOD_SETTINGS},
    )
    case(
        f"env-timeout-{value!r}",
        "check",
        "--inventory",
        "inv.yaml",
        "--env-timeout",
        value,
        files={"inv.yaml": INV},
    )
for value in ["-1", "0", "ten", "1.5", "99999999999999999999999999", "", "nan"]:
    case(
        f"concurrency-{value!r}",
        "check",
        "--inventory",
        "inv.yaml",
        "--concurrency",
        value,
        files={"inv.yaml": INV},
    )
    if value != "99999999999999999999999999":  # a valid count: that would run the notebooks
        case(
            f"workers-{value!r}",
            "check",
            "--inventory",
            "inv.yaml",
            "--notebooks",
            "--workers",
            value,
            files={"inv.yaml": INV},
        )
        case(f"fleet-{value!r}", "demo", "--fleet", value)
case("fleet-too-large", "demo", "--fleet", "99999999999999999999999999")  # was a hang
case("fleet-over-bound", "demo", "--fleet", "1001")
# report folders are checked before the (minutes-long) run, not after it
case("demo-reports-file", "demo", "--reports", "f", files={"f": "x"})
case("demo-reports-under-file", "demo", "--reports", "f/r", files={"f": "x"})
case("demo-fleet-reports-file", "demo", "--fleet", "3", "--reports", "f", files={"f": "x"})
case("demo-reports-dev-null", "demo", "--notebooks", "--fleet", "2", "--reports", "/dev/null")
for value in ["-1", "inf", "nan", "ten", "1e400"]:
    case(f"grant-wait-{value!r}", "grant", "--wait", value)
    case(f"notebooks-timeout-{value!r}", "notebooks", "--timeout", value)
for value in ["-1", "65536", "99999", "http", "", "1.5", "0x50", "inf"]:
    case(f"sandbox-port-{value!r}", "sandbox", "start", "--port", value)

# -- config lint -----------------------------------------------------------------------------
LINT_FILES: dict[str, tuple[str, bytes | str]] = {
    "cfg-empty": ("airflow.cfg", ""),
    "cfg-binary": ("airflow.cfg", b"\x00\xff" * 50),
    "cfg-no-section": ("airflow.cfg", "backend = x\n"),
    "cfg-dup-section": ("airflow.cfg", "[secrets]\nbackend = a\n[secrets]\nbackend = b\n"),
    "cfg-dup-option": ("airflow.cfg", "[secrets]\nbackend = a\nbackend = b\n"),
    "cfg-kwargs-bad-json": (
        "airflow.cfg",
        "[secrets]\nbackend = airflow.providers.microsoft."
        "azure.secrets.key_vault.AzureKeyVaultBackend\nbackend_kwargs = {x\n",
    ),
    "cfg-kwargs-secret": (
        "airflow.cfg",
        "[secrets]\nbackend = airflow.providers.microsoft.azure."
        f"secrets.key_vault.AzureKeyVaultBackend\nbackend_kwargs = "
        f'{{"vault_url": "{VAULT}", "client_secret": "{SECRET}"}}\n',
    ),
    "cfg-interpolation": ("airflow.cfg", "[secrets]\nbackend = %(foo)s\nbackend_kwargs = %(\n"),
    "cfg-huge-line": ("airflow.cfg", "[secrets]\nbackend_kwargs = " + "x" * 500_000 + "\n"),
    "cfg-utf16": ("airflow.cfg", "[secrets]\nbackend = x\n".encode("utf-16")),
    "cfg-continuation": ("airflow.cfg", '[secrets]\nbackend_kwargs = {\n  "a":\n'),
    "env-empty": (".env", ""),
    "env-garbage": (".env", "=\n==\nexport\n'\n\"unclosed\n"),
    "env-kwargs-bad": (".env", "AIRFLOW__SECRETS__BACKEND_KWARGS={nope\n"),
    "env-secret": (".env", f'AIRFLOW__SECRETS__BACKEND_KWARGS={{"client_secret": "{SECRET}"}}\n'),
    "env-binary": (".env", b"\xff\xfe\x00AIRFLOW=1"),
    "env-nul": (".env", "AIRFLOW__SECRETS__BACKEND=a\x00b\n"),
    "helm-empty": ("values.yaml", ""),
    "helm-list": ("values.yaml", "- a\n- b\n"),
    "helm-bomb": ("values.yaml", SETTINGS_DOCS["alias-bomb"]),
    "helm-python-tag": ("values.yaml", "env: !!python/object/apply:os.system [echo]\n"),
    "helm-env-map": ("values.yaml", "env: {AIRFLOW__SECRETS__BACKEND: x}\n"),
    "helm-env-scalar": ("values.yaml", "env: 5\n"),
    "helm-env-items-bad": ("values.yaml", "env:\n  - 5\n  - [a]\n  - {name: 5, value: [1]}\n"),
    "helm-config-list": ("values.yaml", "config: [secrets]\n"),
    "helm-secrets-scalar": ("values.yaml", "config:\n  secrets: backend\n"),
    "helm-secrets-kwargs-map": ("values.yaml", "config:\n  secrets:\n    backend_kwargs: {a: 1}\n"),
    "helm-dup": ("values.yaml", "env: []\nenv: []\n"),
    "helm-deep": ("values.yaml", "env: " + "[" * 3000 + "]" * 3000 + "\n"),
    "compose-empty": ("docker-compose.yaml", ""),
    "compose-list": ("docker-compose.yaml", "- services\n"),
    "compose-services-list": ("docker-compose.yaml", "services: [a]\n"),
    "compose-service-scalar": ("docker-compose.yaml", "services:\n  web: 5\n"),
    "compose-env-scalar": ("docker-compose.yaml", "services:\n  web:\n    environment: 5\n"),
    "compose-env-list-bad": (
        "docker-compose.yaml",
        "services:\n  web:\n    environment: [5, [a], {b: c}, '=']\n",
    ),
    "compose-env-map-bad": (
        "docker-compose.yaml",
        "services:\n  web:\n    environment:\n      A: [1]\n      5: {x: y}\n",
    ),
    "compose-anchor-merge": (
        "docker-compose.yaml",
        "x: &e {environment: {AIRFLOW__SECRETS__BACKEND: x}}\nservices:\n  web:\n    <<: *e\n",
    ),
    "compose-bomb": ("docker-compose.yaml", SETTINGS_DOCS["alias-bomb"]),
    "compose-dup": ("docker-compose.yaml", "services: {}\nservices: {}\n"),
    "compose-secret": (
        "docker-compose.yaml",
        "services:\n  web:\n    environment:\n"
        f'      AIRFLOW__SECRETS__BACKEND_KWARGS: \'{{"client_secret": "{SECRET}"}}\'\n',
    ),
    "adf-empty": ("adf.json", ""),
    "adf-list": ("adf.json", "[1, 2]"),
    "adf-scalar": ("adf.json", '"x"'),
    "adf-bad-json": ("adf.json", '{"properties": '),
    "adf-dup": ("adf.json", '{"properties": {}, "properties": {}}'),
    "adf-nan": ("adf.json", '{"properties": NaN}'),
    "adf-deep": ("adf.json", "[" * 50_000 + "]" * 50_000),
    "adf-props-list": ("adf.json", '{"properties": [1]}'),
    "adf-secret": (
        "adf.json",
        json.dumps(
            {
                "properties": {
                    "airflowProperties": {
                        "airflowConfigurationOverrides": {
                            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
                                {"client_secret": SECRET}
                            )
                        }
                    }
                }
            }
        ),
    ),
    "adf-overrides-list": (
        "adf.json",
        json.dumps(
            {"properties": {"airflowProperties": {"airflowConfigurationOverrides": [1, 2]}}}
        ),
    ),
    "adf-env-scalar": (
        "adf.json",
        json.dumps({"properties": {"airflowProperties": {"environmentVariables": 5}}}),
    ),
    "adf-utf16": ("adf.json", '{"properties": {}}'.encode("utf-16")),
    "unknown-kind": ("notes.txt", "hello\n"),
    "unknown-kind-empty": ("notes.bin", b""),
}
# a .env file is a fragment: empty or without AIRFLOW__ lines it configures nothing to lint
LINT_FINE = {"env-empty", "env-garbage"}
LINT_WARNS = {"cfg-kwargs-secret"}  # AKV-CFG-009 is a warning: it works, but should not be there
for lid, (fname, text) in LINT_FILES.items():
    codes = (0,) if lid in LINT_FINE else WARNS if lid in LINT_WARNS else (1, 2)
    case(f"lint-{lid}", "config", "lint", fname, files={fname: text}, codes=codes)
for lid in ("cfg-kwargs-secret", "helm-bomb", "adf-deep", "compose-env-list-bad", "unknown-kind"):
    fname, text = LINT_FILES[lid]
    codes = WARNS if lid in LINT_WARNS else (1, 2)
    case(f"lint-json-{lid}", "config", "lint", fname, "--json", files={fname: text}, codes=codes)
case("lint-nothing", "config", "lint")
case("lint-missing", "config", "lint", "absent.cfg")
fine("lint-empty-dir-is-an-empty-dag-folder", "config", "lint", "d", dirs=("d",))
case("lint-dev-zero", "config", "lint", "/dev/zero")
case("lint-dev-null", "config", "lint", "/dev/null")
DAGS: dict[str, bytes | str] = {
    "syntax": "def (:\n",
    "binary": b"\x00\xff\xfe",
    "null-bytes": "x = 1\x00\n",
    "latin1": "# caf\xe9\nx = 1\n".encode("latin-1"),
    "deep": "x = " + "(" * 2000 + ")" * 2000 + "\n",
    "variable-get-top": "from airflow.sdk import Variable\nX = Variable.get('a')\n",
}
for did, text in DAGS.items():
    codes = WARNS if did == "variable-get-top" else (1, 2)
    case(
        f"dags-{did}",
        "config",
        "lint",
        "--dags",
        "dags",
        files={f"dags/{did}.py": text},
        codes=codes,
    )
case("dags-missing", "config", "lint", "--dags", "absent")
fine("dags-one-file", "config", "lint", "--dags", "f.py", files={"f.py": "x = 1\n"})
fine("dags-empty-folder", "config", "lint", "--dags", "dags", dirs=("dags",))

# -- names -----------------------------------------------------------------------------------
BAD_IDS = [
    "",
    " ",
    "a b",
    "a/b",
    "..",
    "ü",
    "a" * 200,
    "a\x00b",
    "a\nb",
    SECRET,
    "$(id)",
    "a_b_c_" * 30,
]
for index, ident in enumerate(BAD_IDS):
    case(f"names-variable-{index}", "names", "variable", "--", ident)
    case(f"names-connection-json-{index}", "names", "connection", "--json", "--", ident)
BAD_PREFIXES = ["a b", "a/b", "ü", "x" * 200, SECRET, "a\x00"]
for index, prefix in enumerate(BAD_PREFIXES):
    case(
        f"names-prefix-{index}",
        "names",
        "variable",
        "v",
        "--settings",
        "s.yaml",
        files={"s.yaml": GOOD_SETTINGS + f"variables_prefix: {json.dumps(prefix)}\n"},
    )
for sep in ["", "/", "  ", "ü", SECRET]:
    case(
        f"names-sep-{sep!r}",
        "names",
        "config",
        "core",
        "--settings",
        "s.yaml",
        files={"s.yaml": GOOD_SETTINGS + f"sep: {json.dumps(sep)}\n"},
    )
fine("names-good", "names", "variable", "sample_var")
case("names-no-ids", "names", "variable")
case("names-unknown-kind", "names", "secret", "x")
case("names-reverse-missing", "names", "reverse", "--secrets-file", "absent.txt")
case("names-reverse-dir", "names", "reverse", "--secrets-file", "d", dirs=("d",))
case(
    "names-reverse-binary",
    "names",
    "reverse",
    "--secrets-file",
    "s.txt",
    files={"s.txt": b"\xff\xfe\x00\x81"},
)
case("names-reverse-dev-zero", "names", "reverse", "--secrets-file", "/dev/zero")
fine("names-reverse-empty", "names", "reverse", "--secrets-file", "s.txt", files={"s.txt": ""})
fine(
    "names-reverse-odd-names",
    "names",
    "reverse",
    "--secrets-file",
    "s.txt",
    files={"s.txt": "a\n\n--\nairflow-variables-\nairflow-connections-x-y\nü\n"},
)

# -- other usage errors ----------------------------------------------------------------------
case("no-command")
case("unknown-command", "frobnicate")
case("check-unknown-flag", "check", "--frobnicate")
case("check-credential-bad", "check", "--credential", "password")
case("render-target-bad", "config", "render", "--target", "k8s")
case("findings-unknown", "findings", "AKV-NOPE-999")
case("findings-unknown-json", "findings", "nope", "--json")
case("findings-secret", "findings", SECRET)
case("notebooks-unknown", "notebooks", "--write-only", "99_nope")
case("grant-model-bad", "grant", "--model", "rbac-ish")
case("grant-operator-bad", "grant", "--operator", "root")
case(
    "check-client-id-secret",
    "check",
    "--client-id",
    SECRET,
    "--vault-url",
    VAULT,
    "--tenant-id",
    TENANT,
)
case("check-vault-url-bad", "check", "--vault-url", "ftp://x", "--json")
case(
    "check-tenant-secret",
    "check",
    "--tenant-id",
    SECRET,
    "--vault-url",
    VAULT,
    "--client-id",
    CLIENT,
)
case(
    "check-client-secret-env-secret",
    "check",
    "--client-secret-env",
    SECRET,
    "--vault-url",
    VAULT,
    "--tenant-id",
    TENANT,
    "--client-id",
    CLIENT,
)
case("render-vault-secret", "config", "render", "--vault-url", SECRET, "--json")

# -- sandbox options and state files ---------------------------------------------------------
STATE_FILES: dict[str, bytes | str] = {
    "server-empty": "",
    "server-not-json": "{port",
    "server-list": "[1]",
    "server-port-string": '{"port": "x", "pid": 1, "token": "t"}',
    "server-port-huge": '{"port": 99999999, "pid": 1, "token": "t"}',
    "server-port-negative": '{"port": -1, "pid": 1}',
    "server-pid-missing": '{"port": 1}',
    "server-pid-string": '{"port": 1, "pid": "me"}',
    "server-binary": b"\xff\x00\xfe",
    "server-nan": '{"port": NaN, "pid": NaN}',
    "server-null": "null",
    "server-deep": "[" * 100_000 + "]" * 100_000,
}
for sid, text in STATE_FILES.items():
    for action in ("env", "status"):
        case(
            f"sandbox-{action}-{sid}",
            "sandbox",
            action,
            "--state-dir",
            "state",
            files={"state/server.json": text},
        )
    case(
        f"sandbox-status-json-{sid}",
        "sandbox",
        "status",
        "--json",
        "--state-dir",
        "state",
        files={"state/server.json": text},
    )
case(
    "sandbox-env-server-dir", "sandbox", "env", "--state-dir", "state", dirs=("state/server.json",)
)
case("sandbox-env-no-state", "sandbox", "env", "--state-dir", "nothing-here")
case("sandbox-status-no-state", "sandbox", "status", "--state-dir", "nothing-here")
case("sandbox-env-state-file", "sandbox", "env", "--state-dir", "f", files={"f": "x"})
case("sandbox-env-under-file", "sandbox", "env", "--state-dir", "f/x", files={"f": "x"})
case(
    "sandbox-start-state-file",
    "sandbox",
    "start",
    "--state-dir",
    "f",
    "--port",
    "0",
    files={"f": "x"},
)
case(
    "sandbox-start-under-file",
    "sandbox",
    "start",
    "--state-dir",
    "f/s",
    "--port",
    "0",
    files={"f": "x"},
)
case("sandbox-lab-state-file", "lab", "--state-dir", "f", files={"f": "x"})
SCENARIOS: dict[str, bytes | str] = {
    "missing": None,
    "binary": b"\x00\xff\xfe\x81",
    "list": "- a\n",
    "typo": "firewal: closed\n",
    "bomb": SETTINGS_DOCS["alias-bomb"],
    "python-tag": "name: !!python/object/apply:os.system [echo]\n",
    "dev-zero": None,
}
for scid, text in SCENARIOS.items():
    path = "/dev/zero" if scid == "dev-zero" else "sc.yaml"
    files = {} if text is None else {"sc.yaml": text}
    case(
        f"sandbox-start-scenario-{scid}",
        "sandbox",
        "start",
        "--port",
        "0",
        "--state-dir",
        "state",
        "--scenario",
        path,
        files=files,
    )
case(
    "sandbox-env-principal-unknown",
    "sandbox",
    "env",
    "--principal",
    "nobody",
    "--state-dir",
    "state",
    files={"state/server.json": '{"port": 1, "pid": 1}'},
)


# -- the runner ------------------------------------------------------------------------------
@dataclass
class Outcome:
    code: int | None = None
    out: str = ""
    err: str = ""
    exception: str = ""


_LOCK = threading.Lock()


def run_in_thread(argv: list[str], timeout: float = CASE_TIMEOUT) -> Outcome | None:
    """``main(argv)`` in a worker thread with stdout/stderr captured; None if it hangs."""
    outcome = Outcome()
    out, err = io.StringIO(), io.StringIO()

    def target() -> None:
        try:
            outcome.code = main(argv)
        except SystemExit as exit_info:
            outcome.code = exit_info.code if isinstance(exit_info.code, int) else 2
        except BaseException:  # noqa: BLE001 - an uncaught exception is what we look for
            outcome.exception = traceback.format_exc()

    with _LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join(timeout)
    if worker.is_alive():
        return None
    outcome.out, outcome.err = out.getvalue(), err.getvalue()
    return outcome


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    """No configured backend or AZURE_* from the outer shell; nothing reaches the network."""
    for key in list(os.environ):
        if key.startswith(("AIRFLOW__SECRETS__", "AZURE_", "AKV_SANDBOX")) or key.lower() in (
            "https_proxy",
            "http_proxy",
        ):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def materialise(c: Case, root: Path) -> None:
    for folder in c.dirs:
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, content in c.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 260
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.codes == (0,) for c in CASES) <= 12  # legitimately fine inputs stay few


# Known defects, each run as a strict xfail until fixed (none open).
REPORTED: set[str] = set()


@pytest.mark.parametrize(
    "c",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason="reported", strict=True))
        if c.id in REPORTED
        else c
        for c in CASES
    ],
    ids=[c.id for c in CASES],
)
def test_malformed_input_ends_as_a_finding_or_a_usage_error(c: Case, tmp_path, quiet_env):
    materialise(c, tmp_path)
    outcome = run_in_thread(list(c.argv))
    assert outcome is not None, f"{c.id}: no answer within {CASE_TIMEOUT} s"
    assert not outcome.exception, outcome.exception
    both = outcome.out + outcome.err
    assert "Traceback" not in both, both[-3000:]
    if c.codes == WARNS:
        assert outcome.code == 0 and "AKV-" in outcome.out, (outcome.code, both[-3000:])
    else:
        assert outcome.code in c.codes, (outcome.code, both[-3000:])
    if "--json" in c.argv and outcome.out:  # argparse's usage errors print nothing there
        json.loads(outcome.out)
