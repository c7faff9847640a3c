"""The exact configuration for each Airflow target, rendered from one :class:`Settings`.

Targets: ADF / Fabric (Airflow requirements, configuration overrides, environment variables),
an ``airflow.cfg`` ``[secrets]`` section, shell exports, the official Helm chart's values and a
docker-compose override. ``backend_kwargs`` is built as a dict and serialised with
``json.dumps`` (valid JSON by construction); YAML goes through ``yaml.safe_dump``.

Least privilege by default: ``config_prefix`` is null unless asked for, ``retry_total`` is
bounded, and the client secret never appears as a value anywhere. It stays in an environment
variable (``DefaultAzureCredential`` reads ``AZURE_CLIENT_SECRET``); Helm reads it from a
Kubernetes secret, compose from the shell or ``.env``. Only with ``include_client_secret=True``
does ``backend_kwargs`` get a ``client_secret`` key, and even then it holds a reference,
``"${AZURE_CLIENT_SECRET}"``, which Airflow expands from the environment when it reads the
option (AKV-CFG-009 explains the cost).
"""

from __future__ import annotations

import copy
import dataclasses
import html
import json
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml
from packaging.version import Version

from helpers.backend_config.identity import env_for, identity_of, kind_of, kwargs_for
from helpers.backend_config.names import prefix_findings, sep_of
from helpers.common.facts import BACKEND_CLASS as BACKEND
from helpers.findings import Finding, render_html
from helpers.findings.codes.cfg import SECRET_IN_KWARGS
from helpers.findings.codes.render import (
    AIRFLOW_VERSION_ASSUMED,
    ALL_LOOKUPS_DISABLED,
    IDENTITY_VALUE_MISSING,
    MANAGED_IDENTITY_WITHOUT_TENANT,
    PROVIDER_TOO_OLD_FOR_KWARGS,
    SECRET_REFERENCE_INVALID,
    SOVEREIGN_AUTHORITY,
    WORKLOAD_IDENTITY_OUTSIDE_KUBERNETES,
)
from helpers.findings.codes.set import TARGET_UNKNOWN, VAULT_URL_MISSING
from helpers.settings import (
    Credential,
    Settings,
    Target,
    check_retry_total,
    cloud_of,
    env_name_or_none,
    parse_target,
    parse_version,
)
from helpers.settings.checks import check_cache_ttl
from helpers.settings.compat import (
    PROVIDER,
    provider_cap,
    provider_fit,
    provider_requirement,
)

__all__ = [
    "BACKEND",
    "PROVIDER",
    "Rendered",
    "backend_kwargs",
    "provider_cap",
    "provider_requirement",
    "render",
    "render_all",
    "secret_placeholder",
]

VAULT_PLACEHOLDER = "https://<vault-name>.vault.azure.net/"
HELM_SECRET_NAME = "airflow-azure-client-secret"
HELM_SECRET_KEY = "client-secret"
# The Airflow version each hosted target runs when the settings do not say.
ASSUMED_AIRFLOW = {Target.ADF: "2.6.3", Target.FABRIC: "2.10.5"}
CREDENTIAL_KWARGS_SINCE = Version("8.0.0")  # tenant_id / client_id / client_secret kwargs
IDENTITY_KWARGS_SINCE = Version("8.2.0")  # managed_identity_client_id / workload_identity_...
CACHE_SINCE = Version("2.7.0")  # [secrets] use_cache / cache_ttl_seconds


# -- result ------------------------------------------------------------------------------
@dataclass
class Rendered:
    """What to copy for one target: files (name -> exact text), the environment it needs."""

    target: Target | None
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(
            f"# ---- {name} ----\n{text.rstrip()}\n" for name, text in self.files.items()
        )

    def _repr_html_(self) -> str:
        blocks = "".join(
            f"<h5>{html.escape(name)}</h5><pre>{html.escape(text)}</pre>"
            for name, text in self.files.items()
        )
        return blocks + render_html(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.value if self.target else None,
            "files": dict(self.files),
            "env": dict(self.env),
            "backend_kwargs": dict(self.backend_kwargs),
            "requirements": list(self.requirements),
            "findings": [f.to_dict() for f in self.findings],
        }


def secret_placeholder(env_name: str = "AZURE_CLIENT_SECRET") -> str:
    """Stands where the client secret goes; the value itself is never rendered."""
    return f"<value of ${env_name}>"


