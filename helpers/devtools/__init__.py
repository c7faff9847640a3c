"""Tools for the project itself: the notebooks' one source and their generator
(notebook_sources, notebooks), the quick demo (demo) and JupyterLab settings (lab_settings)."""

__all__: list[str] = []
