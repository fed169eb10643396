"""Shared fixtures. Tests run against the build tree through scripts/run-pytest."""
import asyncio
import os
import sys

import pytest

import theus_core
from theus.context import NamespaceRegistry


@pytest.fixture(autouse=True)
def _isolate_process_wide_tables():
    """Physics overrides and namespaces are process-wide: every test starts and ends clean."""
    theus_core.clear_physics_overrides()
    NamespaceRegistry().clear()
    yield
    theus_core.clear_physics_overrides()
    NamespaceRegistry().clear()


@pytest.fixture
def run():
    """Run a coroutine to completion on a fresh event loop: ``run(engine.execute(p))``."""

    def _run(coro):
        return asyncio.run(coro)

    return _run


def subprocess_env():
    """Environment for child Python processes: same import paths as this test run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and "dist-packages" not in p)
    return env