# -- entry points ------------------------------------------------------------------------
def render(
    settings: Settings, target: Target | str | None = None, *, include_client_secret: bool = False
) -> Rendered:
    """Render the configuration of ``settings`` for ``target`` (default: ``settings.target``)."""
    chosen = parse_target(target if target is not None else settings.target)
    if chosen is None:
        return Rendered(None, findings=[TARGET_UNKNOWN("target", f"{target!r} is not a target.")])
    plan = _Plan(settings, chosen, include_client_secret)
    files = _RENDERERS[chosen](plan)
    return Rendered(
        target=chosen,
        files=files,
        env=plan.process_env(),
        findings=plan.findings,
        backend_kwargs=plan.kwargs,
        requirements=plan.requirements,
    )


def render_all(
    settings: Settings, *, include_client_secret: bool = False
) -> dict[Target, Rendered]:
    return {t: render(settings, t, include_client_secret=include_client_secret) for t in Target}


def backend_kwargs(settings: Settings, *, include_client_secret: bool = False) -> dict[str, Any]:
    """The backend_kwargs dict alone (see :func:`render` for findings)."""
    return _Plan(settings, Target.ENV, include_client_secret).kwargs


# -- the plan: every decision, made once --------------------------------------------------
class _Plan:
    def __init__(self, settings: Settings, target: Target, include_client_secret: bool):
        self.settings = settings
        self.target = target
        self.include_secret = include_client_secret
        self.findings: list[Finding] = []
        self.feature_minimum: Version | None = None  # oldest provider the kwargs need
        # Settings validation reports an unknown credential; rendering falls back to the default.
        self.credential = kind_of(settings)
        self.sep = sep_of(settings)
        self.secret_env = self._secret_env()
        self.airflow_version = self._airflow_version()
        self.provider_text = str(settings.provider_version or "").strip() or None
        self.provider_version = self._version("provider_version", self.provider_text)
        self.python_version = self._version("python_version", settings.python_version)
        self.azure_env: dict[str, str] = {}
        self.kwargs = self._kwargs()
        self.requirements = [self._requirement()]
        self.findings.extend(prefix_findings(settings))
        self.cache = self._cache()

    # settings -> values
    def _secret_env(self) -> str:
        name = str(self.settings.client_secret_env or "").strip()
        if self.credential is not Credential.CLIENT_SECRET:
            return name or "AZURE_CLIENT_SECRET"
        if env_name_or_none(name) is None:
            self.findings.append(
                SECRET_REFERENCE_INVALID(
                    "client_secret_env", "not a variable name; AZURE_CLIENT_SECRET used instead"
                )
            )
            return "AZURE_CLIENT_SECRET"
        return name

    def _airflow_version(self) -> Version | None:
        text = self.settings.airflow_version
        if not text and self.target in ASSUMED_AIRFLOW:
            text = ASSUMED_AIRFLOW[self.target]
            self.findings.append(
                AIRFLOW_VERSION_ASSUMED("airflow_version", f"assumed {text} for {self.target}")
            )
        return self._version("airflow_version", text)

    def _version(self, subject: str, text: object) -> Version | None:
        version, found = parse_version(text, subject)
        self.findings += found
        return version

    def _value(self, name: str, placeholder: str) -> str:
        value = str(getattr(self.settings, name) or "").strip()
        if value:
            return value
        self.findings.append(IDENTITY_VALUE_MISSING(name, f"rendered {placeholder!r}"))
        return placeholder

    def _kwargs(self) -> dict[str, Any]:
        s = self.settings
        vault_url = str(s.vault_url or "").strip()
        if not vault_url:
            self.findings.append(
                VAULT_URL_MISSING("vault_url", f"a placeholder was written: {VAULT_PLACEHOLDER}")
            )
            vault_url = VAULT_PLACEHOLDER
        kwargs: dict[str, Any] = {
            "connections_prefix": s.connections_prefix,
            "variables_prefix": s.variables_prefix,
            # explicit null: the provider's default "airflow-config" would send config lookups
            "config_prefix": s.config_prefix,
            "vault_url": vault_url,
        }
        if self.sep != "-":
            kwargs["sep"] = self.sep
        if s.connections_prefix is None and s.variables_prefix is None and s.config_prefix is None:
            self.findings.append(ALL_LOOKUPS_DISABLED("backend_kwargs"))
        retry = self._retry_total()
        if retry is not None:
            kwargs["retry_total"] = retry
        kwargs.update(self._credential(vault_url))
        return kwargs

    def _retry_total(self) -> int | None:
        retry, found = check_retry_total(self.settings.retry_total)
        self.findings += found
        return retry

    def _credential(self, vault_url: str) -> dict[str, Any]:
        s = self.settings
        kind = self.credential
        if kind is Credential.CLIENT_SECRET:
            tenant = self._value("tenant_id", "<tenant id>")
            client = self._value("client_id", "<client id>")
            cloud = cloud_of(vault_url)
            if cloud is not None and cloud.sovereign:
                self.azure_env["AZURE_AUTHORITY_HOST"] = cloud.authority_host
                self.findings.append(SOVEREIGN_AUTHORITY("vault_url", cloud.authority_host))
            resolved = dataclasses.replace(s, credential=kind, tenant_id=tenant, client_id=client)
            placeholder = secret_placeholder(self.secret_env)
            if self.include_secret:
                self.findings.append(
                    SECRET_IN_KWARGS(
                        "backend_kwargs", f"client_secret is the reference ${{{self.secret_env}}}"
                    )
                )
                self._needs_provider(CREDENTIAL_KWARGS_SINCE, "tenant_id/client_id/client_secret")
                self.azure_env[self.secret_env] = placeholder
                return kwargs_for(resolved, secret=f"${{{self.secret_env}}}")
            self.azure_env.update(env_for(resolved, secret=placeholder))
            return {}
        identity, tenant = identity_of(s)
        if kind is Credential.WORKLOAD_IDENTITY:
            if self.target is not Target.HELM:
                self.findings.append(
                    WORKLOAD_IDENTITY_OUTSIDE_KUBERNETES("credential", self.target)
                )
            identity = identity or self._value("client_id", "<client id>")
            tenant = tenant or self._value("tenant_id", "<tenant id>")
        resolved = dataclasses.replace(
            s,
            credential=kind,
            managed_identity_client_id=identity,
            workload_identity_tenant_id=tenant,
        )
        kwargs = kwargs_for(resolved)
        if kwargs:
            self._needs_provider(IDENTITY_KWARGS_SINCE, "managed_identity_client_id")
            return kwargs
        env = env_for(resolved, secret="")
        if env:
            self.findings.append(
                MANAGED_IDENTITY_WITHOUT_TENANT(
                    "managed_identity_client_id", f"rendered AZURE_CLIENT_ID={identity}"
                )
            )
            self.azure_env.update(env)
        return {}  # system-assigned identity: DefaultAzureCredential finds it alone

    def _cache(self) -> dict[str, str]:
        """[secrets] use_cache / cache_ttl_seconds as the settings ask (option -> text).

        use_cache is written when the settings say True or False; the TTL only with the
        cache on (otherwise it has no effect: AKV-CFG-036 in the findings). Airflow before
        2.7 has neither option, so nothing is written for it.
        """
        s = self.settings
        use_cache = s.use_cache if isinstance(s.use_cache, bool) else None
        ttl, found = check_cache_ttl(s.cache_ttl_seconds, use_cache=use_cache is True)
        self.findings += found
        if self.airflow_version is not None and self.airflow_version < CACHE_SINCE:
            return {}
        options: dict[str, str] = {}
        if use_cache is not None:
            options["use_cache"] = str(use_cache)
        if use_cache and ttl is not None:
            options["cache_ttl_seconds"] = str(ttl)
        return options

    @property
    def workers_unset(self) -> bool:
        """Airflow 3 has [workers] secrets_backend; render leaves it unset (workers then use
        [secrets]), which is what keeps workers and the API server on one configuration."""
        return self.airflow_version is None or self.airflow_version.major >= 3

    def notes(self) -> list[str]:
        """Comment lines every target that allows comments carries."""
        lines = []
        if self.workers_unset:
            lines.append(
                "[workers] secrets_backend is left unset on purpose: workers fall back to "
                "[secrets] backend and backend_kwargs."
            )
        too_old = self.airflow_version is not None and self.airflow_version < CACHE_SINCE
        if too_old and isinstance(self.settings.use_cache, bool):
            lines.append(
                f"[secrets] use_cache and cache_ttl_seconds are not written: Airflow "
                f"{self.airflow_version} has neither (they came in {CACHE_SINCE})."
            )
        if self.cache.get("use_cache") == "True":
            lines.append(
                "[secrets] use_cache caches lookups made while parsing DAG files only; tasks "
                "always read the vault."
            )
        return lines

    def _needs_provider(self, since: Version, what: str) -> None:
        self.feature_minimum = max(since, self.feature_minimum or since)
        given = self.provider_version
        if given is not None and given < since:
            self.findings.append(
                PROVIDER_TOO_OLD_FOR_KWARGS(
                    "provider_version", f"{what} needs provider {since}+, settings say {given}"
                )
            )

    def _requirement(self) -> str:
        given, airflow, minimum = self.provider_version, self.airflow_version, self.feature_minimum
        cap = provider_cap(str(airflow)) if airflow else None
        if given is not None:
            self.findings += provider_fit(airflow, given, self.python_version)
            return provider_requirement(None, self.provider_text)
        if minimum is not None and cap is not None and Version(cap) < minimum:
            self.findings.append(
                PROVIDER_TOO_OLD_FOR_KWARGS(
                    "airflow_version",
                    f"Airflow {airflow} can use provider {cap} at most; the rendered credential "
                    f"kwargs need {minimum}+",
                )
            )
            minimum = None
        floor = str(minimum) if minimum is not None and cap is not None else None
        return provider_requirement(str(airflow) if airflow else None, minimum=floor)

    # outputs shared by the targets
    @property
    def kwargs_json(self) -> str:
        return json.dumps(self.kwargs)

    def airflow_env(self) -> dict[str, str]:
        return {
            "AIRFLOW__SECRETS__BACKEND": BACKEND,
            "AIRFLOW__SECRETS__BACKEND_KWARGS": self.kwargs_json,
            **{f"AIRFLOW__SECRETS__{k.upper()}": v for k, v in self.cache.items()},
        }

    def process_env(self) -> dict[str, str]:
        """Every variable the Airflow processes need (secrets as placeholders)."""
        base = {} if self.target is Target.AIRFLOW_CFG else self.airflow_env()
        return {**base, **self.azure_env}

    def header(self, comment: str = "#") -> str:
        lines = [
            f"Airflow -> Azure Key Vault secrets backend ({self.target.value}), "
            "rendered by akv-runbook.",
        ]
        if secret_placeholder(self.secret_env) in self.azure_env.values():
            lines.append(
                f"The client secret is not in this file: it comes from ${self.secret_env}."
            )
        lines += self.notes()
        return "".join(f"{comment} {line}\n" for line in lines)


