"""pytest fixtures for the sandbox (registered through the ``pytest11`` entry point).

``akv_sandbox_session``: one sandbox per test process (per xdist worker), ephemeral, with
its environment applied to ``os.environ`` for the whole session.
``akv_sandbox``: the same sandbox, reset to its scenario and cleared of faults before the test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .runtime import Sandbox

__all__ = ["akv_sandbox", "akv_sandbox_session"]


@pytest.fixture(scope="session")
def akv_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    state_dir = tmp_path_factory.mktemp("akv-sandbox")
    with Sandbox(state_dir=state_dir, ephemeral=True) as sandbox:
        yield sandbox


@pytest.fixture
def akv_sandbox(akv_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    sandbox = akv_sandbox_session
    sandbox.client.reset()
    sandbox.apply_environment()
    yield sandbox
    sandbox.client.clear_faults()
