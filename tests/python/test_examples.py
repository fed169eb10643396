"""The example applications run and their invariant checks pass (small parameters)."""
import pathlib
import subprocess
import sys

from conftest import subprocess_env

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_inventory_demo_invariants_hold():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python" / "inventory_demo.py"), "--threads", "3", "--orders", "150"],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "All invariants hold." in out.stdout
    assert "[FAIL]" not in out.stdout