# -- targets -----------------------------------------------------------------------------
def _render_env(plan: _Plan) -> dict[str, str]:
    return {"env.sh": _shell_exports(plan, plan.process_env())}


def _shell_exports(plan: _Plan, env: dict[str, str]) -> str:
    lines = [plan.header().rstrip("\n")]
    secret = plan.secret_env
    hint = f"export {secret}=<client secret of the service principal> first"
    if secret_placeholder(secret) in env.values():
        lines.append(f': "${{{secret}:?{hint}}}"')
    for key, value in env.items():
        if value == secret_placeholder(secret):
            lines.append(f"export {key}" if key == secret else f'export {key}="${{{secret}}}"')
        else:
            lines.append(f"export {key}={shlex.quote(value)}")
    return "\n".join(lines) + "\n"


def _render_airflow_cfg(plan: _Plan) -> dict[str, str]:
    cfg = (
        plan.header()
        + "# Merge into $AIRFLOW_HOME/airflow.cfg; the AZURE_* variables go in the environment"
        + " (env.sh).\n[secrets]\n"
        + f"backend = {BACKEND}\n"
        + f"backend_kwargs = {_cfg_escape(plan.kwargs_json)}\n"
        + "".join(f"{k} = {v}\n" for k, v in plan.cache.items())
    )
    files = {"airflow.cfg": cfg}
    if plan.azure_env:
        files["env.sh"] = _shell_exports(plan, plan.azure_env)
    return files


