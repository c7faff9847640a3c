"""Lint whole configuration documents: an ADF / Fabric export, Helm values, a docker compose
file, and :func:`lint_file`, which detects the kind of a file by name and content.

Each document is parsed once; its environment and options become a view that
:mod:`helpers.backend_config.lint` checks like any other configuration.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from helpers import settings as st
from helpers.backend_config.dags import lint_dags
from helpers.backend_config.kwargs import _is_reference, secrets_in
from helpers.backend_config.lint import (
    _cache_for_workers_only,
    _lint_view,
    _string_env,
    _workers_findings,
    lint_airflow_cfg,
    lint_environment,
)
from helpers.backend_config.read import (
    _cache_setting,
    _server_side,
    _View,
    _worker_side,
    env_file_problems,
    json_document,
    looks_like_env,
    parse_env_file,
    yaml_document,
)
from helpers.common.redact import fingerprint
from helpers.common.textio import InputError, load_yaml, read_text
from helpers.findings import Finding, scrub_findings
from helpers.findings.codes.cfg import (
    BACKEND_NOT_SET,
    CONFIG_UNPARSABLE,
    FILE_KIND_UNKNOWN,
    HELM_KWARGS_MAPPING,
    PROVIDER_NOT_REQUIRED,
    SECRET_IN_FILE,
    WI_ANNOTATION_MISSING,
    WI_LABEL_MISSING,
)
from helpers.findings.codes.set import (
    WRONG_TYPE,
)
from helpers.settings.compat import lint_versions

__all__ = [
    "lint_adf_export",
    "lint_compose",
    "lint_file",
    "lint_helm_values",
]


# -- ADF / Fabric export ------------------------------------------------------------------------
_PROVIDER_REQ = re.compile(
    r"^\s*apache[-_.]airflow[-_.]providers[-_.]microsoft[-_.]azure\s*(?:\[[^\]]*\])?\s*"
    r"(?:(==|>=|~=|<=|<|>|!=)\s*([0-9][0-9A-Za-z.\-+]*))?",
    re.IGNORECASE,
)


def _find_key(obj: Any, key: str, depth: int = 0) -> Any:
    if depth > 8:
        return None
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        for value in obj.values():
            found = _find_key(value, key, depth + 1)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for value in obj:
            found = _find_key(value, key, depth + 1)
            if found is not None:
                return found
    return None


def lint_adf_export(text: str) -> list[Finding]:
    """Lint an ADF Data workflows / Fabric Airflow environment export (JSON).

    Accepted shapes: ``{"airflowProperties": {"airflowConfigurationOverrides": {...},
    "environmentVariables": {...}, "airflowRequirements": [...], "airflowVersion": ...}}``,
    the ARM resource (``properties.typeProperties.airflowProperties`` with
    ``airflowEnvironmentVariables``), or a flat ``{"AIRFLOW__SECRETS__BACKEND": ...}`` object.
    """
    label = "ADF export"
    doc, findings = json_document(text, label)
    if findings:
        return findings
    if not isinstance(doc, Mapping):
        return [
            CONFIG_UNPARSABLE(label, f"the export's top level is {st.shown(doc)}, not an object.")
        ]
    props = _find_key(doc, "airflowProperties")
    flat = not isinstance(props, Mapping)
    if flat:
        props = {"environmentVariables": doc}
    overrides = props.get("airflowConfigurationOverrides") or {}
    variables = props.get("environmentVariables") or props.get("airflowEnvironmentVariables") or {}
    merged: dict[Any, Any] = {}
    for name, part in (
        ("environmentVariables", variables),
        ("airflowConfigurationOverrides", overrides),
    ):
        if isinstance(part, Mapping):
            merged.update(part)
        else:
            findings.append(
                WRONG_TYPE(name, f"{name} must be an object of name: value, not {st.shown(part)}.")
            )
    env, opaque = _string_env(merged, findings, label)
    version = props.get("airflowVersion")
    view = _View(
        label,
        env=env,
        opaque=opaque,
        airflow_version=version if isinstance(version, str) else None,
    )
    findings += _lint_view(view)
    secret = env.get("AZURE_CLIENT_SECRET")
    if secret and secret.strip():
        findings.append(
            SECRET_IN_FILE(
                "AZURE_CLIENT_SECRET",
                f"the export holds AZURE_CLIENT_SECRET ({fingerprint(secret)}).",
            )
        )
    if not flat:
        findings += _adf_requirements(props)
    return scrub_findings(findings, [secret, *secrets_in(None, text)])


def _adf_requirements(props: Mapping[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    reqs = props.get("airflowRequirements")
    if isinstance(reqs, str):
        reqs = [r for r in reqs.split(",")]
    if not isinstance(reqs, list):
        reqs = []
    provider_version = None
    listed = False
    for req in reqs:
        if not isinstance(req, str):
            continue
        m = _PROVIDER_REQ.match(req)
        if m:
            listed = True
            if m.group(1) == "==":
                provider_version = m.group(2)
    if not listed:
        findings.append(
            PROVIDER_NOT_REQUIRED(
                "airflowRequirements",
                "airflowRequirements does not list apache-airflow-providers-microsoft-azure.",
            )
        )
    airflow_version = props.get("airflowVersion")
    python_version = props.get("pythonVersion")
    if airflow_version or provider_version:
        findings += lint_versions(
            airflow_version if isinstance(airflow_version, str) else None,
            provider_version,
            python_version if isinstance(python_version, str) else None,
        )
    return findings


# -- Helm values -------------------------------------------------------------------------------
def _helm_env_list(items: Any, where: str, view: _View, findings: list[Finding]) -> None:
    if items is None:
        return
    if isinstance(items, str):
        try:
            items = load_yaml(items)
        except InputError:
            view.more_env = True  # templated; cannot tell what it sets
            return
    if not isinstance(items, list):
        findings.append(WRONG_TYPE(where, f"{where} must be a list of {{name, value}}."))
        return
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            findings.append(WRONG_TYPE(where, f"{where} entries need a name: {st.shown(item)}."))
            continue
        name = item["name"]
        if "valueFrom" in item or _is_reference(item.get("value")):
            view.opaque.add(name)
            view.env.pop(name, None)
        else:
            value = item.get("value")
            view.env[name] = "" if value is None else str(value)


def lint_helm_values(text: str) -> list[Finding]:
    """Lint values for the official Apache Airflow Helm chart.

    Reads ``env: [{name, value | valueFrom}]``, ``secret: [{envName, secretName, secretKey}]``,
    ``extraEnv`` (a YAML string or list), ``extraEnvFrom`` and ``config.secrets`` /
    ``config.workers``; of each component's own ``<component>.env`` only what changes the
    secrets backend or cache of workers against the API server and the DAG processor.
    """
    doc, findings = yaml_document(text, "Helm values")
    return findings or _lint_helm_doc(doc, text)


def _lint_helm_doc(doc: Any, text: object) -> list[Finding]:
    label = "Helm values"
    findings: list[Finding] = []
    if doc is None:
        doc = {}
    if not isinstance(doc, Mapping):
        return [
            CONFIG_UNPARSABLE(label, f"the values' top level is {st.shown(doc)}, not a mapping.")
        ]
    view = _View(label)
    _helm_env_list(doc.get("env"), "env", view, findings)
    _helm_env_list(doc.get("extraEnv"), "extraEnv", view, findings)
    secrets = doc.get("secret")
    if isinstance(secrets, list):
        for item in secrets:
            if isinstance(item, Mapping) and isinstance(item.get("envName"), str):
                view.opaque.add(item["envName"])
    if doc.get("extraEnvFrom"):
        view.more_env = True
    config = doc.get("config")
    if isinstance(config, Mapping):
        for section in ("secrets", "workers"):
            options = config.get(section)
            if not isinstance(options, Mapping):
                continue
            for key, value in options.items():
                key = str(key)
                if isinstance(value, Mapping) and key.endswith("kwargs"):
                    findings.append(
                        HELM_KWARGS_MAPPING(
                            f"config.{section}.{key}",
                            f"config.{section}.{key} is a YAML mapping; write it as a JSON string.",
                        )
                    )
                    value = json.dumps(value)
                elif isinstance(value, bool):
                    value = str(value)
                elif value is None:
                    continue
                view.cfg[(section, key)] = value if isinstance(value, str) else str(value)
    found = _lint_view(view)
    # Subjects from config: say where they live in the values file.
    findings += [
        _resubject(f, "[secrets] ", "config.secrets.")
        if f.subject.startswith("[secrets] ")
        else _resubject(f, "[workers] ", "config.workers.")
        for f in found
    ]
    findings += _helm_workload_identity(doc)
    findings += _helm_component_env(doc, view)
    secret = view.env.get("AZURE_CLIENT_SECRET")
    if secret and secret.strip():
        findings.append(
            SECRET_IN_FILE(
                "env.AZURE_CLIENT_SECRET",
                f"env sets AZURE_CLIENT_SECRET in clear text ({fingerprint(secret)}).",
            )
        )
    return scrub_findings(findings, [secret, *secrets_in(None, text)])


# What the Azure Workload Identity webhook reads: the pod label and the service account's
# annotation, on every chart component that reads secrets.
WI_LABEL = "azure.workload.identity/use"
WI_ANNOTATION = "azure.workload.identity/client-id"
HELM_COMPONENTS = ("scheduler", "workers", "triggerer", "dagProcessor", "apiServer", "webserver")


def _mapping(obj: Any, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def _helm_workload_identity(doc: Mapping[str, Any]) -> list[Finding]:
    """The webhook's label and annotations, when the values set up workload identity (the
    label or one annotation present)."""
    label = _mapping(doc, "labels").get(WI_LABEL)
    labels = {c: _mapping(doc, c, "labels").get(WI_LABEL) for c in HELM_COMPONENTS}
    annotated = {
        c: _mapping(doc, c, "serviceAccount", "annotations").get(WI_ANNOTATION)
        for c in HELM_COMPONENTS
    }
    # backend_kwargs cannot tell: managed_identity_client_id + workload_identity_tenant_id is
    # also how a user-assigned managed identity is named (DefaultAzureCredential decides).
    wanted = label is not None or any(
        v is not None for v in (*labels.values(), *annotated.values())
    )
    if not wanted:
        return []
    findings: list[Finding] = []
    present = [v for v in (label, *labels.values()) if v is not None]
    if not any(v == "true" for v in present):
        how = (
            f'it is {st.shown(present[0])}, not the string "true"'
            if present
            else "no labels (top-level or per component) carry it"
        )
        findings.append(
            WI_LABEL_MISSING(
                f"labels.{WI_LABEL}",
                f"workload identity is configured but the pods are not labelled "
                f'{WI_LABEL}: "true" ({how}); the webhook injects no token.',
            )
        )
    configured = [c for c in HELM_COMPONENTS if c in doc]
    core = ["scheduler", "workers", "triggerer", "dagProcessor"]
    missing = [c for c in dict.fromkeys([*core, *configured]) if not annotated.get(c)]
    if missing:
        findings.append(
            WI_ANNOTATION_MISSING(
                f"{missing[0]}.serviceAccount.annotations",
                f"the service accounts of {', '.join(missing)} lack {WI_ANNOTATION}; pods "
                "running under them get no workload identity.",
                components=missing,
            )
        )
    return findings


# Variables that change which backend a component builds, or its secrets cache.
_SECRETS_VARS = ("AIRFLOW__SECRETS__", "AIRFLOW__WORKERS__SECRETS_BACKEND")


def _helm_component_env(doc: Mapping[str, Any], view: _View) -> list[Finding]:
    """What the chart's per-component ``<component>.env`` changes for secrets: a cache set
    for workers only (AKV-CFG-037), workers reading elsewhere than the API server
    (AKV-CFG-032). The rest of the values are ``view`` (every component's)."""
    own: dict[str, _View] = {}
    for component in HELM_COMPONENTS:
        items = _mapping(doc, component).get("env")
        if items is None:
            continue
        part = _View(f"{component}.env")
        _helm_env_list(items, f"{component}.env", part, [])  # shape reported by the main env
        own[component] = part
    workers = own.get("workers")
    if workers is None:
        return []

    def merged(component: str) -> _View:
        part = own.get(component, _View(""))
        return dataclasses.replace(
            view,
            env={**view.env, **part.env},
            opaque=(view.opaque - set(part.env)) | part.opaque,
        )

    findings: list[Finding] = []
    parsers = ("dagProcessor", "scheduler")  # Airflow 2's scheduler parses DAGs itself
    if not any(_cache_setting(merged(c))[1] for c in parsers):
        findings += _cache_for_workers_only(workers, "workers.env.")
    touched = any(
        name.startswith(_SECRETS_VARS)
        for part in (workers, own.get("apiServer", _View("")))
        for name in (*part.env, *part.opaque)
    )
    if touched:
        server_view = merged("apiServer")
        worker_view = merged("workers")
        worker = _worker_side(worker_view) or _server_side(worker_view)
        findings += _workers_findings(
            "workers.env",
            worker,
            _server_side(server_view),
            where=" (workers.env)",
            report_same=False,
        )
    return findings


def _resubject(f: Finding, old: str, new: str) -> Finding:
    if not f.subject.startswith(old):
        return f
    return Finding(f.spec, subject=new + f.subject[len(old) :], detail=f.detail, data=f.data)


# -- docker compose ------------------------------------------------------------------------------
def lint_compose(text: str) -> list[Finding]:
    """Lint a docker compose file: each service's ``environment`` (list or mapping)."""
    doc, findings = yaml_document(text, "compose")
    return findings or _lint_compose_doc(doc, text)


def _lint_compose_doc(doc: Any, text: object) -> list[Finding]:
    label = "compose"
    findings: list[Finding] = []
    if not isinstance(doc, Mapping) or not isinstance(doc.get("services"), Mapping):
        return [CONFIG_UNPARSABLE(label, "no services: mapping at the top level.")]
    groups: dict[tuple, list[str]] = {}
    views: dict[tuple, _View] = {}
    for name, service in doc["services"].items():
        if not isinstance(service, Mapping):
            continue
        raw = service.get("environment") or {}
        items: dict[Any, Any] = {}
        if isinstance(raw, list):
            for entry in raw:
                if not isinstance(entry, str):
                    findings.append(
                        WRONG_TYPE(f"services.{name}.environment", f"entry {st.shown(entry)}.")
                    )
                    continue
                key, eq, value = entry.partition("=")
                items[key.strip()] = value if eq else None
        elif isinstance(raw, Mapping):
            items = dict(raw)
        else:
            findings.append(
                WRONG_TYPE(f"services.{name}.environment", "must be a list or a mapping.")
            )
            continue
        env, opaque = _string_env(
            items, findings, f"services.{name}.environment", unescape_dollars=True
        )
        image = str(service.get("image") or "")
        relevant = any(k.startswith(("AIRFLOW__", "AZURE_")) for k in (*env, *opaque))
        if not relevant and "airflow" not in image.lower():
            continue
        key = (tuple(sorted(env.items())), tuple(sorted(opaque)), bool(service.get("env_file")))
        groups.setdefault(key, []).append(str(name))
        views[key] = _View("", env=env, opaque=opaque, more_env=bool(service.get("env_file")))
    if not groups:
        return findings + [BACKEND_NOT_SET("compose", "no service sets AIRFLOW__SECRETS__BACKEND.")]
    findings += _compose_roles(groups, views)
    secrets: list[str | None] = []
    for key, names in groups.items():
        view = views[key]
        view.label = f"services[{', '.join(names)}]"
        prefix = view.label + "."
        findings += [
            Finding(f.spec, subject=prefix + f.subject, detail=f.detail, data=f.data)
            for f in _lint_view(view)
        ]
        secret = view.env.get("AZURE_CLIENT_SECRET")
        secrets.append(secret)
        if secret and secret.strip():
            findings.append(
                SECRET_IN_FILE(
                    prefix + "AZURE_CLIENT_SECRET",
                    f"environment sets AZURE_CLIENT_SECRET in clear text ({fingerprint(secret)}).",
                )
            )
    return scrub_findings(findings, [*secrets, *secrets_in(None, text)])


def _role(name: str) -> str | None:
    """What an Airflow compose service runs, from its name (the official file's names)."""
    lowered = name.lower().replace("_", "-")
    for role, marks in (
        ("parser", ("dag-processor", "dagprocessor", "scheduler")),
        ("server", ("apiserver", "api-server", "webserver")),
        ("worker", ("worker",)),
    ):
        if any(mark in lowered for mark in marks):
            return role
    return None


def _compose_roles(
    groups: Mapping[tuple, list[str]], views: Mapping[tuple, _View]
) -> list[Finding]:
    """Across services: the secrets cache set on worker services only (AKV-CFG-037), and
    worker services reading elsewhere than the API server service (AKV-CFG-032)."""
    roles = {key: {_role(n) for n in names} for key, names in groups.items()}
    findings: list[Finding] = []
    parsing_cached = any(
        "parser" in roles[key] and _cache_setting(view)[1] for key, view in views.items()
    )
    servers = [key for key in groups if "server" in roles[key]]
    for key, names in groups.items():
        if roles[key] != {"worker"}:
            continue
        where = f"services[{', '.join(names)}]."
        view = views[key]
        if not parsing_cached:
            findings += _cache_for_workers_only(view, where)
        own_server = _server_side(view)
        worker = _worker_side(view) or own_server
        for server_key in servers:
            server = _server_side(views[server_key])
            if own_server == server:
                continue  # [workers] against its own [secrets] is the service's own lint
            findings += _workers_findings(
                where.rstrip("."),
                worker,
                server,
                where=f" (services[{', '.join(names)}] against "
                f"services[{', '.join(groups[server_key])}])",
                report_same=False,
            )
    return findings


def lint_file(path: Path | str) -> list[Finding]:
    """Lint a configuration file (or a DAG folder), detecting its kind by name and content."""
    if not isinstance(path, str | Path) or not str(path).strip():
        return [CONFIG_UNPARSABLE(str(path), f"not a file path: {st.shown(path)}.")]
    try:
        p = Path(path)
        if p.is_dir() or p.suffix == ".py":
            return lint_dags(p)
    except (OSError, TypeError, ValueError) as err:
        reason = getattr(err, "strerror", None) or type(err).__name__
        return [CONFIG_UNPARSABLE(str(path), f"cannot read {path}: {reason}.")]
    try:
        text = read_text(p)
    except InputError as err:
        return [CONFIG_UNPARSABLE(str(p), f"cannot read {path}: {err}.")]
    name, suffix = p.name.lower(), p.suffix.lower()
    stripped = text.lstrip()
    if name == "airflow.cfg" or suffix in (".cfg", ".ini"):
        return lint_airflow_cfg(text)
    if suffix == ".json":
        return lint_adf_export(text)
    if suffix in (".yaml", ".yml"):
        doc, findings = yaml_document(text, p.name)
        if findings:
            return findings
        if isinstance(doc, Mapping) and "services" in doc:
            return _lint_compose_doc(doc, text)
        return _lint_helm_doc(doc, text)
    if name.startswith(".env") or suffix in (".env", ".sh") or name.endswith(".env"):
        # An env file proper (not a shell script: its other lines are commands) sets
        # nothing with a line that is not KEY=value.
        problems = [] if suffix == ".sh" else env_file_problems(text)
        return problems + lint_environment(parse_env_file(text), fragment=True)
    if stripped.startswith("{"):
        return lint_adf_export(text)
    if re.search(r"^\s*\[[A-Za-z_]+\]\s*$", text, re.MULTILINE):
        return lint_airflow_cfg(text)
    if looks_like_env(text):
        return lint_environment(parse_env_file(text), fragment=True)
    return [FILE_KIND_UNKNOWN(str(p), f"{p.name}: not airflow.cfg, JSON, YAML or KEY=value.")]
