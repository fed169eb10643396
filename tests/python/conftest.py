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


@pytest.fixture(scope="session", autouse=True)
def _no_shared_memory_left(tmp_path_factory):
    """Every heavy-zone segment of this run is logged in a session registry file (worker and child
    processes inherit $THEUS_REGISTRY_FILE). At the end no logged segment, and no segment named
    after this process, may remain in /dev/shm; leftovers are removed, then reported as an error."""
    import gc

    registry = tmp_path_factory.mktemp("shm") / "registry.jsonl"
    previous = os.environ.get("THEUS_REGISTRY_FILE")
    os.environ["THEUS_REGISTRY_FILE"] = str(registry)
    yield
    gc.collect()
    names = set()
    if registry.exists():
        for rec in theus_core.shm.MemoryRegistry("final-check", str(registry), scan=False).records():
            names.add(rec["name"])
    shm_dir = "/dev/shm"
    if os.path.isdir(shm_dir):
        names.update(n for n in os.listdir(shm_dir) if n.startswith("theus_") and f"_{os.getpid()}_" in n)
    left = sorted(n for n in names if theus_core.shm.exists(n))
    for name in left:
        theus_core.shm.unlink(name)
    if previous is None:
        os.environ.pop("THEUS_REGISTRY_FILE", None)
    else:
        os.environ["THEUS_REGISTRY_FILE"] = previous
    assert not left, f"shared-memory segments left behind by the test run: {left}"
