"""The Airflow side of the Key Vault backend: read, lint and render its configuration.

Modules, each importing only those above it in this list:

- :mod:`.identity` — credential kind ⇄ backend_kwargs ⇄ ``AZURE_*`` environment;
- :mod:`.names` — the secret naming rule;
- :mod:`.kwargs` — parsing backend_kwargs JSON and diagnosing broken JSON;
- :mod:`.dags` — parse-time lookups in DAG files;
- :mod:`.read` — documents and the Settings a live configuration gives;
- :mod:`.lint` — backend_kwargs, environment and airflow.cfg linting;
- :mod:`.documents` — ADF export, Helm values, compose, :func:`lint_file`;
- :mod:`.render` — configuration per target;
- :mod:`.scratch_airflow` — a throwaway Airflow home to run the real backend in.

The provider / Airflow / Python table is :mod:`helpers.settings.compat` (settings validation
needs it too, and settings sits below this package).
"""

from helpers.backend_config.dags import lint_dags
from helpers.backend_config.documents import (
    lint_adf_export,
    lint_compose,
    lint_file,
    lint_helm_values,
)
from helpers.backend_config.identity import (
    env_for,
    env_from_kwargs,
    kind_from_env,
    kind_from_kwargs,
    kwargs_for,
    kwargs_from_env,
)
from helpers.backend_config.kwargs import parse_backend_kwargs, read_backend_kwargs
from helpers.backend_config.lint import lint_airflow_cfg, lint_backend_kwargs, lint_environment
from helpers.backend_config.read import (
    cfg_options,
    env_file_problems,
    parse_env_file,
    settings_from_airflow_cfg,
    settings_from_backend_kwargs,
    settings_from_environment,
)
from helpers.settings.compat import lint_versions

__all__ = [
    "cfg_options",
    "env_for",
    "env_from_kwargs",
    "kind_from_env",
    "kind_from_kwargs",
    "kwargs_for",
    "kwargs_from_env",
    "lint_adf_export",
    "lint_airflow_cfg",
    "lint_backend_kwargs",
    "lint_compose",
    "lint_dags",
    "lint_environment",
    "lint_file",
    "lint_helm_values",
    "lint_versions",
    "parse_backend_kwargs",
    "env_file_problems",
    "parse_env_file",
    "read_backend_kwargs",
    "settings_from_airflow_cfg",
    "settings_from_backend_kwargs",
    "settings_from_environment",
]
