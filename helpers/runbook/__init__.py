"""The notebook-facing API of the guided runbook: every notebook cell is one call into here.

A notebook starts (:func:`start`: secret-like parameters refused, ``fail_on_error``
resolved), connects (:func:`connect`), turns its parameters into settings
(:func:`settings_from_params`), then runs steps. Each step returns a :class:`StepResult` (a
:class:`~helpers.findings.Report` with explanatory sections) and **never raises**: a failure
becomes findings, so one broken check never hides the others in a papermill run. The
notebook hands each result to :func:`show`, which renders it as HTML and also emits it in a
machine-readable output (``MIMETYPE``) that :func:`collect_results` reads back out of an
executed notebook.

Modules: ``results`` (StepResult, Section, show, the kernel's secret registry), ``connect``
(the sandbox or real Azure), ``params`` (parameters -> settings; 00's check), and one module
per notebook step:

- 00: :func:`check_form` (also what the settings form's Check button calls);
- 01 ``prerequisites``: :func:`check_settings`, :func:`check_packages`,
  :func:`check_azure_env`, :func:`check_sign_in`;
- 02: :func:`permissions` -> :class:`Permissions` (detect model, probe, diagnose, grant in
  every form, perform it, least privilege, wait until it takes effect);
- 03 ``config``: :func:`render_config`, :func:`lint_config`, :func:`naming_rule`;
- 04 ``retrieval``: :func:`retrieval` -> :class:`Retrieval` (store samples, read through the
  SDK, the real backend, Airflow's ``Variable.get`` in a scratch AIRFLOW_HOME, ``airflow dags
  test``) and :func:`explain_sample_dag`;
- 05 ``cost``: :func:`runtime_cost` -> :class:`RuntimeCost` (measure a DAG folder with real
  Airflow against a private sandbox; its table, its chart, the forecast and AKV-COST-*
  findings);
- check_environment ``environment``: :func:`check_environment`, then
  :func:`raise_for_findings` (its verdict).

Run headless, a step whose result has an error finding raises :class:`FindingsError` after
it is shown (``fail_on_error``, see :func:`show`), so that papermill exits non-zero.

Secret values never leave the functions that read them: findings, sections and payloads
carry at most a :func:`helpers.common.redact.fingerprint`. Settings hold the NAME of the variable
with the client secret (``client_secret_env``), never its value.
"""

from __future__ import annotations

from helpers.findings.results import MIMETYPE, collect_results
from helpers.runbook.config import lint_config, naming_rule, render_config
from helpers.runbook.connect import SANDBOX_DEFAULTS, Connection, connect
from helpers.runbook.cost import RuntimeCost, cost_chart_svg, runtime_cost
from helpers.runbook.environment import check_environment
from helpers.runbook.params import check_form, check_settings, settings_from_params, start
from helpers.runbook.permissions import LEAST_PRIVILEGE_TABLE, Permissions, permissions
from helpers.runbook.prerequisites import check_azure_env, check_packages, check_sign_in
from helpers.runbook.results import (
    FindingsError,
    Section,
    StepResult,
    headless,
    never_raises,
    raise_for_findings,
    redact,
    remember_secret_env,
    show,
    unexpected,
)
from helpers.runbook.retrieval import Retrieval, dag_outcome, explain_sample_dag, retrieval

__all__ = [
    "MIMETYPE",
    "SANDBOX_DEFAULTS",
    "Connection",
    "FindingsError",
    "LEAST_PRIVILEGE_TABLE",
    "Permissions",
    "Retrieval",
    "RuntimeCost",
    "Section",
    "StepResult",
    "check_azure_env",
    "check_environment",
    "check_form",
    "check_packages",
    "check_settings",
    "check_sign_in",
    "collect_results",
    "connect",
    "cost_chart_svg",
    "dag_outcome",
    "explain_sample_dag",
    "headless",
    "lint_config",
    "naming_rule",
    "never_raises",
    "permissions",
    "raise_for_findings",
    "redact",
    "remember_secret_env",
    "render_config",
    "retrieval",
    "runtime_cost",
    "settings_from_params",
    "show",
    "start",
    "unexpected",
]
