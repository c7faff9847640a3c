"""JupyterHub for a class on one host (docs/training.md, "A class on one host with JupyterHub").

    akv-runbook class start --trainees 12 --state-dir class/        # the class (keep it running)
    AKV_CLASS_STATE_DIR=class/ AKV_CLASS_PASSWORD=... jupyterhub -f jupyterhub_config.py

Each trainee signs in as trainee-NN and gets their own JupyterLab with their class environment
(the same as `akv-runbook class env --trainee trainee-NN`). The settings and the per-trainee
environment live in helpers/training/hub.py; this file only hands JupyterHub's config to it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # this checkout's helpers

from helpers.training.hub import configure_hub  # noqa: E402

configure_hub(get_config())  # noqa: F821 -- get_config is JupyterHub's, in this file's scope
