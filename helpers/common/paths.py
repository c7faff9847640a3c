"""Where the project's own files are: the checkout that holds helpers/."""

from pathlib import Path

__all__ = ["DAGS_DIR", "NOTEBOOKS_DIR", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DAGS_DIR = PROJECT_ROOT / "dags"