def _render_hosted(plan: _Plan) -> dict[str, str]:
    overrides = plan.airflow_env()
    variables = dict(plan.azure_env)
    props: dict[str, Any] = {}
    if plan.airflow_version is not None:
        props["airflowVersion"] = str(plan.airflow_version)
    props.update(
        {
            "airflowRequirements": list(plan.requirements),
            "airflowConfigurationOverrides": overrides,
            "airflowEnvironmentVariables": variables,
        }
    )
    document = {"properties": {"type": "Airflow", "typeProperties": {"airflowProperties": props}}}
    where = (
        "the Airflow integration runtime's environment setup (ADF > Manage > Airflow)"
        if plan.target is Target.ADF
        else "the Apache Airflow job's Environment configuration (Fabric)"
    )
    portal = [f"In {where}:", "", "Airflow requirements:", *(f"  {r}" for r in plan.requirements)]
    portal += ["", "Airflow configuration overrides (key = value):"]
    portal += [f"  {k} = {v}" for k, v in overrides.items()]
    portal += ["", "Environment variables (key = value):"]
    portal += [f"  {k} = {v}" for k, v in variables.items()] or ["  (none)"]
    if any(v == secret_placeholder(plan.secret_env) for v in variables.values()):
        portal += ["", f"Replace {secret_placeholder(plan.secret_env)} with the secret itself."]
    if plan.notes():
        portal += ["", *plan.notes()]
    return {
        "airflow-properties.json": json.dumps(document, indent=2) + "\n",
        "portal.txt": "\n".join(portal) + "\n",
    }


