"""Notebook 03's steps: render the overrides, lint a configuration, the naming rule."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from helpers.backend_config import (
    lint_adf_export,
    lint_airflow_cfg,
    lint_backend_kwargs,
    lint_compose,
    lint_environment,
    lint_file,
    lint_helm_values,
    parse_env_file,
)
from helpers.backend_config.names import Kind, check_names, describe_mapping, map_names
from helpers.backend_config.render import render
from helpers.findings import Finding
from helpers.runbook.results import Section, StepResult, never_raises
from helpers.settings import Settings

__all__ = ["ids_by_kind", "lint_config", "naming_rule", "render_config"]


@never_raises("Configuration")
def render_config(settings: Settings, target: str | None = None) -> StepResult:
    """The overrides for ``target`` (default: the settings' target), ready to copy."""
    rendered = render(settings, target)
    name = rendered.target.value if rendered.target else str(target)
    sections = [Section(file, text) for file, text in rendered.files.items()]
    data = {
        "target": name,
        "backend_kwargs": rendered.backend_kwargs,
        "requirements": rendered.requirements,
    }
    return StepResult(f"Configuration for {name}", list(rendered.findings), sections, data)


def _lint_text(text: str) -> tuple[str, list[Finding]]:
    stripped = text.strip()
    if re.search(r"^\s*\[[A-Za-z_]+\]\s*$", text, re.MULTILINE):
        return "airflow.cfg", lint_airflow_cfg(text)
    if stripped.startswith(("{", "[")):
        if re.search(r"airflowProperties|\"properties\"", stripped):
            return "ADF / Fabric export", lint_adf_export(text)
        return "backend_kwargs", lint_backend_kwargs(stripped)[1]
    if re.search(r"^services\s*:", text, re.MULTILINE):
        return "docker compose", lint_compose(text)
    if re.search(r"^\s*(export\s+)?[A-Z_][A-Z0-9_]*=", text, re.MULTILINE):
        return "environment", lint_environment(parse_env_file(text), fragment=True)
    return "Helm values", lint_helm_values(text)


@never_raises("Lint")
def lint_config(
    existing: str = "", settings: Settings | None = None, target: str | None = None
) -> StepResult:
    """Lint an existing configuration: pasted text (backend_kwargs JSON, airflow.cfg, an
    ADF/Fabric export, Helm values, compose, KEY=value lines) or a path to such a file. Empty:
    lint the configuration rendered for ``target`` — it must come out clean."""
    text = str(existing or "")
    path = Path(text.strip()) if text.strip() and "\n" not in text.strip() else None
    if path is not None and len(str(path)) < 4096 and path.is_file():
        return StepResult(f"Lint: {path.name}", lint_file(path), data={"kind": "file"})
    if text.strip():
        kind, findings = _lint_text(text)
        return StepResult(f"Lint: pasted {kind}", findings, data={"kind": kind})
    rendered = render(settings or Settings(), target)
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="akv-runbook-lint-") as tmp:
        for name, content in rendered.files.items():
            if name.endswith(".txt"):
                continue  # the portal instructions: prose, not configuration
            file = Path(tmp) / name
            file.write_text(content, encoding="utf-8")
            findings += lint_file(file)
    name = rendered.target.value if rendered.target else str(target)
    return StepResult(f"Lint: the rendered configuration ({name})", findings, data={"kind": name})


def ids_by_kind(settings: Settings) -> list[tuple[Kind, list[str]]]:
    """The settings' variable and connection ids, by kind."""
    return [(Kind.VARIABLE, settings.variables), (Kind.CONNECTION, settings.connections)]


@never_raises("Naming rule")
def naming_rule(settings: Settings) -> StepResult:
    """Your own variable and connection ids, mapped to the secret names the backend requests."""
    pairs = ids_by_kind(settings)
    mapping = "\n".join(
        part for part in (describe_mapping(kind, ids, settings) for kind, ids in pairs) if part
    )
    rule = (
        "secret name = prefix + sep + id, then every '_' becomes sep. The seed's example: "
        "variable sample_var is stored as airflow-variables-sample-var."
    )
    mappings = [m.to_dict() for kind, ids in pairs for m in map_names(kind, ids, settings)]
    return StepResult(
        "Naming rule",
        check_names(settings),
        [Section("", rule, "note"), Section("Your ids", mapping or "(no ids given)")],
        {"mappings": mappings},
    )