def _render_helm(plan: _Plan) -> dict[str, str]:
    values: dict[str, Any] = {
        "config": {
            "secrets": {
                "backend": BACKEND,
                "backend_kwargs": _cfg_escape(plan.kwargs_json),
                **plan.cache,  # strings: the chart writes them into airflow.cfg as they are
            }
        }
    }
    env = [
        {"name": k, "value": v}
        for k, v in plan.azure_env.items()
        if v != secret_placeholder(plan.secret_env)
    ]
    secrets = [
        {"envName": k, "secretName": HELM_SECRET_NAME, "secretKey": HELM_SECRET_KEY}
        for k, v in plan.azure_env.items()
        if v == secret_placeholder(plan.secret_env)
    ]
    if env:
        values["env"] = env
    if secrets:
        values["secret"] = secrets
    notes = [
        "Official apache-airflow chart values; the apache/airflow image already ships the",
        f"{PROVIDER} provider.",
    ]
    if secrets:
        notes += [
            "Each `secret` entry becomes an env var with valueFrom.secretKeyRef. Create the",
            "Kubernetes secret first (the value never goes in this file):",
            f"  kubectl create secret generic {HELM_SECRET_NAME} \\",
            f'    --from-literal={HELM_SECRET_KEY}="${plan.secret_env}"',
        ]
    if plan.credential is Credential.WORKLOAD_IDENTITY:
        identity = plan.kwargs.get("managed_identity_client_id", "<client id>")
        annotations = {"azure.workload.identity/client-id": identity}
        values["labels"] = {"azure.workload.identity/use": "true"}
        airflow_2 = plan.airflow_version is not None and plan.airflow_version.major < 3
        web = "webserver" if airflow_2 else "apiServer"
        for component in ("scheduler", "workers", "triggerer", "dagProcessor", web):
            values[component] = {"serviceAccount": {"annotations": dict(annotations)}}
        notes += [
            "Workload identity: federate each annotated service account with the identity",
            "(az identity federated-credential create ... --subject",
            "system:serviceaccount:<namespace>:<service account>).",
        ]
    header = plan.header() + "".join(f"# {line}\n" for line in notes)
    return {"values.yaml": header + yaml.safe_dump(values, sort_keys=False, width=1000)}


COMPOSE_SERVICES = {
    3: ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker")
    + ("airflow-triggerer", "airflow-cli"),
    2: ("airflow-webserver", "airflow-scheduler", "airflow-worker", "airflow-triggerer")
    + ("airflow-cli",),
}


def _render_compose(plan: _Plan) -> dict[str, str]:
    environment: dict[str, str] = {}
    secret = plan.secret_env
    for key, value in plan.process_env().items():
        if value == secret_placeholder(secret):
            environment[key] = f"${{{secret}:?set {secret} in the shell or in .env}}"
        else:
            environment[key] = value.replace("$", "$$")  # compose would interpolate it
    major = plan.airflow_version.major if plan.airflow_version else 3
    services = COMPOSE_SERVICES[3 if major >= 3 else 2]
    document = {
        "services": {name: {"environment": copy.deepcopy(environment)} for name in services}
    }
    header = plan.header() + (
        "# Next to the official docker-compose.yaml; `docker compose up` merges both files.\n"
    )
    return {
        "docker-compose.override.yml": header
        + yaml.safe_dump(document, sort_keys=False, width=1000)
    }


_RENDERERS = {
    Target.ENV: _render_env,
    Target.AIRFLOW_CFG: _render_airflow_cfg,
    Target.ADF: _render_hosted,
    Target.FABRIC: _render_hosted,
    Target.HELM: _render_helm,
    Target.COMPOSE: _render_compose,
}


# -- helpers -----------------------------------------------------------------------------
def _cfg_escape(value: str) -> str:
    """airflow.cfg goes through configparser interpolation: a literal '%' must be '%%'."""
    return value.replace("%", "%%")
